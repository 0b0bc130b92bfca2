package supplier_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quire-print/quire/internal/clock"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/memqueue"
	"github.com/quire-print/quire/pipeline/supplier"
)

// flaky fails its first len(errs) deliveries with errs, saying retry as
// retry says.
type flaky struct {
	mu    sync.Mutex
	errs  []error
	retry bool
	calls int
}

func (f *flaky) Deliver(ctx context.Context, b *ledger.Sealed) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		return f.retry, err
	}
	return false, nil
}

func (f *flaky) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// waitClock reports every wait the sender starts.
type waitClock struct {
	*memqueue.ManualClock
	waits chan time.Duration
}

func (c waitClock) AfterFunc(d time.Duration, f func()) {
	c.ManualClock.AfterFunc(d, f)
	c.waits <- d
}

func newSender(t *testing.T, a supplier.Adapter, clock clock.Clock) *supplier.Sender {
	t.Helper()
	s, err := supplier.NewSender(supplier.SenderConfig{Name: "northprint", Kind: "test", Adapter: a, Clock: clock,
		Retry: supplier.Retry{Min: time.Second, Max: 4 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSenderRetriesWithBackoff(t *testing.T) {
	fail := errors.New("connection refused")
	a := &flaky{errs: []error{fail, fail, fail, fail}, retry: true}
	clock := waitClock{memqueue.NewManualClock(time.Date(2026, 3, 2, 17, 40, 0, 0, time.UTC)), make(chan time.Duration)}
	s := newSender(t, a, clock)
	done := make(chan error)
	go func() { done <- s.Send(context.Background(), &ledger.Sealed{BatchID: "20260302T173000Z-001"}) }()
	ceilings := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}
	for i, ceiling := range ceilings {
		d := <-clock.waits
		if d < ceiling/2 || d > ceiling {
			t.Errorf("wait %d is %v, want between %v and %v", i+1, d, ceiling/2, ceiling)
		}
		if a.count() != i+1 {
			t.Errorf("%d attempts before wait %d", a.count(), i+1)
		}
		clock.Advance(d)
	}
	if err := <-done; err != nil {
		t.Fatalf("Send = %v", err)
	}
	if a.count() != 5 {
		t.Errorf("%d attempts, want 5", a.count())
	}
}

func TestSenderStopsAtAFailureThatCannotBeRetried(t *testing.T) {
	a := &flaky{errs: []error{errors.New("damaged file")}, retry: false}
	s := newSender(t, a, memqueue.NewManualClock(time.Now()))
	err := s.Send(t.Context(), &ledger.Sealed{BatchID: "20260302T173000Z-001"})
	if !errors.Is(err, supplier.ErrNotRetryable) || !strings.Contains(err.Error(), "damaged file") || a.count() != 1 {
		t.Errorf("Send = %v after %d attempts; want one attempt and ErrNotRetryable", err, a.count())
	}
}

func TestSenderStopsWhenTheContextEnds(t *testing.T) {
	a := &flaky{errs: []error{errors.New("timeout"), errors.New("timeout")}, retry: true}
	clock := waitClock{memqueue.NewManualClock(time.Now()), make(chan time.Duration)}
	s := newSender(t, a, clock)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- s.Send(ctx, &ledger.Sealed{BatchID: "20260302T173000Z-001"}) }()
	<-clock.waits
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || errors.Is(err, supplier.ErrNotRetryable) || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("Send = %v; want the last failure and context.Canceled", err)
	}
	if a.count() != 1 {
		t.Errorf("%d attempts", a.count())
	}
}

func TestSenderDoesNotWaitPastTheDeadline(t *testing.T) {
	a := &flaky{errs: []error{errors.New("timeout")}, retry: true}
	s := newSender(t, a, clock.System)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond) // shorter than any wait (at least 500ms)
	defer cancel()
	if err := s.Send(ctx, &ledger.Sealed{BatchID: "20260302T173000Z-001"}); err == nil || !strings.Contains(err.Error(), "before the deadline") {
		t.Errorf("Send = %v", err)
	}
}

func TestSenderConfig(t *testing.T) {
	_, err := supplier.NewSender(supplier.SenderConfig{Name: "North Print", Retry: supplier.Retry{Min: time.Minute, Max: time.Second}})
	for _, want := range []string{`name "North Print" must be 1 to 64 characters`, "Kind is required", "Adapter is required",
		"retry max (1s) cannot be shorter than retry min (1m0s)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}
