// Package queuetest is the conformance suite every intake queue passes: the
// in-process queue (pipeline/memqueue) in its unit tests and RabbitMQ
// (pipeline/broker) in its integration tests. A worker written against
// pipeline.Source and pipeline.Publisher can rely on what is checked here,
// whichever queue it runs on.
//
// The suite never sleeps to synchronise: it waits on channels or polls with
// a deadline. Where it must show that something does NOT happen (a fifth
// handler starting when four are allowed), it watches for a short window.
package queuetest

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/quire-print/quire/internal/waitfor"
	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/request"
)

// Options configure the queue a Factory builds for one test.
type Options struct {
	// Concurrency is the most handlers the source may run at once.
	Concurrency int
	// RetryDelays is the retry schedule; a Retry on attempt
	// len(RetryDelays)+1 dead-letters with reason "retries-exhausted".
	RetryDelays []time.Duration
	// DeliveryLimit is how many times a message may be returned to the
	// queue unsettled (handler panic, consumer gone) before it is
	// dead-lettered with reason "delivery-limit".
	DeliveryLimit int
}

// DeadLetter is one dead-lettered message as the suite inspects it.
type DeadLetter struct {
	Kind      string
	Body      []byte
	MessageID string
	Reason    pipeline.Reason
}

// Harness is one fresh, empty queue under test.
type Harness struct {
	Source    pipeline.Source
	Publisher pipeline.Publisher
	// DeadLetters returns every message dead-lettered since the harness was
	// made, oldest first. It may be called repeatedly while polling.
	DeadLetters func(ctx context.Context) ([]DeadLetter, error)
	// Elapse makes d of retry delay pass. Queues with an injected clock
	// advance it; nil means real time passes by itself and the suite waits.
	Elapse func(d time.Duration)
}

// Factory builds a fresh harness for one test. Its resources are released
// with t.Cleanup. Names must not collide with other tests or earlier runs.
type Factory func(t *testing.T, o Options) Harness

// Timeout bounds every wait in the suite; RabbitMQ in CI can be slow.
const Timeout = 30 * time.Second

// shortDelays keeps the broker's TTL-based retry path quick in tests.
var shortDelays = []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}

// Run runs the whole suite against queues built by f.
func Run(t *testing.T, f Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, Factory)
	}{
		{"PublishConsumeAck", testPublishConsumeAck},
		{"CancelKind", testCancelKind},
		{"ConcurrentPublish", testConcurrentPublish},
		{"RetryComesBackWithNextAttempt", testRetry},
		{"RetriesExhaustedDeadLetters", testRetriesExhausted},
		{"RejectDeadLettersWithReason", testReject},
		{"UnsettledRedeliveredAfterStop", testUnsettledRedelivered},
		{"ConcurrencyBound", testConcurrencyBound},
		{"ShutdownWaitsForInFlight", testShutdownWaits},
		{"MalformedAndUnknownDelivered", testMalformed},
		{"SettleTwiceIsAnError", testSettleTwice},
		{"HandlerPanicRedelivered", testPanicRedelivered},
		{"DeliveryLimitDeadLetters", testDeliveryLimit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, f) })
	}
}

func defaults(o Options) Options {
	if o.Concurrency == 0 {
		o.Concurrency = 4
	}
	if o.RetryDelays == nil {
		o.RetryDelays = shortDelays
	}
	if o.DeliveryLimit == 0 {
		o.DeliveryLimit = 20
	}
	return o
}

// received is one delivery as a handler saw it.
type received struct {
	Kind      string
	Body      []byte
	MessageID string
	Attempt   int
}

func snapshot(d pipeline.Delivery) received {
	return received{Kind: d.Kind(), Body: bytes.Clone(d.Body()), MessageID: d.MessageID(), Attempt: d.Attempt()}
}

// consumer runs Consume in the background and stops it at cleanup.
type consumer struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when Consume has returned
	err    error         // Consume's result, set before done is closed
}

func startConsume(t *testing.T, src pipeline.Source, h pipeline.Handler) *consumer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &consumer{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.err = src.Consume(ctx, h)
	}()
	t.Cleanup(func() { c.stop(t) })
	return c
}

