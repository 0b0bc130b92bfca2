package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/batch/batchtest"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/worker"
)

// The batch the fake batch records put envelopes in.
var (
	fakeBatchID = "20260302T173000Z-001"
	sealedAt    = time.Date(2026, 3, 2, 17, 30, 41, 0, time.UTC)
	handedAt    = time.Date(2026, 3, 2, 17, 41, 7, 0, time.UTC)
)

// fakeBatches answers CheckCancel as *ledger.Store does, from where the
// test says every envelope stands: not batched (the zero value), being
// sealed, or in a sealed batch handed over at handedAt. err, when set, is
// returned instead, as a storage failure would be.
type fakeBatches struct {
	mu    sync.Mutex
	state ledger.FateState
	err   error
	asked []time.Time
}

// checker is for newBatchedHarness: the worker asks f.
func (f *fakeBatches) checker(storage.Store) worker.CancelChecker { return f }

func (f *fakeBatches) set(state ledger.FateState, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state, f.err = state, err
}

// times returns the at of every CheckCancel so far.
func (f *fakeBatches) times() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.asked...)
}

func (f *fakeBatches) CheckCancel(ctx context.Context, id string, at time.Time) (*events.PrintEvent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, at)
	switch {
	case f.err != nil:
		return nil, f.err
	case f.state == ledger.Sealing:
		return nil, fmt.Errorf("%w: envelope %s, batch %s", ledger.ErrSealing, id, fakeBatchID)
	case f.state == ledger.InBatch:
		e := events.CancelRefused(events.InBatch{EnvelopeID: id, BatchID: fakeBatchID, Sequence: 2, Supplier: "northprint"},
			sealedAt, handedAt, at)
		return &e, nil
	}
	return nil, nil
}

// fakeRetention records what the worker schedules for deletion, as
// *retention.Keeper would: one entry per envelope and time, however often
// it is told. fail, when above 0, fails that many calls first.
type fakeRetention struct {
	mu        sync.Mutex
	scheduled map[string]time.Time
	calls     int
	fail      int
}

func (r *fakeRetention) Cancelled(ctx context.Context, id string, at time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail > 0 {
		r.fail--
		return errDown
	}
	if r.scheduled == nil {
		r.scheduled = map[string]time.Time{}
	}
	if prev, ok := r.scheduled[id]; ok && !prev.Equal(at) {
		panic(fmt.Sprintf("%s scheduled from %v and from %v", id, prev, at))
	}
	r.scheduled[id] = at
	return nil
}

// state returns the scheduled deletions by envelope id, and how many calls
// were made.
func (r *fakeRetention) state() (map[string]time.Time, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]time.Time{}
	for k, v := range r.scheduled {
		out[k] = v
	}
	return out, r.calls
}

func (r *fakeRetention) failNext(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail += n
}

func cancelBody(id, code string) []byte {
	return []byte(`{"schemaVersion":1,"envelopeId":"` + id + `","code":"` + code + `"}`)
}

// refusals returns the cancel-refused events published so far, as
// published.
func (h *harness) refusals() [][]byte {
	var out [][]byte
	for _, m := range h.q.Events().Messages() {
		if m.Kind == events.TypeCancelRefused {
			out = append(out, m.Body)
		}
	}
	return out
}

