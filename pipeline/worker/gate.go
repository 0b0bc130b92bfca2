package worker

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/quire-print/quire/internal/backoff"
	"github.com/quire-print/quire/internal/clock"
	"github.com/quire-print/quire/pipeline/metrics"
)

// gate stops the worker taking work while storage does not answer. A
// storage failure closes it; while closed, handlers wait at it holding
// their delivery (so the queue, with its bounded prefetch, sends this
// process nothing more), and one probe at a time pings storage with
// backoff. The first ping that succeeds opens it again: the worker resumes
// by itself.
type gate struct {
	clock    clock.Clock
	ping     func(context.Context) error
	timeout  time.Duration
	min, max time.Duration
	m        *metrics.Metrics
	log      *slog.Logger

	mu sync.Mutex
	// reopened is nil while the gate is open; while closed, it is closed
	// when the gate opens again.
	reopened chan struct{}
	// stop ends probing once the worker has stopped.
	stop <-chan struct{}
}

// isOpen reports whether work may go ahead now.
func (g *gate) isOpen() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.reopened == nil
}

// trip closes the gate after a storage failure, unless it is closed
// already, and starts probing.
func (g *gate) trip() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.reopened != nil {
		return
	}
	g.reopened = make(chan struct{})
	g.m.StorageGateOpen.Set(0)
	g.log.Warn("worker: storage does not answer; taking no new work until it does")
	g.schedule(1)
}

func (g *gate) schedule(failures int) {
	g.clock.AfterFunc(backoff.Delay(g.min, g.max, failures), func() { g.probe(failures) })
}

// probe pings storage once, opening the gate on success and scheduling the
// next probe otherwise.
func (g *gate) probe(failures int) {
	select {
	case <-g.stop:
		return // nobody is waiting any more
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
	err := g.ping(ctx)
	cancel()
	if err != nil {
		if failures == 1 || failures%10 == 0 {
			g.log.Warn("worker: storage still does not answer", "probes", failures, "err", err)
		}
		g.schedule(failures + 1)
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.reopened != nil {
		close(g.reopened)
		g.reopened = nil
	}
	g.m.StorageGateOpen.Set(1)
	g.log.Info("worker: storage answers again; taking work", "probes", failures)
}

// wait returns true once the gate is open, or false if stop is closed
// first.
func (g *gate) wait(stop <-chan struct{}) bool {
	g.mu.Lock()
	ch := g.reopened
	g.mu.Unlock()
	if ch == nil {
		return true
	}
	select {
	case <-ch:
		return true
	case <-stop:
		return false
	}
}
