package preview

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// errBusy means every render slot was taken and the queue was full, or
// the wait for a slot ran out. It becomes 503 with Retry-After.
var errBusy = errors.New("preview: too many previews are being drawn")

// limiter bounds how many previews are drawn at once and how many
// requests wait to draw one. A burst beyond both is turned away at once,
// so it costs a few bytes per request rather than a page image each.
// Cache hits never come here.
type limiter struct {
	slots    chan struct{}
	waiting  atomic.Int64
	maxQueue int64
	wait     time.Duration
	rejected atomic.Uint64
	// onQueue, when set, is called as a request joins the queue. Tests
	// use it to know when.
	onQueue func()
}

func newLimiter(slots, queue int, wait time.Duration) *limiter {
	return &limiter{slots: make(chan struct{}, slots), maxQueue: int64(queue), wait: wait}
}

// acquire takes a render slot, waiting in line if need be. It returns
// errBusy when the line is full or the wait runs out, and ctx's error when
// ctx ends first. Call release once the render is done.
func (l *limiter) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case l.slots <- struct{}{}:
		return nil
	default:
	}
	if l.waiting.Add(1) > l.maxQueue {
		l.waiting.Add(-1)
		l.rejected.Add(1)
		return errBusy
	}
	defer l.waiting.Add(-1)
	if l.onQueue != nil {
		l.onQueue()
	}
	timer := time.NewTimer(l.wait)
	defer timer.Stop()
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		l.rejected.Add(1)
		return errBusy
	}
}

func (l *limiter) release() { <-l.slots }
