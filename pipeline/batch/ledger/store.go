package ledger

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
)

// ErrNotFound: no such record. It wraps storage.ErrNotFound.
var ErrNotFound = fmt.Errorf("batch: %w", storage.ErrNotFound)

// ErrSealing: the envelope is claimed by a batch that is not sealed yet,
// so whether it will be printed is not decided: ask again shortly.
var ErrSealing = errors.New("batch: the envelope's batch is being sealed")

// Store reads and writes batch records in a storage.Store. The batcher,
// the worker's cancel handler, the supplier API and the operators'
// commands share it. It is safe for concurrent use.
type Store struct {
	s storage.Store
}

// NewStore returns a Store keeping batch records in s.
func NewStore(s storage.Store) *Store { return &Store{s: s} }

// Storage is the underlying store, for reading batch files.
func (st *Store) Storage() storage.Store { return st.s }

// read reads the record at key, strictly. A missing record is an error
// wrapping ErrNotFound.
func read[T any, P record[T]](ctx context.Context, st *Store, key string) (T, error) {
	var v T
	data, err := st.s.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return v, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if err == nil {
		err = unmarshal(key, data, &v, P(&v).version())
	}
	return v, err
}

// create creates v at key, stamped with SchemaVersion, and returns it and
// true. If a record is there already it returns that one instead, and
// false: of any number of writers racing, one record stands.
func create[T any, P record[T]](ctx context.Context, st *Store, key string, v T) (T, bool, error) {
	*P(&v).version() = SchemaVersion
	if _, err := st.s.Create(ctx, key, marshal(v)); err == nil {
		return v, true, nil
	} else if !errors.Is(err, storage.ErrExists) {
		var zero T
		return zero, false, err
	}
	stored, err := read[T, P](ctx, st, key)
	if err != nil {
		return stored, false, fmt.Errorf("batch: reading the record that was there first: %w", err)
	}
	return stored, false, nil
}

// Claim returns the batch claim of envelope id.
func (st *Store) Claim(ctx context.Context, id string) (Claim, error) {
	if err := envelopes.ValidID(id); err != nil {
		return Claim{}, err
	}
	c, err := read[Claim](ctx, st, ClaimKey(id))
	if err == nil && c.EnvelopeID != id {
		err = fmt.Errorf("batch: the claim at %s is for envelope %q", ClaimKey(id), c.EnvelopeID)
	}
	return c, err
}

// Plan returns a batch's plan.
func (st *Store) Plan(ctx context.Context, batchID string) (Plan, error) {
	if err := ValidID(batchID); err != nil {
		return Plan{}, err
	}
	return read[Plan](ctx, st, PlanKey(batchID))
}

