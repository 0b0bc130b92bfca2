package batch_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quire-print/quire/pipeline/batch"
	"github.com/quire-print/quire/pipeline/batch/batchtest"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/fsstore"
)

// killedHolding leaves the cut-off claimed and heart-beaten by a batcher
// of instance owner that stopped half way, as if SIGKILLed: its assembly
// fails, so it neither finishes nor releases the cut-off.
func (h *harness) killedHolding(owner string) {
	h.t.Helper()
	asm := &batchtest.Assembler{Store: h.store}
	asm.FailWith(errors.New("stand-in: killed"))
	a := h.batcher(func(c *batch.Config) { c.Owner = owner; c.Assembler = asm })
	if _, err := a.CutOff(h.t.Context(), cutOff); err == nil {
		h.t.Fatal("the batcher to be killed made the cut-off")
	}
	hb, err := h.st.LastHeartbeat(h.t.Context(), cutOffID)
	if err != nil || hb.Owner != owner || hb.Released {
		h.t.Fatalf("heartbeat after the kill: %+v, %v", hb, err)
	}
}

// TestRestartedBatcherResumesAtOnce: batcher-a is killed holding the
// cut-off and restarts a few seconds later. The restarted process, with
// the same instance name, finishes the cut-off at once; a batcher of
// another instance still waits for the heartbeat to go stale.
func TestRestartedBatcherResumesAtOnce(t *testing.T) {
	h := newHarness(t)
	ids := batchtest.CommitN(t, h.store, "E", 5, before)
	h.killedHolding("batcher-a")
	h.clock.Advance(5 * time.Second) // the restart

	stranger := h.batcher(func(c *batch.Config) { c.Owner = "batcher-b" })
	if _, err := stranger.CutOff(t.Context(), cutOff); !errors.Is(err, batch.ErrBusy) {
		t.Fatalf("another instance, 5s after the kill: %v, want ErrBusy", err)
	}
	restarted := h.batcher() // batcher-a again
	res, err := restarted.CutOff(t.Context(), cutOff)
	if err != nil {
		t.Fatalf("the restarted instance, 5s after the kill: %v, want the cut-off made", err)
	}
	if len(res.Batches) != 1 || len(res.Batches[0].Envelopes) != len(ids) {
		t.Fatalf("restarted: %+v", res)
	}
	if !strings.Contains(h.logs.String(), "resuming the cut-off this instance held before it restarted") {
		t.Error("the resumption is not logged")
	}
	h.checkOnce(ids)
	if _, err := h.st.CutOffDone(t.Context(), cutOffID); err != nil {
		t.Errorf("cut-off not done: %v", err)
	}
}

// TestStrangerWaitsForAKilledBatcher: a batcher of another instance takes
// a killed batcher's cut-off over only once its heartbeat is StaleAfter
// (1m here) old.
func TestStrangerWaitsForAKilledBatcher(t *testing.T) {
	h := newHarness(t)
	ids := batchtest.CommitN(t, h.store, "E", 3, before)
	h.killedHolding("batcher-a")
	b := h.batcher(func(c *batch.Config) { c.Owner = "batcher-b" })
	h.clock.Advance(59 * time.Second)
	if _, err := b.CutOff(t.Context(), cutOff); !errors.Is(err, batch.ErrBusy) {
		t.Fatalf("59s after the kill: %v, want ErrBusy", err)
	}
	h.clock.Advance(time.Second)
	if _, err := b.CutOff(t.Context(), cutOff); err != nil {
		t.Fatalf("60s after the kill: %v, want the cut-off taken over", err)
	}
	h.checkOnce(ids)
}

// TestTwoLiveBatchersWithOneName: a process started before the holder's
// last heartbeat cannot be its restart: it is another live process given
// the same instance name. It is told the cut-off is busy, logs the
// misconfiguration, and waits like a stranger.
func TestTwoLiveBatchersWithOneName(t *testing.T) {
	h := newHarness(t)
	ids := batchtest.CommitN(t, h.store, "E", 3, before)
	twin := h.batcher() // batcher-a, started first
	h.clock.Advance(time.Second)
	h.killedHolding("batcher-a")
	if _, err := twin.CutOff(t.Context(), cutOff); !errors.Is(err, batch.ErrBusy) {
		t.Fatalf("a live twin: %v, want ErrBusy", err)
	}
	if !strings.Contains(h.logs.String(), "another running batcher has this one's instance name") {
		t.Error("the shared instance name is not logged")
	}
	h.clock.Advance(time.Minute)
	if _, err := twin.CutOff(t.Context(), cutOff); err != nil {
		t.Fatalf("once the other is quiet for StaleAfter: %v", err)
	}
	h.checkOnce(ids)
}

