// Package reprint asks for an envelope to be printed again: automatically
// when the supplier reports it spoiled, up to a limit, and on an
// operator's word (quire envelopes reprint). A reprint is the same
// documents, from the stored render record, in the batch of the next
// cut-off, with the 2D codes of that batch (docs/batching.md, "Reprints").
//
// It writes only ledger records (pipeline/batch/ledger): a create-once
// request per reprint, which the batcher's scan finds, and a create-once
// hold when an automatic reprint is not made. Asking twice for the same
// reprint, from the same report or from two places at once, makes one.
package reprint

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/quire-print/quire/internal/clock"
	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
)

// DefaultMaxAutomatic is the usual limit on automatic reprints of one
// envelope: after two spoiled reprints something is wrong that a person
// should look at.
const DefaultMaxAutomatic = 2

// Retention is told when an envelope is held, so that its personal data
// goes even if it is never reprinted nor posted. *retention.Keeper is one.
type Retention interface {
	Held(ctx context.Context, envelopeID string, at time.Time) error
}

// Config configures a Reprinter. Store and Events are required.
type Config struct {
	Store  storage.Store
	Events pipeline.Publisher
	// Retention is told of holds. Default nil: none is scheduled, and a
	// held envelope's data stays until it is posted; quire serve sets it.
	Retention Retention
	// MaxAutomatic is the most reprints of one envelope made on the
	// supplier's spoiled reports; the next spoiled report holds the
	// envelope for an operator. 0: none are made automatically.
	MaxAutomatic int
	// Clock stamps requests and holds. Default: the system clock.
	Clock clock.Clock
	// Logger receives a line per request and hold, with ids and codes
	// only. Default slog.Default().
	Logger *slog.Logger
}

// Reprinter asks for reprints. It is safe for concurrent use, and several
// (in several processes) may share a store.
type Reprinter struct {
	cfg    Config
	st     *ledger.Store
	envs   *envelopes.Store
	events *events.Publisher
	log    *slog.Logger
}

// New checks cfg and returns a Reprinter.
func New(cfg Config) (*Reprinter, error) {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("reprint: Store is required"))
	}
	if cfg.Events == nil {
		errs = append(errs, errors.New("reprint: Events is required"))
	}
	if cfg.MaxAutomatic < 0 {
		errs = append(errs, fmt.Errorf("reprint: MaxAutomatic cannot be negative (got %d)", cfg.MaxAutomatic))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Reprinter{cfg: cfg, st: ledger.NewStore(cfg.Store), envs: envelopes.New(cfg.Store),
		events: events.NewPublisher(cfg.Events), log: cfg.Logger}, nil
}

// Codes of a refusal, besides the ledger.Hold* codes.
const (
	// CodeNotRendered: no render record: nothing to print.
	CodeNotRendered = "not-rendered"
	// CodeNotBatched: the envelope's latest print is not in a sealed
	// batch: not yet, or it was left out.
	CodeNotBatched = "not-batched"
	// CodeSealing: its batch is being sealed; ask again in minutes.
	CodeSealing = "being-sealed"
	// CodeWaiting: a reprint is already waiting for its cut-off.
	CodeWaiting = "reprint-waiting"
	// CodeNotHeld: a dismissal of an envelope that is not held.
	CodeNotHeld = "not-held"
)

// RefusedError is a reprint refused: Why is a sentence saying why and
// what to do, with ids only. It is the same however often one asks.
type RefusedError struct {
	EnvelopeID string
	// Code is a ledger.Hold* code or one of the Code* codes above.
	Code string
	Why  string
}

func (e *RefusedError) Error() string { return "envelope " + e.EnvelopeID + ": " + e.Why }

func refuse(id, code, format string, args ...any) *RefusedError {
	return &RefusedError{EnvelopeID: id, Code: code, Why: fmt.Sprintf(format, args...)}
}

// Sentences of the refusals upstream acts on, shared with the hold events.
const (
	whyDeleted = "its documents were deleted when the retention period ended, so it cannot be printed again as it was: " +
		"upstream must send a new envelope request, with a new envelope id"
	whyDamaged = "its stored documents do not match its render record, so it cannot be printed again as it was: " +
		"upstream must send a new envelope request, with a new envelope id"
	whyCancelled = "it was cancelled, so it is not printed again; upstream sends a new envelope request if it is still wanted"

	whyReturned = "it came back undelivered and is never reprinted to the same address: " +
		"upstream sends a new envelope request, with a new envelope id and the corrected address"
)

