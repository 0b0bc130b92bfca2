// Package events defines the status events Quire publishes for the upstream
// service, one JSON message per event on the events exchange, with the event
// type as routing key (schemas/envelope-event.v1.schema.json,
// docs/events.md).
//
// Events are published at least once: a redelivered envelope announces its
// outcome again, with the same body where the outcome is stored (rendered,
// cancelled), and a batcher stopped half way through announcing a batch
// announces it again. Every event has an id (ID), derived from what the
// event is about, so that it is the same each time the event is published;
// it is the AMQP message-id, and upstream drops an event whose id it has
// seen. Events carry ids, codes, template versions, counts and hashes,
// never names, addresses or dates of loss.
package events

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/request"
)

// SchemaVersion is the version of the event format published here.
const SchemaVersion = 1

// Event types. Each is also the routing key on the events exchange. They
// never change meaning; a new shape gets a new type. The types of batching
// and printing, envelope.cancel-refused among them, are in print.go.
const (
	// TypeAccepted: a valid request was taken on and is being rendered.
	TypeAccepted = "envelope.accepted"
	// TypeRejected: the request will never be printed; Reason says why.
	TypeRejected = "envelope.rejected"
	// TypeRendered: the envelope is rendered and durably stored.
	TypeRendered = "envelope.rendered"
	// TypeCancelled: the envelope is cancelled and will not be printed.
	TypeCancelled = "envelope.cancelled"
)

// Event is one status event. Fields beyond the common four are set by type.
type Event struct {
	SchemaVersion int    `json:"schemaVersion"`
	Type          string `json:"type"`
	// EnvelopeID is the envelope the event is about. A rejected event for
	// a message that carried no usable envelope id (not JSON, or an id
	// that breaks the id rules) leaves it out and gives MessageID instead.
	EnvelopeID string `json:"envelopeId,omitempty"`
	// MessageID is the intake message's id, on rejected events only, when
	// it is a valid id: it lets upstream match a rejection to what it sent
	// even when the body had no readable envelope id.
	MessageID string `json:"messageId,omitempty"`
	// OccurredAt is when it happened, by Quire's clock: for rendered and
	// cancelled, the time stored with the outcome, so a re-published event
	// is identical to the first.
	OccurredAt time.Time `json:"occurredAt"`
	// Reason is set on rejected (code, detail, field errors) and cancelled
	// (code only) events.
	Reason *Reason `json:"reason,omitempty"`
	// Documents is set on rendered events, in envelope order.
	Documents []Document `json:"documents,omitempty"`
}

// Reason says why an envelope was rejected or cancelled. It carries no
// personal data: codes, a short fixed explanation and field errors that
// name the field, never its value.
type Reason struct {
	Code   string               `json:"code"`
	Detail string               `json:"detail,omitempty"`
	Fields []request.FieldError `json:"fields,omitempty"`
}

