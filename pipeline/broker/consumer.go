package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/quire-print/quire/internal/backoff"
	"github.com/quire-print/quire/pipeline"
)

// Consume runs h for each message from the Render and Cancel queues, at
// most Config.Concurrency at once, until ctx ends. Cancels are taken first
// when both are waiting. It then stops taking messages, waits for running
// handlers (which can still ack on the open channel), closes its connection
// and returns nil. Messages the broker had sent ahead (prefetch) but no
// handler had started go back to the queue when the channel closes.
//
// A lost connection or channel is re-established with backoff, the topology
// re-declared and consuming resumed; handlers still running from before
// keep their concurrency slots, and their settles fail with ErrStale.
// Consume returns an error only for failures retrying cannot fix: bad
// credentials, a topology that clashes with the broker's (406), or a closed
// Broker.
//
// Handlers get a context that keeps ctx's values but is not cancelled with
// it, so that stopping lets running work store its result and ack; bound
// the work with a deadline of its own. A handler that panics has its
// delivery returned to the queue (nack with requeue), where the queue's
// delivery limit eventually dead-letters a message that always panics. A
// handler that returns without settling leaves the message unacked until
// the channel closes, as if the worker had crashed.
func (b *Broker) Consume(ctx context.Context, h pipeline.Handler) error {
	sem := make(chan struct{}, b.cfg.Concurrency)
	hctx := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	failures := 0
	for opened := false; ; {
		s, err := b.openConsumeSession(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if fatal(err) || errors.Is(err, ErrClosed) {
				return err
			}
			failures++
			b.cfg.Logger.Warn("broker: cannot start consuming; will retry", "prefix", b.cfg.Prefix, "err", err)
			if err := sleep(ctx, b.closed, backoff.Delay(b.cfg.ReconnectMin, b.cfg.ReconnectMax, failures)); err != nil {
				if errors.Is(err, ErrClosed) {
					return err
				}
				return nil
			}
			continue
		}
		if opened {
			b.stats.reconnects.Add(1)
			b.cfg.Logger.Info("broker: consuming again after reconnect", "prefix", b.cfg.Prefix)
		}
		opened = true
		started := time.Now()
		err = b.serve(ctx, s, h, hctx, sem, &wg)
		if ctx.Err() != nil {
			// Stop deliveries, let running handlers settle on the open
			// channel, then close it: the rest go back to the queue.
			s.cancelConsumers()
			wg.Wait()
			_ = s.close()
			return nil
		}
		_ = s.close()
		b.cfg.Logger.Warn("broker: consuming interrupted; reconnecting", "prefix", b.cfg.Prefix, "err", err)
		// A session that lasted a while was healthy: start the backoff
		// afresh. One that failed at once (the broker booting, say) backs
		// off further each time.
		if time.Since(started) > b.cfg.ReconnectMax {
			failures = 0
		}
		failures++
		if err := sleep(ctx, b.closed, backoff.Delay(b.cfg.ReconnectMin, b.cfg.ReconnectMax, failures)); err != nil {
			if errors.Is(err, ErrClosed) {
				return err
			}
			return nil
		}
	}
}

// consumeSession is one consuming connection and channel.
type consumeSession struct {
	conn   *amqp.Connection
	ch     *amqp.Channel
	tags   []string
	render <-chan amqp.Delivery
	cancel <-chan amqp.Delivery
	// done is closed when the channel has closed, for any reason.
	done chan struct{}
	// lost carries the close error, if the broker or network sent one.
	lost *amqp.Error
}

func (b *Broker) openConsumeSession(ctx context.Context) (*consumeSession, error) {
	conn, err := b.dial(ctx, "consumer")
	if err != nil {
		return nil, err
	}
	s := &consumeSession{conn: conn, done: make(chan struct{})}
	fail := func(err error) (*consumeSession, error) {
		_ = conn.Close()
		return nil, err
	}
	if s.ch, err = conn.Channel(); err != nil {
		return fail(err)
	}
	closes := s.ch.NotifyClose(make(chan *amqp.Error, 1))
	go func() {
		for e := range closes {
			s.lost = e
		}
		close(s.done)
	}()
	if err := b.declare(conn, s.ch); err != nil {
		return fail(err)
	}
	// Per-consumer prefetch: quorum queues do not support global QoS.
	if err := s.ch.Qos(b.cfg.Prefetch, 0, false); err != nil {
		return fail(err)
	}
	consume := func(queue string) (<-chan amqp.Delivery, error) {
		tag := fmt.Sprintf("%s-%s-%s", b.cfg.ConnectionName, queue, b.cfg.NewID())
		s.tags = append(s.tags, tag)
		return s.ch.Consume(queue, tag, false, false, false, false, nil)
	}
	if s.render, err = consume(b.topo.Render); err != nil {
		return fail(err)
	}
	if s.cancel, err = consume(b.topo.Cancel); err != nil {
		return fail(err)
	}
	return s, nil
}

