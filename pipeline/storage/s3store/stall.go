package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// stallGuard gives each HTTP request to the service its own deadline for
// progress, apart from the caller's context: a service that takes the
// connection and then answers nothing (a stopped process, a hung disk, a
// black-holed network) fails the request after timeout, as a refused
// connection would, rather than holding the caller until its own, much
// longer, deadline. The clock runs only while the request waits on the
// service: while the service has yet to take the next bytes of what is
// sent, until its answer begins, and inside each read of the answer. It
// stops while the caller produces what it sends or does something else
// between reads, so that a slow caller or a large object is never cut off.
type stallGuard struct {
	rt      http.RoundTripper
	timeout time.Duration
}

// stallError says how long the service went without answering.
type stallError struct{ timeout time.Duration }

func (e *stallError) Error() string {
	return fmt.Sprintf("the service made no progress for %v (request timeout)", e.timeout)
}

// Timeout lets net.Error-minded callers see a timeout.
func (e *stallError) Timeout() bool { return true }

func (g stallGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	stalled := &stallError{timeout: g.timeout}
	w := &watch{timer: time.AfterFunc(g.timeout, func() { cancel(stalled) }), timeout: g.timeout}
	req = req.WithContext(ctx)
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = &sentBody{rc: req.Body, w: w}
	}
	resp, err := g.rt.RoundTrip(req)
	if err != nil {
		w.stop()
		cancel(nil)
		if errors.Is(context.Cause(ctx), stalled) {
			return nil, stalled
		}
		return nil, err
	}
	w.answering()
	resp.Body = &answerBody{rc: resp.Body, w: w, ctx: ctx, stalled: stalled, cancel: cancel}
	return resp, nil
}

// watch is one request's progress timer. Stopping and restarting it are
// serialised, since the transport reads what it sends on another
// goroutine than the one waiting for the answer.
type watch struct {
	mu      sync.Mutex
	timer   *time.Timer
	timeout time.Duration
	phase   phase
}

// phase is how far a request has gone.
type phase int

const (
	sending   phase = iota // until the answer begins
	answering              // while the answer is read
	finished               // once the answer is closed
)

func (w *watch) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.timer.Stop()
}

// restart starts the clock again if the request is still in phase p: a
// late read of what was sent, after the answer began, changes nothing.
func (w *watch) restart(p phase) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.phase == p {
		w.timer.Reset(w.timeout)
	}
}

func (w *watch) enter(p phase) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.phase = p
	w.timer.Stop()
}

func (w *watch) answering() { w.enter(answering) }

// sentBody is what a request sends: the clock stops while the caller
// produces the next bytes and runs while the service has yet to take them.
type sentBody struct {
	rc io.ReadCloser
	w  *watch
}

func (b *sentBody) Read(p []byte) (int, error) {
	b.w.stop()
	n, err := b.rc.Read(p)
	b.w.restart(sending)
	return n, err
}

func (b *sentBody) Close() error { return b.rc.Close() }

// answerBody is the service's answer: the clock runs inside each read.
type answerBody struct {
	rc      io.ReadCloser
	w       *watch
	ctx     context.Context
	stalled *stallError
	cancel  context.CancelCauseFunc
}

func (b *answerBody) Read(p []byte) (int, error) {
	b.w.restart(answering)
	n, err := b.rc.Read(p)
	b.w.stop()
	if err != nil && err != io.EOF && errors.Is(context.Cause(b.ctx), b.stalled) {
		err = b.stalled
	}
	return n, err
}

func (b *answerBody) Close() error {
	b.w.enter(finished)
	err := b.rc.Close()
	b.cancel(nil)
	return err
}
