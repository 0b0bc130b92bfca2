package ledger_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/storage"
)

// Records written before reprints read exactly as before, and records of
// a first print are written exactly as before: no run field.
func TestFirstPrintRecordsUnchanged(t *testing.T) {
	st, s := newStore(t)
	ctx := t.Context()
	old := `{"schemaVersion":1,"envelopeId":"env-1","batchId":"20260302T173000Z-001","claimedAt":"2026-03-02T17:30:01Z"}`
	if _, err := s.Put(ctx, ledger.ClaimKey("env-1"), []byte(old)); err != nil {
		t.Fatal(err)
	}
	c, err := st.Claim(ctx, "env-1")
	if err != nil || c.Run != 0 || c.BatchID != "20260302T173000Z-001" {
		t.Errorf("an old claim reads as %+v, %v", c, err)
	}
	if rs, err := st.Reprints(ctx, "env-1"); err != nil || len(rs) != 0 {
		t.Errorf("reprints of an envelope never reprinted: %+v, %v", rs, err)
	}
	if f, err := st.Fate(ctx, "env-1"); err != nil || f.State != ledger.Sealing || f.Run != 0 {
		t.Errorf("fate %+v, %v", f, err)
	}
	if _, _, err := st.CreateClaim(ctx, ledger.Claim{EnvelopeID: "env-2", BatchID: "20260302T173000Z-001", ClaimedAt: cutOff}); err != nil {
		t.Fatal(err)
	}
	data, err := s.Get(ctx, ledger.ClaimKey("env-2"))
	if err != nil || strings.Contains(string(data), "run") {
		t.Errorf("a first print's claim: %s, %v", data, err)
	}
}

// A reprint is one create-once request and one create-once claim, at keys
// of its own; the envelope's fate and CheckCancel follow its latest run.
func TestReprintRunsAndFate(t *testing.T) {
	st, s := newStore(t)
	ctx := t.Context()
	id, b1, b2 := "env-1", ledger.ID(cutOff, 1), ledger.ID(cutOff.AddDate(0, 0, 1), 1)
	if _, _, err := st.CreateClaim(ctx, ledger.Claim{EnvelopeID: id, BatchID: b1, ClaimedAt: cutOff}); err != nil {
		t.Fatal(err)
	}
	seal := func(batchID string, m ledger.Member) {
		t.Helper()
		if _, _, err := st.Seal(ctx, &ledger.Sealed{BatchID: batchID, CutOff: cutOff, Supplier: "northprint", Attempt: "a1",
			SealedAt: cutOff, Envelopes: []ledger.Member{m}, Files: []ledger.File{}}); err != nil {
			t.Fatal(err)
		}
	}
	seal(b1, ledger.Member{Sequence: 4, EnvelopeID: id})

	req := ledger.Reprint{EnvelopeID: id, Run: 1, Reason: ledger.ReasonLostInPost, Source: ledger.SourceOperator, BatchID: b1, Sequence: 4, RequestedAt: cutOff}
	got, created, err := st.CreateReprint(ctx, req)
	if err != nil || !created || got.Run != 1 {
		t.Fatalf("CreateReprint = %+v, %v, %v", got, created, err)
	}
	// A second request for run 1 gets the first back.
	again := req
	again.Source, again.Reason = ledger.SourceSupplier, ledger.ReasonSpoiled
	if got, created, err := st.CreateReprint(ctx, again); err != nil || created || got.Source != ledger.SourceOperator {
		t.Errorf("a second request for run 1 = %+v, %v, %v; want the first back", got, created, err)
	}
	var listed []ledger.Reprint
	for r, err := range st.ReadyReprints(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, r)
	}
	if len(listed) != 1 || listed[0].EnvelopeID != id || listed[0].Run != 1 {
		t.Errorf("listed for the batcher: %+v", listed)
	}
	if f, err := st.Fate(ctx, id); err != nil || f.State != ledger.NotBatched || f.Run != 1 {
		t.Errorf("fate with the reprint waiting: %+v, %v", f, err)
	}
	if e, err := st.CheckCancel(ctx, id, cutOff); e != nil || err != nil {
		t.Errorf("CheckCancel with the reprint waiting = %+v, %v; want the cancellation to stand", e, err)
	}

	// Claimed by the next batch: being sealed, then in it.
	if _, _, err := st.CreateClaim(ctx, ledger.Claim{EnvelopeID: id, BatchID: b2, ClaimedAt: cutOff, Run: 1}); err != nil {
		t.Fatal(err)
	}
	if c, err := st.Claim(ctx, id); err != nil || c.BatchID != b1 {
		t.Errorf("the first print's claim is now %+v, %v", c, err)
	}
	if _, err := st.CheckCancel(ctx, id, cutOff); !errors.Is(err, ledger.ErrSealing) {
		t.Errorf("CheckCancel while the reprint's batch is sealed = %v", err)
	}
	seal(b2, ledger.Member{Sequence: 1, EnvelopeID: id, Run: 1})
	f, err := st.Fate(ctx, id)
	if err != nil || f.State != ledger.InBatch || f.Run != 1 || f.BatchID != b2 || f.Sequence != 1 {
		t.Errorf("fate after the reprint is sealed: %+v, %v", f, err)
	}
	e, err := st.CheckCancel(ctx, id, cutOff)
	if err != nil || e == nil || e.Type != events.TypeCancelRefused || e.BatchID != b2 || e.Reprint != 1 {
		t.Errorf("CheckCancel after the reprint is sealed = %+v, %v", e, err)
	}
	// The first print's fate is still readable on its own.
	if f, err := st.RunFate(ctx, id, 0); err != nil || f.State != ledger.InBatch || f.BatchID != b1 {
		t.Errorf("run 0: %+v, %v", f, err)
	}
	// A batch that holds the envelope's first print does not hold its
	// reprint: a member of another run is not this run.
	if _, _, err := st.CreateClaim(ctx, ledger.Claim{EnvelopeID: "env-3", BatchID: b1, ClaimedAt: cutOff, Run: 1}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.CreateReprint(ctx, ledger.Reprint{EnvelopeID: "env-3", Run: 1, Reason: ledger.ReasonOther, Source: ledger.SourceOperator, BatchID: b2, RequestedAt: cutOff}); err != nil {
		t.Fatal(err)
	}
	if f, err := st.Fate(ctx, "env-3"); err != nil || f.State != ledger.LeftOut {
		t.Errorf("a run claimed by a batch whose seal does not list it: %+v, %v", f, err)
	}
	if _, err := s.Stat(ctx, ledger.ReprintKey(id, 1)); err != nil {
		t.Error(err)
	}
}