// stop cancels Consume and waits for it to return; it may be called twice.
func (c *consumer) stop(t *testing.T) {
	t.Helper()
	c.cancel()
	select {
	case <-c.done:
		if c.err != nil {
			t.Errorf("Consume returned %v after cancel, want nil", c.err)
			c.err = nil
		}
	case <-time.After(Timeout):
		t.Fatalf("Consume did not return within %v of cancel", Timeout)
	}
}

func publish(t *testing.T, p pipeline.Publisher, kind string, body []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := p.Publish(ctx, kind, body); err != nil {
		t.Fatalf("Publish(%q): %v", kind, err)
	}
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(Timeout):
		t.Fatalf("timed out after %v waiting for %s", Timeout, what)
		panic("unreachable")
	}
}

// quiet reports whether nothing arrives on ch for a short window.
func quiet[T any](ch <-chan T, window time.Duration) bool {
	select {
	case <-ch:
		return false
	case <-time.After(window):
		return true
	}
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	t.Cleanup(cancel)
	return ctx
}

// drained shows that nothing but the sentinel is left to deliver: it starts
// a new consumer, publishes a sentinel and expects the sentinel to be the
// only message that arrives. Used to prove an acked message is not
// redelivered without waiting for an arbitrary time.
func drained(t *testing.T, h Harness) {
	t.Helper()
	got := make(chan received, 16)
	c := startConsume(t, h.Source, func(ctx context.Context, d pipeline.Delivery) {
		got <- snapshot(d)
		if err := d.Ack(ctx); err != nil {
			t.Errorf("Ack: %v", err)
		}
	})
	sentinel := []byte(`{"sentinel":true}`)
	publish(t, h.Publisher, pipeline.KindRender, sentinel)
	r := recv(t, got, "the sentinel")
	if !bytes.Equal(r.Body, sentinel) {
		t.Errorf("after settling everything, got %q before the sentinel; want nothing redelivered", r.Body)
	}
	c.stop(t)
}

func waitDeadLetters(t *testing.T, h Harness, n int) []DeadLetter {
	t.Helper()
	var dl []DeadLetter
	waitfor.Until(t, Timeout, func() error {
		var err error
		if dl, err = h.DeadLetters(ctxTimeout(t)); err != nil {
			t.Fatalf("DeadLetters: %v", err)
		}
		if len(dl) < n {
			return fmt.Errorf("%d dead letters, want %d", len(dl), n)
		}
		return nil
	})
	return dl
}

func testPublishConsumeAck(t *testing.T, f Factory) {
	h := f(t, defaults(Options{}))
	bodies := [][]byte{[]byte(`{"n":1}`), []byte(`{"n":2}`), []byte(`{"n":3}`)}
	for _, b := range bodies {
		publish(t, h.Publisher, pipeline.KindRender, b)
	}
	got := make(chan received, len(bodies))
	c := startConsume(t, h.Source, func(ctx context.Context, d pipeline.Delivery) {
		got <- snapshot(d)
		if err := d.Ack(ctx); err != nil {
			t.Errorf("Ack: %v", err)
		}
	})
	ids := map[string]bool{}
	var seen [][]byte
	for range bodies {
		r := recv(t, got, "a delivery")
		if r.Kind != pipeline.KindRender {
			t.Errorf("Kind = %q, want %q", r.Kind, pipeline.KindRender)
		}
		if r.Attempt != 1 {
			t.Errorf("Attempt = %d, want 1", r.Attempt)
		}
		if r.MessageID == "" {
			t.Error("MessageID is empty; Publish must set one")
		}
		ids[r.MessageID] = true
		seen = append(seen, r.Body)
	}
	if len(ids) != len(bodies) {
		t.Errorf("%d distinct message ids for %d messages", len(ids), len(bodies))
	}
	for _, b := range bodies {
		if !slices.ContainsFunc(seen, func(s []byte) bool { return bytes.Equal(s, b) }) {
			t.Errorf("body %s never delivered", b)
		}
	}
	c.stop(t)
	drained(t, h)
}

func testCancelKind(t *testing.T, f Factory) {
	h := f(t, defaults(Options{}))
	got := make(chan received, 2)
	startConsume(t, h.Source, func(ctx context.Context, d pipeline.Delivery) {
		got <- snapshot(d)
		_ = d.Ack(ctx)
	})
	publish(t, h.Publisher, pipeline.KindCancel, []byte(`{"cancel":1}`))
	if r := recv(t, got, "the cancel"); r.Kind != pipeline.KindCancel || string(r.Body) != `{"cancel":1}` {
		t.Errorf("got kind %q body %q, want %q with the published body", r.Kind, r.Body, pipeline.KindCancel)
	}
}