func whyLimit(n int) string {
	if n == 0 {
		return "automatic reprints are off (--max-reprints 0); " +
			"an operator decides whether to print it again (quire envelopes reprint)"
	}
	times := fmt.Sprintf("%d times", n)
	if n == 1 {
		times = "once"
	}
	return "it has been reprinted automatically " + times + ", the most allowed (--max-reprints); " +
		"an operator decides whether to print it again (quire envelopes reprint)"
}

// Operator asks for a reprint of envelope id on an operator's word, for
// reason (one of ledger.ReprintReasons). The envelope's latest print must
// be in a sealed batch, not cancelled, not returned undelivered, and its
// documents still stored; no reprint may be waiting already. The automatic
// limit does not apply. A refusal is a *RefusedError.
func (r *Reprinter) Operator(ctx context.Context, id, reason string) (ledger.Reprint, error) {
	if err := envelopes.ValidID(id); err != nil {
		return ledger.Reprint{}, err
	}
	if err := ledger.ValidReprintReason(reason); err != nil {
		return ledger.Reprint{}, err
	}
	if _, err := r.envs.Record(ctx, id); errors.Is(err, storage.ErrNotFound) {
		return ledger.Reprint{}, refuse(id, CodeNotRendered, "Quire has no rendered envelope with this id, so there is nothing to print again; check the id")
	} else if err != nil {
		return ledger.Reprint{}, err
	}
	run, _, err := r.st.LatestRun(ctx, id)
	if err != nil {
		return ledger.Reprint{}, err
	}
	s, m, err := r.printed(ctx, id, run)
	if err != nil {
		return ledger.Reprint{}, err
	}
	if refused, err := r.check(ctx, id, s); err != nil {
		return ledger.Reprint{}, err
	} else if refused != nil {
		return ledger.Reprint{}, refused
	}
	req := ledger.Reprint{EnvelopeID: id, Run: run + 1, Reason: reason, Source: ledger.SourceOperator,
		BatchID: s.BatchID, Sequence: m.Sequence, RequestedAt: r.cfg.Clock.Now().UTC()}
	stored, created, err := r.st.CreateReprint(ctx, req)
	if err != nil {
		return ledger.Reprint{}, err
	}
	if !created {
		return ledger.Reprint{}, waiting(id, stored)
	}
	if err := r.st.Release(ctx, id); err != nil {
		return ledger.Reprint{}, err
	}
	r.log.Info("reprint: requested", "envelope_id", id, "reprint", stored.Run, "reason", reason, "source", stored.Source, "batch_id", s.BatchID)
	return stored, r.announce(ctx, s, m, stored)
}

func waiting(id string, w ledger.Reprint) *RefusedError {
	return refuse(id, CodeWaiting, "reprint %d is already waiting for the next cut-off (asked for by the %s at %s); "+
		"ask again only if that one is spoiled or lost too", w.Run, w.Source, w.RequestedAt.UTC().Format(time.RFC3339))
}

// printed returns the sealed batch and membership of run of envelope id,
// or a refusal if that run is not in a sealed batch.
func (r *Reprinter) printed(ctx context.Context, id string, run int) (*ledger.Sealed, ledger.Member, error) {
	f, err := r.st.RunFate(ctx, id, run)
	if err != nil {
		return nil, ledger.Member{}, err
	}
	switch f.State {
	case ledger.NotBatched:
		if run > 0 {
			w, err := r.st.Reprint(ctx, id, run)
			if err != nil {
				return nil, ledger.Member{}, err
			}
			return nil, ledger.Member{}, waiting(id, w)
		}
		return nil, ledger.Member{}, refuse(id, CodeNotBatched, "it is not in a sealed batch yet, so it has not been printed; "+
			"it goes into the batch of the next cut-off without being asked")
	case ledger.Sealing:
		return nil, ledger.Member{}, refuse(id, CodeSealing, "its batch %s is being sealed; ask again in a few minutes", f.BatchID)
	case ledger.LeftOut:
		return nil, ledger.Member{}, refuse(id, CodeNotBatched, "it was left out of batch %s (%s), so there is no print to replace; "+
			"upstream sends a new envelope request, with a new envelope id", f.BatchID, f.LeftCode)
	}
	s, err := r.st.Sealed(ctx, f.BatchID)
	if err != nil {
		return nil, ledger.Member{}, err
	}
	m, _ := s.Member(id)
	return s, m, nil
}