// Sealed returns a sealed batch, or an error wrapping ErrNotFound if the
// batch is not sealed (yet).
func (st *Store) Sealed(ctx context.Context, batchID string) (*Sealed, error) {
	if err := ValidID(batchID); err != nil {
		return nil, err
	}
	s, err := read[Sealed](ctx, st, SealKey(batchID))
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// Handover returns the record of a batch's hand-over to its supplier.
func (st *Store) Handover(ctx context.Context, batchID string) (Handover, error) {
	return read[Handover](ctx, st, HandoverKey(batchID))
}

// HandOffFailure returns the record of a hand-off that failed for good.
func (st *Store) HandOffFailure(ctx context.Context, batchID string) (HandOffFailure, error) {
	return read[HandOffFailure](ctx, st, HandOffFailedKey(batchID))
}

// Receipt returns the supplier's acknowledgement of a batch.
func (st *Store) Receipt(ctx context.Context, batchID string) (Receipt, error) {
	return read[Receipt](ctx, st, ReceiptKey(batchID))
}

// Acknowledge records that the batch's supplier received it. The first
// acknowledgement is kept; it and whether this call stored it are
// returned.
func (st *Store) Acknowledge(ctx context.Context, r Receipt) (Receipt, bool, error) {
	r.At = r.At.UTC()
	return create(ctx, st, ReceiptKey(r.BatchID), r)
}

// Outcome returns the stored report of one outcome for an envelope.
func (st *Store) Outcome(ctx context.Context, batchID, envelopeID, outcome string) (Outcome, error) {
	return read[Outcome](ctx, st, OutcomeKey(batchID, envelopeID, outcome))
}

// RecordOutcome stores an outcome report. The first report of an outcome
// for an envelope is kept: a repeated report gets the stored one back,
// with false.
func (st *Store) RecordOutcome(ctx context.Context, o Outcome) (Outcome, bool, error) {
	o.At, o.ReportedAt = o.At.UTC(), o.ReportedAt.UTC()
	return create(ctx, st, OutcomeKey(o.BatchID, o.EnvelopeID, o.Outcome), o)
}

// Batches yields the ids of every batch that was sealed or is being
// sealed, oldest first.
func (st *Store) Batches(ctx context.Context) iter.Seq2[string, error] {
	return st.ids(ctx, IndexPrefix)
}

// PendingHandOffs yields the ids of sealed batches not yet handed over.
func (st *Store) PendingHandOffs(ctx context.Context) iter.Seq2[string, error] {
	return st.ids(ctx, HandOffPrefix)
}

func (st *Store) ids(ctx context.Context, prefix string) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for info, err := range st.s.List(ctx, prefix) {
			if err != nil {
				yield("", err)
				return
			}
			if !yield(strings.TrimPrefix(info.Key, prefix), nil) {
				return
			}
		}
	}
}

// FateState says where an envelope stands with respect to batching.
type FateState int

// Fate states.
const (
	// NotBatched: no batch has claimed the envelope.
	NotBatched FateState = iota
	// Sealing: a batch claimed it and is not sealed yet.
	Sealing
	// InBatch: it is in a sealed batch and will be (or was) printed.
	InBatch
	// LeftOut: a batch claimed it, then left it out (Fate.LeftCode says
	// why); it will not be printed.
	LeftOut
)

func (s FateState) String() string {
	switch s {
	case NotBatched:
		return "not batched"
	case Sealing:
		return "being sealed"
	case InBatch:
		return "in batch"
	case LeftOut:
		return "left out"
	}
	return fmt.Sprintf("FateState(%d)", int(s))
}

// Fate is where an envelope stands: where its latest run stands, its
// first print or, once a reprint is asked for, that reprint.
type Fate struct {
	State FateState
	// Run is the run the fate is of: 0 for the first print, n for reprint
	// n (Reprint.Run). A reprint asked for and not yet claimed is
	// NotBatched.
	Run      int
	BatchID  string
	Sequence int
	Supplier string
	SealedAt time.Time
	// HandedOverAt is zero until the batch is handed over.
	HandedOverAt time.Time
	// LeftCode says why a LeftOut envelope was left out.
	LeftCode string
}

// Fate says whether envelope id's latest run is in a batch. An envelope
// never reprinted has one run, its first print, and its fate is as it was
// before reprints existed.
func (st *Store) Fate(ctx context.Context, id string) (Fate, error) {
	run, _, err := st.LatestRun(ctx, id)
	if err != nil {
		return Fate{}, err
	}
	return st.RunFate(ctx, id, run)
}

// RunFate says whether run of envelope id is in a batch.
func (st *Store) RunFate(ctx context.Context, id string, run int) (Fate, error) {
	c, err := st.RunClaim(ctx, id, run)
	if errors.Is(err, storage.ErrNotFound) {
		return Fate{State: NotBatched, Run: run}, nil
	}
	if err != nil {
		return Fate{}, err
	}
	f := Fate{State: Sealing, Run: run, BatchID: c.BatchID}
	s, err := st.Sealed(ctx, c.BatchID)
	if errors.Is(err, storage.ErrNotFound) {
		return f, nil
	}
	if err != nil {
		return Fate{}, err
	}
	f.Supplier, f.SealedAt = s.Supplier, s.SealedAt
	m, ok := s.Member(id)
	if !ok || m.Run != run {
		f.State, f.LeftCode = LeftOut, LeftMissing
		for _, l := range s.Left {
			if l.EnvelopeID == id && l.Run == run {
				f.LeftCode = l.Code
			}
		}
		return f, nil
	}
	f.State, f.Sequence = InBatch, m.Sequence
	h, err := st.Handover(ctx, c.BatchID)
	switch {
	case err == nil:
		f.HandedOverAt = h.At
	case !errors.Is(err, storage.ErrNotFound):
		return Fate{}, err
	}
	return f, nil
}

