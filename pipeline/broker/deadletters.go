package broker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/quire-print/quire/pipeline"
)

// DeadLetter is one message in the dead-letter queue, as an operator sees
// it. Body is the message as it was published and may hold personal data;
// everything else holds none.
type DeadLetter struct {
	MessageID string
	// Kind is the message kind (the AMQP type, or the routing key).
	Kind string
	// Reason says why it is there (DeadLetterReason); Code is
	// "unknown" when the headers say nothing usable.
	Reason pipeline.Reason
	// At is when it was dead-lettered: HeaderDeadLetteredAt, or the time
	// of RabbitMQ's newest x-death entry. Zero when neither is readable.
	At time.Time
	// Attempt is the attempt it was dead-lettered on (1 for a message
	// that never went round the retry path).
	Attempt int
	// OriginQueue is the work queue it left, when known.
	OriginQueue string
	// Published is the message's own timestamp.
	Published   time.Time
	ContentType string
	Body        []byte
}

// Action is what WalkDeadLetters does with one dead letter.
type Action int

// Actions.
const (
	// Keep leaves the message in the dead-letter queue.
	Keep Action = iota
	// Replay publishes it to the requests exchange as a first attempt and,
	// once the broker has confirmed that, removes it from the queue.
	Replay
	// Discard removes it from the queue for good.
	Discard
)

// WalkResult counts what a walk did.
type WalkResult struct {
	Seen, Replayed, Discarded int
}

// ErrDeadLetterStuck: a replayed message was confirmed on the requests
// exchange but could not be removed from the dead-letter queue, so it is
// still there too. Replaying it again is harmless (handlers are
// idempotent by envelope id); discard it instead if it rendered.
var ErrDeadLetterStuck = errors.New("broker: replayed, but still in the dead-letter queue (the channel closed before the ack)")

// WalkDeadLetters takes each message waiting in the dead-letter queue when
// it starts, oldest first, at most limit of them (0: no limit), and asks
// decide what to do with it. Messages decide keeps go back to the queue,
// in their place, when the walk ends; the walk never consumes them.
//
// A replay is published with publisher confirms and mandatory routing,
// keeping the body, kind, message id, timestamp and content type, without
// the x-quire-* reason and attempt headers or RabbitMQ's x-death history,
// so the worker sees a first attempt. Only after the confirm is the dead
// letter acked: a crash in between leaves the message in both places (a
// duplicate, never a loss).
//
// The walk holds the messages it has looked at until it ends, so another
// walk running at the same time sees only the others.
func (b *Broker) WalkDeadLetters(ctx context.Context, limit int, decide func(DeadLetter) Action) (WalkResult, error) {
	var res WalkResult
	conn, err := b.dial(ctx, "dead letters")
	if err != nil {
		return res, err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return res, err
	}
	q, err := ch.QueueDeclarePassive(b.topo.Dead, true, false, false, false, nil)
	if err != nil {
		return res, fmt.Errorf("broker: inspect queue %s: %w", b.topo.Dead, err)
	}
	// Only those there at the start: a replay that fails again and comes
	// back during the walk is not walked twice.
	want := q.Messages
	if limit > 0 {
		want = min(want, limit)
	}
	for res.Seen < want {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		d, ok, err := ch.Get(b.topo.Dead, false)
		if err != nil {
			return res, fmt.Errorf("broker: read dead letter: %w", err)
		}
		if !ok {
			break
		}
		res.Seen++
		switch decide(deadLetterOf(d)) {
		case Replay:
			if err := b.publish(ctx, nil, b.topo.Requests, kindOf(d), replayOf(d)); err != nil {
				return res, fmt.Errorf("broker: replay %s: %w", d.MessageId, err)
			}
			if err := d.Ack(false); err != nil {
				return res, fmt.Errorf("%w: message %s: %v", ErrDeadLetterStuck, d.MessageId, err)
			}
			res.Replayed++
			b.stats.published.Add(1)
		case Discard:
			if err := d.Ack(false); err != nil {
				return res, fmt.Errorf("broker: discard %s: %w", d.MessageId, err)
			}
			res.Discarded++
		}
	}
	// Closing the channel returns every message kept.
	if err := ch.Close(); err != nil {
		return res, err
	}
	return res, b.awaitReturned(ctx, conn, q.Messages-res.Replayed-res.Discarded)
}

// awaitReturned waits until the dead-letter queue shows at least ready
// messages again. A quorum queue takes back the messages of a closed
// channel a moment later, so without this a walk straight after another
// would find them neither ready nor held, and report an empty queue.
func (b *Broker) awaitReturned(ctx context.Context, conn *amqp.Connection, ready int) error {
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		q, err := ch.QueueDeclarePassive(b.topo.Dead, true, false, false, false, nil)
		if err != nil {
			return fmt.Errorf("broker: inspect queue %s: %w", b.topo.Dead, err)
		}
		if q.Messages >= ready {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			// Not an error: the messages are on their way back, and
			// another process may have taken some meanwhile.
			b.cfg.Logger.Warn("broker: dead letters kept by a walk are not all back in the queue yet", "want", ready, "ready", q.Messages)
			return nil
		}
	}
}

// deadLetterOf reads what an operator needs from a dead letter.
func deadLetterOf(d amqp.Delivery) DeadLetter {
	r, ok := DeadLetterReason(d.Headers)
	if !ok {
		r = pipeline.Reason{Code: "unknown", Detail: "no reason in the message's headers"}
	}
	out := DeadLetter{
		MessageID: d.MessageId, Kind: kindOf(d), Reason: r, Attempt: attemptOf(d.Headers),
		Published: d.Timestamp, ContentType: d.ContentType, Body: d.Body,
	}
	out.OriginQueue, _ = d.Headers[HeaderOriginQueue].(string)
	if s, ok := d.Headers[HeaderDeadLetteredAt].(string); ok {
		out.At, _ = time.Parse(time.RFC3339, s)
	}
	if deaths, _ := d.Headers["x-death"].([]any); len(deaths) > 0 {
		death, _ := deaths[0].(amqp.Table)
		if out.At.IsZero() {
			out.At, _ = death["time"].(time.Time)
		}
		if out.OriginQueue == "" {
			out.OriginQueue, _ = death["queue"].(string)
		}
	}
	return out
}

// replayOf is a dead letter as a new request: the same message, without
// the history that would make the worker count it as a late attempt.
func replayOf(d amqp.Delivery) amqp.Publishing {
	h := amqp.Table{}
	for k, v := range d.Headers {
		switch {
		case strings.HasPrefix(k, "x-quire-"), strings.HasPrefix(k, "x-death"),
			strings.HasPrefix(k, "x-first-death-"), strings.HasPrefix(k, "x-last-death-"),
			k == "x-delivery-count":
			continue
		}
		h[k] = v
	}
	return amqp.Publishing{
		Headers:         h,
		ContentType:     d.ContentType,
		ContentEncoding: d.ContentEncoding,
		DeliveryMode:    amqp.Persistent,
		CorrelationId:   d.CorrelationId,
		MessageId:       d.MessageId,
		Timestamp:       d.Timestamp,
		Type:            kindOf(d),
		AppId:           d.AppId,
		Body:            d.Body,
	}
}
