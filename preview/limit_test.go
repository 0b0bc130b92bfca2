package preview

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestLimiterTurnsAwayABurstBeyondSlotsAndQueue(t *testing.T) {
	l := newLimiter(2, 1, time.Minute)
	queued := make(chan struct{}, 1)
	l.onQueue = func() { queued <- struct{}{} }
	ctx := context.Background()
	for i := range 2 {
		if err := l.acquire(ctx); err != nil {
			t.Fatalf("slot %d: %v", i, err)
		}
	}
	third := make(chan error, 1)
	go func() { third <- l.acquire(ctx) }()
	<-queued
	start := time.Now()
	if err := l.acquire(ctx); !errors.Is(err, errBusy) {
		t.Fatalf("fourth: %v, want errBusy", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("turning away took %v: it must not wait", d)
	}
	l.release()
	if err := <-third; err != nil {
		t.Fatalf("the queued request: %v, want the freed slot", err)
	}
	if n := l.rejected.Load(); n != 1 {
		t.Errorf("%d rejected, want 1", n)
	}
}

func TestLimiterGivesUpAfterItsWait(t *testing.T) {
	l := newLimiter(1, 4, 20*time.Millisecond)
	ctx := context.Background()
	if err := l.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.acquire(ctx); !errors.Is(err, errBusy) {
		t.Fatalf("err %v, want errBusy once the wait ran out", err)
	}
}

func TestLimiterHonoursContext(t *testing.T) {
	l := newLimiter(1, 4, time.Minute)
	queued := make(chan struct{}, 1)
	l.onQueue = func() { queued <- struct{}{} }
	if err := l.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() { got <- l.acquire(ctx) }()
	<-queued
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if err := l.acquire(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("with a done context: %v, want context.Canceled without waiting", err)
	}
	if n := l.waiting.Load(); n != 0 {
		t.Errorf("%d still counted as waiting", n)
	}
}