func TestReprintRecordsAreChecked(t *testing.T) {
	st, s := newStore(t)
	ctx := t.Context()
	for name, r := range map[string]ledger.Reprint{
		"run 0":     {EnvelopeID: "env-1", Run: 0, Reason: ledger.ReasonOther, Source: ledger.SourceOperator},
		"free text": {EnvelopeID: "env-1", Run: 1, Reason: "Mrs Raman rang", Source: ledger.SourceOperator},
		"bad id":    {EnvelopeID: "env/1", Run: 1, Reason: ledger.ReasonOther, Source: ledger.SourceOperator},
	} {
		if _, _, err := st.CreateReprint(ctx, r); err == nil || strings.Contains(err.Error(), "Raman") {
			t.Errorf("%s: CreateReprint = %v", name, err)
		}
	}
	// A gap in the runs, or a record for another envelope, is an error,
	// not a guess.
	if _, err := s.Put(ctx, ledger.ReprintKey("env-2", 2), []byte(`{"schemaVersion":1,"envelopeId":"env-2","run":2,"reason":"other","source":"operator","batchId":"B","sequence":1,"requestedAt":"2026-03-02T17:30:00Z"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Reprints(ctx, "env-2"); err == nil {
		t.Error("reprint 2 without reprint 1 was read")
	}
	if _, err := s.Put(ctx, ledger.ReprintKey("env-3", 1), []byte(`{"schemaVersion":1,"envelopeId":"env-9","run":1,"reason":"other","source":"operator","batchId":"B","sequence":1,"requestedAt":"2026-03-02T17:30:00Z"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Reprints(ctx, "env-3"); err == nil {
		t.Error("a record for another envelope was read")
	}
	if _, err := st.Reprint(ctx, "env-4", 1); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a missing reprint: %v", err)
	}
}

// heldEnvelope makes envelope id's first print part of a sealed batch and
// holds its first reprint for an operator.
func heldEnvelope(t *testing.T, st *ledger.Store, id string) ledger.Hold {
	t.Helper()
	ctx := t.Context()
	b := ledger.ID(cutOff, 1)
	if _, _, err := st.CreateClaim(ctx, ledger.Claim{EnvelopeID: id, BatchID: b, ClaimedAt: cutOff}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Seal(ctx, &ledger.Sealed{BatchID: b, CutOff: cutOff, Supplier: "northprint", Attempt: "a1",
		SealedAt: cutOff, Envelopes: []ledger.Member{{Sequence: 4, EnvelopeID: id}}, Files: []ledger.File{}}); err != nil {
		t.Fatal(err)
	}
	h, _, err := st.RecordHold(ctx, ledger.Hold{EnvelopeID: id, Run: 1, BatchID: b, Sequence: 4, Code: ledger.HoldLimit, HeldAt: cutOff.Add(20 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func holds(t *testing.T, st *ledger.Store) []string {
	t.Helper()
	var ids []string
	for h, err := range st.Holds(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, h.EnvelopeID)
	}
	return ids
}

// A cancellation of an envelope whose reprint is held stands: no print is
// coming. It takes the envelope off the held list, however often it is
// checked; one whose latest print is in a sealed batch and not held is
// still refused.
func TestCancelOfHeldEnvelopeStands(t *testing.T) {
	st, _ := newStore(t)
	ctx := t.Context()
	heldEnvelope(t, st, "env-1")
	if got := holds(t, st); len(got) != 1 {
		t.Fatalf("held before the cancellation: %v", got)
	}
	for range 2 {
		if e, err := st.CheckCancel(ctx, "env-1", cutOff.Add(30*time.Hour)); e != nil || err != nil {
			t.Fatalf("CheckCancel of a held envelope = %+v, %v; want the cancellation to stand", e, err)
		}
	}
	if got := holds(t, st); len(got) != 0 {
		t.Errorf("still held after the cancellation stood: %v", got)
	}
	for range st.Held(ctx) {
		t.Error("the held list still has an entry")
	}

	// Not held: the same sealed print refuses the cancellation.
	st2, _ := newStore(t)
	if _, _, err := st2.CreateClaim(ctx, ledger.Claim{EnvelopeID: "env-2", BatchID: ledger.ID(cutOff, 1), ClaimedAt: cutOff}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st2.Seal(ctx, &ledger.Sealed{BatchID: ledger.ID(cutOff, 1), CutOff: cutOff, Supplier: "northprint", Attempt: "a1",
		SealedAt: cutOff, Envelopes: []ledger.Member{{Sequence: 1, EnvelopeID: "env-2"}}, Files: []ledger.File{}}); err != nil {
		t.Fatal(err)
	}
	if e, err := st2.CheckCancel(ctx, "env-2", cutOff); err != nil || e == nil || e.Type != events.TypeCancelRefused {
		t.Errorf("CheckCancel of a batched envelope = %+v, %v; want it refused", e, err)
	}
}

// A dismissal is created once beside the hold, takes the envelope off the
// held list, and a repeat gets the first back; only the fixed codes are
// taken.
func TestDismissal(t *testing.T) {
	st, s := newStore(t)
	ctx := t.Context()
	h := heldEnvelope(t, st, "env-1")
	d := ledger.Dismissal{EnvelopeID: "env-1", Run: h.Run, BatchID: h.BatchID, Sequence: h.Sequence,
		Reason: ledger.DismissNotNeeded, DismissedAt: h.HeldAt.Add(time.Hour)}
	if _, _, err := st.Dismiss(ctx, ledger.Dismissal{EnvelopeID: "env-1", Run: 1, Reason: "family rang, Mrs Raman"}); err == nil || strings.Contains(err.Error(), "Raman") {
		t.Errorf("a free-text reason: %v", err)
	}
	got, created, err := st.Dismiss(ctx, d)
	d.SchemaVersion = ledger.SchemaVersion
	if err != nil || !created || got != d {
		t.Fatalf("Dismiss = %+v, %v, %v", got, created, err)
	}
	if ids := holds(t, st); len(ids) != 0 {
		t.Errorf("held after the dismissal: %v", ids)
	}
	// A crash between the record and the release leaves the entry: the
	// list skips it, and dismissing again releases it.
	if _, err := s.Put(ctx, ledger.ReprintHeldPrefix+"env-1", []byte("env-1")); err != nil {
		t.Fatal(err)
	}
	if ids := holds(t, st); len(ids) != 0 {
		t.Errorf("a left-over entry of a dismissed envelope is listed: %v", ids)
	}
	again := d
	again.Reason, again.DismissedAt = ledger.DismissOther, d.DismissedAt.Add(time.Hour)
	got, created, err = st.Dismiss(ctx, again)
	if err != nil || created || got != d {
		t.Errorf("a second Dismiss = %+v, %v, %v; want the first back", got, created, err)
	}
	for id := range st.Held(ctx) {
		t.Errorf("%s still on the held list", id)
	}
	if r, err := st.Dismissal(ctx, "env-1", 1); err != nil || r != d {
		t.Errorf("Dismissal = %+v, %v", r, err)
	}
}