func decodePrint(t *testing.T, body []byte) events.PrintEvent {
	t.Helper()
	var e events.PrintEvent
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestCancelBeforeTheSealStands(t *testing.T) {
	batches := &fakeBatches{}
	h := newBatchedHarness(t, nil, batches.checker)
	h.start()
	h.publish(pipeline.KindRender, sample(t, "valid/twins.json", "B-1"))
	h.waitSettled(1)
	h.publish(pipeline.KindCancel, cancelBody("B-1", "requested-by-parent"))
	h.waitSettled(2)

	if s := h.q.Stats(); s.Acked != 2 || s.Retried != 0 || s.DeadLettered != 0 {
		t.Errorf("stats %+v, want both acked", s)
	}
	if c := h.eventsOf(events.TypeCancelled); len(c) != 1 || c[0].EnvelopeID != "B-1" {
		t.Errorf("cancelled events %+v, want one for B-1", c)
	}
	if r := h.refusals(); len(r) != 0 {
		t.Errorf("refused a cancellation that stands: %s", r)
	}
	if asked := batches.times(); len(asked) != 1 || !asked[0].Equal(start) {
		t.Errorf("CheckCancel asked at %v, want once, with the stored cancellation's time %v", asked, start)
	}
	if got, _ := h.ret.state(); len(got) != 1 || !got["B-1"].Equal(start) {
		t.Errorf("scheduled for deletion %v, want B-1 from its cancellation at %v", got, start)
	}
}

func TestCancelAfterTheSealIsRefused(t *testing.T) {
	batches := &fakeBatches{}
	h := newBatchedHarness(t, nil, batches.checker)
	h.start()
	h.publish(pipeline.KindRender, sample(t, "valid/twins.json", "B-2"))
	h.waitSettled(1)
	batches.set(ledger.InBatch, nil)
	received := h.clock.Now()
	h.publish(pipeline.KindCancel, cancelBody("B-2", "requested-by-parent"))
	h.waitSettled(2)

	if s := h.q.Stats(); s.Acked != 2 || s.Retried != 0 || s.DeadLettered != 0 {
		t.Errorf("stats %+v, want the refused cancel acked, not retried or dead-lettered", s)
	}
	if c := h.eventsOf(events.TypeCancelled); len(c) != 0 {
		t.Errorf("announced cancelled although the envelope will be printed: %+v", c)
	}
	refused := h.refusals()
	if len(refused) != 1 {
		t.Fatalf("%d cancel-refused events, want 1", len(refused))
	}
	e := decodePrint(t, refused[0])
	want := "too late: in batch 20260302T173000Z-001, handed to the supplier at 2026-03-02T17:41:07Z"
	if e.EnvelopeID != "B-2" || e.BatchID != fakeBatchID || e.Reason == nil || e.Reason.Code != events.CodeTooLate ||
		e.Reason.Detail != want || !e.OccurredAt.Equal(received) {
		t.Errorf("cancel-refused event %s, want B-2 in %s, %q, at %v", refused[0], fakeBatchID, want, received)
	}
	if got := testutil.ToFloat64(h.m.Cancelled.WithLabelValues("refused")); got != 1 {
		t.Errorf("cancelled{refused} = %v, want 1", got)
	}

	// The same cancel again (a redelivery, a re-publish), and a later one
	// with another code: the same answer, byte for byte, because it is
	// made from the first cancellation stored.
	h.clock.Advance(time.Hour)
	h.publish(pipeline.KindCancel, cancelBody("B-2", "requested-by-parent"))
	h.publish(pipeline.KindCancel, cancelBody("B-2", "duplicate-application"))
	h.waitSettled(4)
	refused = h.refusals()
	if len(refused) != 3 || !bytes.Equal(refused[0], refused[1]) || !bytes.Equal(refused[0], refused[2]) {
		t.Errorf("cancel-refused events %q, want the first one three times", refused)
	}
	if c := h.eventsOf(events.TypeCancelled); len(c) != 0 {
		t.Errorf("announced cancelled on a redelivery: %+v", c)
	}
	if s := h.q.Stats(); s.Acked != 4 || s.DeadLettered != 0 {
		t.Errorf("stats %+v, want every delivery acked", s)
	}
	if got, calls := h.ret.state(); calls != 0 {
		t.Errorf("an envelope that will be printed was scheduled for deletion at its cancellation: %v", got)
	}
}

func TestRefusalNotConfirmedIsRetried(t *testing.T) {
	batches := &fakeBatches{state: ledger.InBatch}
	h := newBatchedHarness(t, nil, batches.checker)
	h.ev.failNext(events.TypeCancelRefused, 1)
	h.start()
	h.publish(pipeline.KindCancel, cancelBody("B-3", "requested-by-parent"))
	h.waitSettled(1)
	if s := h.q.Stats(); s.Retried != 1 || s.Acked != 0 {
		t.Fatalf("stats %+v, want the unconfirmed refusal retried", s)
	}
	h.clock.Advance(time.Second) // the first retry delay
	h.waitSettled(2)
	if s := h.q.Stats(); s.Acked != 1 {
		t.Errorf("stats %+v, want the retry acked", s)
	}
	if n := len(h.refusals()); n != 1 {
		t.Errorf("%d cancel-refused events confirmed, want 1", n)
	}
	if got := testutil.ToFloat64(h.m.Failed.WithLabelValues(worker.ReasonEventsUnavailable)); got != 1 {
		t.Errorf("failed{events-unavailable} = %v, want 1", got)
	}
}

// TestCancelWhileSealingIsRetriedUntilTheSealDecides: while the batch is
// being sealed the answer is not known, so nothing is announced and the
// message goes round the retry path; the retry gives the seal's answer.
func TestCancelWhileSealingIsRetriedUntilTheSealDecides(t *testing.T) {
	for _, tt := range []struct {
		name   string
		sealed ledger.FateState
		want   string
	}{
		{"the seal leaves it out", ledger.LeftOut, events.TypeCancelled},
		{"the seal includes it", ledger.InBatch, events.TypeCancelRefused},
	} {
		t.Run(tt.name, func(t *testing.T) {
			batches := &fakeBatches{state: ledger.Sealing}
			h := newBatchedHarness(t, nil, batches.checker)
			h.start()
			h.publish(pipeline.KindCancel, cancelBody("B-4", "requested-by-parent"))
			h.waitSettled(1)
			if s := h.q.Stats(); s.Retried != 1 || s.Acked != 0 || s.DeadLettered != 0 {
				t.Fatalf("stats %+v, want the cancel retried", s)
			}
			if n := len(h.q.Events().Messages()); n != 0 {
				t.Fatalf("%d events published before the seal decided, want 0", n)
			}
			if !h.w.StorageOpen() {
				t.Error("the storage gate closed: a batch being sealed is not a storage failure")
			}
			if got := testutil.ToFloat64(h.m.Failed.WithLabelValues(worker.ReasonBatchSealing)); got != 1 {
				t.Errorf("failed{batch-sealing} = %v, want 1", got)
			}

			batches.set(tt.sealed, nil)
			h.clock.Advance(time.Second) // the first retry delay
			h.waitSettled(2)
			if s := h.q.Stats(); s.Acked != 1 || s.Retried != 1 {
				t.Errorf("stats %+v, want the retry acked", s)
			}
			var types []string
			for _, m := range h.q.Events().Messages() {
				types = append(types, m.Kind)
			}
			if len(types) != 1 || types[0] != tt.want {
				t.Errorf("events %v, want one %s", types, tt.want)
			}
			// Left out by the seal, it is never posted: its data is
			// scheduled from the cancellation. In the batch, its posting
			// will schedule it.
			got, _ := h.ret.state()
			if _, ok := got["B-4"]; ok != (tt.sealed == ledger.LeftOut) || (ok && !got["B-4"].Equal(start)) {
				t.Errorf("scheduled for deletion %v; want B-4 from %v only if the seal left it out", got, start)
			}
		})
	}
}

// TestCancelSchedulingFailureIsRetried: a cancellation that stands is
// announced only once its envelope's deletion is scheduled; if that fails,
// the message is retried as a storage failure, and the retry schedules it
// from the same, first, cancellation time.
func TestCancelSchedulingFailureIsRetried(t *testing.T) {
	batches := &fakeBatches{}
	h := newBatchedHarness(t, nil, batches.checker)
	h.ret.failNext(1)
	h.start()
	h.publish(pipeline.KindCancel, cancelBody("B-9", "requested-by-parent"))
	h.waitSettled(1)
	if s := h.q.Stats(); s.Retried != 1 || s.Acked != 0 {
		t.Fatalf("stats %+v, want the cancel retried", s)
	}
	if n := len(h.q.Events().Messages()); n != 0 {
		t.Errorf("%d events published before the deletion was scheduled, want 0", n)
	}
	if got := testutil.ToFloat64(h.m.Failed.WithLabelValues(worker.ReasonStorageUnavailable)); got != 1 {
		t.Errorf("failed{storage-unavailable} = %v, want 1", got)
	}
	h.clock.Advance(time.Second) // the gate's probe and the first retry delay
	h.waitSettled(2)
	if s := h.q.Stats(); s.Acked != 1 {
		t.Errorf("stats %+v, want the retry acked", s)
	}
	if got, calls := h.ret.state(); calls != 2 || len(got) != 1 || !got["B-9"].Equal(start) {
		t.Errorf("scheduled %v after %d calls; want B-9 from the first delivery's time %v", got, calls, start)
	}
	if c := h.eventsOf(events.TypeCancelled); len(c) != 1 {
		t.Errorf("cancelled events %+v, want one", c)
	}
}

func TestCancelCheckFailureIsRetriedAsStorage(t *testing.T) {
	batches := &fakeBatches{err: errDown}
	h := newBatchedHarness(t, nil, batches.checker)
	h.start()
	h.publish(pipeline.KindCancel, cancelBody("B-5", "requested-by-parent"))
	h.waitSettled(1)
	if s := h.q.Stats(); s.Retried != 1 || s.Acked != 0 {
		t.Fatalf("stats %+v, want the cancel retried", s)
	}
	if n := len(h.q.Events().Messages()); n != 0 {
		t.Errorf("%d events published without an answer, want 0", n)
	}
	if got := testutil.ToFloat64(h.m.Failed.WithLabelValues(worker.ReasonStorageUnavailable)); got != 1 {
		t.Errorf("failed{storage-unavailable} = %v, want 1", got)
	}
	if _, err := h.store.Cancellation(context.Background(), "B-5"); err != nil {
		t.Errorf("the marker is not stored: %v", err)
	}

	batches.set(ledger.NotBatched, nil)
	h.clock.Advance(time.Second) // the gate's probe (storage answers) and the first retry delay
	h.waitSettled(2)
	if s := h.q.Stats(); s.Acked != 1 {
		t.Errorf("stats %+v, want the retry acked", s)
	}
	if c := h.eventsOf(events.TypeCancelled); len(c) != 1 || !c[0].OccurredAt.Equal(start) {
		t.Errorf("cancelled events %+v, want one, at the first delivery's time %v", c, start)
	}
}

// TestCancelAgainstRealBatchRecords runs the cancel handler against
// *ledger.Store on the worker's own store, with a batch sealed by the real
// batcher and not yet handed over.
func TestCancelAgainstRealBatchRecords(t *testing.T) {
	h := newBatchedHarness(t, nil, func(s storage.Store) worker.CancelChecker { return ledger.NewStore(s) })
	batches := ledger.NewStore(h.fs)
	cutOff := time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC)
	sealed := batchtest.Seal(t, h.fs, "northprint", cutOff, 2)
	batchtest.Commit(t, h.fs, "B-6", cutOff.Add(time.Hour)) // rendered after the cut-off: not batched yet
	h.start()

	in := sealed.Envelopes[1].EnvelopeID
	h.publish(pipeline.KindCancel, cancelBody(in, "requested-by-parent"))
	h.publish(pipeline.KindCancel, cancelBody("B-6", "requested-by-parent"))
	h.waitSettled(2)

	if s := h.q.Stats(); s.Acked != 2 || s.Retried != 0 || s.DeadLettered != 0 {
		t.Errorf("stats %+v, want both acked", s)
	}
	if c := h.eventsOf(events.TypeCancelled); len(c) != 1 || c[0].EnvelopeID != "B-6" {
		t.Errorf("cancelled events %+v, want B-6's only", c)
	}
	refused := h.refusals()
	if len(refused) != 1 {
		t.Fatalf("%d cancel-refused events, want 1", len(refused))
	}
	e := decodePrint(t, refused[0])
	want := fmt.Sprintf("too late: in batch %s, sealed for printing at %s and waiting to be handed to the supplier",
		sealed.BatchID, sealed.SealedAt.UTC().Format(time.RFC3339))
	if e.EnvelopeID != in || e.BatchID != sealed.BatchID || e.Sequence != 2 || e.Supplier != "northprint" ||
		e.Reason == nil || e.Reason.Detail != want {
		t.Errorf("cancel-refused event %s, want %s sequence 2 and %q", refused[0], in, want)
	}
	if _, err := batches.Claim(context.Background(), "B-6"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("B-6 has a claim: %v", err)
	}
}