// CheckCancel is for the cancel handler, to call after it has stored the
// envelope's cancellation marker (envelopes.Store.Cancel), received at
// at. It answers:
//   - nil, nil: the cancellation stands; the envelope will not be printed
//     (or, if it was printed and a reprint is asked for, not reprinted:
//     the batcher leaves a cancelled reprint out). Announce it cancelled.
//     Its latest print may be in a sealed batch and reported spoiled,
//     with the next reprint held for an operator (Hold) rather than made:
//     then nothing more will be printed, so the cancellation stands too,
//     and CheckCancel takes the envelope off the held list (Release): there
//     is nothing left to decide. An operator's reprint of it is refused
//     from then on, since it reads the cancellation marker first; and if
//     one slipped in between, the batcher leaves the cancelled reprint out.
//   - a cancel-refused event: the envelope's latest print is in a sealed
//     batch and not held; the cancellation came too late. Announce that
//     instead.
//   - an error wrapping ErrSealing: the envelope's batch is being sealed
//     and may or may not include it. Try again shortly (send the message
//     round the retry path); the batch is sealed within minutes.
//
// Why this is safe, with the batcher working at the same moment: the
// handler writes the marker, then reads the claim; the batcher writes the
// claim, then reads the marker. With S3's strongly consistent reads one of
// them sees the other. If the handler sees no claim, the batcher's read
// comes after the marker and leaves the envelope out. If it sees a claim,
// it waits for the seal, which says what the batcher decided.
func (st *Store) CheckCancel(ctx context.Context, id string, at time.Time) (*events.PrintEvent, error) {
	f, err := st.Fate(ctx, id)
	switch {
	case err != nil:
		return nil, err
	case f.State == Sealing:
		return nil, fmt.Errorf("%w: envelope %s, batch %s", ErrSealing, id, f.BatchID)
	case f.State != InBatch:
		return nil, nil
	}
	switch _, err := st.Hold(ctx, id, f.Run+1); {
	case err == nil:
		// Held: no print is coming. Released every time, so that a
		// redelivery after a crash finishes the job.
		return nil, st.Release(ctx, id)
	case !errors.Is(err, storage.ErrNotFound):
		return nil, err
	}
	e := events.CancelRefused(events.InBatch{EnvelopeID: id, BatchID: f.BatchID, Sequence: f.Sequence, Supplier: f.Supplier, Reprint: f.Run},
		f.SealedAt, f.HandedOverAt, at)
	return &e, nil
}

// The writes below are the batcher's. Each Create* creates a record once:
// if one is there already, it returns that one and false, so that a
// batcher racing another, or resuming its own earlier run, goes on with
// the record that stands.

// CreateClaim claims run c.Run of an envelope for c.BatchID. The claim
// that stands is returned: c, or another batch's made first.
func (st *Store) CreateClaim(ctx context.Context, c Claim) (Claim, bool, error) {
	return create(ctx, st, RunClaimKey(c.EnvelopeID, c.Run), c)
}

// CreatePlan fixes which envelopes batch p.BatchID is for. The plan that
// stands is returned.
func (st *Store) CreatePlan(ctx context.Context, p Plan) (Plan, bool, error) {
	return create(ctx, st, PlanKey(p.BatchID), p)
}

