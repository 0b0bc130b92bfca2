// Package broker is Quire's RabbitMQ intake and event publisher, built on
// github.com/rabbitmq/amqp091-go. A Broker implements pipeline.Source and
// pipeline.Publisher; Events publishes status events for upstream.
//
// The topology (docs/topology.md) is declared idempotently whenever a
// connection opens, by consumers and publishers alike, so whichever process
// starts first leaves a complete topology and nothing it publishes is
// unroutable.
//
// Guarantees: every publish waits for the broker's confirm and fails if the
// message could not be routed; a delivery is acked only when its handler
// says so; Retry and Reject publish (and are confirmed) before the original
// is acked, so a crash in between duplicates a message but never loses one.
// Connections are re-established with exponential backoff and jitter after
// any loss. amqp091-go's own recovery (Config.Recovery) is deliberately not
// used: it reuses the Channel object, so a delivery tag from before a
// reconnect would ack whichever new message got the same tag. Here every
// delivery keeps the channel it came on; after a reconnect its Ack fails
// with ErrStale and the broker redelivers the message. Handlers must
// therefore be idempotent, which Quire's are, by envelope id.
package broker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/quire-print/quire/internal/backoff"
	"github.com/quire-print/quire/pipeline"
)

// Errors.
var (
	// ErrUnroutable: the broker returned a mandatory publish because no
	// queue was bound to take it (someone deleted a queue).
	ErrUnroutable = errors.New("broker: message unroutable")
	// ErrNacked: the broker refused responsibility for a message.
	ErrNacked = errors.New("broker: publish not confirmed (nack)")
	// ErrSettled: the delivery was already acked, retried or rejected.
	ErrSettled = errors.New("broker: delivery already settled")
	// ErrStale: the channel the delivery came on has closed, so it can no
	// longer be settled; the broker will deliver the message again.
	ErrStale = errors.New("broker: delivery's channel closed; the message will be redelivered")
	// ErrClosed: the Broker was closed.
	ErrClosed = errors.New("broker: closed")
)

// errConnLost marks a publish whose outcome is unknown because the channel
// closed under it; the caller reconnects and publishes again.
var errConnLost = errors.New("broker: connection lost")

// Broker is a RabbitMQ intake queue and publisher. It is safe for
// concurrent use. Publishing shares one connection; each Consume call has
// its own, so that flow control on publishes never delays acks.
type Broker struct {
	cfg  Config
	topo Topology

	pubLock     chan struct{} // held (1-buffered) while using or replacing pub
	pub         *pubSession
	pubOpened   bool         // a publishing connection has been opened before
	pubFailures atomic.Int32 // consecutive failures, for backoff
	closeOnce   sync.Once
	closed      chan struct{} // closed by Close; ends reconnect waits

	stats stats
	// deadWarned is set once the dead-letter queue has been found
	// declared without its bounds, and said so.
	deadWarned atomic.Bool
}

// declare declares the topology: the dead-letter queue on a channel of its
// own, then the rest on ch.
func (b *Broker) declare(conn *amqp.Connection, ch *amqp.Channel) error {
	if err := b.topo.declareDead(conn, b.cfg.DeadLimit, b.cfg.DeadBytes, b.warnUnboundedDead); err != nil {
		return err
	}
	return b.topo.declare(ch, b.cfg.DeliveryLimit)
}

func (b *Broker) warnUnboundedDead() {
	if b.deadWarned.CompareAndSwap(false, true) {
		b.cfg.Logger.Warn("broker: the dead-letter queue was declared without a length or size bound and is used as it is; "+
			"bound it with a policy or drain and delete it (docs/topology.md)", "queue", b.topo.Dead)
	}
}

var (
	_ pipeline.Source    = (*Broker)(nil)
	_ pipeline.Publisher = (*Broker)(nil)
	_ pipeline.Publisher = (*Events)(nil)
)