func testConcurrentPublish(t *testing.T, f Factory) {
	h := f(t, defaults(Options{Concurrency: 8}))
	const publishers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, publishers*each)
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				ctx, cancel := context.WithTimeout(context.Background(), Timeout)
				errs <- h.Publisher.Publish(ctx, pipeline.KindRender, fmt.Appendf(nil, `{"p":%d,"i":%d}`, p, i))
				cancel()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Publish: %v", err)
		}
	}
	got := make(chan received, publishers*each)
	startConsume(t, h.Source, func(ctx context.Context, d pipeline.Delivery) {
		got <- snapshot(d)
		_ = d.Ack(ctx)
	})
	bodies := map[string]bool{}
	for range publishers * each {
		bodies[string(recv(t, got, "a delivery").Body)] = true
	}
	if len(bodies) != publishers*each {
		t.Errorf("%d distinct bodies delivered, want %d", len(bodies), publishers*each)
	}
}

func testRetry(t *testing.T, f Factory) {
	o := defaults(Options{})
	h := f(t, o)
	got := make(chan received, 4)
	retried := make(chan struct{}, 1)
	startConsume(t, h.Source, func(ctx context.Context, d pipeline.Delivery) {
		got <- snapshot(d)
		if d.Attempt() == 1 {
			if err := d.Retry(ctx, "storage-unavailable"); err != nil {
				t.Errorf("Retry: %v", err)
			}
			retried <- struct{}{}
			return
		}
		if err := d.Ack(ctx); err != nil {
			t.Errorf("Ack: %v", err)
		}
	})
	publish(t, h.Publisher, pipeline.KindRender, []byte(`{"retry":true}`))
	first := recv(t, got, "the first attempt")
	recv(t, retried, "the retry")
	if h.Elapse != nil {
		h.Elapse(o.RetryDelays[0])
	}
	second := recv(t, got, "the second attempt")
	if second.Attempt != first.Attempt+1 {
		t.Errorf("second delivery Attempt = %d, want %d", second.Attempt, first.Attempt+1)
	}
	if second.Kind != first.Kind || !bytes.Equal(second.Body, first.Body) || second.MessageID != first.MessageID {
		t.Errorf("retried message changed: got %+v, want %+v with the next attempt", second, first)
	}
}

func testRetriesExhausted(t *testing.T, f Factory) {
	o := defaults(Options{})
	h := f(t, o)
	got := make(chan received, 8)
	retried := make(chan struct{}, 8)
	startConsume(t, h.Source, func(ctx context.Context, d pipeline.Delivery) {
		got <- snapshot(d)
		if err := d.Retry(ctx, "storage-unavailable"); err != nil {
			t.Errorf("Retry on attempt %d: %v", d.Attempt(), err)
		}
		retried <- struct{}{}
	})
	body := []byte(`{"exhaust":true}`)
	publish(t, h.Publisher, pipeline.KindRender, body)
	var attempts []int
	var id string
	for i := range len(o.RetryDelays) + 1 {
		r := recv(t, got, fmt.Sprintf("attempt %d", i+1))
		attempts = append(attempts, r.Attempt)
		id = r.MessageID
		recv(t, retried, "the retry")
		if h.Elapse != nil && i < len(o.RetryDelays) {
			h.Elapse(o.RetryDelays[i])
		}
	}
	if want := []int{1, 2, 3}; !slices.Equal(attempts, want) {
		t.Errorf("attempts = %v, want %v", attempts, want)
	}
	dl := waitDeadLetters(t, h, 1)
	want := DeadLetter{Kind: pipeline.KindRender, Body: body, MessageID: id,
		Reason: pipeline.Reason{Code: "retries-exhausted", Detail: "storage-unavailable"}}
	if !reflect.DeepEqual(dl[0], want) {
		t.Errorf("dead letter = %+v, want %+v", dl[0], want)
	}
	if len(dl) != 1 {
		t.Errorf("%d dead letters, want 1", len(dl))
	}
}

