package ledger_test

import (
	"errors"
	"testing"
	"time"

	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/fsstore"
)

var cutOff = time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC)

func newStore(t *testing.T) (*ledger.Store, storage.Store) {
	t.Helper()
	s, err := fsstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return ledger.NewStore(s), s
}

// The first claim of an envelope stands: a second batch gets it back.
func TestFirstClaimStands(t *testing.T) {
	st, _ := newStore(t)
	first := ledger.Claim{EnvelopeID: "env-1", BatchID: ledger.ID(cutOff, 1), ClaimedAt: cutOff}
	got, created, err := st.CreateClaim(t.Context(), first)
	if err != nil || !created || got.BatchID != first.BatchID || got.SchemaVersion != ledger.SchemaVersion {
		t.Fatalf("first CreateClaim = %+v, %v, %v", got, created, err)
	}
	got, created, err = st.CreateClaim(t.Context(), ledger.Claim{EnvelopeID: "env-1", BatchID: ledger.ID(cutOff, 2), ClaimedAt: cutOff})
	if err != nil || created || got.BatchID != first.BatchID {
		t.Fatalf("second CreateClaim = %+v, %v, %v; want the first claim back", got, created, err)
	}
}

// An envelope's fate follows its claim, the seal and the hand-over; a
// cancellation is refused only once the envelope is in a sealed batch.
func TestFateAndCheckCancel(t *testing.T) {
	st, _ := newStore(t)
	ctx := t.Context()
	id, batchID := "env-1", ledger.ID(cutOff, 1)
	check := func(want ledger.FateState) {
		t.Helper()
		f, err := st.Fate(ctx, id)
		if err != nil || f.State != want {
			t.Fatalf("Fate = %+v, %v; want %v", f, err, want)
		}
	}
	check(ledger.NotBatched)
	if e, err := st.CheckCancel(ctx, id, cutOff); e != nil || err != nil {
		t.Fatalf("CheckCancel before any claim = %v, %v; want the cancellation to stand", e, err)
	}

	if _, _, err := st.CreateClaim(ctx, ledger.Claim{EnvelopeID: id, BatchID: batchID, ClaimedAt: cutOff}); err != nil {
		t.Fatal(err)
	}
	check(ledger.Sealing)
	if _, err := st.CheckCancel(ctx, id, cutOff); !errors.Is(err, ledger.ErrSealing) {
		t.Fatalf("CheckCancel while sealing = %v, want ErrSealing", err)
	}

	s := &ledger.Sealed{BatchID: batchID, CutOff: cutOff, Supplier: "northprint", Attempt: "a1", SealedAt: cutOff,
		Envelopes: []ledger.Member{{Sequence: 1, EnvelopeID: id}}, Files: []ledger.File{}}
	if _, created, err := st.Seal(ctx, s); err != nil || !created {
		t.Fatalf("Seal = %v, %v", created, err)
	}
	check(ledger.InBatch)
	e, err := st.CheckCancel(ctx, id, cutOff.Add(time.Hour))
	if err != nil || e == nil {
		t.Fatalf("CheckCancel after the seal = %v, %v; want a refusal", e, err)
	}

	// A second seal does not replace the first.
	other := *s
	other.Envelopes = []ledger.Member{}
	if got, created, err := st.Seal(ctx, &other); err != nil || created || len(got.Envelopes) != 1 {
		t.Fatalf("second Seal = %+v, %v, %v; want the first seal back", got, created, err)
	}
}

// The hand-off index lists a batch until its hand-off is done.
func TestHandOffIndex(t *testing.T) {
	st, _ := newStore(t)
	ctx := t.Context()
	id := ledger.ID(cutOff, 1)
	if err := st.AwaitHandOff(ctx, id); err != nil {
		t.Fatal(err)
	}
	if waiting, err := st.AwaitsHandOff(ctx, id); err != nil || !waiting {
		t.Fatalf("AwaitsHandOff = %v, %v; want true", waiting, err)
	}
	var pending []string
	for id, err := range st.PendingHandOffs(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		pending = append(pending, id)
	}
	if len(pending) != 1 || pending[0] != id {
		t.Fatalf("PendingHandOffs = %q, want [%s]", pending, id)
	}
	if err := st.HandOffDone(ctx, id); err != nil {
		t.Fatal(err)
	}
	if waiting, err := st.AwaitsHandOff(ctx, id); err != nil || waiting {
		t.Fatalf("AwaitsHandOff after HandOffDone = %v, %v; want false", waiting, err)
	}
}

