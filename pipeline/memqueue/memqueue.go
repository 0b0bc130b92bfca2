// Package memqueue is the in-process intake queue: Quire's embedded default
// when no broker is configured, and the queue the worker's unit tests use.
//
// It has the semantics of the RabbitMQ topology in pipeline/broker (see
// docs/topology.md) without the durability: bounded concurrency, Retry with
// growing delays (timed by an injectable Clock), Reject to an inspectable
// dead-letter list, unsettled messages returned to the queue when their
// consumer stops, a delivery limit for messages whose handler keeps
// panicking, and cancels served before renders. Everything lives in memory
// and is gone when the process exits: it is for one-command demos and tests,
// not for production.
package memqueue

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quire-print/quire/internal/clock"
	"github.com/quire-print/quire/pipeline"
)

// Errors returned by a Delivery's Ack, Retry and Reject.
var (
	// ErrSettled: the delivery was already acked, retried or rejected.
	ErrSettled = errors.New("memqueue: delivery already settled")
	// ErrStale: the delivery's consumer stopped and the message went back
	// to the queue (or to the dead letters), so this copy can no longer be
	// settled. Another delivery of the same message follows.
	ErrStale = errors.New("memqueue: delivery returned to the queue when its consumer stopped")
)

// DefaultRetryDelays is the retry schedule when Config.RetryDelays is nil.
// It matches pipeline/broker's.
var DefaultRetryDelays = []time.Duration{
	time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute,
}

// Defaults of the dead-letter bounds in Config.
const (
	DefaultDeadLetterLimit = 1000
	DefaultDeadLetterBytes = 8 << 20
)

// Config configures a Queue. The zero value is ready to use.
type Config struct {
	// Concurrency is the most handlers one Consume call runs at once.
	// Default 4.
	Concurrency int
	// RetryDelays is the delay before attempt n+1 after a Retry on attempt
	// n. A Retry on attempt len(RetryDelays)+1 dead-letters the message
	// with reason "retries-exhausted". Nil means DefaultRetryDelays; an
	// empty, non-nil slice means no retries.
	RetryDelays []time.Duration
	// DeliveryLimit is how many times a message may go back to the queue
	// unsettled (its handler panicked, or its consumer stopped) before it
	// is dead-lettered with reason "delivery-limit". Default 5.
	DeliveryLimit int
	// Clock times retry delays and stamps messages. Default: system time.
	Clock clock.Clock
	// NewID returns a message id for Publish. Default: 26 random base32
	// characters.
	NewID func() string
	// EventLogSize is how many published events Events keeps, newest
	// last. Default 1000.
	EventLogSize int
	// DeadLetterLimit and DeadLetterBytes bound the dead-letter list: at
	// most DeadLetterLimit messages, whose bodies add up to at most
	// DeadLetterBytes. Past either, the oldest dead letters are dropped
	// first (as RabbitMQ's drop-head overflow would), and a body larger
	// than DeadLetterBytes on its own is not kept at all: its dead letter
	// keeps the kind, id, size and reason. Dead-lettered bodies hold
	// personal data and nothing here would ever empty the list.
	// Defaults 1000 and 8 MiB.
	DeadLetterLimit int
	DeadLetterBytes int
	// OnEvent, if set, is called with every event published on Events,
	// after it is recorded. The demo uses it to show progress.
	OnEvent func(Message)
	// Logger receives warnings about handler bugs. Default slog.Default().
	Logger *slog.Logger
}