// check refuses a reprint of the envelope's print in batch s that cannot
// be made whoever asks: it was cancelled, came back undelivered, or its
// documents are gone or damaged.
func (r *Reprinter) check(ctx context.Context, id string, s *ledger.Sealed) (*RefusedError, error) {
	if _, err := r.envs.Cancellation(ctx, id); err == nil {
		return refuse(id, ledger.HoldCancelled, whyCancelled), nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	if _, err := r.st.Outcome(ctx, s.BatchID, id, ledger.OutcomeReturned); err == nil {
		return refuse(id, ledger.HoldReturned, whyReturned), nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	rec, err := r.envs.Record(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return refuse(id, ledger.HoldDeleted, whyDeleted), nil
	} else if err != nil {
		return nil, err
	}
	switch err := r.envs.Verify(ctx, rec); {
	case errors.Is(err, storage.ErrNotFound):
		return refuse(id, ledger.HoldDeleted, whyDeleted), nil
	case errors.Is(err, storage.ErrChecksum):
		return refuse(id, ledger.HoldDamaged, whyDamaged), nil
	case err != nil:
		return nil, err
	}
	return nil, nil
}

// Spoiled is for the supplier API, after it has stored the supplier's
// report that envelope id of sealed batch s was spoiled: it asks for the
// next reprint of that print, or holds the envelope for an operator when
// the reprint cannot or may not be made automatically. It is idempotent:
// a repeated report finds the request (or hold) made the first time and
// announces it again, and makes nothing new.
func (r *Reprinter) Spoiled(ctx context.Context, s *ledger.Sealed, id string) error {
	m, ok := s.Member(id)
	if !ok {
		return fmt.Errorf("reprint: envelope %s is not in batch %s", id, s.BatchID)
	}
	run := m.Run + 1
	switch w, err := r.st.Reprint(ctx, id, run); {
	case err == nil && w.BatchID == s.BatchID:
		// Asked for already, by this report or an operator: make sure it
		// is listed for the batcher and announced.
		if _, _, err := r.st.CreateReprint(ctx, w); err != nil {
			return err
		}
		return r.announce(ctx, s, m, w)
	case err == nil:
		return nil // a later print exists; this report is about an old one
	case !errors.Is(err, storage.ErrNotFound):
		return err
	}
	if h, err := r.st.Hold(ctx, id, run); err == nil {
		if err := r.scheduleHeld(ctx, h); err != nil {
			return err
		}
		return r.announceHold(ctx, s, m, h)
	} else if !errors.Is(err, storage.ErrNotFound) {
		return err
	}

	refused, err := r.check(ctx, id, s)
	if err != nil {
		return err
	}
	if refused == nil {
		done, err := r.automatic(ctx, id)
		if err != nil {
			return err
		}
		if done >= r.cfg.MaxAutomatic {
			refused = refuse(id, ledger.HoldLimit, "%s", whyLimit(done))
		}
	}
	now := r.cfg.Clock.Now().UTC()
	if refused != nil {
		h, _, err := r.st.RecordHold(ctx, ledger.Hold{EnvelopeID: id, Run: run, BatchID: s.BatchID, Sequence: m.Sequence, Code: refused.Code, HeldAt: now})
		if err != nil {
			return err
		}
		if err := r.scheduleHeld(ctx, h); err != nil {
			return err
		}
		r.log.Warn("reprint: spoiled envelope held for an operator", "envelope_id", id, "reprint", run, "batch_id", s.BatchID, "code", h.Code)
		return r.announceHold(ctx, s, m, h)
	}
	req := ledger.Reprint{EnvelopeID: id, Run: run, Reason: ledger.ReasonSpoiled, Source: ledger.SourceSupplier,
		BatchID: s.BatchID, Sequence: m.Sequence, RequestedAt: now}
	stored, created, err := r.st.CreateReprint(ctx, req)
	if err != nil {
		return err
	}
	if stored.BatchID != s.BatchID {
		return nil
	}
	if created {
		r.log.Info("reprint: requested", "envelope_id", id, "reprint", run, "reason", stored.Reason, "source", stored.Source, "batch_id", s.BatchID)
	}
	return r.announce(ctx, s, m, stored)
}

// Dismiss records an operator's decision not to make envelope id's held
// reprint, for reason (one of ledger.DismissReasons), takes it off the
// held list and announces it (envelope.reprint-dismissed). The envelope
// must be held: its latest print in a sealed batch and the next reprint
// held. A cancelled envelope may be dismissed too (it is held with
// nothing to decide). A repeat finds the first dismissal, releases and
// announces it again, and changes nothing. The envelope's personal data
// is scheduled for deletion from the hold's time, as the hold did when
// Retention was set; the same entry is written again. An operator may
// still ask for the reprint later (Operator): a deliberate new decision.
// A refusal is a *RefusedError.
func (r *Reprinter) Dismiss(ctx context.Context, id, reason string) (ledger.Dismissal, error) {
	if err := envelopes.ValidID(id); err != nil {
		return ledger.Dismissal{}, err
	}
	if err := ledger.ValidDismissReason(reason); err != nil {
		return ledger.Dismissal{}, err
	}
	run, _, err := r.st.LatestRun(ctx, id)
	if err != nil {
		return ledger.Dismissal{}, err
	}
	h, err := r.st.Hold(ctx, id, run+1)
	if errors.Is(err, storage.ErrNotFound) {
		return ledger.Dismissal{}, refuse(id, CodeNotHeld, "it is not held for an operator (quire envelopes held lists those that are), "+
			"so there is no reprint to dismiss; quire envelopes show says where it is")
	} else if err != nil {
		return ledger.Dismissal{}, err
	}
	s, err := r.st.Sealed(ctx, h.BatchID)
	if err != nil {
		return ledger.Dismissal{}, err
	}
	d, created, err := r.st.Dismiss(ctx, ledger.Dismissal{EnvelopeID: id, Run: h.Run, BatchID: h.BatchID, Sequence: h.Sequence,
		Reason: reason, DismissedAt: r.cfg.Clock.Now().UTC()})
	if err != nil {
		return ledger.Dismissal{}, err
	}
	if err := r.scheduleHeld(ctx, h); err != nil {
		return ledger.Dismissal{}, err
	}
	if created {
		r.log.Info("reprint: held reprint dismissed", "envelope_id", id, "reprint", d.Run, "reason", d.Reason, "batch_id", d.BatchID)
	}
	in := events.InBatch{EnvelopeID: id, BatchID: d.BatchID, Sequence: d.Sequence, Supplier: s.Supplier}
	return d, r.events.Publish(ctx, events.ReprintDismissed(in, d.Run, d.Reason, d.DismissedAt))
}

// scheduleHeld has the held envelope's personal data deleted in time.
// It is repeated with the hold's own time, so a repeat writes the same
// entry.
func (r *Reprinter) scheduleHeld(ctx context.Context, h ledger.Hold) error {
	if r.cfg.Retention == nil {
		return nil
	}
	return r.cfg.Retention.Held(ctx, h.EnvelopeID, h.HeldAt)
}

// automatic counts envelope id's reprints made on spoiled reports.
func (r *Reprinter) automatic(ctx context.Context, id string) (int, error) {
	rs, err := r.st.Reprints(ctx, id)
	n := 0
	for _, x := range rs {
		if x.Source == ledger.SourceSupplier {
			n++
		}
	}
	return n, err
}

func (r *Reprinter) announce(ctx context.Context, s *ledger.Sealed, m ledger.Member, w ledger.Reprint) error {
	in := events.InBatch{EnvelopeID: w.EnvelopeID, BatchID: s.BatchID, Sequence: m.Sequence, Supplier: s.Supplier}
	return r.events.Publish(ctx, events.ReprintRequested(in, w.Run, w.Reason, w.Source, w.RequestedAt))
}

func (r *Reprinter) announceHold(ctx context.Context, s *ledger.Sealed, m ledger.Member, h ledger.Hold) error {
	in := events.InBatch{EnvelopeID: h.EnvelopeID, BatchID: s.BatchID, Sequence: m.Sequence, Supplier: s.Supplier}
	return r.events.Publish(ctx, events.ReprintHeld(in, h.Run, h.Code, HoldSentence(h, r.cfg.MaxAutomatic), h.HeldAt))
}

// HoldSentence says why reprint h was held and what to do, with ids only,
// for events and for operators. max is the limit on automatic reprints.
func HoldSentence(h ledger.Hold, max int) string {
	switch h.Code {
	case ledger.HoldLimit:
		return whyLimit(max)
	case ledger.HoldDeleted:
		return whyDeleted
	case ledger.HoldDamaged:
		return whyDamaged
	case ledger.HoldReturned:
		return whyReturned
	case ledger.HoldCancelled:
		return whyCancelled
	}
	return "held for an operator (" + h.Code + ")"
}