// TestRequestAgainAfterARefusedCancel: a render request sent again for an
// envelope whose cancellation was refused is answered as the stored
// envelope it is (rendered), never as cancelled.
func TestRequestAgainAfterARefusedCancel(t *testing.T) {
	batches := &fakeBatches{}
	h := newBatchedHarness(t, nil, batches.checker)
	h.start()
	body := sample(t, "valid/twins.json", "B-7")
	h.publish(pipeline.KindRender, body)
	h.waitSettled(1)
	batches.set(ledger.InBatch, nil)
	h.publish(pipeline.KindCancel, cancelBody("B-7", "requested-by-parent"))
	h.waitSettled(2)
	h.publish(pipeline.KindRender, body)
	h.waitSettled(3)

	if c := h.eventsOf(events.TypeCancelled); len(c) != 0 {
		t.Errorf("announced cancelled although the envelope will be printed: %+v", c)
	}
	rendered := h.eventsOf(events.TypeRendered)
	if len(rendered) != 2 || !rendered[0].OccurredAt.Equal(rendered[1].OccurredAt) {
		t.Errorf("rendered events %+v, want the stored envelope announced twice", rendered)
	}
	if h.r.calls.Load() != 1 {
		t.Errorf("rendered %d times, want 1", h.r.calls.Load())
	}
	if s := h.q.Stats(); s.Acked != 3 || s.Retried != 0 || s.DeadLettered != 0 {
		t.Errorf("stats %+v, want every delivery acked", s)
	}
}