// New checks cfg and returns a Broker. It does not connect: publishing and
// consuming connect (and declare the topology) when first needed.
func New(cfg Config) (*Broker, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if _, err := amqp.ParseURI(cfg.URL); err != nil {
		return nil, fmt.Errorf("broker: URL: %w", err)
	}
	cfg = cfg.withDefaults()
	return &Broker{
		cfg:     cfg,
		topo:    newTopology(cfg.Prefix, cfg.RetryDelays),
		pubLock: make(chan struct{}, 1),
		closed:  make(chan struct{}),
	}, nil
}

// Topology returns the names of everything the Broker declares.
func (b *Broker) Topology() Topology { return b.topo }

// Close closes the publishing connection; later publishes fail with
// ErrClosed. Stop Consume calls by cancelling their contexts first: a
// running Consume needs the publishing connection for Retry and Reject.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() { close(b.closed) })
	b.pubLock <- struct{}{}
	defer func() { <-b.pubLock }()
	if b.pub != nil {
		err := b.pub.close()
		b.pub = nil
		return err
	}
	return nil
}

// Message is one message to publish, for callers that know its id (such as
// an envelope id) or want a content type other than JSON.
type Message struct {
	// Kind is the routing key, and the AMQP type property.
	Kind string
	Body []byte
	// MessageID defaults to Config.NewID().
	MessageID string
	// ContentType defaults to "application/json".
	ContentType string
	// Timestamp defaults to Config.Now().
	Timestamp time.Time
}

func (b *Broker) publishing(m Message) amqp.Publishing {
	if m.MessageID == "" {
		m.MessageID = b.cfg.NewID()
	}
	if m.ContentType == "" {
		m.ContentType = "application/json"
	}
	if m.Timestamp.IsZero() {
		m.Timestamp = b.cfg.Now()
	}
	return amqp.Publishing{
		ContentType:  m.ContentType,
		DeliveryMode: amqp.Persistent,
		MessageId:    m.MessageID,
		Timestamp:    m.Timestamp,
		Type:         m.Kind,
		Body:         m.Body,
	}
}

// Publish publishes a request of the given kind (pipeline.KindRender,
// pipeline.KindCancel) with a new message id, and returns once the broker
// has confirmed it. Connection failures are retried, with backoff, until
// ctx ends. An error means the message was not confirmed; it may still
// have been delivered, so consumers must be idempotent.
func (b *Broker) Publish(ctx context.Context, kind string, body []byte) error {
	return b.PublishMessage(ctx, Message{Kind: kind, Body: body})
}

// PublishMessage publishes m to the requests exchange, as Publish does.
func (b *Broker) PublishMessage(ctx context.Context, m Message) error {
	if err := b.publish(ctx, nil, b.topo.Requests, m.Kind, b.publishing(m)); err != nil {
		return err
	}
	b.stats.published.Add(1)
	return nil
}

// Events returns the publisher of status events to upstream.
func (b *Broker) Events() *Events { return &Events{b: b} }

// Events publishes status events to the events exchange, with the event
// kind (e.g. "envelope.accepted") as routing key. It implements
// pipeline.Publisher.
type Events struct{ b *Broker }

// Publish publishes an event and waits for the broker's confirm, as
// Broker.Publish does.
func (e *Events) Publish(ctx context.Context, kind string, body []byte) error {
	return e.PublishMessage(ctx, Message{Kind: kind, Body: body})
}

// PublishWithID publishes an event with message id id, as Publish does:
// an event published again carries the same id, so that consumers can
// drop the repeat.
func (e *Events) PublishWithID(ctx context.Context, kind, id string, body []byte) error {
	return e.PublishMessage(ctx, Message{Kind: kind, Body: body, MessageID: id})
}

// PublishMessage publishes m as an event.
func (e *Events) PublishMessage(ctx context.Context, m Message) error {
	if err := e.b.publish(ctx, nil, e.b.topo.Events, m.Kind, e.b.publishing(m)); err != nil {
		return err
	}
	e.b.stats.events.Add(1)
	return nil
}