func testReject(t *testing.T, f Factory) {
	h := f(t, defaults(Options{}))
	reason := pipeline.Reason{Code: "invalid-request", Detail: "2 field errors",
		Fields: []request.FieldError{{Field: "recipient.address[3]", Problem: "is not a UK postcode"}, {Problem: "unknown version"}}}
	got := make(chan received, 1)
	c := startConsume(t, h.Source, func(ctx context.Context, d pipeline.Delivery) {
		if err := d.Reject(ctx, reason); err != nil {
			t.Errorf("Reject: %v", err)
		}
		got <- snapshot(d)
	})
	body := []byte(`{"bad":true}`)
	publish(t, h.Publisher, pipeline.KindRender, body)
	r := recv(t, got, "the delivery")
	dl := waitDeadLetters(t, h, 1)
	want := DeadLetter{Kind: pipeline.KindRender, Body: body, MessageID: r.MessageID, Reason: reason}
	if !reflect.DeepEqual(dl[0], want) {
		t.Errorf("dead letter = %+v, want %+v", dl[0], want)
	}
	c.stop(t)
	drained(t, h)
}

func testUnsettledRedelivered(t *testing.T, f Factory) {
	h := f(t, defaults(Options{}))
	body := []byte(`{"unsettled":true}`)
	publish(t, h.Publisher, pipeline.KindRender, body)

	got := make(chan received, 4)
	release := make(chan struct{})
	c := startConsume(t, h.Source, func(ctx context.Context, d pipeline.Delivery) {
		got <- snapshot(d)
		<-release // a crashed handler: never settles
	})
	first := recv(t, got, "the first delivery")
	c.cancel()
	close(release)
	c.stop(t)

	again := make(chan received, 4)
	startConsume(t, h.Source, func(ctx context.Context, d pipeline.Delivery) {
		again <- snapshot(d)
		_ = d.Ack(ctx)
	})
	r := recv(t, again, "the redelivery")
	if r.MessageID != first.MessageID || !bytes.Equal(r.Body, body) || r.Attempt != 1 {
		t.Errorf("redelivered %+v, want %+v (a redelivery is not a retry: same attempt)", r, first)
	}
}

func testConcurrencyBound(t *testing.T, f Factory) {
	const limit, n = 3, 12
	h := f(t, defaults(Options{Concurrency: limit}))
	for i := range n {
		publish(t, h.Publisher, pipeline.KindRender, fmt.Appendf(nil, `{"i":%d}`, i))
	}
	var mu sync.Mutex
	running, peak := 0, 0
	started := make(chan struct{}, n)
	gate := make(chan struct{})
	done := make(chan string, n)
	startConsume(t, h.Source, func(ctx context.Context, d pipeline.Delivery) {
		mu.Lock()
		running++
		peak = max(peak, running)
		mu.Unlock()
		started <- struct{}{}
		<-gate
		mu.Lock()
		running--
		mu.Unlock()
		if err := d.Ack(ctx); err != nil {
			t.Errorf("Ack: %v", err)
		}
		done <- string(d.Body())
	})
	for range limit {
		recv(t, started, "a handler to start")
	}
	if !quiet(started, 200*time.Millisecond) {
		t.Errorf("handler %d started while %d were running; Concurrency is %d", limit+1, limit, limit)
	}
	close(gate)
	bodies := map[string]bool{}
	for range n {
		bodies[recv(t, done, "a handler to finish")] = true
	}
	if len(bodies) != n {
		t.Errorf("%d distinct messages handled, want %d", len(bodies), n)
	}
	mu.Lock()
	defer mu.Unlock()
	if peak != limit {
		t.Errorf("peak concurrency = %d, want %d", peak, limit)
	}
}

func testShutdownWaits(t *testing.T, f Factory) {
	h := f(t, defaults(Options{}))
	publish(t, h.Publisher, pipeline.KindRender, []byte(`{"slow":true}`))
	started := make(chan struct{})
	release := make(chan struct{})
	acked := make(chan error, 1)
	c := startConsume(t, h.Source, func(ctx context.Context, d pipeline.Delivery) {
		close(started)
		<-release
		// Stopping Consume must not cancel the work of a running handler,
		// or it could never store its result and ack.
		if err := ctx.Err(); err != nil {
			t.Errorf("handler context cancelled by Consume's stop: %v", err)
		}
		acked <- d.Ack(ctx)
	})
	recv(t, started, "the handler to start")
	c.cancel()
	if !quiet(c.done, 200*time.Millisecond) {
		t.Fatal("Consume returned while a handler was still running")
	}
	close(release)
	if err := recv(t, acked, "the ack"); err != nil {
		t.Errorf("Ack after Consume's context ended: %v", err)
	}
	c.stop(t)
	drained(t, h)
}

