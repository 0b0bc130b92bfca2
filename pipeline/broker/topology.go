package broker

import (
	"errors"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/quire-print/quire/pipeline"
)

// Topology names every exchange and queue Quire declares. docs/topology.md
// draws it and explains each argument.
type Topology struct {
	// Requests is the direct exchange upstream publishes requests to, with
	// the message kind as routing key. Its alternate exchange is
	// RequestsUnrouted.
	Requests string
	// RequestsUnrouted is a fanout exchange receiving requests whose kind
	// has no binding; it feeds the Render queue so that the handler sees,
	// and dead-letters, unknown kinds instead of the broker dropping them.
	RequestsUnrouted string
	// Render is the quorum queue of render work (and unknown kinds).
	Render string
	// Cancel is the quorum queue of cancellations, consumed alongside
	// Render but never stuck behind a backlog of renders.
	Cancel string
	// Retry is the retry path, one step per delay.
	Retry []RetryStep
	// Dead is both the fanout exchange and the quorum queue of dead
	// letters.
	Dead string
	// Events is the topic exchange for status events to upstream, with the
	// event kind (e.g. "envelope.accepted") as routing key. Its alternate
	// exchange is EventsUnrouted.
	Events string
	// EventsUnrouted is both a fanout exchange and a quorum queue keeping
	// events that no upstream binding wanted, so none is lost while
	// upstream's queue is missing.
	EventsUnrouted string
}

// RetryStep is one delay of the retry path: a fanout exchange and a quorum
// queue, both called Name, whose message TTL is Delay. Expired messages are
// dead-lettered through the default exchange back to the queue named by
// their routing key, i.e. the work queue they came from.
type RetryStep struct {
	Delay time.Duration
	Name  string
}

// newTopology names everything under prefix.
func newTopology(prefix string, delays []time.Duration) Topology {
	t := Topology{
		Requests:         prefix + ".requests",
		RequestsUnrouted: prefix + ".requests.unrouted",
		Render:           prefix + ".render",
		Cancel:           prefix + ".cancel",
		Dead:             prefix + ".dead",
		Events:           prefix + ".events",
		EventsUnrouted:   prefix + ".events.unrouted",
	}
	for _, d := range delays {
		t.Retry = append(t.Retry, RetryStep{Delay: d, Name: prefix + ".retry." + delayName(d)})
	}
	return t
}

// delayName spells a delay the short way a person would: 1s, 30s, 2m, 1h,
// 1500ms. The delay is part of the queue name so that changing the
// schedule declares new queues instead of clashing with old arguments.
func delayName(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	default:
		return fmt.Sprintf("%dms", d/time.Millisecond)
	}
}

// workQueueArgs are the arguments of the Render and Cancel queues.
//
// Dead-lettering from a quorum queue is at-most-once unless the strategy is
// at-least-once, which in turn requires reject-publish overflow. Without it
// a message over its delivery limit could vanish between the two queues.
func workQueueArgs(dead string, deliveryLimit int) amqp.Table {
	return amqp.Table{
		amqp.QueueTypeArg:        amqp.QueueTypeQuorum,
		"x-delivery-limit":       deliveryLimit,
		"x-dead-letter-exchange": dead,
		"x-dead-letter-strategy": "at-least-once",
		amqp.QueueOverflowArg:    amqp.QueueOverflowRejectPublish,
	}
}

// retryQueueArgs are the arguments of one retry step's queue. The dead
// letter exchange is the default exchange (""), which routes by the
// message's routing key: the name of the work queue it is to return to.
func retryQueueArgs(delay time.Duration) amqp.Table {
	return amqp.Table{
		amqp.QueueTypeArg:        amqp.QueueTypeQuorum,
		amqp.QueueMessageTTLArg:  delay.Milliseconds(),
		"x-dead-letter-exchange": "",
		"x-dead-letter-strategy": "at-least-once",
		amqp.QueueOverflowArg:    amqp.QueueOverflowRejectPublish,
	}
}

func quorum() amqp.Table { return amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeQuorum} }

// Defaults of Config.DeadLimit and Config.DeadBytes.
const (
	DefaultDeadLimit = 10000
	DefaultDeadBytes = 256 << 20
)