// TestRequestAgainWhileSealingIsRetried: a render request sent again for a
// cancelled, stored envelope whose batch is being sealed waits for the
// seal like the cancellation does; once the seal leaves the envelope out,
// it is announced cancelled.
func TestRequestAgainWhileSealingIsRetried(t *testing.T) {
	batches := &fakeBatches{}
	h := newBatchedHarness(t, nil, batches.checker)
	h.start()
	body := sample(t, "valid/twins.json", "B-8")
	h.publish(pipeline.KindRender, body)
	h.waitSettled(1)
	h.publish(pipeline.KindCancel, cancelBody("B-8", "requested-by-parent"))
	h.waitSettled(2)
	batches.set(ledger.Sealing, nil) // a batcher claimed it after the marker was stored
	h.publish(pipeline.KindRender, body)
	h.waitSettled(3)
	if s := h.q.Stats(); s.Retried != 1 || s.Acked != 2 {
		t.Fatalf("stats %+v, want the request retried while the batch is being sealed", s)
	}

	batches.set(ledger.LeftOut, nil)
	h.clock.Advance(time.Second) // the first retry delay
	h.waitSettled(4)
	c := h.eventsOf(events.TypeCancelled)
	if len(c) != 2 || !c[0].OccurredAt.Equal(c[1].OccurredAt) {
		t.Errorf("cancelled events %+v, want the cancellation announced again", c)
	}
	if s := h.q.Stats(); s.Acked != 3 || s.DeadLettered != 0 {
		t.Errorf("stats %+v, want the retry acked", s)
	}
}

