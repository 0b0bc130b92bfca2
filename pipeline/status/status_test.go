package status_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quire-print/quire/pipeline/batch/batchtest"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/batch/reprint"
	"github.com/quire-print/quire/pipeline/memqueue"
	"github.com/quire-print/quire/pipeline/status"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/fsstore"
)

var cutOff = time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC)

type fixture struct {
	s      storage.Store
	envs   *envelopes.Store
	ledger *ledger.Store
	b      *status.Builder
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s, err := fsstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{s: s, envs: envelopes.New(s), ledger: ledger.NewStore(s)}
	f.b = status.New(f.envs, f.ledger, s)
	return f
}

// steps returns the timeline's steps, each as "step@HH:MM run batch
// sequence code" with the parts it has.
func steps(tl *status.Timeline) []string {
	var out []string
	for _, e := range tl.Entries {
		s := e.Step
		if !e.At.IsZero() {
			s += "@" + e.At.UTC().Format("02T15:04")
		}
		if e.Run != 0 {
			s += " run" + string(rune('0'+e.Run))
		}
		if e.BatchID != "" {
			s += " " + e.BatchID
		}
		if e.Sequence != 0 {
			s += " #" + string(rune('0'+e.Sequence))
		}
		if e.Code != "" {
			s += " " + e.Code
		}
		if e.Source != "" {
			s += " by " + e.Source
		}
		if e.Run > 1 && e.Reprint != e.Run-1 || e.Run <= 1 && e.Reprint != 0 {
			s += " (reprint " + string(rune('0'+e.Reprint)) + "?)"
		}
		out = append(out, s)
	}
	return out
}

func (f *fixture) timeline(t *testing.T, id string) *status.Timeline {
	t.Helper()
	tl, err := f.b.Timeline(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	// Whatever the envelope went through, the timeline holds no personal
	// data: not the sample's names, address or date of loss, not its
	// certificate references, not a cancellation's reason.
	js, _ := json.Marshal(tl)
	for _, p := range append(batchtest.Personal, "BLC-2025-000201", "BLC-2025-000202", "moved house") {
		if strings.Contains(string(js), p) || strings.Contains(tl.Summary, p) {
			t.Errorf("the timeline of %s holds %q: %s", id, p, js)
		}
	}
	return tl
}

func check(t *testing.T, tl *status.Timeline, state string, want ...string) {
	t.Helper()
	if got := steps(tl); !slices.Equal(got, want) {
		t.Errorf("%s: steps\n%q\nwant\n%q", tl.EnvelopeID, got, want)
	}
	if tl.State != state {
		t.Errorf("%s: state %q, want %q (%s)", tl.EnvelopeID, tl.State, state, tl.Summary)
	}
}

func TestUnknownAndInvalid(t *testing.T) {
	f := newFixture(t)
	if _, err := f.b.Timeline(t.Context(), "E-NOWHERE"); !errors.Is(err, status.ErrNotFound) || !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("unknown envelope: %v, want ErrNotFound", err)
	}
	if _, err := f.b.Timeline(t.Context(), "../x"); !errors.Is(err, envelopes.ErrInvalid) {
		t.Errorf("invalid id: %v, want envelopes.ErrInvalid", err)
	}
}

func TestRenderedOnly(t *testing.T) {
	f := newFixture(t)
	batchtest.Commit(t, f.s, "E-1", cutOff.Add(-time.Hour))
	tl := f.timeline(t, "E-1")
	check(t, tl, status.StepRendered, "rendered@02T16:30")
	if len(tl.Documents) != 3 || tl.Documents[1].TemplateID != "baby-loss-certificate" || tl.Documents[1].TemplateVersion != 1 ||
		tl.Documents[0].Pages != 2 || tl.PersonalDataDeleted {
		t.Errorf("documents %+v, deleted %v", tl.Documents, tl.PersonalDataDeleted)
	}
}