// A cut-off is claimed once, and done once.
func TestCutOffRecords(t *testing.T) {
	st, _ := newStore(t)
	ctx := t.Context()
	cid := ledger.CutOffID(cutOff)
	if _, err := st.CutOffDone(ctx, cid); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("CutOffDone before any = %v, want ErrNotFound", err)
	}
	if _, created, err := st.ClaimCutOff(ctx, ledger.CutOffClaim{CutOff: cutOff, Owner: "a", At: cutOff}); err != nil || !created {
		t.Fatalf("ClaimCutOff = %v, %v", created, err)
	}
	holder, created, err := st.ClaimCutOff(ctx, ledger.CutOffClaim{CutOff: cutOff, Owner: "b", At: cutOff})
	if err != nil || created || holder.Owner != "a" {
		t.Fatalf("second ClaimCutOff = %+v, %v, %v; want a's claim", holder, created, err)
	}
	if err := st.Heartbeat(ctx, ledger.CutOffClaim{CutOff: cutOff, Owner: "a", At: cutOff.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if hb, err := st.LastHeartbeat(ctx, cid); err != nil || !hb.At.Equal(cutOff.Add(time.Minute)) || hb.Run != "" || hb.Released {
		t.Fatalf("LastHeartbeat = %+v, %v", hb, err)
	}
	released := ledger.CutOffClaim{CutOff: cutOff, Owner: "a", Run: "0f1e2d3c", At: cutOff.Add(2 * time.Minute), Released: true}
	if err := st.Heartbeat(ctx, released); err != nil {
		t.Fatal(err)
	}
	if hb, err := st.LastHeartbeat(ctx, cid); err != nil || hb.Run != released.Run || !hb.Released {
		t.Fatalf("LastHeartbeat after a release = %+v, %v", hb, err)
	}
	if _, _, err := st.MarkCutOffDone(ctx, ledger.CutOffDone{CutOff: cutOff, Batches: []string{ledger.ID(cutOff, 1)}, At: cutOff}); err != nil {
		t.Fatal(err)
	}
	if d, err := st.CutOffDone(ctx, cid); err != nil || len(d.Batches) != 1 {
		t.Fatalf("CutOffDone = %+v, %v", d, err)
	}
}

// Cut-off records as a Quire from before runs and releases wrote them are
// still read; one with a field this version does not know (a later
// Quire's) is refused, not read in part: the batcher then tries again
// rather than taking over a cut-off it cannot judge. docs/operations.md
// (Upgrading) counts on both.
func TestCutOffRecordsAcrossVersions(t *testing.T) {
	st, s := newStore(t)
	ctx := t.Context()
	cid := ledger.CutOffID(cutOff)
	old := `{"schemaVersion":1,"cutOff":"2026-03-02T17:30:00Z","owner":"quire-7d9f","at":"2026-03-02T17:31:00Z"}`
	if _, err := s.Put(ctx, ledger.CutOffsPrefix+cid+"/heartbeat.json", []byte(old)); err != nil {
		t.Fatal(err)
	}
	hb, err := st.LastHeartbeat(ctx, cid)
	if err != nil || hb.Owner != "quire-7d9f" || hb.Run != "" || hb.Released || !hb.At.Equal(cutOff.Add(time.Minute)) {
		t.Fatalf("an old heartbeat reads as %+v, %v", hb, err)
	}
	newer := `{"schemaVersion":1,"cutOff":"2026-03-02T17:30:00Z","owner":"quire-7d9f","at":"2026-03-02T17:31:00Z","lease":"5m"}`
	if _, err := s.Put(ctx, ledger.CutOffsPrefix+cid+"/claim.json", []byte(newer)); err != nil {
		t.Fatal(err)
	}
	if c, _, err := st.ClaimCutOff(ctx, ledger.CutOffClaim{CutOff: cutOff, Owner: "b", At: cutOff}); err == nil || errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("claiming a cut-off whose claim has an unknown field = %+v, %v; want an error", c, err)
	}
}
