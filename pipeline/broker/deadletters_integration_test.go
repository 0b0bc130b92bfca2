//go:build integration

package broker_test

import (
	"errors"
	"testing"
	"time"

	"github.com/quire-print/quire/internal/waitfor"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/quire-print/quire/pipeline/broker"
)

// putDeadLetter publishes a message straight into b's dead-letter exchange,
// with the headers a Reject after five retries would have left, and waits
// for the confirm.
func putDeadLetter(t *testing.T, b *broker.Broker, id string) {
	t.Helper()
	ch := raw(t)
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx(t), b.Topology().Dead, "envelope.render", true, false, amqp.Publishing{
		DeliveryMode: amqp.Persistent, MessageId: id, Type: "envelope.render", ContentType: "application/json",
		Timestamp: time.Date(2026, 3, 2, 17, 4, 5, 0, time.UTC), CorrelationId: "corr-" + id,
		Headers: amqp.Table{
			broker.HeaderAttempt: int32(6), broker.HeaderRetryReason: "storage-unavailable",
			broker.HeaderReason:         `{"code":"retries-exhausted","detail":"storage-unavailable"}`,
			broker.HeaderReasonCode:     "retries-exhausted",
			broker.HeaderOriginQueue:    b.Topology().Render,
			broker.HeaderDeadLetteredAt: "2026-03-02T17:17:05Z",
			"x-death":                   []any{amqp.Table{"reason": "expired", "queue": b.Topology().Retry[0].Name, "count": int64(1)}},
			"x-upstream-trace":          "trace-1",
		},
		Body: []byte(`{"envelopeId":"` + id + `"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := dc.WaitContext(ctx(t)); err != nil || !ok {
		t.Fatalf("dead letter not confirmed: %v %v", ok, err)
	}
}

func TestWalkDeadLettersReplaysAsAFirstAttempt(t *testing.T) {
	b := newBroker(t, broker.Config{RetryDelays: []time.Duration{time.Second}})
	putDeadLetter(t, b, "E-1")
	putDeadLetter(t, b, "E-2")

	var seen []broker.DeadLetter
	res, err := b.WalkDeadLetters(ctx(t), 0, func(d broker.DeadLetter) broker.Action {
		seen = append(seen, d)
		if d.MessageID == "E-1" {
			return broker.Replay
		}
		return broker.Keep
	})
	if err != nil || res != (broker.WalkResult{Seen: 2, Replayed: 1}) {
		t.Fatalf("walk: %+v, %v", res, err)
	}
	d := seen[0]
	if d.MessageID != "E-1" || d.Kind != "envelope.render" || d.Reason.Code != "retries-exhausted" || d.Attempt != 6 ||
		!d.At.Equal(time.Date(2026, 3, 2, 17, 17, 5, 0, time.UTC)) || d.OriginQueue != b.Topology().Render {
		t.Errorf("dead letter read as %+v", d)
	}

	ch := raw(t)
	m, ok, err := ch.Get(b.Topology().Render, true)
	if err != nil || !ok {
		t.Fatalf("replayed message not in %s: %v %v", b.Topology().Render, ok, err)
	}
	if m.MessageId != "E-1" || m.Type != "envelope.render" || m.CorrelationId != "corr-E-1" || string(m.Body) != `{"envelopeId":"E-1"}` ||
		!m.Timestamp.Equal(time.Date(2026, 3, 2, 17, 4, 5, 0, time.UTC)) || m.DeliveryMode != amqp.Persistent {
		t.Errorf("replayed message %+v is not the original", m)
	}
	for k := range m.Headers {
		if k != "x-upstream-trace" && k != "x-delivery-count" { // the latter is the work queue's own
			t.Errorf("replayed message keeps header %s", k)
		}
	}
	if m.Headers["x-upstream-trace"] != "trace-1" {
		t.Errorf("replayed message lost upstream's own header: %v", m.Headers)
	}
	if dep, err := b.Depths(ctx(t)); err != nil || dep.Dead != 1 {
		t.Errorf("depths %+v, %v: want E-2 still dead-lettered", dep, err)
	}
}

// TestWalkDeadLettersKeepsWhatItCannotReplay: when the replay cannot be
// confirmed (here the work queue is gone, so it is unroutable), the dead
// letter stays.
func TestWalkDeadLettersKeepsWhatItCannotReplay(t *testing.T) {
	b := newBroker(t, broker.Config{RetryDelays: []time.Duration{time.Second}})
	putDeadLetter(t, b, "E-1")
	if _, err := raw(t).QueueDelete(b.Topology().Render, false, false, false); err != nil {
		t.Fatal(err)
	}
	res, err := b.WalkDeadLetters(ctx(t), 0, func(broker.DeadLetter) broker.Action { return broker.Replay })
	if !errors.Is(err, broker.ErrUnroutable) || res.Replayed != 0 {
		t.Fatalf("walk: %+v, %v; want ErrUnroutable and nothing replayed", res, err)
	}
	// The letter returns to the queue a moment after the walk's
	// connection closes; a second walk finds it.
	waitfor.Until(t, 10*time.Second, func() error {
		res, err := b.WalkDeadLetters(ctx(t), 0, func(broker.DeadLetter) broker.Action { return broker.Keep })
		if err != nil {
			t.Fatal(err)
		}
		if res.Seen != 1 {
			return errors.New("the dead letter is gone after a failed replay")
		}
		return nil
	})
}