func (c Config) validate() error {
	var errs []error
	if c.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("memqueue: Concurrency cannot be negative (got %d)", c.Concurrency))
	}
	if c.DeliveryLimit < 0 {
		errs = append(errs, fmt.Errorf("memqueue: DeliveryLimit cannot be negative (got %d)", c.DeliveryLimit))
	}
	if c.DeadLetterLimit < 0 {
		errs = append(errs, fmt.Errorf("memqueue: DeadLetterLimit cannot be negative (got %d)", c.DeadLetterLimit))
	}
	if c.DeadLetterBytes < 0 {
		errs = append(errs, fmt.Errorf("memqueue: DeadLetterBytes cannot be negative (got %d)", c.DeadLetterBytes))
	}
	if c.EventLogSize < 0 {
		errs = append(errs, fmt.Errorf("memqueue: EventLogSize cannot be negative (got %d)", c.EventLogSize))
	}
	for i, d := range c.RetryDelays {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("memqueue: RetryDelays[%d] must be positive (got %v)", i, d))
		}
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.Concurrency == 0 {
		c.Concurrency = 4
	}
	if c.RetryDelays == nil {
		c.RetryDelays = DefaultRetryDelays
	}
	if c.DeliveryLimit == 0 {
		c.DeliveryLimit = 5
	}
	if c.Clock == nil {
		c.Clock = clock.System
	}
	if c.NewID == nil {
		c.NewID = rand.Text
	}
	if c.EventLogSize == 0 {
		c.EventLogSize = 1000
	}
	if c.DeadLetterLimit == 0 {
		c.DeadLetterLimit = DefaultDeadLetterLimit
	}
	if c.DeadLetterBytes == 0 {
		c.DeadLetterBytes = DefaultDeadLetterBytes
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Message is one message as published.
type Message struct {
	// Kind is the message kind (pipeline.KindRender, an event kind, …).
	Kind string
	Body []byte
	// MessageID identifies the message; PublishMessage fills it in when
	// empty.
	MessageID string
	// Timestamp is when it was published; filled in from the Clock.
	Timestamp time.Time
}

// DeadLetter is a message dead-lettered by Reject, by running out of
// retries, or by its delivery limit.
type DeadLetter struct {
	Message
	Reason pipeline.Reason
	// Attempt is the attempt on which it was dead-lettered.
	Attempt int
	// At is when it was dead-lettered, by the Clock.
	At time.Time
	// Size is the length of the body as published; Body is nil when it was
	// too large to keep (see Config.DeadLetterBytes).
	Size int
}

// Stats are the queue's counters since it was made. Reconnects is always
// zero; it is there so that the metrics layer reads the same fields from
// pipeline/broker and from here.
type Stats struct {
	Published    uint64 // messages published to the intake queue
	Events       uint64 // events published on Events
	Consumed     uint64 // deliveries handed to a handler
	Redelivered  uint64 // of those, deliveries of a message returned unsettled
	Acked        uint64
	Retried      uint64 // sent round the retry path
	DeadLettered uint64 // rejected, out of retries or over the delivery limit
	// DeadDropped were dropped from the dead-letter list, oldest first, to
	// keep it within its bounds.
	DeadDropped   uint64
	HandlerPanics uint64
	Reconnects    uint64
}

// Depths are how many messages wait in each part of the queue.
type Depths struct {
	Render int // ready render (and unknown-kind) messages
	Cancel int // ready cancels
	Retry  int // waiting out a retry delay
	Dead   int // dead-lettered
}

// Queue is an in-process queue. It implements pipeline.Source and
// pipeline.Publisher and is safe for concurrent use; several Consume calls
// compete for messages as several workers would.
type Queue struct {
	cfg Config

	mu       sync.Mutex
	render   []*entry // ready, oldest first
	cancel   []*entry // ready cancels: served first, so a cancel never waits behind a backlog of renders
	wake     chan struct{}
	retrying int
	dead     []DeadLetter
	// deadBytes is the length of the bodies in dead.
	deadBytes int

	events *Events

	published, eventCount, consumed, redelivered, acked, retried, deadLettered, deadDropped, panics atomic.Uint64
}

// entry is a message in the queue with its delivery state.
type entry struct {
	msg         Message
	attempt     int
	returns     int // times returned unsettled; compared with DeliveryLimit
	redelivered bool
}

var (
	_ pipeline.Source    = (*Queue)(nil)
	_ pipeline.Publisher = (*Queue)(nil)
	_ pipeline.Publisher = (*Events)(nil)
)

// New returns an empty queue.
func New(cfg Config) (*Queue, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	q := &Queue{cfg: cfg.withDefaults(), wake: make(chan struct{})}
	q.events = &Events{q: q}
	return q, nil
}

// Publish adds a message of the given kind with a new message id. It
// returns once the message is queued (the in-process "confirm").
func (q *Queue) Publish(ctx context.Context, kind string, body []byte) error {
	return q.PublishMessage(ctx, Message{Kind: kind, Body: body})
}

// PublishMessage adds m, filling in MessageID and Timestamp when they are
// zero. The body is copied.
func (q *Queue) PublishMessage(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m = q.stamp(m)
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pushLocked(&entry{msg: m, attempt: 1}, false)
	q.published.Add(1)
	return nil
}

func (q *Queue) stamp(m Message) Message {
	if m.MessageID == "" {
		m.MessageID = q.cfg.NewID()
	}
	if m.Timestamp.IsZero() {
		m.Timestamp = q.cfg.Clock.Now()
	}
	m.Body = append([]byte(nil), m.Body...)
	return m
}

// pushLocked makes e ready: at the back of its lane, or at the front when
// it is being returned, as a broker requeues. q.mu is held.
func (q *Queue) pushLocked(e *entry, front bool) {
	lane := &q.render
	if e.msg.Kind == pipeline.KindCancel {
		lane = &q.cancel
	}
	if front {
		*lane = append([]*entry{e}, *lane...)
	} else {
		*lane = append(*lane, e)
	}
	close(q.wake)
	q.wake = make(chan struct{})
}

// next takes the next ready message, cancels first, waiting until there is
// one or ctx ends.
func (q *Queue) next(ctx context.Context) (*entry, bool) {
	for {
		q.mu.Lock()
		for _, lane := range []*[]*entry{&q.cancel, &q.render} {
			if len(*lane) > 0 {
				e := (*lane)[0]
				(*lane)[0] = nil
				*lane = (*lane)[1:]
				q.mu.Unlock()
				return e, true
			}
		}
		wake := q.wake
		q.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, false
		}
	}
}