// TestThroughTheSupplier: a batch of three, handed over and acknowledged;
// the supplier reports one posted, one returned, and a cancellation of the
// third comes too late.
func TestThroughTheSupplier(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	sealed := batchtest.Seal(t, f.s, "northprint", cutOff, 3)
	b := sealed.BatchID
	a, r, c := sealed.Envelopes[0].EnvelopeID, sealed.Envelopes[1].EnvelopeID, sealed.Envelopes[2].EnvelopeID
	if _, _, err := f.ledger.RecordHandover(ctx, ledger.Handover{BatchID: b, Supplier: "northprint", Adapter: "pull", At: cutOff.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.ledger.Acknowledge(ctx, ledger.Receipt{BatchID: b, Supplier: "northprint", At: cutOff.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	report := func(id string, seq int, outcome, code string, at time.Duration) {
		if _, _, err := f.ledger.RecordOutcome(ctx, ledger.Outcome{BatchID: b, EnvelopeID: id, Sequence: seq, Outcome: outcome,
			Code: code, At: cutOff.Add(at), ReportedAt: cutOff.Add(at + time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	report(a, 1, ledger.OutcomePrinted, "", 15*time.Hour)
	report(a, 1, ledger.OutcomePosted, "", 18*time.Hour)
	report(r, 2, ledger.OutcomePrinted, "", 15*time.Hour)
	report(r, 2, ledger.OutcomePosted, "", 18*time.Hour)
	report(r, 2, ledger.OutcomeReturned, "addressee-gone-away", 100*time.Hour)
	if _, _, err := f.envs.Cancel(ctx, envelopes.Cancellation{EnvelopeID: c, Code: "requested-by-parent", Reason: "moved house",
		At: cutOff.Add(90 * time.Minute)}); err != nil {
		t.Fatal(err)
	}

	tl := f.timeline(t, a)
	check(t, tl, status.StepPosted,
		"rendered@02T16:30", "batched@02T17:31 run1 "+b+" #1", "handed-over@02T18:30 run1 "+b+" #1",
		"received@02T19:30 run1 "+b+" #1", "printed@03T08:30 run1 "+b+" #1", "posted@03T11:30 run1 "+b+" #1")
	if tl.Entries[1].Supplier != "northprint" || !strings.Contains(tl.Summary, "Posted on 3 March 2026") {
		t.Errorf("supplier %q, summary %q", tl.Entries[1].Supplier, tl.Summary)
	}
	check(t, f.timeline(t, r), status.StepReturned,
		"rendered@02T16:30", "batched@02T17:31 run1 "+b+" #2", "handed-over@02T18:30 run1 "+b+" #2",
		"received@02T19:30 run1 "+b+" #2", "printed@03T08:30 run1 "+b+" #2", "posted@03T11:30 run1 "+b+" #2",
		"returned@06T21:30 run1 "+b+" #2 addressee-gone-away")
	check(t, f.timeline(t, c), status.StepReceived,
		"rendered@02T16:30", "batched@02T17:31 run1 "+b+" #3", "handed-over@02T18:30 run1 "+b+" #3",
		"cancel-refused@02T19:00 requested-by-parent", "received@02T19:30 run1 "+b+" #3")
}

func TestCancelled(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	// Cancelled before it arrived: a marker and nothing else.
	if _, _, err := f.envs.Cancel(ctx, envelopes.Cancellation{EnvelopeID: "E-EARLY", Code: "requested-by-parent", Reason: "moved house", At: cutOff}); err != nil {
		t.Fatal(err)
	}
	tl := f.timeline(t, "E-EARLY")
	check(t, tl, status.StepCancelled, "cancelled@02T17:30 requested-by-parent")
	if !strings.Contains(tl.Summary, "will not be printed") {
		t.Errorf("summary %q", tl.Summary)
	}

	// Rendered, cancelled, then left out of the batch for it.
	batchtest.Commit(t, f.s, "E-LATE", cutOff.Add(-2*time.Hour))
	if _, _, err := f.envs.Cancel(ctx, envelopes.Cancellation{EnvelopeID: "E-LATE", Code: "requested-by-parent", At: cutOff.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	id := ledger.ID(cutOff, 1)
	leaveOut(t, f, id, "E-LATE", ledger.LeftCancelled)
	check(t, f.timeline(t, "E-LATE"), status.StepLeftOut,
		"rendered@02T15:30", "cancelled@02T16:30 requested-by-parent", "left-out@02T17:31 run1 "+id+" cancelled")
}

// leaveOut claims envelope id for batch b, then seals b without it.
func leaveOut(t *testing.T, f *fixture, b, id, code string) {
	t.Helper()
	ctx := t.Context()
	if _, _, err := f.ledger.CreateClaim(ctx, ledger.Claim{EnvelopeID: id, BatchID: b, ClaimedAt: cutOff}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.ledger.Seal(ctx, &ledger.Sealed{BatchID: b, CutOff: cutOff, Supplier: "northprint", Attempt: "a1",
		SealedAt: cutOff.Add(time.Minute), Envelopes: []ledger.Member{}, Left: []ledger.Left{{EnvelopeID: id, Code: code}}}); err != nil {
		t.Fatal(err)
	}
}

func TestBatchingAndLeftOut(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	batchtest.Commit(t, f.s, "E-SEALING", cutOff.Add(-time.Hour))
	if _, _, err := f.ledger.CreateClaim(ctx, ledger.Claim{EnvelopeID: "E-SEALING", BatchID: ledger.ID(cutOff, 1), ClaimedAt: cutOff}); err != nil {
		t.Fatal(err)
	}
	check(t, f.timeline(t, "E-SEALING"), status.StepBatching, "rendered@02T16:30", "batching@02T17:30 run1 "+ledger.ID(cutOff, 1))

	batchtest.Commit(t, f.s, "E-DAMAGED", cutOff.Add(-time.Hour))
	leaveOut(t, f, ledger.ID(cutOff, 2), "E-DAMAGED", ledger.LeftDamaged)
	tl := f.timeline(t, "E-DAMAGED")
	check(t, tl, status.StepLeftOut, "rendered@02T16:30", "left-out@02T17:31 run1 "+ledger.ID(cutOff, 2)+" damaged")
	if !strings.Contains(tl.Summary, "needs an operator") {
		t.Errorf("summary %q", tl.Summary)
	}

}

func TestHandOffFailed(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	later := cutOff.AddDate(0, 0, 1)
	sealed := batchtest.Seal(t, f.s, "northprint", later, 1)
	if err := f.ledger.RecordHandOffFailure(ctx, ledger.HandOffFailure{BatchID: sealed.BatchID, At: later.Add(time.Hour),
		Error: "folder: permission denied"}); err != nil {
		t.Fatal(err)
	}
	tl := f.timeline(t, sealed.Envelopes[0].EnvelopeID)
	check(t, tl, status.StepHandOffFailed, "rendered@03T16:30", "batched@03T17:31 run1 "+sealed.BatchID+" #1",
		"hand-off-failed@03T18:30 run1 "+sealed.BatchID+" #1")
	if js, _ := json.Marshal(tl); strings.Contains(string(js), "permission") {
		t.Errorf("the adapter's error is in the timeline: %s", js)
	}
}

func TestPersonalDataDeleted(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	batchtest.Commit(t, f.s, "E-SWEPT", cutOff)
	if err := f.envs.RecordDeletion(ctx, "E-SWEPT", cutOff.AddDate(0, 0, 30)); err != nil {
		t.Fatal(err)
	}
	tl := f.timeline(t, "E-SWEPT")
	check(t, tl, status.StepRendered, "rendered@02T17:30", "personal-data-deleted@01T17:30")
	if !tl.PersonalDataDeleted || len(tl.Documents) != 3 {
		t.Errorf("deleted %v, documents %d: the record's facts outlive the files", tl.PersonalDataDeleted, len(tl.Documents))
	}

	// Deleted by the store's lifecycle rule: no record of when.
	rec := batchtest.Commit(t, f.s, "E-EXPIRED", cutOff)
	if err := f.s.Delete(ctx, rec.Request.Key); err != nil {
		t.Fatal(err)
	}
	check(t, f.timeline(t, "E-EXPIRED"), status.StepRendered, "rendered@02T17:30", "personal-data-deleted")
}

// TestReprints: a spoiled envelope reprinted in the next day's batch
// shows both print runs; a cancellation while a second reprint waits
// stands, and the timeline says so.
func TestReprints(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	sealed := batchtest.Seal(t, f.s, "northprint", cutOff, 1)
	b1, id := sealed.BatchID, sealed.Envelopes[0].EnvelopeID
	if _, _, err := f.ledger.RecordOutcome(ctx, ledger.Outcome{BatchID: b1, EnvelopeID: id, Sequence: 1, Outcome: ledger.OutcomeSpoiled,
		Code: "paper-jam", At: cutOff.Add(15 * time.Hour), ReportedAt: cutOff.Add(15 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.ledger.CreateReprint(ctx, ledger.Reprint{EnvelopeID: id, Run: 1, Reason: ledger.ReasonSpoiled, Source: ledger.SourceSupplier,
		BatchID: b1, Sequence: 1, RequestedAt: cutOff.Add(15*time.Hour + time.Minute)}); err != nil {
		t.Fatal(err)
	}
	tl := f.timeline(t, id)
	check(t, tl, status.StepReprinted, "rendered@02T16:30", "batched@02T17:31 run1 "+b1+" #1",
		"spoiled@03T08:30 run1 "+b1+" #1 paper-jam", "reprinted@03T08:31 run2 spoiled by supplier")
	if want := "Reprint 1 (second print) was asked for automatically"; !strings.HasPrefix(tl.Summary, want) {
		t.Errorf("summary %q, want it to start %q", tl.Summary, want)
	}

	// The next cut-off prints it, as the second envelope of its batch.
	next := cutOff.AddDate(0, 0, 1)
	b2 := ledger.ID(next, 1)
	if _, _, err := f.ledger.CreateClaim(ctx, ledger.Claim{EnvelopeID: id, BatchID: b2, ClaimedAt: next, Run: 1}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.ledger.Seal(ctx, &ledger.Sealed{BatchID: b2, CutOff: next, Supplier: "northprint", Attempt: "a1", SealedAt: next.Add(time.Minute),
		Envelopes: []ledger.Member{{Sequence: 1, EnvelopeID: "E-OTHER"}, {Sequence: 2, EnvelopeID: id, Run: 1}}, Files: []ledger.File{}}); err != nil {
		t.Fatal(err)
	}
	check(t, f.timeline(t, id), status.StepBatched, "rendered@02T16:30", "batched@02T17:31 run1 "+b1+" #1",
		"spoiled@03T08:30 run1 "+b1+" #1 paper-jam", "reprinted@03T08:31 run2 "+b2+" spoiled by supplier", "batched@03T17:31 run2 "+b2+" #2")

	// A second reprint, then a cancellation before its cut-off: it stands.
	if _, _, err := f.ledger.CreateReprint(ctx, ledger.Reprint{EnvelopeID: id, Run: 2, Reason: ledger.ReasonLostInPost, Source: ledger.SourceOperator,
		BatchID: b2, Sequence: 2, RequestedAt: next.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.envs.Cancel(ctx, envelopes.Cancellation{EnvelopeID: id, Code: "requested-by-parent", At: next.Add(3 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	check(t, f.timeline(t, id), status.StepCancelled, "rendered@02T16:30", "batched@02T17:31 run1 "+b1+" #1",
		"spoiled@03T08:30 run1 "+b1+" #1 paper-jam", "reprinted@03T08:31 run2 "+b2+" spoiled by supplier", "batched@03T17:31 run2 "+b2+" #2",
		"reprinted@03T19:30 run3 lost-in-post by operator", "cancelled@03T20:30 requested-by-parent")

	// The next cut-off claims the reprint and leaves it out for the
	// cancellation: the cancellation still stands.
	third := next.AddDate(0, 0, 1)
	b3 := ledger.ID(third, 1)
	if _, _, err := f.ledger.CreateClaim(ctx, ledger.Claim{EnvelopeID: id, BatchID: b3, ClaimedAt: third, Run: 2}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.ledger.Seal(ctx, &ledger.Sealed{BatchID: b3, CutOff: third, Supplier: "northprint", Attempt: "a1", SealedAt: third.Add(time.Minute),
		Envelopes: []ledger.Member{}, Left: []ledger.Left{{EnvelopeID: id, Run: 2, Code: ledger.LeftCancelled}}}); err != nil {
		t.Fatal(err)
	}
	tl = f.timeline(t, id)
	check(t, tl, status.StepLeftOut, "rendered@02T16:30", "batched@02T17:31 run1 "+b1+" #1",
		"spoiled@03T08:30 run1 "+b1+" #1 paper-jam", "reprinted@03T08:31 run2 "+b2+" spoiled by supplier", "batched@03T17:31 run2 "+b2+" #2",
		"reprinted@03T19:30 run3 "+b3+" lost-in-post by operator", "cancelled@03T20:30 requested-by-parent", "left-out@04T17:31 run3 "+b3+" cancelled")
	if !strings.Contains(tl.Summary, "reprint 2 (third print)") || strings.Contains(tl.Summary, "needs an operator") {
		t.Errorf("summary %q", tl.Summary)
	}
}

// TestHeld: the supplier spoils an envelope that may not be reprinted
// automatically; the hold shows as a step with its code and the print it
// is about, and the summary says what to do. An operator's reprint then
// shows who asked, and the print is named as support and the reprint
// commands name it.
func TestHeld(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	clock := memqueue.NewManualClock(cutOff.Add(16 * time.Hour))
	rp, err := reprint.New(reprint.Config{Store: f.s, Events: &batchtest.Events{}, MaxAutomatic: 0, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	sealed := batchtest.Seal(t, f.s, "northprint", cutOff, 2)
	b1, id, other := sealed.BatchID, sealed.Envelopes[0].EnvelopeID, sealed.Envelopes[1].EnvelopeID
	for _, e := range []string{id, other} {
		if _, _, err := f.ledger.RecordOutcome(ctx, ledger.Outcome{BatchID: b1, EnvelopeID: e, Sequence: 1, Outcome: ledger.OutcomeSpoiled,
			Code: "paper-jam", At: cutOff.Add(15 * time.Hour), ReportedAt: cutOff.Add(15 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := rp.Spoiled(ctx, sealed, e); err != nil {
			t.Fatal(err)
		}
	}
	tl := f.timeline(t, id)
	check(t, tl, status.StepHeld, "rendered@02T16:30", "batched@02T17:31 run1 "+b1+" #1",
		"spoiled@03T08:30 run1 "+b1+" #1 paper-jam", "held@03T09:30 run2 reprint-limit")
	if e := tl.Entries[3]; e.Reprint != 1 || e.BatchID != "" {
		t.Errorf("held entry %+v: want reprint 1, no batch (it was not made)", e)
	}
	for _, want := range []string{"reprint 1 (second print) was not made", "(reprint-limit)", "an operator decides", "quire envelopes reprint"} {
		if !strings.Contains(tl.Summary, want) {
			t.Errorf("summary %q does not say %q", tl.Summary, want)
		}
	}

	// An operator reprints it; the next cut-off prints it.
	clock.Advance(time.Hour)
	if _, err := rp.Operator(ctx, id, ledger.ReasonSpoiled); err != nil {
		t.Fatal(err)
	}
	tl = f.timeline(t, id)
	check(t, tl, status.StepReprinted, "rendered@02T16:30", "batched@02T17:31 run1 "+b1+" #1",
		"spoiled@03T08:30 run1 "+b1+" #1 paper-jam", "held@03T09:30 run2 reprint-limit", "reprinted@03T10:30 run2 spoiled by operator")
	if want := "Reprint 1 (second print) was asked for by an operator (spoiled)"; !strings.HasPrefix(tl.Summary, want) {
		t.Errorf("summary %q, want it to start %q", tl.Summary, want)
	}
	next := cutOff.AddDate(0, 0, 1)
	b2 := ledger.ID(next, 1)
	if _, _, err := f.ledger.CreateClaim(ctx, ledger.Claim{EnvelopeID: id, BatchID: b2, ClaimedAt: next, Run: 1}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.ledger.Seal(ctx, &ledger.Sealed{BatchID: b2, CutOff: next, Supplier: "northprint", Attempt: "a1", SealedAt: next.Add(time.Minute),
		Envelopes: []ledger.Member{{Sequence: 1, EnvelopeID: id, Run: 1}}, Files: []ledger.File{}}); err != nil {
		t.Fatal(err)
	}
	tl = f.timeline(t, id)
	if tl.State != status.StepBatched || !strings.HasSuffix(tl.Summary, "That print is the envelope's reprint 1 (second print).") {
		t.Errorf("state %q, summary %q", tl.State, tl.Summary)
	}

	// The other one is cancelled while it is held: the cancellation
	// stands (nothing more was to be printed), and the summary says it
	// will not be printed again.
	if _, _, err := f.envs.Cancel(ctx, envelopes.Cancellation{EnvelopeID: other, Code: "requested-by-parent", At: cutOff.Add(20 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	tl = f.timeline(t, other)
	check(t, tl, status.StepCancelled, "rendered@02T16:30", "batched@02T17:31 run1 "+b1+" #2",
		"spoiled@03T08:30 run1 "+b1+" #2 paper-jam", "held@03T09:30 run2 reprint-limit", "cancelled@03T13:30 requested-by-parent")
	if want := "Cancelled (requested-by-parent) while its reprint waited for a person: it will not be printed again."; tl.Summary != want {
		t.Errorf("summary %q, want %q", tl.Summary, want)
	}
	if _, err := rp.Operator(ctx, other, ledger.ReasonSpoiled); err == nil {
		t.Error("a cancelled held envelope was reprinted")
	}
}

func TestPrintName(t *testing.T) {
	for run, want := range map[int]string{0: "first print", 1: "first print", 2: "reprint 1 (second print)",
		4: "reprint 3 (fourth print)", 12: "reprint 11 (12th print)", 22: "reprint 21 (22nd print)", 23: "reprint 22 (23rd print)"} {
		if got := status.PrintName(run); got != want {
			t.Errorf("PrintName(%d) = %q, want %q", run, got, want)
		}
	}
}

// TestHeldAfterItsSpoiledReport: the supplier's clock, which times the
// spoiled report, may be ahead of Quire's, which times the hold and the
// reprint request; they still follow the report they came from.
func TestHeldAfterItsSpoiledReport(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	sealed := batchtest.Seal(t, f.s, "northprint", cutOff, 1)
	b1, id := sealed.BatchID, sealed.Envelopes[0].EnvelopeID
	if _, _, err := f.ledger.RecordOutcome(ctx, ledger.Outcome{BatchID: b1, EnvelopeID: id, Sequence: 1, Outcome: ledger.OutcomeSpoiled,
		Code: "paper-jam", At: cutOff.Add(15*time.Hour + 30*time.Second), ReportedAt: cutOff.Add(15 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.ledger.RecordHold(ctx, ledger.Hold{EnvelopeID: id, Run: 1, BatchID: b1, Sequence: 1, Code: ledger.HoldLimit,
		HeldAt: cutOff.Add(15 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	check(t, f.timeline(t, id), status.StepHeld, "rendered@02T16:30", "batched@02T17:31 run1 "+b1+" #1",
		"spoiled@03T08:30 run1 "+b1+" #1 paper-jam", "held@03T08:30 run2 reprint-limit")
	if _, _, err := f.ledger.CreateReprint(ctx, ledger.Reprint{EnvelopeID: id, Run: 1, Reason: ledger.ReasonSpoiled, Source: ledger.SourceOperator,
		BatchID: b1, Sequence: 1, RequestedAt: cutOff.Add(15*time.Hour + 10*time.Second)}); err != nil {
		t.Fatal(err)
	}
	check(t, f.timeline(t, id), status.StepReprinted, "rendered@02T16:30", "batched@02T17:31 run1 "+b1+" #1",
		"spoiled@03T08:30 run1 "+b1+" #1 paper-jam", "held@03T08:30 run2 reprint-limit", "reprinted@03T08:30 run2 spoiled by operator")
}

// TestDismissed: an operator's dismissal of a held reprint is a step of
// its own after the hold, and says nothing more is printed; a
// cancellation that came before the hold was still too late.
func TestDismissed(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	clock := memqueue.NewManualClock(cutOff.Add(16 * time.Hour))
	rp, err := reprint.New(reprint.Config{Store: f.s, Events: &batchtest.Events{}, MaxAutomatic: 0, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	sealed := batchtest.Seal(t, f.s, "northprint", cutOff, 1)
	b1, id := sealed.BatchID, sealed.Envelopes[0].EnvelopeID
	if _, _, err := f.envs.Cancel(ctx, envelopes.Cancellation{EnvelopeID: id, Code: "requested-by-parent", At: cutOff.Add(14 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.ledger.RecordOutcome(ctx, ledger.Outcome{BatchID: b1, EnvelopeID: id, Sequence: 1, Outcome: ledger.OutcomeSpoiled,
		Code: "paper-jam", At: cutOff.Add(15 * time.Hour), ReportedAt: cutOff.Add(15 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := rp.Spoiled(ctx, sealed, id); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	if _, err := rp.Dismiss(ctx, id, ledger.DismissUpstreamResend); err != nil {
		t.Fatal(err)
	}
	tl := f.timeline(t, id)
	check(t, tl, status.StepDismissed, "rendered@02T16:30", "batched@02T17:31 run1 "+b1+" #1",
		"cancel-refused@03T07:30 requested-by-parent", "spoiled@03T08:30 run1 "+b1+" #1 paper-jam",
		"held@03T09:30 run2 cancelled", "dismissed@03T10:30 run2 upstream-will-resend")
	want := "Spoiled in production; reprint 1 (second print) was not made: an operator decided not to print it again (upstream-will-resend). " +
		"It was cancelled, so it will not be printed again."
	if tl.Summary != want {
		t.Errorf("summary %q, want %q", tl.Summary, want)
	}
}