// TestGracefulStopReleasesTheCutOff: a batcher stopped by its context
// half way through an assembly writes a released heartbeat, and another
// instance takes the cut-off over at once.
func TestGracefulStopReleasesTheCutOff(t *testing.T) {
	h := newHarness(t)
	ids := batchtest.CommitN(t, h.store, "E", 3, before)
	block := &batchtest.Assembler{Store: h.store, Block: make(chan struct{})}
	a := h.batcher(func(c *batch.Config) { c.Assembler = block })
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { _, err := a.CutOff(ctx, cutOff); done <- err }()
	block.Block <- struct{}{} // assembling
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("stopped batcher: %v, want context.Canceled", err)
	}
	hb, err := h.st.LastHeartbeat(t.Context(), cutOffID)
	if err != nil || !hb.Released || hb.Owner != "batcher-a" {
		t.Fatalf("heartbeat after a graceful stop: %+v, %v; want released by batcher-a", hb, err)
	}
	b := h.batcher(func(c *batch.Config) { c.Owner = "batcher-b" })
	if _, err := b.CutOff(t.Context(), cutOff); err != nil {
		t.Fatalf("another instance at once after the release: %v", err)
	}
	h.checkOnce(ids)
}

// failingDelete fails deleting keys under prefix while fail is set.
type failingDelete struct {
	storage.Store
	prefix string
	mu     sync.Mutex
	fail   bool
}

func (s *failingDelete) Delete(ctx context.Context, key string) error {
	s.mu.Lock()
	fail := s.fail
	s.mu.Unlock()
	if fail && strings.HasPrefix(key, s.prefix) {
		return errors.New("stand-in: crashed before deleting " + key)
	}
	return s.Store.Delete(ctx, key)
}

// TestHandOffReplayHasTheSameEventIDs: a hand-off that stops after
// announcing its envelopes and before taking the batch out of the
// hand-off index (as a crash there would) announces them again on the
// next try, each with the id it had the first time, so that upstream can
// drop the repeats.
func TestHandOffReplayHasTheSameEventIDs(t *testing.T) {
	fs, err := fsstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	store := &failingDelete{Store: fs, prefix: ledger.HandOffPrefix, fail: true}
	h := newHarnessOn(t, store)
	ids := batchtest.CommitN(t, h.store, "E", 4, before)
	b := h.batcher()
	h.cutOff(b)
	if _, err := b.HandOffPending(t.Context()); err == nil {
		t.Fatal("the hand-off did not stop before the index delete")
	}
	first := h.ev.All()
	store.mu.Lock()
	store.fail = false
	store.mu.Unlock()
	h.clock.Advance(time.Minute)
	if waiting, err := b.HandOffPending(t.Context()); err != nil || waiting != 0 {
		t.Fatalf("the replay: %d waiting, %v", waiting, err)
	}
	replay := h.ev.All()[len(first):]

	idsOf := func(evs []batchtest.Event) map[string]string { // envelope id → event id
		out := map[string]string{}
		for _, e := range evs {
			if e.Kind != events.TypeHandedOver {
				continue
			}
			var pe events.PrintEvent
			if err := json.Unmarshal(e.Body, &pe); err != nil {
				t.Fatal(err)
			}
			if e.ID == "" || e.ID != pe.ID() {
				t.Errorf("%s published with id %q, want %q", pe.EnvelopeID, e.ID, pe.ID())
			}
			out[pe.EnvelopeID] = e.ID
		}
		return out
	}
	a, r := idsOf(first), idsOf(replay)
	if len(a) != len(ids) || len(r) != len(ids) {
		t.Fatalf("handed-over events: %d first, %d on the replay; want %d each", len(a), len(r), len(ids))
	}
	for _, id := range ids {
		if a[id] != r[id] {
			t.Errorf("%s: id %s first, %s on the replay", id, a[id], r[id])
		}
	}
}

// TestTwinResumesALiveBatcher: what happens when instance names are not
// unique and the other process's last heartbeat is older than this one's
// start: it resumes the cut-off while the other is still at work (here,
// blocked in assembly). Both finish; the seal that stands is one of them,
// each envelope is in it once, and the other's next heartbeat warns that
// another batcher is working on the cut-off too.
func TestTwinResumesALiveBatcher(t *testing.T) {
	h := newHarness(t)
	ids := batchtest.CommitN(t, h.store, "E", 3, before)
	block := &batchtest.Assembler{Store: h.store, Block: make(chan struct{})}
	a := h.batcher(func(c *batch.Config) { c.Assembler = block })
	doneA := make(chan error)
	go func() { _, err := a.CutOff(t.Context(), cutOff); doneA <- err }()
	block.Block <- struct{}{} // A is assembling

	h.clock.Advance(time.Second)
	twin := h.batcher() // batcher-a too, started after A's last heartbeat
	if _, err := twin.CutOff(t.Context(), cutOff); err != nil {
		t.Fatalf("the twin: %v", err)
	}
	h.clock.Advance(10 * time.Second) // A's next heartbeat, run by Advance
	if !strings.Contains(h.logs.String(), "another batcher is working on this cut-off too") {
		t.Error("A's heartbeat does not warn that the twin works on the cut-off too")
	}
	for range len(ids) - 1 {
		block.Block <- struct{}{}
	}
	if err := <-doneA; err != nil {
		t.Fatalf("A: %v", err)
	}
	h.checkOnce(ids)
}