// publish publishes msg with mandatory set and waits for its confirm,
// reconnecting as needed until ctx ends or abort is closed.
func (b *Broker) publish(ctx context.Context, abort <-chan struct{}, exchange, key string, msg amqp.Publishing) error {
	if abort != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-abort:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	for {
		s, err := b.pubSession(ctx)
		if err != nil {
			return err
		}
		err = s.publish(ctx, exchange, key, msg)
		if !errors.Is(err, errConnLost) {
			if err == nil {
				b.pubFailures.Store(0)
			}
			return err
		}
		b.pubFailures.Add(1)
		b.dropPubSession(s)
	}
}

// pubSession returns the open publishing session, connecting (with
// backoff after failures) if there is none.
func (b *Broker) pubSession(ctx context.Context) (*pubSession, error) {
	select {
	case b.pubLock <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-b.pubLock }()
	for {
		select {
		case <-b.closed:
			return nil, ErrClosed
		default:
		}
		if b.pub != nil && !b.pub.ch.IsClosed() {
			return b.pub, nil
		}
		if b.pub != nil {
			_ = b.pub.close()
			b.pub = nil
		}
		if n := b.pubFailures.Load(); n > 0 {
			if err := sleep(ctx, b.closed, backoff.Delay(b.cfg.ReconnectMin, b.cfg.ReconnectMax, int(n))); err != nil {
				return nil, err
			}
		}
		s, err := b.openPubSession(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if fatal(err) {
				return nil, err
			}
			b.pubFailures.Add(1)
			b.cfg.Logger.Warn("broker: cannot open publishing connection; will retry", "prefix", b.cfg.Prefix, "err", err)
			continue
		}
		if b.pubOpened {
			b.stats.reconnects.Add(1)
			b.cfg.Logger.Info("broker: publishing connection re-established", "prefix", b.cfg.Prefix)
		}
		b.pubOpened = true
		b.pub = s
		return s, nil
	}
}

func (b *Broker) dropPubSession(s *pubSession) {
	b.pubLock <- struct{}{}
	defer func() { <-b.pubLock }()
	if b.pub == s {
		_ = s.close()
		b.pub = nil
	}
}

// dial connects, giving up when ctx ends even if the TCP dial or AMQP
// handshake has not.
func (b *Broker) dial(ctx context.Context, role string) (*amqp.Connection, error) {
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(b.cfg.ConnectionName + " " + role)
	cfg := amqp.Config{
		Heartbeat:  b.cfg.Heartbeat,
		Locale:     "en_US",
		Properties: props,
		Dial:       amqp.DefaultDial(30 * time.Second),
		// Used for amqps:// URLs only. A copy per dial: amqp091-go sets
		// the server name in it from the URL when it is empty.
		TLSClientConfig: b.cfg.TLS.Clone(),
	}
	type result struct {
		c   *amqp.Connection
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := amqp.DialConfig(b.cfg.URL, cfg)
		done <- result{c, err}
	}()
	abandon := func(err error) (*amqp.Connection, error) {
		go func() {
			if r := <-done; r.c != nil {
				_ = r.c.Close()
			}
		}()
		return nil, err
	}
	select {
	case r := <-done:
		return r.c, r.err
	case <-ctx.Done():
		return abandon(ctx.Err())
	case <-b.closed:
		return abandon(ErrClosed)
	}
}

// fatal reports whether err is a broker answer that retrying will not
// change: bad credentials or a topology mismatch.
func fatal(err error) bool {
	var e *amqp.Error
	return errors.As(err, &e) && (e.Code == amqp.AccessRefused || e.Code == amqp.PreconditionFailed)
}

// sleep waits for d, or until ctx ends or closed is closed.
func sleep(ctx context.Context, closed <-chan struct{}, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-closed:
		return ErrClosed
	}
}

