// Package clock is the time as Quire's long-running parts read it: the
// worker, the in-process queue, the batcher, the supplier's retries, the
// retention sweep and the pull API take a Clock instead of calling
// time.Now, so that tests drive time with a manual clock
// (*memqueue.ManualClock) instead of sleeping.
package clock

import (
	"context"
	"time"
)

// Clock tells the time and schedules wake-ups.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f once d has passed: in its own goroutine, or, for a
	// manual clock, in the goroutine that advances time.
	AfterFunc(d time.Duration, f func())
}

type system struct{}

func (system) Now() time.Time                      { return time.Now() }
func (system) AfterFunc(d time.Duration, f func()) { time.AfterFunc(d, f) }

// System is the real time.
var System Clock = system{}

// Sleep waits for d on c, or until ctx ends, and then returns ctx.Err().
func Sleep(ctx context.Context, c Clock, d time.Duration) error {
	woken := make(chan struct{})
	c.AfterFunc(d, func() { close(woken) })
	select {
	case <-woken:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