// Consume runs h for each message, at most Config.Concurrency at once,
// until ctx ends; then it waits for running handlers and returns nil.
//
// Handlers get a context that keeps ctx's values but is not cancelled with
// it, so a stop lets running work finish and settle. A delivery left
// unsettled when Consume returns goes back to the front of the queue, as an
// unacked message does when a broker channel closes; a handler that panics
// has its delivery returned at once. Either way the message's delivery
// count grows, and past Config.DeliveryLimit it is dead-lettered.
func (q *Queue) Consume(ctx context.Context, h pipeline.Handler) error {
	sem := make(chan struct{}, q.cfg.Concurrency)
	held := map[*delivery]struct{}{} // unsettled deliveries of this call; guarded by q.mu
	hctx := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	for {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		e, ok := q.next(ctx)
		if !ok {
			break
		}
		d := &delivery{q: q, e: e, held: held, redelivered: e.redelivered}
		q.mu.Lock()
		held[d] = struct{}{}
		q.mu.Unlock()
		q.consumed.Add(1)
		if e.redelivered {
			q.redelivered.Add(1)
		}
		wg.Go(func() {
			defer func() { <-sem }()
			q.handle(hctx, h, d)
		})
	}
	wg.Wait()
	q.mu.Lock()
	defer q.mu.Unlock()
	for d := range held {
		q.returnLocked(d)
	}
	return nil
}

// handle runs h, turning a panic into a returned delivery so that input
// can never crash the process.
func (q *Queue) handle(ctx context.Context, h pipeline.Handler, d *delivery) {
	defer func() {
		if r := recover(); r != nil {
			q.panics.Add(1)
			q.cfg.Logger.Error("memqueue: handler panicked; message returned to the queue",
				"message_id", d.e.msg.MessageID, "kind", d.e.msg.Kind, "panic", fmt.Sprint(r))
			q.mu.Lock()
			defer q.mu.Unlock()
			if _, ok := d.held[d]; ok {
				q.returnLocked(d)
			}
		}
	}()
	h(ctx, d)
	q.mu.Lock()
	_, unsettled := d.held[d]
	q.mu.Unlock()
	if unsettled {
		q.cfg.Logger.Warn("memqueue: handler returned without settling; message returns to the queue when Consume stops",
			"message_id", d.e.msg.MessageID, "kind", d.e.msg.Kind)
	}
}

// returnLocked gives an unsettled delivery's message back to the queue, or
// dead-letters it once it has come back more than DeliveryLimit times.
// q.mu is held.
func (q *Queue) returnLocked(d *delivery) {
	delete(d.held, d)
	d.stale = true
	e := d.e
	e.returns++
	e.redelivered = true
	if e.returns > q.cfg.DeliveryLimit {
		q.deadLetterLocked(e, pipeline.Reason{Code: "delivery-limit",
			Detail: fmt.Sprintf("returned unsettled %d times", e.returns)})
		return
	}
	q.pushLocked(e, true)
}

func (q *Queue) deadLetterLocked(e *entry, r pipeline.Reason) {
	dl := DeadLetter{Message: e.msg, Reason: r, Attempt: e.attempt, At: q.cfg.Clock.Now(), Size: len(e.msg.Body)}
	if dl.Size > q.cfg.DeadLetterBytes {
		dl.Body = nil
	}
	q.dead = append(q.dead, dl)
	q.deadBytes += len(dl.Body)
	q.deadLettered.Add(1)
	drop := 0
	for len(q.dead)-drop > q.cfg.DeadLetterLimit || q.deadBytes > q.cfg.DeadLetterBytes {
		q.deadBytes -= len(q.dead[drop].Body)
		q.dead[drop] = DeadLetter{} // let the body go
		drop++
	}
	if drop > 0 {
		q.dead = q.dead[drop:]
		q.deadDropped.Add(uint64(drop))
		q.cfg.Logger.Warn("memqueue: dead-letter list full; dropped the oldest", "dropped", drop,
			"limit", q.cfg.DeadLetterLimit, "bytes", q.cfg.DeadLetterBytes)
	}
}

// DeadLetters returns a copy of the dead-letter list, oldest first.
func (q *Queue) DeadLetters() []DeadLetter {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]DeadLetter(nil), q.dead...)
}