// pubSession is one publishing connection with a channel in confirm mode.
type pubSession struct {
	conn *amqp.Connection
	ch   *amqp.Channel

	// returns must be unbuffered: amqp091-go hands a basic.return to it
	// before it processes the confirm that follows, so once a publish is
	// confirmed its return, if any, has already been received.
	returns  chan amqp.Return
	sync     chan struct{}
	loopDone chan struct{}
	mu       sync.Mutex
	returned map[string]int // by returnKey
	// blocked is set while the broker has blocked publishing on conn
	// (connection.blocked: a memory or disk alarm).
	blocked atomic.Bool
}

func (b *Broker) openPubSession(ctx context.Context) (*pubSession, error) {
	conn, err := b.dial(ctx, "publisher")
	if err != nil {
		return nil, err
	}
	ch, err := conn.Channel()
	if err == nil {
		err = b.declare(conn, ch)
	}
	if err == nil {
		err = ch.Confirm(false)
	}
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	s := &pubSession{
		conn:     conn,
		ch:       ch,
		returns:  ch.NotifyReturn(make(chan amqp.Return)),
		sync:     make(chan struct{}),
		loopDone: make(chan struct{}),
		returned: map[string]int{},
	}
	go s.loop()
	blocks := conn.NotifyBlocked(make(chan amqp.Blocking, 1))
	go func() {
		for b := range blocks {
			s.blocked.Store(b.Active)
		}
	}()
	return s, nil
}

func returnKey(exchange, key, id string) string { return exchange + "\x00" + key + "\x00" + id }

// loop records returned messages. It serves one sync request at a time
// between returns, which is how a publisher knows every return received
// before its confirm has been recorded.
func (s *pubSession) loop() {
	defer close(s.loopDone)
	for {
		select {
		case r, ok := <-s.returns:
			if !ok {
				return
			}
			s.mu.Lock()
			s.returned[returnKey(r.Exchange, r.RoutingKey, r.MessageId)]++
			s.mu.Unlock()
		case <-s.sync:
		}
	}
}

func (s *pubSession) close() error {
	return s.conn.Close()
}

// publish publishes once and waits for the confirm.
func (s *pubSession) publish(ctx context.Context, exchange, key string, msg amqp.Publishing) error {
	dc, err := s.ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, true, false, msg)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if s.ch.IsClosed() || errors.Is(err, amqp.ErrClosed) {
			return errConnLost
		}
		return err
	}
	select {
	case <-dc.Done():
	case <-ctx.Done():
		return ctx.Err()
	}
	if !dc.Acked() {
		// A closing channel nacks every outstanding confirm: the outcome
		// is unknown, so publish again rather than report a refusal.
		if s.ch.IsClosed() {
			return errConnLost
		}
		return ErrNacked
	}
	select {
	case s.sync <- struct{}{}:
	case <-s.loopDone:
	case <-ctx.Done():
		return ctx.Err()
	}
	k := returnKey(exchange, key, msg.MessageId)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.returned[k] > 0 {
		if s.returned[k]--; s.returned[k] == 0 {
			delete(s.returned, k)
		}
		return fmt.Errorf("%w: exchange %s, routing key %q", ErrUnroutable, exchange, key)
	}
	return nil
}

// Depths are how many messages are ready in each queue.
type Depths struct {
	Render int // ready render (and unknown-kind) messages: the queue lag
	Cancel int // ready cancels
	Retry  int // waiting out a retry delay, all steps together
	Dead   int // dead letters awaiting an operator
}

// Depths asks the broker how many messages are ready in each queue, with
// passive declares on a throwaway channel. It fails when the broker does
// not answer, so it doubles as a readiness check.
func (b *Broker) Depths(ctx context.Context) (Depths, error) {
	s, err := b.pubSession(ctx)
	if err != nil {
		return Depths{}, err
	}
	type result struct {
		d   Depths
		err error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		r.d, r.err = b.depths(s.conn)
		done <- r
	}()
	select {
	case r := <-done:
		return r.d, r.err
	case <-ctx.Done():
		return Depths{}, ctx.Err()
	}
}

