package worker

import (
	"context"

	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/events"
)

// An outcome is what is to become of a message. Each step of handling one
// returns either the zero outcome, which means "go on to the next step",
// or the message's outcome; settle applies it, and is the only code that
// acks, retries or dead-letters.
type outcome struct {
	action action
	// id is the envelope id for logs and events: empty when the message
	// names none that can be trusted.
	id string

	// announce (ack): the event to publish, and have confirmed, before
	// the ack; refusal instead, for a refused cancellation.
	announce *events.Event
	refusal  *events.PrintEvent

	// reason (reject, dead-letter): why the message is dead-lettered.
	reason pipeline.Reason

	// retry: the reason, for the header and metric; err, the cause to log;
	// storage, whether the cause was storage, which closes the gate.
	retry   string
	err     error
	storage bool

	// accepted, when set, is the accepted event's confirm, awaited before
	// anything else: unconfirmed, the message is retried whatever the
	// outcome, and the retry settles it from what was stored.
	accepted <-chan error
}

type action int

const (
	actNext       action = iota // not an outcome: go on
	actAck                      // publish announce (or refusal), then ack
	actReject                   // publish a rejected event, then dead-letter
	actDeadLetter               // dead-letter, with no event
	actRetry                    // send round the retry path
)

// final reports whether o settles the message, rather than letting the
// handling go on.
func (o outcome) final() bool { return o.action != actNext }

// after returns o to be applied once the accepted event is confirmed.
func (o outcome) after(accepted <-chan error) outcome {
	o.accepted = accepted
	return o
}

// ack: publish e and, once it is confirmed, ack.
func ack(id string, e events.Event) outcome {
	return outcome{action: actAck, id: id, announce: &e}
}

// ackRefusal: publish the cancel-refused event e and, once it is
// confirmed, ack.
func ackRefusal(id string, e events.PrintEvent) outcome {
	return outcome{action: actAck, id: id, refusal: &e}
}

// reject: a request that will never be rendered. Publish a rejected event
// with r, then dead-letter the message with r.
func reject(id string, r pipeline.Reason) outcome {
	return outcome{action: actReject, id: id, reason: r}
}

// deadLetter: a message that is not a request (a cancel, an unknown kind).
// Dead-letter it with r; upstream gets no event.
func deadLetter(id string, r pipeline.Reason) outcome {
	return outcome{action: actDeadLetter, id: id, reason: r}
}

// retry: send the message round the retry path for a transient reason.
func retry(id, reason string, err error) outcome {
	return outcome{action: actRetry, id: id, retry: reason, err: err}
}

// storageFailed: a storage call failed. Close the gate and retry.
func storageFailed(id string, err error) outcome {
	o := retry(id, ReasonStorageUnavailable, err)
	o.storage = true
	return o
}

// settle applies o to d: it publishes the outcome's event, waits for the
// confirm, then acks, dead-letters or retries. An event that is not
// confirmed turns any outcome into a retry: the next delivery finds what
// was stored and announces it again.
func (w *Worker) settle(ctx context.Context, d pipeline.Delivery, o outcome) {
	if o.accepted != nil {
		if err := <-o.accepted; err != nil {
			o = retry(o.id, ReasonEventsUnavailable, err)
		}
	}
	var published error
	switch {
	case o.action == actAck && o.refusal != nil:
		published = w.publish(ctx, func(ctx context.Context) error { return w.events.Publish(ctx, *o.refusal) })
	case o.action == actAck:
		published = w.publish(ctx, func(ctx context.Context) error { return w.events.Publish(ctx, *o.announce) })
	case o.action == actReject:
		e := events.Rejected(o.id, d.MessageID(), o.reason, w.clock.Now())
		published = w.publish(ctx, func(ctx context.Context) error { return w.events.Publish(ctx, e) })
	}
	if published != nil {
		o = retry(safeID(o.id), ReasonEventsUnavailable, published)
	}

	sctx, cancel := w.settleCtx(ctx)
	defer cancel()
	switch o.action {
	case actAck:
		if err := d.Ack(sctx); err != nil {
			// The outcome is stored; the redelivery will find it.
			w.log.Warn("worker: ack failed; the message will be redelivered and found done", "envelope_id", o.id, "err", err)
		}
	case actReject, actDeadLetter:
		if err := d.Reject(sctx, o.reason); err != nil {
			w.log.Warn("worker: dead-lettering failed; the message will come back", "envelope_id", safeID(o.id),
				"message_id", safeID(d.MessageID()), "code", o.reason.Code, "err", err)
			return
		}
		w.m.Rejected.WithLabelValues(o.reason.Code).Inc()
		w.log.Info("worker: message dead-lettered", "envelope_id", safeID(o.id), "message_id", safeID(d.MessageID()),
			"code", o.reason.Code, "problems", len(o.reason.Fields))
	case actRetry:
		switch {
		case o.storage:
			w.log.Warn("worker: storage failed", "envelope_id", o.id, "err", o.err)
			w.gate.trip()
		case o.retry == ReasonEventsUnavailable:
			w.log.Warn("worker: status event not confirmed", "envelope_id", o.id, "err", o.err)
		}
		w.m.Failed.WithLabelValues(o.retry).Inc()
		if err := d.Retry(sctx, o.retry); err != nil {
			// Unsettled, it goes back to the queue when its channel closes.
			w.log.Warn("worker: retry failed; the message will be redelivered", "envelope_id", o.id, "reason", o.retry, "err", err)
			return
		}
		w.log.Info("worker: message sent round the retry path", "envelope_id", o.id, "reason", o.retry, "attempt", d.Attempt())
	}
}

// settleCtx is the context for publishing events and settling: it outlives
// the work's timeout and the worker's stop, bounded by SettleTimeout.
func (w *Worker) settleCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), w.cfg.SettleTimeout)
}

// publish runs one publish under the settle context.
func (w *Worker) publish(ctx context.Context, p func(context.Context) error) error {
	sctx, cancel := w.settleCtx(ctx)
	defer cancel()
	return p(sctx)
}