// Depths returns how many messages wait where. It never fails; the context
// and error are there to match pipeline/broker.
func (q *Queue) Depths(ctx context.Context) (Depths, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return Depths{Render: len(q.render), Cancel: len(q.cancel), Retry: q.retrying, Dead: len(q.dead)}, nil
}

// Stats returns the counters.
func (q *Queue) Stats() Stats {
	return Stats{
		Published:     q.published.Load(),
		Events:        q.eventCount.Load(),
		Consumed:      q.consumed.Load(),
		Redelivered:   q.redelivered.Load(),
		Acked:         q.acked.Load(),
		Retried:       q.retried.Load(),
		DeadLettered:  q.deadLettered.Load(),
		DeadDropped:   q.deadDropped.Load(),
		HandlerPanics: q.panics.Load(),
	}
}

// Events returns the publisher for status events. Events are not consumed
// by anything in process; they are kept for inspection (and passed to
// Config.OnEvent).
func (q *Queue) Events() *Events { return q.events }

// delivery is one message handed to a handler.
type delivery struct {
	q    *Queue
	e    *entry
	held map[*delivery]struct{} // its Consume call's unsettled set; guarded by q.mu
	// redelivered: the message had been returned unsettled before.
	redelivered bool
	// stale is set when the message was returned to the queue; guarded by q.mu.
	stale bool
}

func (d *delivery) Kind() string      { return d.e.msg.Kind }
func (d *delivery) Body() []byte      { return d.e.msg.Body }
func (d *delivery) MessageID() string { return d.e.msg.MessageID }
func (d *delivery) Attempt() int      { return d.e.attempt }

// Redelivered reports whether this message was returned unsettled before.
// Tests use it to tell redeliveries from duplicates.
func (d *delivery) Redelivered() bool { return d.redelivered }

// settleLocked marks d settled, or says why it cannot be. q.mu is held.
func (d *delivery) settleLocked() error {
	if d.stale {
		return ErrStale
	}
	if _, ok := d.held[d]; !ok {
		return ErrSettled
	}
	delete(d.held, d)
	return nil
}

func (d *delivery) Ack(ctx context.Context) error {
	d.q.mu.Lock()
	defer d.q.mu.Unlock()
	if err := d.settleLocked(); err != nil {
		return err
	}
	d.q.acked.Add(1)
	return nil
}

func (d *delivery) Retry(ctx context.Context, reason string) error {
	q := d.q
	q.mu.Lock()
	if err := d.settleLocked(); err != nil {
		q.mu.Unlock()
		return err
	}
	if d.e.attempt > len(q.cfg.RetryDelays) {
		q.deadLetterLocked(d.e, pipeline.Reason{Code: "retries-exhausted", Detail: reason})
		q.mu.Unlock()
		return nil
	}
	delay := q.cfg.RetryDelays[d.e.attempt-1]
	// A retry is a new message as far as delivery counting goes, as it is
	// when the broker republishes through a retry queue.
	next := &entry{msg: d.e.msg, attempt: d.e.attempt + 1}
	q.retrying++
	q.retried.Add(1)
	q.mu.Unlock()
	q.cfg.Clock.AfterFunc(delay, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		q.retrying--
		q.pushLocked(next, false)
	})
	return nil
}

func (d *delivery) Reject(ctx context.Context, reason pipeline.Reason) error {
	d.q.mu.Lock()
	defer d.q.mu.Unlock()
	if err := d.settleLocked(); err != nil {
		return err
	}
	d.q.deadLetterLocked(d.e, reason)
	return nil
}

// Events publishes status events into an in-memory log. It implements
// pipeline.Publisher and is safe for concurrent use.
type Events struct {
	q   *Queue
	mu  sync.Mutex
	log []Message
}

// Publish records an event of the given kind (e.g. "envelope.accepted").
func (e *Events) Publish(ctx context.Context, kind string, body []byte) error {
	return e.PublishMessage(ctx, Message{Kind: kind, Body: body})
}

// PublishWithID records an event with message id id.
func (e *Events) PublishWithID(ctx context.Context, kind, id string, body []byte) error {
	return e.PublishMessage(ctx, Message{Kind: kind, Body: body, MessageID: id})
}

// PublishMessage records m, filling in MessageID and Timestamp when they
// are zero.
func (e *Events) PublishMessage(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m = e.q.stamp(m)
	e.mu.Lock()
	e.log = append(e.log, m)
	if over := len(e.log) - e.q.cfg.EventLogSize; over > 0 {
		e.log = append(e.log[:0:0], e.log[over:]...)
	}
	e.mu.Unlock()
	e.q.eventCount.Add(1)
	if e.q.cfg.OnEvent != nil {
		e.q.cfg.OnEvent(m)
	}
	return nil
}

// Messages returns the most recent events, oldest first.
func (e *Events) Messages() []Message {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Message(nil), e.log...)
}