// Document describes one rendered document without its content.
type Document struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Template is "id@version", e.g. "baby-loss-certificate@1".
	Template string `json:"template"`
	Pages    int    `json:"pages"`
	Sheets   int    `json:"sheets"`
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`
}

// Accepted returns the accepted event for id at time at.
func Accepted(id string, at time.Time) Event {
	return Event{SchemaVersion: SchemaVersion, Type: TypeAccepted, EnvelopeID: id, OccurredAt: at.UTC()}
}

// Rejected returns the rejected event for envelope id (may be empty) or
// message id, at time at. Ids that break envelopes.ValidID are left out:
// a malformed id could hold anything, including personal data.
func Rejected(id, messageID string, r pipeline.Reason, at time.Time) Event {
	e := Event{SchemaVersion: SchemaVersion, Type: TypeRejected, OccurredAt: at.UTC(),
		Reason: &Reason{Code: r.Code, Detail: r.Detail, Fields: r.Fields}}
	if envelopes.ValidID(id) == nil {
		e.EnvelopeID = id
	}
	if envelopes.ValidID(messageID) == nil {
		e.MessageID = messageID
	}
	return e
}

// Rendered returns the rendered event for a committed record. It is the
// same however many times the envelope is redelivered.
func Rendered(rec envelopes.Record) Event {
	e := Event{SchemaVersion: SchemaVersion, Type: TypeRendered, EnvelopeID: rec.EnvelopeID,
		OccurredAt: rec.RenderedAt.UTC(), Documents: make([]Document, len(rec.Documents))}
	for i, d := range rec.Documents {
		e.Documents[i] = Document{
			Name: d.Name, Kind: d.Kind,
			Template: d.TemplateID + "@" + strconv.Itoa(d.TemplateVersion),
			Pages:    d.Pages, Sheets: d.Sheets, SHA256: d.SHA256, Size: d.Size,
		}
	}
	return e
}

// Cancelled returns the cancelled event for a stored cancellation: the
// first one received, so a repeated cancel announces the same event.
func Cancelled(c envelopes.Cancellation) Event {
	return Event{SchemaVersion: SchemaVersion, Type: TypeCancelled, EnvelopeID: c.EnvelopeID,
		OccurredAt: c.At.UTC(), Reason: &Reason{Code: c.Code}}
}

// ID returns the event's id: the same however many times the event is
// published (a redelivery, a resumed batch), and different for different
// events. It is derived from the type and the envelope id, and for a
// rejection also the intake message id and reason code, since one
// envelope id can be rejected more than once, for different messages. A
// rejection with neither id has nothing stable to derive it from: its id
// covers the whole event, time included, so that two such rejections are
// never taken for one.
func (e Event) ID() string {
	switch {
	case e.Type != TypeRejected:
		return eventID(e.Type, e.EnvelopeID)
	case e.EnvelopeID == "" && e.MessageID == "":
		body, _ := json.Marshal(e) // plain structs: never fails
		return eventID(e.Type, string(body))
	}
	code := ""
	if e.Reason != nil {
		code = e.Reason.Code
	}
	return eventID(e.Type, e.EnvelopeID, e.MessageID, code)
}

// eventID hashes the parts that make an event what it is into 32 hex
// digits (128 bits). Parts are ids and codes, which cannot hold the
// separator.
func eventID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\n")))
	return hex.EncodeToString(sum[:16])
}

// Publisher publishes events and waits for the broker's confirm.
type Publisher struct {
	p pipeline.Publisher
}

// idPublisher is a pipeline.Publisher that can set the message id (the
// broker's and the in-process queue's events publishers).
type idPublisher interface {
	PublishWithID(ctx context.Context, kind, id string, body []byte) error
}

// NewPublisher returns a Publisher sending through p (the broker's or the
// in-process queue's events publisher).
func NewPublisher(p pipeline.Publisher) *Publisher { return &Publisher{p: p} }

// Message is an event of either shape: an Event, or a PrintEvent about an
// envelope in a batch.
type Message interface {
	// routingKey is the event's type, which is also its routing key.
	routingKey() string
	// ID is the event's id, the same each time it is published.
	ID() string
}

func (e Event) routingKey() string      { return e.Type }
func (e PrintEvent) routingKey() string { return e.Type }

// Publish encodes e and publishes it with its type as routing key and its
// ID as message id (where the publisher can set one; the embedded mode's
// does not publish anywhere). An error means the broker did not confirm
// it; the caller retries the work that produced it.
func (p *Publisher) Publish(ctx context.Context, e Message) error {
	typ := e.routingKey()
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("events: encode %s: %w", typ, err)
	}
	if ip, ok := p.p.(idPublisher); ok {
		err = ip.PublishWithID(ctx, typ, e.ID(), body)
	} else {
		err = p.p.Publish(ctx, typ, body)
	}
	if err != nil {
		return fmt.Errorf("events: publish %s: %w", typ, err)
	}
	return nil
}
