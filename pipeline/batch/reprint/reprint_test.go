package reprint_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quire-print/quire/pipeline/batch/batchtest"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/batch/reprint"
	"github.com/quire-print/quire/pipeline/batch/retention"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/memqueue"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/fsstore"
)

// Monday 2 March 2026: a cut-off of the default schedule.
var cutOff = time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC)

type fixture struct {
	t     *testing.T
	store storage.Store
	st    *ledger.Store
	ev    *batchtest.Events
	clock *memqueue.ManualClock
	batch *ledger.Sealed
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s, err := fsstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, store: s, st: ledger.NewStore(s), ev: &batchtest.Events{}, clock: memqueue.NewManualClock(cutOff.Add(time.Hour))}
	f.batch = batchtest.Seal(t, s, "northprint", cutOff, 3)
	t.Cleanup(func() {
		for _, e := range f.ev.All() {
			batchtest.CheckNoPersonalData(t, "event "+e.Kind, string(e.Body))
		}
	})
	return f
}

func (f *fixture) reprinter(max int) *reprint.Reprinter {
	f.t.Helper()
	r, err := reprint.New(reprint.Config{Store: f.store, Events: f.ev, MaxAutomatic: max, Clock: f.clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *fixture) id(i int) string { return f.batch.Envelopes[i].EnvelopeID }

func refusal(t *testing.T, err error, code string, says ...string) {
	t.Helper()
	var r *reprint.RefusedError
	if !errors.As(err, &r) || r.Code != code {
		t.Fatalf("got %v, want a refusal %s", err, code)
	}
	for _, s := range says {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("refusal %q does not say %q", err, s)
		}
	}
	if len(r.Why) > 200 {
		t.Errorf("refusal of %d characters; events carry at most 200: %q", len(r.Why), r.Why)
	}
	batchtest.CheckNoPersonalData(t, "the refusal", err.Error())
}

func TestOperatorRefusals(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	r := f.reprinter(2)

	_, err := r.Operator(ctx, "no-such-envelope", ledger.ReasonLostInPost)
	refusal(t, err, reprint.CodeNotRendered, "no rendered envelope")

	batchtest.Commit(t, f.store, "unbatched", cutOff.Add(time.Minute))
	_, err = r.Operator(ctx, "unbatched", ledger.ReasonLostInPost)
	refusal(t, err, reprint.CodeNotBatched, "not in a sealed batch")

	batchtest.Commit(t, f.store, "sealing", cutOff.Add(time.Minute))
	if _, _, err := f.st.CreateClaim(ctx, ledger.Claim{EnvelopeID: "sealing", BatchID: "20260303T173000Z-001", ClaimedAt: f.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	_, err = r.Operator(ctx, "sealing", ledger.ReasonLostInPost)
	refusal(t, err, reprint.CodeSealing, "20260303T173000Z-001", "ask again in a few minutes")

	envs := envelopes.New(f.store)
	if _, _, err := envs.Cancel(ctx, envelopes.Cancellation{EnvelopeID: f.id(0), Code: "requested-by-parent", At: f.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	_, err = r.Operator(ctx, f.id(0), ledger.ReasonDamaged)
	refusal(t, err, ledger.HoldCancelled, "cancelled")

	if _, _, err := f.st.RecordOutcome(ctx, ledger.Outcome{BatchID: f.batch.BatchID, EnvelopeID: f.id(1), Sequence: 2,
		Outcome: ledger.OutcomeReturned, Code: "addressee-gone-away", At: f.clock.Now(), ReportedAt: f.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	_, err = r.Operator(ctx, f.id(1), ledger.ReasonLostInPost)
	refusal(t, err, ledger.HoldReturned, "never reprinted to the same address", "new envelope request", "corrected address")

	// A damaged stored document.
	rec, err := envs.Record(ctx, f.id(2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Put(ctx, rec.Documents[1].Key, []byte("%PDF-1.7 something else\n")); err != nil {
		t.Fatal(err)
	}
	_, err = r.Operator(ctx, f.id(2), ledger.ReasonDamaged)
	refusal(t, err, ledger.HoldDamaged, "new envelope request")

	if _, err := r.Operator(ctx, f.id(2), "my baby's name"); err == nil || errors.As(err, new(*reprint.RefusedError)) || strings.Contains(err.Error(), "baby") {
		t.Errorf("a free-text reason: %v, want an error naming the codes without quoting it", err)
	}
	// Nothing was written by any refusal.
	for _, id := range []string{"unbatched", "sealing", f.id(0), f.id(1), f.id(2)} {
		if rs, err := f.st.Reprints(ctx, id); err != nil || len(rs) != 0 {
			t.Errorf("%s: reprints %+v, %v after a refusal", id, rs, err)
		}
	}
	if n := len(f.ev.Of(events.TypeReprintRequested)); n != 0 {
		t.Errorf("%d reprint-requested events after refusals", n)
	}
}

func TestOperatorReprintAndTheOneWaiting(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	r := f.reprinter(2)
	w, err := r.Operator(ctx, f.id(1), ledger.ReasonLostInPost)
	if err != nil {
		t.Fatal(err)
	}
	want := ledger.Reprint{SchemaVersion: ledger.SchemaVersion, EnvelopeID: f.id(1), Run: 1, Reason: ledger.ReasonLostInPost,
		Source: ledger.SourceOperator, BatchID: f.batch.BatchID, Sequence: 2, RequestedAt: f.clock.Now().UTC()}
	if w != want {
		t.Errorf("request %+v, want %+v", w, want)
	}
	if stored, err := f.st.Reprint(ctx, f.id(1), 1); err != nil || stored != want {
		t.Errorf("stored %+v, %v", stored, err)
	}
	if _, err := f.store.Stat(ctx, ledger.ReprintReadyKey(f.id(1), 1)); err != nil {
		t.Errorf("the reprint is not listed for the batcher: %v", err)
	}
	_, err = r.Operator(ctx, f.id(1), ledger.ReasonDamaged)
	refusal(t, err, reprint.CodeWaiting, "reprint 1 is already waiting", "operator")
	// The supplier's spoiled report about the same print adds nothing.
	if err := r.Spoiled(ctx, f.batch, f.id(1)); err != nil {
		t.Fatal(err)
	}
	if rs, _ := f.st.Reprints(ctx, f.id(1)); len(rs) != 1 || rs[0].Source != ledger.SourceOperator {
		t.Errorf("reprints %+v", rs)
	}
}

// TestRacingRequestsMakeOneReprint: the supplier's reports and operators
// asking at the same moment make one request for the reprint.
func TestRacingRequestsMakeOneReprint(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	r := f.reprinter(2)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			var err error
			if i%2 == 0 {
				err = r.Spoiled(ctx, f.batch, f.id(0))
			} else if _, err = r.Operator(ctx, f.id(0), ledger.ReasonSpoiled); errors.As(err, new(*reprint.RefusedError)) {
				err = nil
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if rs, err := f.st.Reprints(ctx, f.id(0)); err != nil || len(rs) != 1 {
		t.Errorf("reprints %+v, %v: want exactly one", rs, err)
	}
}

func TestSpoiledHolds(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()

	// No automatic reprints at all.
	none := f.reprinter(0)
	if err := none.Spoiled(ctx, f.batch, f.id(0)); err != nil {
		t.Fatal(err)
	}
	if h, err := f.st.Hold(ctx, f.id(0), 1); err != nil || h.Code != ledger.HoldLimit || h.Sequence != 1 {
		t.Errorf("hold %+v, %v", h, err)
	}
	// Returned undelivered, then reported spoiled: held, never reprinted.
	r := f.reprinter(2)
	if _, _, err := f.st.RecordOutcome(ctx, ledger.Outcome{BatchID: f.batch.BatchID, EnvelopeID: f.id(1), Sequence: 2,
		Outcome: ledger.OutcomeReturned, At: f.clock.Now(), ReportedAt: f.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := r.Spoiled(ctx, f.batch, f.id(1)); err != nil {
		t.Fatal(err)
	}
	if h, err := f.st.Hold(ctx, f.id(1), 1); err != nil || h.Code != ledger.HoldReturned {
		t.Errorf("hold %+v, %v", h, err)
	}
	// Reported again: the same hold, announced again, nothing new.
	if err := r.Spoiled(ctx, f.batch, f.id(1)); err != nil {
		t.Fatal(err)
	}
	held := map[string]events.PrintEvent{}
	n := 0
	for _, e := range f.ev.All() {
		if e.Kind == events.TypeReprintHeld {
			var p events.PrintEvent
			if err := json.Unmarshal(e.Body, &p); err != nil {
				t.Fatal(err)
			}
			held[p.EnvelopeID] = p
			n++
		}
	}
	if n != 3 || held[f.id(1)].Reason.Code != ledger.HoldReturned || held[f.id(1)].Reprint != 1 || held[f.id(0)].Reason.Code != ledger.HoldLimit {
		t.Errorf("%d held events: %+v", n, held)
	}
	for _, id := range []string{f.id(0), f.id(1)} {
		if rs, _ := f.st.Reprints(ctx, id); len(rs) != 0 {
			t.Errorf("%s was reprinted although held: %+v", id, rs)
		}
	}
	// An operator can still reprint the envelope held at the limit, and
	// that takes it off the held list; the returned one stays refused.
	if _, err := r.Operator(ctx, f.id(0), ledger.ReasonSpoiled); err != nil {
		t.Fatal(err)
	}
	_, err := r.Operator(ctx, f.id(1), ledger.ReasonSpoiled)
	refusal(t, err, ledger.HoldReturned)
	var ids []string
	for id, err := range f.st.Held(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if len(ids) != 1 || ids[0] != f.id(1) {
		t.Errorf("held %v, want only %s", ids, f.id(1))
	}
}

// TestReprintAfterRetention: once retention has deleted the envelope's
// documents, a reprint is refused with the sentence upstream acts on, and
// a spoiled report holds the envelope instead.
func TestReprintAfterRetention(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	k, err := retention.New(retention.Config{Store: f.store, Days: 30, Clock: f.clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := k.Posted(ctx, f.id(i), f.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	r := f.reprinter(2)
	// Within the period: allowed.
	if _, err := r.Operator(ctx, f.id(2), ledger.ReasonLostInPost); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(31 * 24 * time.Hour)
	if n, err := k.Sweep(ctx); err != nil || n != 2 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	_, err = r.Operator(ctx, f.id(0), ledger.ReasonLostInPost)
	refusal(t, err, ledger.HoldDeleted, "deleted when the retention period ended", "upstream must send a new envelope request, with a new envelope id")
	if err := r.Spoiled(ctx, f.batch, f.id(1)); err != nil {
		t.Fatal(err)
	}
	if h, err := f.st.Hold(ctx, f.id(1), 1); err != nil || h.Code != ledger.HoldDeleted {
		t.Errorf("hold %+v, %v", h, err)
	}
}

func TestHoldSentences(t *testing.T) {
	for _, code := range []string{ledger.HoldLimit, ledger.HoldDeleted, ledger.HoldDamaged, ledger.HoldReturned, ledger.HoldCancelled} {
		s := reprint.HoldSentence(ledger.Hold{EnvelopeID: strings.Repeat("e", 64), BatchID: strings.Repeat("b", 40), Code: code}, 99)
		if len(s) > 200 || len(s) < 20 {
			t.Errorf("%s: %d characters: %q", code, len(s), s)
		}
		e := events.ReprintHeld(events.InBatch{EnvelopeID: "E-1", BatchID: "B-1", Sequence: 1, Supplier: "northprint"}, 1, code, s, cutOff)
		if e.Reason.Detail != s || e.Reprint != 1 {
			t.Errorf("held event %+v", e)
		}
	}
}

// TestHoldSentenceLimit: the limit's sentence counts the automatic
// reprints in words a person reads, and says when there are none.
func TestHoldSentenceLimit(t *testing.T) {
	for max, want := range map[int]string{0: "automatic reprints are off (--max-reprints 0)", 1: "reprinted automatically once, the most allowed",
		2: "reprinted automatically 2 times, the most allowed"} {
		if s := reprint.HoldSentence(ledger.Hold{Code: ledger.HoldLimit}, max); !strings.Contains(s, want) {
			t.Errorf("limit %d: %q does not say %q", max, s, want)
		}
	}
}

func TestConfig(t *testing.T) {
	_, err := reprint.New(reprint.Config{MaxAutomatic: -1})
	for _, want := range []string{"Store is required", "Events is required", "MaxAutomatic cannot be negative"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New = %v, want it to say %q", err, want)
		}
	}
}

// TestHoldSchedulesDeletion: a held envelope may never be reprinted nor
// posted, so the hold schedules its personal data's deletion; an
// operator's reprint after that is refused.
func TestHoldSchedulesDeletion(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	k, err := retention.New(retention.Config{Store: f.store, Days: 30, Clock: f.clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	r, err := reprint.New(reprint.Config{Store: f.store, Events: f.ev, MaxAutomatic: 0, Retention: k, Clock: f.clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // a repeated report schedules the same deletion
		if err := r.Spoiled(ctx, f.batch, f.id(0)); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Advance(29 * 24 * time.Hour)
	if n, err := k.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("sweep before the period ends: %d, %v", n, err)
	}
	f.clock.Advance(2 * 24 * time.Hour)
	if n, err := k.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep after the period: %d, %v; want the held envelope's files", n, err)
	}
	for info, err := range f.store.List(ctx, envelopes.EnvelopesPrefix+f.id(0)+"/files/") {
		t.Errorf("left after the sweep: %s %v", info.Key, err)
	}
	_, err = r.Operator(ctx, f.id(0), ledger.ReasonSpoiled)
	refusal(t, err, ledger.HoldDeleted, "new envelope id")
	// The other envelopes were not held, and keep their files.
	if _, err := r.Operator(ctx, f.id(1), ledger.ReasonLostInPost); err != nil {
		t.Error(err)
	}
}

// TestDismiss: an operator's dismissal of a held reprint is recorded
// once, takes the envelope off the held list, is announced, and schedules
// the envelope's personal data for deletion from the hold's time even
// when the hold did not; only a held envelope can be dismissed, and an
// operator may still ask for the reprint afterwards.
func TestDismiss(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	k, err := retention.New(retention.Config{Store: f.store, Days: 30, Clock: f.clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	// Held by a Reprinter told of no retention.
	if err := f.reprinter(0).Spoiled(ctx, f.batch, f.id(0)); err != nil {
		t.Fatal(err)
	}
	r, err := reprint.New(reprint.Config{Store: f.store, Events: f.ev, Retention: k, Clock: f.clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Dismiss(ctx, f.id(1), ledger.DismissNotNeeded)
	refusal(t, err, reprint.CodeNotHeld, "not held")
	if _, err := r.Dismiss(ctx, f.id(0), "Mrs Raman rang"); err == nil || strings.Contains(err.Error(), "Raman") {
		t.Errorf("a free-text reason: %v", err)
	}

	f.clock.Advance(time.Hour)
	d, err := r.Dismiss(ctx, f.id(0), ledger.DismissUpstreamResend)
	if err != nil || d.Run != 1 || d.BatchID != f.batch.BatchID || d.Sequence != 1 || !d.DismissedAt.Equal(f.clock.Now()) {
		t.Fatalf("Dismiss = %+v, %v", d, err)
	}
	for id := range f.st.Held(ctx) {
		t.Errorf("%s still held after the dismissal", id)
	}
	f.clock.Advance(time.Hour)
	again, err := r.Dismiss(ctx, f.id(0), ledger.DismissOther)
	if err != nil || again != d {
		t.Errorf("a second Dismiss = %+v, %v; want the first back", again, err)
	}
	var dismissed []events.PrintEvent
	var bodies []string
	for _, e := range f.ev.All() {
		if e.Kind == events.TypeReprintDismissed {
			var p events.PrintEvent
			if err := json.Unmarshal(e.Body, &p); err != nil {
				t.Fatal(err)
			}
			dismissed, bodies = append(dismissed, p), append(bodies, string(e.Body))
		}
	}
	if len(dismissed) != 2 || bodies[0] != bodies[1] || dismissed[0].Reason.Code != ledger.DismissUpstreamResend ||
		dismissed[0].Reprint != 1 || dismissed[0].Supplier != "northprint" || dismissed[0].BatchID != f.batch.BatchID {
		t.Errorf("dismissed events: %+v", dismissed)
	}

	// Deleted 30 days after the hold, not after the dismissal.
	f.clock.Advance(30*24*time.Hour - 2*time.Hour - time.Minute)
	if n, err := k.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("sweep before the period ends: %d, %v", n, err)
	}
	// Before then, an operator may still change their mind.
	w, err := r.Operator(ctx, f.id(0), ledger.ReasonLostInPost)
	if err != nil || w.Run != 1 {
		t.Fatalf("a reprint after the dismissal = %+v, %v; want it made", w, err)
	}
	_, err = r.Dismiss(ctx, f.id(0), ledger.DismissOther)
	refusal(t, err, reprint.CodeNotHeld)
	f.clock.Advance(2 * time.Minute)
	if n, err := k.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep after the period: %d, %v; want the dismissed envelope's files", n, err)
	}
}

// TestCancelledWhileHeld: a cancellation that stands for a held envelope
// (ledger.Store.CheckCancel) takes it off the list, and no reprint is made
// of it afterwards.
func TestCancelledWhileHeld(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	r := f.reprinter(0)
	if err := r.Spoiled(ctx, f.batch, f.id(0)); err != nil {
		t.Fatal(err)
	}
	c, _, err := envelopes.New(f.store).Cancel(ctx, envelopes.Cancellation{EnvelopeID: f.id(0), Code: "requested-by-parent", At: f.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if e, err := f.st.CheckCancel(ctx, f.id(0), c.At); e != nil || err != nil {
		t.Fatalf("CheckCancel = %+v, %v; want it to stand", e, err)
	}
	for h, err := range f.st.Holds(ctx) {
		t.Errorf("still held: %+v, %v", h, err)
	}
	_, err = r.Operator(ctx, f.id(0), ledger.ReasonSpoiled)
	refusal(t, err, ledger.HoldCancelled, "it was cancelled")
	if rs, err := f.st.Reprints(ctx, f.id(0)); err != nil || len(rs) != 0 {
		t.Errorf("reprints of the cancelled envelope: %+v, %v", rs, err)
	}
}