// cancelConsumers asks the broker to stop sending; unacked messages stay
// with this channel until it closes.
func (s *consumeSession) cancelConsumers() {
	for _, tag := range s.tags {
		_ = s.ch.Cancel(tag, false)
	}
}

func (s *consumeSession) close() error {
	return s.conn.Close()
}

// Why a session ended, when the broker sent no error.
var (
	errConsumerGone = errors.New("broker: the broker cancelled the consumer (queue deleted?)")
	errChannelGone  = errors.New("broker: channel closed")
)

// serve hands deliveries to handlers until ctx ends or the session breaks.
func (b *Broker) serve(ctx context.Context, s *consumeSession, h pipeline.Handler, hctx context.Context,
	sem chan struct{}, wg *sync.WaitGroup) error {
	for {
		var (
			d     amqp.Delivery
			ok    bool
			queue string
		)
		// Cancels first: a cancel stuck behind a backlog of renders could
		// miss the batch cut-off it was sent to beat.
		select {
		case d, ok = <-s.cancel:
			queue = b.topo.Cancel
		default:
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-s.done:
				return s.lostErr()
			case d, ok = <-s.cancel:
				queue = b.topo.Cancel
			case d, ok = <-s.render:
				queue = b.topo.Render
			}
		}
		if !ok {
			return s.streamEnded()
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err() // d stays unacked and goes back to the queue
		case <-s.done:
			return s.lostErr()
		}
		if s.ch.IsClosed() {
			// Buffered before the channel closed: the broker has already
			// taken it back, and a handler could not settle it.
			<-sem
			continue
		}
		dl := &delivery{b: b, s: s, d: d, queue: queue, attempt: attemptOf(d.Headers)}
		b.stats.consumed.Add(1)
		if d.Redelivered {
			b.stats.redelivered.Add(1)
		}
		wg.Go(func() {
			defer func() { <-sem }()
			b.handle(hctx, h, dl)
		})
	}
}

// lostErr says why the session ended.
func (s *consumeSession) lostErr() error {
	select {
	case <-s.done:
		if s.lost != nil {
			return s.lost
		}
		return errChannelGone
	default:
		return errConsumerGone
	}
}

// streamEnded says why a delivery stream closed. The stream closes just
// before the channel reports its close error, so give the report a moment:
// it is what the log needs to tell a broker restart from a deleted queue.
func (s *consumeSession) streamEnded() error {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-s.done:
	case <-t.C:
	}
	return s.lostErr()
}

// handle runs h, turning a panic into a requeued delivery so that input can
// never crash the process.
func (b *Broker) handle(ctx context.Context, h pipeline.Handler, d *delivery) {
	defer func() {
		if r := recover(); r != nil {
			b.stats.panics.Add(1)
			b.cfg.Logger.Error("broker: handler panicked; message returned to the queue",
				"message_id", d.d.MessageId, "kind", d.Kind(), "panic", fmt.Sprint(r))
			if d.settled.CompareAndSwap(false, true) {
				_ = d.s.ch.Nack(d.d.DeliveryTag, false, true)
			}
		}
	}()
	h(ctx, d)
	if !d.settled.Load() {
		b.cfg.Logger.Warn("broker: handler returned without settling; message stays unacked until the channel closes",
			"message_id", d.d.MessageId, "kind", d.Kind())
	}
}

// delivery is one message handed to a handler. It keeps the session it
// came on: its delivery tag means nothing on any other channel.
type delivery struct {
	b       *Broker
	s       *consumeSession
	d       amqp.Delivery
	queue   string // the work queue it came from, where a retry returns it
	attempt int
	settled atomic.Bool
}

func (d *delivery) Kind() string      { return kindOf(d.d) }
func (d *delivery) Body() []byte      { return d.d.Body }
func (d *delivery) MessageID() string { return d.d.MessageId }
func (d *delivery) Attempt() int      { return d.attempt }

