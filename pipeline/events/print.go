package events

import (
	"fmt"
	"time"
)

// Event types of batching and printing (schemas/envelope-print-event.v1.schema.json).
// Like the types in events.go, each is also the routing key and never
// changes meaning.
const (
	// TypeBatched: the envelope is in a sealed batch and will be printed;
	// it can no longer be cancelled.
	TypeBatched = "envelope.batched"
	// TypeHandedOver: the envelope's batch was handed to the print
	// supplier (written to its folder, or published on the pull API).
	TypeHandedOver = "envelope.handed-over"
	// TypePrinted, TypePosted, TypeReturned and TypeSpoiled: the supplier
	// reported the envelope printed, posted, returned undelivered, or
	// spoiled in production.
	TypePrinted  = "envelope.printed"
	TypePosted   = "envelope.posted"
	TypeReturned = "envelope.returned"
	TypeSpoiled  = "envelope.spoiled"
	// TypeCancelRefused: a cancellation came too late, because the
	// envelope is already in a sealed batch; Reason says which and when.
	TypeCancelRefused = "envelope.cancel-refused"
	// TypeReprintRequested: reprint Reprint of the envelope was asked
	// for (by the supplier's spoiled report or by an operator) and goes
	// into the next cut-off's batch. BatchID and Sequence say where the
	// print it replaces was; Reason's code is the reprint reason and its
	// detail says who asked.
	TypeReprintRequested = "envelope.reprint-requested"
	// TypeReprintHeld: the supplier reported the envelope spoiled and
	// reprint Reprint was not made automatically; it waits for an
	// operator. Reason's code says why (the limit, deleted documents, …)
	// and its detail what to do.
	TypeReprintHeld = "envelope.reprint-held"
	// TypeReprintDismissed: an operator decided not to make held reprint
	// Reprint (quire envelopes dismiss); nothing more is printed unless
	// an operator asks again. Reason's code is the dismissal's code.
	TypeReprintDismissed = "envelope.reprint-dismissed"
)

// CodeTooLate is the reason code of a cancel-refused event.
const CodeTooLate = "too-late"

// PrintEvent is a status event about an envelope in a batch. Like Event it
// carries ids, sequence numbers, supplier names and codes only.
type PrintEvent struct {
	SchemaVersion int    `json:"schemaVersion"`
	Type          string `json:"type"`
	EnvelopeID    string `json:"envelopeId"`
	// OccurredAt is when it happened: for batched and handed-over the time
	// stored with the batch, so that an event announced again is
	// identical; for outcomes the time the supplier reported.
	OccurredAt time.Time `json:"occurredAt"`
	// BatchID is the batch the envelope is in.
	BatchID string `json:"batchId"`
	// Sequence is the envelope's position in the batch, from 1.
	Sequence int `json:"sequence"`
	// Supplier names the print supplier the batch is for.
	Supplier string `json:"supplier"`
	// Reason is set on cancel-refused (CodeTooLate and a sentence saying
	// where the envelope is), on returned and spoiled when the supplier
	// gave a reason code, and on reprint-requested and reprint-held.
	Reason *Reason `json:"reason,omitempty"`
	// Reprint is the envelope's print run the event is about, from 1 for
	// its first reprint; left out for its first print. On
	// reprint-requested and reprint-held it is the reprint asked for.
	Reprint int `json:"reprint,omitempty"`
}

// ID returns the event's id, the same however many times the event is
// published: derived from the type, the envelope id and the batch id.
// Each is announced once per envelope and batch (an outcome: the first
// report stored; cancel-refused: for every cancel that came too late,
// each the same refusal).
func (e PrintEvent) ID() string { return eventID(e.Type, e.EnvelopeID, e.BatchID) }

// InBatch says where an envelope is: for the events below.
type InBatch struct {
	EnvelopeID string
	BatchID    string
	Sequence   int
	Supplier   string
	// Reprint is the run in the batch: 0 for a first print.
	Reprint int
}

func (b InBatch) event(typ string, at time.Time) PrintEvent {
	return PrintEvent{SchemaVersion: SchemaVersion, Type: typ, EnvelopeID: b.EnvelopeID, OccurredAt: at.UTC(),
		BatchID: b.BatchID, Sequence: b.Sequence, Supplier: b.Supplier, Reprint: b.Reprint}
}

// Batched returns the batched event for an envelope of a batch sealed at
// sealedAt.
func Batched(b InBatch, sealedAt time.Time) PrintEvent { return b.event(TypeBatched, sealedAt) }

// HandedOver returns the handed-over event for an envelope of a batch
// handed over at at.
func HandedOver(b InBatch, at time.Time) PrintEvent { return b.event(TypeHandedOver, at) }

// Outcome returns the event for an outcome the supplier reported: typ is
// TypePrinted, TypePosted, TypeReturned or TypeSpoiled, and code the
// supplier's reason code, if any.
func Outcome(typ string, b InBatch, at time.Time, code string) PrintEvent {
	e := b.event(typ, at)
	if code != "" {
		e.Reason = &Reason{Code: code}
	}
	return e
}

// CancelRefused returns the event refusing a cancellation received at at
// for an envelope already in a batch sealed at sealedAt. handedOverAt is
// when the batch was handed to the supplier, or zero if it has not been
// yet.
func CancelRefused(b InBatch, sealedAt, handedOverAt, at time.Time) PrintEvent {
	e := b.event(TypeCancelRefused, at)
	detail := fmt.Sprintf("too late: in batch %s, handed to the supplier at %s", b.BatchID, handedOverAt.UTC().Format(time.RFC3339))
	if handedOverAt.IsZero() {
		detail = fmt.Sprintf("too late: in batch %s, sealed for printing at %s and waiting to be handed to the supplier",
			b.BatchID, sealedAt.UTC().Format(time.RFC3339))
	}
	e.Reason = &Reason{Code: CodeTooLate, Detail: detail}
	return e
}

// ReprintRequested returns the event announcing that reprint run of the
// envelope printed at b was asked for at at, for reason (a fixed reason
// code), by source ("supplier" or "operator").
func ReprintRequested(b InBatch, run int, reason, source string, at time.Time) PrintEvent {
	e := b.event(TypeReprintRequested, at)
	e.Reprint = run
	e.Reason = &Reason{Code: reason, Detail: "requested by the " + source + "; it goes into the batch of the next cut-off"}
	return e
}

// ReprintHeld returns the event announcing that reprint run of the
// envelope printed at b was not made automatically, for code, at at;
// detail says why and what to do, with ids only.
func ReprintHeld(b InBatch, run int, code, detail string, at time.Time) PrintEvent {
	e := b.event(TypeReprintHeld, at)
	e.Reprint = run
	e.Reason = &Reason{Code: code, Detail: detail}
	return e
}

// ReprintDismissed returns the event announcing that held reprint run of
// the envelope printed at b was dismissed by an operator at at, for
// reason (a fixed dismissal code).
func ReprintDismissed(b InBatch, run int, reason string, at time.Time) PrintEvent {
	e := b.event(TypeReprintDismissed, at)
	e.Reprint = run
	e.Reason = &Reason{Code: reason, Detail: "an operator decided not to print it again; nothing more is printed unless an operator asks for a reprint"}
	return e
}