// TestCancelOfHeldOrWaitingReprintStands: an envelope whose latest print
// was spoiled in a sealed batch, with its reprint held for an operator or
// asked for and not yet batched, has no print coming from a sealed batch:
// the cancellation stands, is announced, schedules the deletion of its
// personal data, and takes a held envelope off the held list. Against
// *ledger.Store and the real reprint records.
func TestCancelOfHeldOrWaitingReprintStands(t *testing.T) {
	h := newBatchedHarness(t, nil, func(s storage.Store) worker.CancelChecker { return ledger.NewStore(s) })
	st := ledger.NewStore(h.fs)
	cutOff := time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC)
	sealed := batchtest.Seal(t, h.fs, "northprint", cutOff, 2)
	held, waiting := sealed.Envelopes[0].EnvelopeID, sealed.Envelopes[1].EnvelopeID
	ctx := t.Context()
	if _, _, err := st.RecordHold(ctx, ledger.Hold{EnvelopeID: held, Run: 1, BatchID: sealed.BatchID, Sequence: 1,
		Code: ledger.HoldLimit, HeldAt: cutOff.Add(15 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.CreateReprint(ctx, ledger.Reprint{EnvelopeID: waiting, Run: 1, Reason: ledger.ReasonSpoiled, Source: ledger.SourceSupplier,
		BatchID: sealed.BatchID, Sequence: 2, RequestedAt: cutOff.Add(15 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	h.start()
	h.publish(pipeline.KindCancel, cancelBody(held, "requested-by-parent"))
	h.publish(pipeline.KindCancel, cancelBody(waiting, "requested-by-parent"))
	h.waitSettled(2)

	if s := h.q.Stats(); s.Acked != 2 || s.Retried != 0 || s.DeadLettered != 0 {
		t.Errorf("stats %+v, want both acked", s)
	}
	if r := h.refusals(); len(r) != 0 {
		t.Errorf("refused: %s", r)
	}
	var ids []string
	for _, e := range h.eventsOf(events.TypeCancelled) {
		ids = append(ids, e.EnvelopeID)
	}
	if len(ids) != 2 {
		t.Errorf("cancelled events for %v, want %s and %s", ids, held, waiting)
	}
	if got, _ := h.ret.state(); len(got) != 2 || !got[held].Equal(start) || !got[waiting].Equal(start) {
		t.Errorf("scheduled for deletion %v, want both from their cancellation at %v", got, start)
	}
	for id, err := range st.Held(ctx) {
		t.Errorf("still on the held list: %s %v", id, err)
	}
	if got := testutil.ToFloat64(h.m.Cancelled.WithLabelValues("refused")); got != 0 {
		t.Errorf("cancelled{refused} = %v, want 0", got)
	}
}
