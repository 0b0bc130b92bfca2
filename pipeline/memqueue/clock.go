package memqueue

import (
	"slices"
	"sync"
	"time"
)

// ManualClock is a clock.Clock that moves only when Advance is called, so
// that tests of the queue, the worker and the batcher pass retry delays and
// timeouts when the test says, not after real sleeps. It is safe for
// concurrent use.
type ManualClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    int
	timers []manualTimer
}

type manualTimer struct {
	at  time.Time
	seq int // keeps timers due at the same instant in scheduling order
	f   func()
}

// NewManualClock returns a clock reading start.
func NewManualClock(start time.Time) *ManualClock {
	return &ManualClock{now: start}
}

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f to run when the clock has been advanced by d. It
// never runs f itself, even for d <= 0: that waits for the next Advance.
func (c *ManualClock) AfterFunc(d time.Duration, f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	c.timers = append(c.timers, manualTimer{at: c.now.Add(d), seq: c.seq, f: f})
}

// Advance moves the clock forward by d, running every function that falls
// due, in order of due time, in the calling goroutine. Functions run without
// the clock's lock held, so they may schedule more; those run too if they
// fall due within d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	target := c.now.Add(d)
	for {
		i := c.earliest()
		if i < 0 || c.timers[i].at.After(target) {
			c.now = target
			c.mu.Unlock()
			return
		}
		t := c.timers[i]
		c.timers = slices.Delete(c.timers, i, i+1)
		c.now = t.at
		c.mu.Unlock()
		t.f()
		c.mu.Lock()
	}
}

// Pending reports how many functions are scheduled and not yet run.
func (c *ManualClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// earliest returns the index of the next timer due, or -1. c.mu is held.
func (c *ManualClock) earliest() int {
	best := -1
	for i, t := range c.timers {
		if best < 0 || t.at.Before(c.timers[best].at) ||
			(t.at.Equal(c.timers[best].at) && t.seq < c.timers[best].seq) {
			best = i
		}
	}
	return best
}