// deadQueueArgs are the arguments of the dead-letter queue: bounded, the
// oldest dropped first.
//
// Not reject-publish: a dead letter refused by a full queue would nack
// Quire's Reject, so the poison message would come back to its work queue
// again and again, and the broker's own dead-lettering (at-least-once,
// over the delivery limit) would hold it in the work queue until the dead
// letters were cleared: a full dead-letter queue would clog the intake.
// Every message Quire dead-letters has already been reported to upstream
// with envelope.rejected; the dead letter is the operator's copy, and the
// oldest copies are the ones an operator has most likely dealt with.
func deadQueueArgs(limit int, bytes int64) amqp.Table {
	return amqp.Table{
		amqp.QueueTypeArg:        amqp.QueueTypeQuorum,
		amqp.QueueMaxLenArg:      limit,
		amqp.QueueMaxLenBytesArg: bytes,
		amqp.QueueOverflowArg:    amqp.QueueOverflowDropHead,
	}
}

// declareDead declares the dead-letter queue, bounded, on a channel of its
// own. A queue declared before it was bounded has other arguments, which
// RabbitMQ refuses to change (406 PRECONDITION_FAILED, closing the
// channel): it is then used as it is, and warn is called, so that dead
// letters are never refused for want of a bound. docs/topology.md says
// how to bound it.
func (t Topology) declareDead(conn *amqp.Connection, limit int, bytes int64, warn func()) error {
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	_, err = ch.QueueDeclare(t.Dead, true, false, false, false, deadQueueArgs(limit, bytes))
	var aerr *amqp.Error
	if !errors.As(err, &aerr) || aerr.Code != amqp.PreconditionFailed {
		if err == nil {
			return ch.Close()
		}
		return fmt.Errorf("declare queue %s: %w", t.Dead, err)
	}
	// The failed declare closed ch.
	if ch, err = conn.Channel(); err != nil {
		return err
	}
	defer ch.Close()
	if _, err := ch.QueueDeclarePassive(t.Dead, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare queue %s: %w", t.Dead, err)
	}
	warn()
	return nil
}

// declare declares the whole topology but the dead-letter queue
// (declareDead) on ch. Every declaration is
// idempotent when the arguments match, so it runs at every (re)connect of
// every process. A mismatch (another process with a different
// DeliveryLimit, say) closes ch with 406 PRECONDITION_FAILED, which the
// caller treats as fatal.
func (t Topology) declare(ch *amqp.Channel, deliveryLimit int) error {
	type exchange struct {
		name, kind string
		args       amqp.Table
	}
	exchanges := []exchange{
		{t.RequestsUnrouted, amqp.ExchangeFanout, nil},
		{t.Requests, amqp.ExchangeDirect, amqp.Table{"alternate-exchange": t.RequestsUnrouted}},
		{t.Dead, amqp.ExchangeFanout, nil},
		{t.EventsUnrouted, amqp.ExchangeFanout, nil},
		{t.Events, amqp.ExchangeTopic, amqp.Table{"alternate-exchange": t.EventsUnrouted}},
	}
	for _, s := range t.Retry {
		exchanges = append(exchanges, exchange{s.Name, amqp.ExchangeFanout, nil})
	}
	for _, e := range exchanges {
		if err := ch.ExchangeDeclare(e.name, e.kind, true, false, false, false, e.args); err != nil {
			return fmt.Errorf("declare exchange %s: %w", e.name, err)
		}
	}

	type queue struct {
		name string
		args amqp.Table
	}
	queues := []queue{
		{t.Render, workQueueArgs(t.Dead, deliveryLimit)},
		{t.Cancel, workQueueArgs(t.Dead, deliveryLimit)},
		{t.EventsUnrouted, quorum()},
	}
	for _, s := range t.Retry {
		queues = append(queues, queue{s.Name, retryQueueArgs(s.Delay)})
	}
	for _, q := range queues {
		if _, err := ch.QueueDeclare(q.name, true, false, false, false, q.args); err != nil {
			return fmt.Errorf("declare queue %s: %w", q.name, err)
		}
	}

	type binding struct{ queue, key, exchange string }
	bindings := []binding{
		{t.Render, pipeline.KindRender, t.Requests},
		{t.Cancel, pipeline.KindCancel, t.Requests},
		{t.Render, "", t.RequestsUnrouted},
		{t.Dead, "", t.Dead},
		{t.EventsUnrouted, "", t.EventsUnrouted},
	}
	for _, s := range t.Retry {
		bindings = append(bindings, binding{s.Name, "", s.Name})
	}
	for _, b := range bindings {
		if err := ch.QueueBind(b.queue, b.key, b.exchange, false, nil); err != nil {
			return fmt.Errorf("bind queue %s to %s (%q): %w", b.queue, b.exchange, b.key, err)
		}
	}
	return nil
}
