package worker

import (
	"context"
	"sync"
)

// inFlight lets one delivery of an envelope at a time past the look-up in
// this process. Two deliveries of one envelope at once (a redelivery after
// a channel loss while the first is still rendering, a message published
// twice) would otherwise both render and upload it, and one would lose the
// race for the record. The second waits for the first to finish, and then
// its look-up finds the record: one read instead of a render and its
// uploads. Workers in other processes still race at the commit point,
// which keeps the outcome right; this only saves the work.
type inFlight struct {
	mu  sync.Mutex
	ids map[string]chan struct{}
}

// enter waits until no other delivery of id is between enter and leave,
// then returns leave, to be called once this one is done with storage. It
// fails only if ctx ends first.
func (f *inFlight) enter(ctx context.Context, id string) (leave func(), err error) {
	for {
		f.mu.Lock()
		done, busy := f.ids[id]
		if !busy {
			if f.ids == nil {
				f.ids = map[string]chan struct{}{}
			}
			done = make(chan struct{})
			f.ids[id] = done
			f.mu.Unlock()
			return func() {
				f.mu.Lock()
				delete(f.ids, id)
				f.mu.Unlock()
				close(done)
			}, nil
		}
		f.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
