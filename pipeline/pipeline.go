// Package pipeline turns envelope requests taken from a queue into rendered,
// durably stored documents, and tells the upstream service what happened.
//
// The queue and the store are interfaces defined here, where they are
// consumed; RabbitMQ (pipeline/broker) and an in-process queue
// (pipeline/memqueue) implement Source, S3 (pipeline/storage/s3store) and a
// filesystem (pipeline/storage/fsstore) implement storage.Store.
package pipeline

import (
	"context"

	"github.com/quire-print/quire/request"
)

// Message kinds: stable strings used as AMQP routing keys and in the
// in-process queue. They never change meaning; a new shape gets a new kind.
const (
	KindRender = "envelope.render"
	KindCancel = "envelope.cancel"
)

// Delivery is one message taken from the intake queue. The handler must end
// it with exactly one of Ack, Retry or Reject.
type Delivery interface {
	// Kind is KindRender or KindCancel (or anything else a publisher sent,
	// which the handler rejects).
	Kind() string
	// Body is the message body as published.
	Body() []byte
	// MessageID is the publisher's message id, when it set one.
	MessageID() string
	// Attempt counts deliveries through the retry path: 1 the first time.
	Attempt() int
	// Ack settles the message: its result is durably stored.
	Ack(ctx context.Context) error
	// Retry sends the message back after a delay that grows with Attempt,
	// for transient failures (storage down, broker busy).
	Retry(ctx context.Context, reason string) error
	// Reject dead-letters the message with its reason, for permanent
	// failures (malformed JSON, invalid request). It is never retried.
	// reason must carry no personal data.
	Reject(ctx context.Context, reason Reason) error
}

// Reason says why a message was dead-lettered. It travels in message headers
// and events, so it never carries names, addresses or dates.
type Reason struct {
	// Code is a stable machine-readable reason, e.g. "invalid-request".
	Code string `json:"code"`
	// Detail is a short human-readable explanation.
	Detail string `json:"detail,omitempty"`
	// Fields lists field-level problems, when the reason is validation.
	Fields []request.FieldError `json:"fields,omitempty"`
}

// Handler processes one delivery.
type Handler func(ctx context.Context, d Delivery)

// Source delivers intake messages to a handler.
type Source interface {
	// Consume calls h for each message, up to the source's concurrency at
	// once, until ctx is cancelled; it then waits for running handlers to
	// finish and returns. It survives broker restarts by reconnecting.
	Consume(ctx context.Context, h Handler) error
}

// Publisher publishes messages and waits until the broker has confirmed
// each one.
type Publisher interface {
	Publish(ctx context.Context, kind string, body []byte) error
}