// Redelivered reports whether the broker flagged this as a redelivery (its
// previous delivery was not acked). Tests use it to tell redeliveries from
// duplicates.
func (d *delivery) Redelivered() bool { return d.d.Redelivered }

// claim marks d settled, or says why it cannot be settled.
func (d *delivery) claim() error {
	if !d.settled.CompareAndSwap(false, true) {
		return ErrSettled
	}
	if d.s.ch.IsClosed() {
		return ErrStale
	}
	return nil
}

// ack acks d on its own channel.
func (d *delivery) ack() error {
	if err := d.s.ch.Ack(d.d.DeliveryTag, false); err != nil {
		return fmt.Errorf("%w: %v", ErrStale, err)
	}
	return nil
}

// Ack settles the message.
func (d *delivery) Ack(ctx context.Context) error {
	if err := d.claim(); err != nil {
		return err
	}
	if err := d.ack(); err != nil {
		return err
	}
	d.b.stats.acked.Add(1)
	return nil
}

// Retry publishes the message, with the next attempt number, to the retry
// step for its current attempt and, once that is confirmed, acks the
// original. Past the last step it dead-letters with "retries-exhausted".
// If the publish fails the delivery stays unsettled and the error is
// returned; the handler may try again or leave it to be redelivered.
func (d *delivery) Retry(ctx context.Context, reason string) error {
	if err := d.claim(); err != nil {
		return err
	}
	steps := d.b.topo.Retry
	if d.attempt > len(steps) {
		return d.deadLetter(ctx, pipeline.Reason{Code: "retries-exhausted", Detail: reason}, &d.b.stats.deadLettered)
	}
	msg := d.republish()
	msg.Headers[HeaderAttempt] = int32(d.attempt + 1)
	msg.Headers[HeaderRetryReason] = reason
	// Routing key = the work queue: the step's queue dead-letters through
	// the default exchange, which routes by it.
	step := steps[d.attempt-1]
	if err := d.b.publish(ctx, d.s.done, step.Name, d.queue, msg); err != nil {
		d.settled.Store(false)
		return fmt.Errorf("broker: retry via %s: %w", step.Name, err)
	}
	if err := d.ack(); err != nil {
		return fmt.Errorf("broker: retry published, but the original will be redelivered too: %w", err)
	}
	d.b.stats.retried.Add(1)
	return nil
}

// Reject publishes the message to the dead-letter queue with its reason
// and, once that is confirmed, acks the original.
func (d *delivery) Reject(ctx context.Context, reason pipeline.Reason) error {
	if err := d.claim(); err != nil {
		return err
	}
	return d.deadLetter(ctx, reason, &d.b.stats.deadLettered)
}

func (d *delivery) deadLetter(ctx context.Context, reason pipeline.Reason, counter *atomic.Uint64) error {
	js, err := json.Marshal(reason)
	if err != nil {
		d.settled.Store(false)
		return fmt.Errorf("broker: encode reason: %w", err)
	}
	msg := d.republish()
	msg.Headers[HeaderAttempt] = int32(d.attempt)
	msg.Headers[HeaderReason] = string(js)
	msg.Headers[HeaderReasonCode] = reason.Code
	msg.Headers[HeaderOriginQueue] = d.queue
	msg.Headers[HeaderDeadLetteredAt] = d.b.cfg.Now().UTC().Format(time.RFC3339)
	if err := d.b.publish(ctx, d.s.done, d.b.topo.Dead, d.Kind(), msg); err != nil {
		d.settled.Store(false)
		return fmt.Errorf("broker: dead-letter: %w", err)
	}
	if err := d.ack(); err != nil {
		return fmt.Errorf("broker: dead-lettered, but the original will be redelivered too: %w", err)
	}
	counter.Add(1)
	return nil
}

// republish is the delivery as a new persistent message with the same body,
// kind, id, timestamp and headers.
func (d *delivery) republish() amqp.Publishing {
	return amqp.Publishing{
		Headers:         copyHeaders(d.d.Headers),
		ContentType:     d.d.ContentType,
		ContentEncoding: d.d.ContentEncoding,
		DeliveryMode:    amqp.Persistent,
		CorrelationId:   d.d.CorrelationId,
		MessageId:       d.d.MessageId,
		Timestamp:       d.d.Timestamp,
		Type:            d.Kind(),
		AppId:           d.d.AppId,
		Body:            d.d.Body,
	}
}