// Errors of Ready, whose words a readiness body may show.
var (
	// ErrBlocked: the broker has blocked publishing (a memory or disk
	// alarm), so nothing Quire would publish gets through.
	ErrBlocked = errors.New("publishing blocked by the broker (resource alarm)")
	// ErrUnreachable: no connection to the broker could be opened.
	ErrUnreachable = errors.New("cannot connect")
)

// Ready reports whether the broker takes work now, for a readiness check:
// nil when the publishing connection is open, not blocked, and the work
// queues answer a passive declare. It never waits for the publishing
// connection's reconnect backoff: with no open connection it dials one of
// its own, so it answers as soon as the broker is back, and its error
// says what failed (ErrBlocked, or ErrUnreachable wrapping the dial's
// error) rather than that its context ran out. A connection the broker
// closes (as it does to every client when it shuts down) counts as gone
// at once.
func (b *Broker) Ready(ctx context.Context) error {
	var s *pubSession
	select {
	case b.pubLock <- struct{}{}:
		s = b.pub
		<-b.pubLock
	default:
		// Someone is (re)connecting: ask the broker directly.
	}
	if s != nil && !s.ch.IsClosed() {
		if s.blocked.Load() {
			return ErrBlocked
		}
		return b.ping(ctx, s.conn)
	}
	conn, err := b.dial(ctx, "readiness")
	if err != nil {
		return fmt.Errorf("broker: %w: %w", ErrUnreachable, err)
	}
	defer conn.Close()
	return b.ping(ctx, conn)
}

// ping checks the work queues with a passive declare on conn, within ctx.
func (b *Broker) ping(ctx context.Context, conn *amqp.Connection) error {
	done := make(chan error, 1)
	go func() {
		_, err := b.depths(conn)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("broker: queues: %w", err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("broker: queues did not answer: %w", ctx.Err())
	}
}

func (b *Broker) depths(conn *amqp.Connection) (Depths, error) {
	// A passive declare of a missing queue closes its channel; keep that
	// away from the publishing channel.
	ch, err := conn.Channel()
	if err != nil {
		return Depths{}, err
	}
	defer ch.Close()
	ready := func(name string) (int, error) {
		q, err := ch.QueueDeclarePassive(name, true, false, false, false, nil)
		if err != nil {
			return 0, fmt.Errorf("broker: inspect queue %s: %w", name, err)
		}
		return q.Messages, nil
	}
	var d Depths
	if d.Render, err = ready(b.topo.Render); err != nil {
		return Depths{}, err
	}
	if d.Cancel, err = ready(b.topo.Cancel); err != nil {
		return Depths{}, err
	}
	if d.Dead, err = ready(b.topo.Dead); err != nil {
		return Depths{}, err
	}
	for _, step := range b.topo.Retry {
		n, err := ready(step.Name)
		if err != nil {
			return Depths{}, err
		}
		d.Retry += n
	}
	return d, nil
}

// Stats are the Broker's counters since it was made, for the metrics
// layer.
type Stats struct {
	Published     uint64 // requests published and confirmed
	Events        uint64 // events published and confirmed
	Consumed      uint64 // deliveries handed to a handler
	Redelivered   uint64 // of those, flagged as redelivered by the broker
	Acked         uint64
	Retried       uint64 // sent round the retry path (confirmed, then acked)
	DeadLettered  uint64 // rejected or out of retries (confirmed, then acked)
	HandlerPanics uint64
	Reconnects    uint64 // connections re-established after a loss
}

type stats struct {
	published, events, consumed, redelivered, acked, retried, deadLettered, panics, reconnects atomic.Uint64
}

// Stats returns the counters.
func (b *Broker) Stats() Stats {
	s := &b.stats
	return Stats{
		Published:     s.published.Load(),
		Events:        s.events.Load(),
		Consumed:      s.consumed.Load(),
		Redelivered:   s.redelivered.Load(),
		Acked:         s.acked.Load(),
		Retried:       s.retried.Load(),
		DeadLettered:  s.deadLettered.Load(),
		HandlerPanics: s.panics.Load(),
		Reconnects:    s.reconnects.Load(),
	}
}