// Seal commits batch s.BatchID: after this, nothing about it changes. The
// seal that stands is returned: s, or another batcher's made first.
// List the batch (Index, and AwaitHandOff if it has envelopes) before
// sealing it, so that no sealed batch is missing from the indexes.
func (st *Store) Seal(ctx context.Context, s *Sealed) (*Sealed, bool, error) {
	stored, created, err := create(ctx, st, SealKey(s.BatchID), *s)
	if err != nil {
		return nil, false, err
	}
	return &stored, created, nil
}

// Index lists batch id among every batch (Batches). Readers skip an entry
// whose batch is not sealed.
func (st *Store) Index(ctx context.Context, batchID string) error {
	_, err := st.s.Put(ctx, IndexPrefix+batchID, []byte(batchID))
	return err
}

// AwaitHandOff lists batch id among those waiting to be handed over
// (PendingHandOffs).
func (st *Store) AwaitHandOff(ctx context.Context, batchID string) error {
	_, err := st.s.Put(ctx, HandOffPrefix+batchID, []byte(batchID))
	return err
}

// AwaitsHandOff reports whether batch id is still listed as waiting to be
// handed over.
func (st *Store) AwaitsHandOff(ctx context.Context, batchID string) (bool, error) {
	_, err := st.s.Stat(ctx, HandOffPrefix+batchID)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// HandOffDone takes batch id off the list of those waiting to be handed
// over.
func (st *Store) HandOffDone(ctx context.Context, batchID string) error {
	return st.s.Delete(ctx, HandOffPrefix+batchID)
}

// RecordHandover records that a batch was handed to its supplier. The
// first hand-over is kept: a repeat gets the stored one back, with false.
func (st *Store) RecordHandover(ctx context.Context, h Handover) (Handover, bool, error) {
	h.At = h.At.UTC()
	return create(ctx, st, HandoverKey(h.BatchID), h)
}

// RecordHandOffFailure records that a batch's hand-off failed for good,
// replacing any earlier record.
func (st *Store) RecordHandOffFailure(ctx context.Context, f HandOffFailure) error {
	f.SchemaVersion = SchemaVersion
	f.At = f.At.UTC()
	_, err := st.s.Put(ctx, HandOffFailedKey(f.BatchID), marshal(f))
	return err
}

// ClearHandOffFailure deletes the record of a failed hand-off, so that the
// batch is tried again.
func (st *Store) ClearHandOffFailure(ctx context.Context, batchID string) error {
	return st.s.Delete(ctx, HandOffFailedKey(batchID))
}

// CutOffDone returns the record that cut-off cutOffID is done.
func (st *Store) CutOffDone(ctx context.Context, cutOffID string) (CutOffDone, error) {
	return read[CutOffDone](ctx, st, cutOffKey(cutOffID, "done.json"))
}

// MarkCutOffDone records that every batch of a cut-off is sealed. The
// first record is kept.
func (st *Store) MarkCutOffDone(ctx context.Context, d CutOffDone) (CutOffDone, bool, error) {
	return create(ctx, st, cutOffKey(CutOffID(d.CutOff), "done.json"), d)
}

// ClaimCutOff takes cut-off c.CutOff on for batcher c.Owner. The claim
// that stands is returned: c, or the one of the batcher that took it
// first (which may be c.Owner's own, from an earlier run).
func (st *Store) ClaimCutOff(ctx context.Context, c CutOffClaim) (CutOffClaim, bool, error) {
	return create(ctx, st, cutOffKey(CutOffID(c.CutOff), "claim.json"), c)
}

// Heartbeat records that batcher c.Owner is still working on cut-off
// c.CutOff, at c.At.
func (st *Store) Heartbeat(ctx context.Context, c CutOffClaim) error {
	c.SchemaVersion = SchemaVersion
	_, err := st.s.Put(ctx, cutOffKey(CutOffID(c.CutOff), "heartbeat.json"), marshal(c))
	return err
}

// LastHeartbeat returns the latest heartbeat of cut-off cutOffID.
func (st *Store) LastHeartbeat(ctx context.Context, cutOffID string) (CutOffClaim, error) {
	return read[CutOffClaim](ctx, st, cutOffKey(cutOffID, "heartbeat.json"))
}
