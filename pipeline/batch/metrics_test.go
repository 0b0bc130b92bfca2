package batch_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/quire-print/quire/pipeline/batch"
	"github.com/quire-print/quire/pipeline/batch/batchtest"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/memqueue"
	"github.com/quire-print/quire/pipeline/supplier"
)

// TestMetrics drives cut-offs and hand-offs on the manual clock and checks
// that the batcher's metrics count each of them once, with reason codes
// and outcomes as labels and no ids.
func TestMetrics(t *testing.T) {
	h := newHarness(t)
	ids := batchtest.CommitN(t, h.store, "E", 5, before)
	h.cancel(ids[1])
	h.asm.Refuse(ids[3])
	b := h.batcher()
	c := b.Collector()
	metric := func(name string, labels ...string) float64 {
		t.Helper()
		return batchtest.Metric(t, c, name, labels...)
	}
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}

	// Before any cut-off: the due one is known from the schedule; none is
	// known done.
	if got := metric("quire_batch_last_cutoff_due_timestamp_seconds"); got != float64(cutOff.Unix()) {
		t.Errorf("due cut-off %v, want %d", got, cutOff.Unix())
	}
	if got := metric("quire_batch_last_cutoff_done_timestamp_seconds"); got != 0 {
		t.Errorf("done cut-off before any: %v", got)
	}

	// A cut-off that fails, then succeeds.
	h.asm.FailWith(errors.New("disk full"))
	if _, err := b.CutOff(t.Context(), cutOff); err == nil {
		t.Fatal("no error from a failed assembly")
	}
	if got := metric("quire_batch_cutoffs_total", "outcome", "failed"); got != 1 {
		t.Errorf("failed cut-offs %v, want 1", got)
	}
	if got := metric("quire_batch_last_cutoff_done_timestamp_seconds"); got != 0 {
		t.Errorf("a failed cut-off counts as done: %v", got)
	}
	h.asm.FailWith(nil)
	s := h.cutOff(b).Batches[0]
	h.cutOff(b) // already done: not made again, not counted again
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"quire_batch_cutoffs_total", []string{"outcome", "completed"}, 1},
		{"quire_batch_cutoffs_total", []string{"outcome", "failed"}, 1},
		{"quire_batch_last_cutoff_done_timestamp_seconds", nil, float64(cutOff.Unix())},
		{"quire_batch_envelopes_batched_total", nil, 3},
		{"quire_batch_envelopes_left_out_total", []string{"reason", ledger.LeftCancelled}, 1},
		{"quire_batch_envelopes_left_out_total", []string{"reason", ledger.LeftRefused}, 1},
		{"quire_batch_envelopes_left_out_total", []string{"reason", ledger.LeftDamaged}, 0},
		{"quire_batch_envelopes_left_out_total", []string{"reason", ledger.LeftClaimed}, 0},
		{"quire_batch_envelopes_left_out_total", []string{"reason", ledger.LeftMissing}, 0},
	} {
		if got := metric(tt.name, tt.labels...); got != tt.want {
			t.Errorf("%s%q = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}

	// A hand-off that fails and is retried at the next poll, then succeeds.
	h.sup.FailNext(errors.New("supplier unreachable"))
	if _, err := b.HandOffPending(t.Context()); err == nil {
		t.Fatal("no error from a failing supplier")
	}
	checkWaiting(t, metric, "after a failed hand-off", 1, 0)
	if _, err := b.HandOffPending(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkWaiting(t, metric, "once handed over", 0, 0)
	// The next working day's batch fails for good: it waits for an
	// operator, and later passes do not count it again.
	next, _ := h.sched.Next(cutOff)
	batchtest.Commit(t, h.store, "F-0001", next.Add(-time.Hour))
	h.clock.Advance(next.Sub(h.clock.Now()) + time.Second)
	if got := metric("quire_batch_last_cutoff_due_timestamp_seconds"); got != float64(next.Unix()) {
		t.Errorf("due cut-off after the clock passed the next: %v, want %d", got, next.Unix())
	}
	if got := metric("quire_batch_last_cutoff_done_timestamp_seconds"); got != float64(cutOff.Unix()) {
		t.Errorf("done cut-off before the next is made: %v, want %d", got, cutOff.Unix())
	}
	res, err := b.CutOff(t.Context(), next)
	if err != nil {
		t.Fatal(err)
	}
	h.sup.FailNext(fmt.Errorf("folder is not writable: %w", supplier.ErrNotRetryable))
	if _, err := b.HandOffPending(t.Context()); !errors.Is(err, supplier.ErrNotRetryable) {
		t.Fatalf("HandOffPending = %v, want ErrNotRetryable", err)
	}
	checkWaiting(t, metric, "after a hand-off failed for good", 0, 1)
	if _, err := b.HandOffPending(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkWaiting(t, metric, "while it waits for an operator", 0, 1)
	for _, tt := range []struct {
		outcome string
		want    float64
	}{{"handed-over", 1}, {"will-retry", 1}, {"needs-operator", 1}} {
		if got := metric("quire_batch_handoffs_total", "adapter", "stand-in", "outcome", tt.outcome); got != tt.want {
			t.Errorf("hand-offs %s: %v, want %v", tt.outcome, got, tt.want)
		}
	}
	// The operator re-sends it: the next pass finds nothing waiting.
	if err := b.Resend(t.Context(), res.Batches[0].BatchID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.HandOffPending(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkWaiting(t, metric, "after the re-send", 0, 0)
	if got := metric("quire_batch_last_cutoff_done_timestamp_seconds"); got != float64(next.Unix()) {
		t.Errorf("done cut-off %v, want %d", got, next.Unix())
	}
	if got := metric("quire_batch_envelopes_batched_total"); got != 4 {
		t.Errorf("batched %v, want 4", got)
	}

	// No id reaches a label.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				for _, id := range append(ids, s.BatchID, "F-0001", cutOffID) {
					if strings.Contains(l.GetValue(), id) {
						t.Errorf("%s has a label naming %s: %v", f.GetName(), id, m.GetLabel())
					}
				}
			}
		}
	}
}

// TestMetricsBusyIsNotAFailure: a cut-off another batcher is working on
// is not counted as failed, and once that batcher is done, this one's
// gauge shows the cut-off done although it made nothing.
// checkWaiting checks the hand-off gauges.
func checkWaiting(t *testing.T, metric func(string, ...string) float64, when string, retrying, operator float64) {
	t.Helper()
	if got := metric("quire_batch_handoffs_waiting", "state", "retrying"); got != retrying {
		t.Errorf("%s: %v batches retrying, want %v", when, got, retrying)
	}
	if got := metric("quire_batch_handoffs_waiting", "state", "needs-operator"); got != operator {
		t.Errorf("%s: %v batches waiting for an operator, want %v", when, got, operator)
	}
}

func TestMetricsBusyIsNotAFailure(t *testing.T) {
	h := newHarness(t)
	batchtest.CommitN(t, h.store, "E", 2, before)
	a := h.batcher()
	blocked := &batchtest.Assembler{Store: h.store, Block: make(chan struct{})}
	busy := h.batcher(func(c *batch.Config) { c.Owner = "batcher-b"; c.Assembler = blocked })
	done := make(chan error)
	go func() { _, err := busy.CutOff(t.Context(), cutOff); done <- err }()
	blocked.Block <- struct{}{} // batcher-b holds the cut-off and is assembling
	if _, err := a.CutOff(t.Context(), cutOff); !errors.Is(err, batch.ErrBusy) {
		t.Fatalf("while another works: %v, want ErrBusy", err)
	}
	blocked.Block <- struct{}{}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if res := h.cutOff(a); !res.AlreadyDone {
		t.Fatalf("after the other finished: %+v", res)
	}
	for _, tt := range []struct {
		b             *batch.Batcher
		made, batched float64
	}{{a, 0, 0}, {busy, 1, 2}} {
		c := tt.b.Collector()
		if got := batchtest.Metric(t, c, "quire_batch_cutoffs_total", "outcome", "failed"); got != 0 {
			t.Errorf("failed cut-offs %v, want 0", got)
		}
		if got := batchtest.Metric(t, c, "quire_batch_cutoffs_total", "outcome", "completed"); got != tt.made {
			t.Errorf("completed cut-offs %v, want %v", got, tt.made)
		}
		if got := batchtest.Metric(t, c, "quire_batch_envelopes_batched_total"); got != tt.batched {
			t.Errorf("batched %v, want %v", got, tt.batched)
		}
		if got := batchtest.Metric(t, c, "quire_batch_last_cutoff_done_timestamp_seconds"); got != float64(cutOff.Unix()) {
			t.Errorf("done cut-off %v, want %d", got, cutOff.Unix())
		}
	}
}

// TestRunWatchesABatchWaitingForAnOperator: while a hand-off has failed
// for good, Run looks at the hand-off index each poll rather than sleeping
// until the next cut-off, so that a re-send made by another process (quire
// batches resend) clears the gauge within a poll.
func TestRunWatchesABatchWaitingForAnOperator(t *testing.T) {
	h := newHarness(t)
	clock := sleepClock{memqueue.NewManualClock(time.Date(2026, 3, 3, 17, 29, 0, 0, time.UTC)), // Tuesday, a minute before
		h.config.HeartbeatInterval, make(chan time.Duration, 10)}
	batchtest.CommitN(t, h.store, "E", 1, time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC))
	b := h.batcher(func(c *batch.Config) { c.Clock = clock })
	metric := func(name string, labels ...string) float64 {
		t.Helper()
		return batchtest.Metric(t, b.Collector(), name, labels...)
	}
	h.sup.FailNext(fmt.Errorf("folder is not writable: %w", supplier.ErrNotRetryable))
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- b.Run(ctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}()
	if d := <-clock.sleeps; d != time.Minute {
		t.Fatalf("before the cut-off the batcher sleeps for %v, want 1m", d)
	}
	clock.Advance(time.Minute)
	if d := <-clock.sleeps; d != batch.DefaultPollInterval {
		t.Fatalf("with a batch waiting for an operator the batcher sleeps for %v, want a poll (%v)", d, batch.DefaultPollInterval)
	}
	checkWaiting(t, metric, "after the hand-off failed for good", 0, 1)
	// The next pass skips the batch (it is an operator's now), and still
	// polls.
	clock.Advance(batch.DefaultPollInterval)
	if d := <-clock.sleeps; d != batch.DefaultPollInterval {
		t.Fatalf("while the batch waits for an operator the batcher sleeps for %v, want a poll (%v)", d, batch.DefaultPollInterval)
	}
	checkWaiting(t, metric, "a poll later", 0, 1)

	// Another process re-sends it.
	if err := h.batcher().Resend(t.Context(), "20260303T173000Z-001"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(batch.DefaultPollInterval)
	if d := <-clock.sleeps; d < 23*time.Hour {
		t.Errorf("with nothing waiting the batcher sleeps for %v, want until Wednesday's cut-off", d)
	}
	checkWaiting(t, metric, "a poll after the re-send", 0, 0)
}