func testMalformed(t *testing.T, f Factory) {
	h := f(t, defaults(Options{}))
	msgs := []struct {
		kind string
		body []byte
	}{
		{"envelope.bogus", []byte(`{"unknown kind":true}`)},
		{pipeline.KindRender, []byte("{not json")},
		{pipeline.KindRender, []byte{0x00, 0xff, 0xfe}},
		{pipeline.KindRender, nil},
	}
	got := make(chan received, len(msgs))
	startConsume(t, h.Source, func(ctx context.Context, d pipeline.Delivery) {
		got <- snapshot(d)
		if err := d.Reject(ctx, pipeline.Reason{Code: "malformed"}); err != nil {
			t.Errorf("Reject: %v", err)
		}
	})
	for _, m := range msgs {
		publish(t, h.Publisher, m.kind, m.body)
	}
	var seen []received
	for range msgs {
		seen = append(seen, recv(t, got, "a malformed message"))
	}
	for _, m := range msgs {
		if !slices.ContainsFunc(seen, func(r received) bool { return r.Kind == m.kind && bytes.Equal(r.Body, m.body) }) {
			t.Errorf("message kind %q body %q not delivered as published", m.kind, m.body)
		}
	}
	if dl := waitDeadLetters(t, h, len(msgs)); len(dl) != len(msgs) {
		t.Errorf("%d dead letters, want %d", len(dl), len(msgs))
	}
}

func testSettleTwice(t *testing.T, f Factory) {
	h := f(t, defaults(Options{}))
	errs := make(chan [3]error, 1)
	c := startConsume(t, h.Source, func(ctx context.Context, d pipeline.Delivery) {
		var e [3]error
		e[0] = d.Ack(ctx)
		e[1] = d.Ack(ctx)
		e[2] = d.Reject(ctx, pipeline.Reason{Code: "late"})
		errs <- e
	})
	publish(t, h.Publisher, pipeline.KindRender, []byte(`{"twice":true}`))
	e := recv(t, errs, "the handler")
	if e[0] != nil {
		t.Errorf("first Ack: %v", e[0])
	}
	if e[1] == nil || e[2] == nil {
		t.Errorf("settling again returned %v, %v; want errors", e[1], e[2])
	}
	if dl, err := h.DeadLetters(ctxTimeout(t)); err != nil || len(dl) != 0 {
		t.Errorf("DeadLetters = %v, %v; want none (the Reject came after the Ack)", dl, err)
	}
	c.stop(t)
	drained(t, h)
}

func testPanicRedelivered(t *testing.T, f Factory) {
	h := f(t, defaults(Options{}))
	got := make(chan received, 4)
	var once sync.Once
	startConsume(t, h.Source, func(ctx context.Context, d pipeline.Delivery) {
		got <- snapshot(d)
		once.Do(func() { panic("handler bug") })
		_ = d.Ack(ctx)
	})
	publish(t, h.Publisher, pipeline.KindRender, []byte(`{"panic":true}`))
	first := recv(t, got, "the first delivery")
	second := recv(t, got, "the redelivery after the panic")
	if second.MessageID != first.MessageID {
		t.Errorf("redelivered %q, want %q", second.MessageID, first.MessageID)
	}
}

func testDeliveryLimit(t *testing.T, f Factory) {
	o := defaults(Options{DeliveryLimit: 2})
	h := f(t, o)
	var mu sync.Mutex
	deliveries := 0
	startConsume(t, h.Source, func(ctx context.Context, d pipeline.Delivery) {
		mu.Lock()
		deliveries++
		mu.Unlock()
		panic("poison message")
	})
	body := []byte(`{"poison":true}`)
	publish(t, h.Publisher, pipeline.KindRender, body)
	dl := waitDeadLetters(t, h, 1)
	if dl[0].Reason.Code != "delivery-limit" || !bytes.Equal(dl[0].Body, body) || dl[0].Kind != pipeline.KindRender {
		t.Errorf("dead letter = %+v, want the poison message with reason code delivery-limit", dl[0])
	}
	mu.Lock()
	defer mu.Unlock()
	if deliveries < 1 || deliveries > o.DeliveryLimit+1 {
		t.Errorf("delivered %d times, want 1..%d", deliveries, o.DeliveryLimit+1)
	}
}
