package ledger

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
)

// Reprints (docs/batching.md, "Reprints"). An envelope is printed in runs:
// run 0 is its first print, claimed at ClaimKey as always; run n ≥ 1 is its
// n-th reprint. Run n is asked for by a create-once Reprint record at
// ReprintKey(id, n), which names the batch that printed run n-1, and is
// claimed by the batch that prints it at ReprintClaimKey(id, n). So a run
// has one request and one claim, each made once, and a second request for
// the same run (a repeated spoiled report, an operator and the supplier at
// once) finds the first one there. An envelope without reprint records
// reads exactly as before reprints existed.
const (
	// ReprintReadyPrefix indexes requested reprints not yet in a sealed
	// batch: ReprintReadyPrefix + "<id>/<n>". The batcher's scan reads it
	// beside the ready index of first prints.
	ReprintReadyPrefix = "reprint-ready/"
	// ReprintHeldPrefix indexes envelopes whose automatic reprint was held
	// for an operator: ReprintHeldPrefix + "<id>".
	ReprintHeldPrefix = "reprint-held/"
)

// ReprintsPrefix is where envelope id's reprint records are.
func ReprintsPrefix(envelopeID string) string {
	return envelopes.EnvelopesPrefix + envelopeID + "/reprints/"
}

// ReprintKey is the key of the request for reprint run of envelope id.
func ReprintKey(envelopeID string, run int) string {
	return ReprintsPrefix(envelopeID) + strconv.Itoa(run) + ".json"
}

// ReprintClaimKey is the key of the claim of reprint run of envelope id:
// created once, by the batch that prints it.
func ReprintClaimKey(envelopeID string, run int) string {
	return ReprintsPrefix(envelopeID) + strconv.Itoa(run) + "/batch.json"
}

// HoldKey is the key of the record that reprint run of envelope id was
// not made automatically and waits for an operator.
func HoldKey(envelopeID string, run int) string {
	return ReprintsPrefix(envelopeID) + strconv.Itoa(run) + "/held.json"
}

// DismissKey is the key of the record that an operator decided not to
// make held reprint run of envelope id.
func DismissKey(envelopeID string, run int) string {
	return ReprintsPrefix(envelopeID) + strconv.Itoa(run) + "/dismissed.json"
}

// RunClaimKey is the claim key of run of envelope id: ClaimKey for run 0,
// ReprintClaimKey for a reprint.
func RunClaimKey(envelopeID string, run int) string {
	if run == 0 {
		return ClaimKey(envelopeID)
	}
	return ReprintClaimKey(envelopeID, run)
}

// ReprintReadyKey is the index entry of a requested reprint.
func ReprintReadyKey(envelopeID string, run int) string {
	return ReprintReadyPrefix + envelopeID + "/" + strconv.Itoa(run)
}

// Who asked for a reprint.
const (
	// SourceSupplier: the supplier reported the previous run spoiled.
	SourceSupplier = "supplier"
	// SourceOperator: an operator asked (quire envelopes reprint).
	SourceOperator = "operator"
)

// Reason codes of a reprint: a fixed list, never free text, which could
// hold personal data.
const (
	ReasonLostInPost = "lost-in-post"
	ReasonDamaged    = "damaged"
	ReasonSpoiled    = "spoiled"
	ReasonOther      = "other"
)

// ReprintReasons lists the reason codes, in the order help shows them.
var ReprintReasons = []string{ReasonLostInPost, ReasonDamaged, ReasonSpoiled, ReasonOther}

// ValidReprintReason reports whether code is one of ReprintReasons.
func ValidReprintReason(code string) error {
	if !slices.Contains(ReprintReasons, code) {
		// Not quoted: whatever was typed could be personal data.
		return fmt.Errorf("batch: a reprint reason must be one of %s", strings.Join(ReprintReasons, ", "))
	}
	return nil
}

// Reprint is what envelopes/<id>/reprints/<n>.json holds: the request for
// reprint run n of an envelope. It is created once and never changes. It
// holds ids, codes and times only.
type Reprint struct {
	SchemaVersion int    `json:"schemaVersion"`
	EnvelopeID    string `json:"envelopeId"`
	// Run is the reprint's number, from 1: the envelope's (Run+1)-th print.
	Run int `json:"run"`
	// Reason is one of ReprintReasons.
	Reason string `json:"reason"`
	// Source is SourceSupplier or SourceOperator.
	Source string `json:"source"`
	// BatchID and Sequence say where run Run-1, the print this one
	// replaces, was.
	BatchID  string `json:"batchId"`
	Sequence int    `json:"sequence"`
	// RequestedAt is when it was asked for, by Quire's clock; the first
	// cut-off at or after it prints it.
	RequestedAt time.Time `json:"requestedAt"`
}

// Codes of a Hold and of a refused reprint request.
const (
	// HoldLimit: the envelope has had the most automatic reprints.
	HoldLimit = "reprint-limit"
	// HoldDeleted: retention deleted the envelope's documents.
	HoldDeleted = "documents-deleted"
	// HoldDamaged: the stored documents do not match the render record.
	HoldDamaged = "documents-damaged"
	// HoldReturned: the previous run came back undelivered.
	HoldReturned = "returned"
	// HoldCancelled: the envelope was cancelled.
	HoldCancelled = "cancelled"
)

// Hold is what envelopes/<id>/reprints/<n>/held.json holds: reprint run n
// was due automatically (the supplier reported run n-1 spoiled) and was
// not made; it waits for an operator. Created once.
type Hold struct {
	SchemaVersion int    `json:"schemaVersion"`
	EnvelopeID    string `json:"envelopeId"`
	// Run is the reprint that was not made.
	Run int `json:"run"`
	// BatchID and Sequence are where the spoiled run was.
	BatchID  string `json:"batchId"`
	Sequence int    `json:"sequence"`
	// Code is one of the Hold* codes.
	Code   string    `json:"code"`
	HeldAt time.Time `json:"heldAt"`
}

// Reason codes of a dismissal: a fixed list, never free text, which could
// hold personal data.
const (
	// DismissNotNeeded: the family or upstream said no reprint is needed.
	DismissNotNeeded = "not-needed"
	// DismissUpstreamResend: upstream sends a new envelope request, with
	// a new envelope id, instead.
	DismissUpstreamResend = "upstream-will-resend"
	DismissOther          = "other"
)

// DismissReasons lists the dismissal codes, in the order help shows them.
var DismissReasons = []string{DismissNotNeeded, DismissUpstreamResend, DismissOther}

// ValidDismissReason reports whether code is one of DismissReasons.
func ValidDismissReason(code string) error {
	if !slices.Contains(DismissReasons, code) {
		// Not quoted: whatever was typed could be personal data.
		return fmt.Errorf("batch: a dismissal reason must be one of %s", strings.Join(DismissReasons, ", "))
	}
	return nil
}

// Dismissal is what envelopes/<id>/reprints/<n>/dismissed.json holds: an
// operator decided not to make held reprint n (quire envelopes dismiss).
// Created once, beside the hold; it holds ids, codes and times only.
type Dismissal struct {
	SchemaVersion int    `json:"schemaVersion"`
	EnvelopeID    string `json:"envelopeId"`
	// Run is the held reprint that is not made.
	Run int `json:"run"`
	// BatchID and Sequence are where the spoiled run was, as in the hold.
	BatchID  string `json:"batchId"`
	Sequence int    `json:"sequence"`
	// Reason is one of DismissReasons.
	Reason      string    `json:"reason"`
	DismissedAt time.Time `json:"dismissedAt"`
}

func (r *Reprint) version() *int   { return &r.SchemaVersion }
func (r *Hold) version() *int      { return &r.SchemaVersion }
func (r *Dismissal) version() *int { return &r.SchemaVersion }

// Reprints returns envelope id's reprint requests, in run order: none for
// an envelope that was never reprinted.
func (st *Store) Reprints(ctx context.Context, id string) ([]Reprint, error) {
	if err := envelopes.ValidID(id); err != nil {
		return nil, err
	}
	var runs []int
	prefix := ReprintsPrefix(id)
	for info, err := range st.s.List(ctx, prefix) {
		if err != nil {
			return nil, err
		}
		name, ok := strings.CutSuffix(strings.TrimPrefix(info.Key, prefix), ".json")
		if !ok || strings.Contains(name, "/") {
			continue // a claim or a hold
		}
		n, err := strconv.Atoi(name)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("batch: %s is not a reprint record", info.Key)
		}
		runs = append(runs, n)
	}
	slices.Sort(runs)
	rs := make([]Reprint, 0, len(runs))
	for i, n := range runs {
		if n != i+1 {
			return nil, fmt.Errorf("batch: envelope %s has reprint %d without reprint %d", id, n, i+1)
		}
		r, err := st.Reprint(ctx, id, n)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// Reprint returns the request for reprint run of envelope id.
func (st *Store) Reprint(ctx context.Context, id string, run int) (Reprint, error) {
	r, err := read[Reprint](ctx, st, ReprintKey(id, run))
	if err == nil && (r.EnvelopeID != id || r.Run != run) {
		err = fmt.Errorf("batch: the record at %s is for envelope %q run %d", ReprintKey(id, run), r.EnvelopeID, r.Run)
	}
	return r, err
}

// CreateReprint creates the request r for reprint r.Run and lists it for
// the batcher (ReprintReadyKey). The request that stands is returned: r,
// or the one made first, with false. The index entry is written again when
// the stored request is for the same print (r.BatchID) and is not claimed
// yet, so that asking again after a crash between the two writes still
// reaches the batcher.
func (st *Store) CreateReprint(ctx context.Context, r Reprint) (Reprint, bool, error) {
	if err := envelopes.ValidID(r.EnvelopeID); err != nil {
		return Reprint{}, false, err
	}
	if r.Run < 1 {
		return Reprint{}, false, fmt.Errorf("batch: reprint run %d: runs are numbered from 1", r.Run)
	}
	if err := ValidReprintReason(r.Reason); err != nil {
		return Reprint{}, false, err
	}
	r.RequestedAt = r.RequestedAt.UTC()
	stored, created, err := create(ctx, st, ReprintKey(r.EnvelopeID, r.Run), r)
	if err != nil {
		return stored, false, err
	}
	if !created && stored.BatchID != r.BatchID {
		return stored, false, nil
	}
	if !created {
		if _, err := st.RunClaim(ctx, r.EnvelopeID, r.Run); err == nil {
			return stored, false, nil
		} else if !errors.Is(err, storage.ErrNotFound) {
			return stored, false, err
		}
	}
	if _, err := st.s.Put(ctx, ReprintReadyKey(r.EnvelopeID, r.Run), []byte(r.EnvelopeID)); err != nil {
		return stored, false, err
	}
	return stored, created, nil
}

// ReadyReprints yields the requested reprints listed for the batcher, as
// envelope id and run, in key order. Like the ready index it is a hint:
// the batcher checks each against its claim.
func (st *Store) ReadyReprints(ctx context.Context) iter.Seq2[Reprint, error] {
	return func(yield func(Reprint, error) bool) {
		for info, err := range st.s.List(ctx, ReprintReadyPrefix) {
			if err != nil {
				yield(Reprint{}, err)
				return
			}
			id, n, ok := strings.Cut(strings.TrimPrefix(info.Key, ReprintReadyPrefix), "/")
			run, err := strconv.Atoi(n)
			if !ok || err != nil || run < 1 || envelopes.ValidID(id) != nil {
				continue // not an entry this Quire writes
			}
			if !yield(Reprint{EnvelopeID: id, Run: run}, nil) {
				return
			}
		}
	}
}

// RunClaim returns the claim of run of envelope id (Claim for run 0).
func (st *Store) RunClaim(ctx context.Context, id string, run int) (Claim, error) {
	if run == 0 {
		return st.Claim(ctx, id)
	}
	if err := envelopes.ValidID(id); err != nil {
		return Claim{}, err
	}
	c, err := read[Claim](ctx, st, ReprintClaimKey(id, run))
	if err == nil && (c.EnvelopeID != id || c.Run != run) {
		err = fmt.Errorf("batch: the claim at %s is for envelope %q run %d", ReprintClaimKey(id, run), c.EnvelopeID, c.Run)
	}
	return c, err
}

// Hold returns the record that reprint run of envelope id was held.
func (st *Store) Hold(ctx context.Context, id string, run int) (Hold, error) {
	return read[Hold](ctx, st, HoldKey(id, run))
}

// RecordHold records that reprint h.Run was held for an operator and
// lists the envelope among those held (Held). The first record is kept.
func (st *Store) RecordHold(ctx context.Context, h Hold) (Hold, bool, error) {
	h.HeldAt = h.HeldAt.UTC()
	stored, created, err := create(ctx, st, HoldKey(h.EnvelopeID, h.Run), h)
	if err != nil {
		return stored, false, err
	}
	if _, err := st.s.Put(ctx, ReprintHeldPrefix+h.EnvelopeID, []byte(h.EnvelopeID)); err != nil {
		return stored, false, err
	}
	return stored, created, nil
}

// Dismissal returns the record that held reprint run of envelope id was
// dismissed.
func (st *Store) Dismissal(ctx context.Context, id string, run int) (Dismissal, error) {
	return read[Dismissal](ctx, st, DismissKey(id, run))
}

// Dismiss records that an operator decided not to make held reprint d.Run
// and takes the envelope off the held list. The first record is kept and
// returned, with false if it was there already; the list entry is deleted
// every time, so that asking again after a crash between the two finishes
// the job.
func (st *Store) Dismiss(ctx context.Context, d Dismissal) (Dismissal, bool, error) {
	if err := envelopes.ValidID(d.EnvelopeID); err != nil {
		return Dismissal{}, false, err
	}
	if err := ValidDismissReason(d.Reason); err != nil {
		return Dismissal{}, false, err
	}
	d.DismissedAt = d.DismissedAt.UTC()
	stored, created, err := create(ctx, st, DismissKey(d.EnvelopeID, d.Run), d)
	if err != nil {
		return stored, false, err
	}
	if err := st.Release(ctx, d.EnvelopeID); err != nil {
		return stored, false, err
	}
	return stored, created, nil
}

// Held yields the ids of envelopes whose automatic reprint waits for an
// operator.
func (st *Store) Held(ctx context.Context) iter.Seq2[string, error] {
	return st.ids(ctx, ReprintHeldPrefix)
}

// HoldCodes lists the Hold* codes, so that a count by code can have each
// from the start.
var HoldCodes = []string{HoldLimit, HoldDeleted, HoldDamaged, HoldReturned, HoldCancelled}

// Standing is a hold that stands, and whether its envelope is cancelled.
type Standing struct {
	Hold
	// Cancelled: the envelope has a cancellation: one that came after the
	// hold and stood (CheckCancel takes the envelope off the list, so it
	// is seen here only until then), or one from before that was refused.
	// An operator's reprint is refused, so there is nothing to decide: it
	// counts as HoldCancelled, whatever its Code.
	Cancelled bool
}

// Waiting returns the code the hold counts under: HoldCancelled for a
// cancelled envelope, or its own Code.
func (s Standing) Waiting() string {
	if s.Cancelled {
		return HoldCancelled
	}
	return s.Code
}

// Holds yields the holds that stand: for each envelope on the held list
// (Held), the hold of the reprint after its latest run. An entry left
// behind by an operator's reprint or dismissal that stopped before
// Release is skipped, as is one whose hold record is not written yet.
func (st *Store) Holds(ctx context.Context) iter.Seq2[Standing, error] {
	return func(yield func(Standing, error) bool) {
		for id, err := range st.Held(ctx) {
			if err != nil {
				yield(Standing{}, err)
				return
			}
			if envelopes.ValidID(id) != nil {
				continue // not an entry this Quire writes
			}
			run, _, err := st.LatestRun(ctx, id)
			if err != nil {
				yield(Standing{}, err)
				return
			}
			h, err := st.Hold(ctx, id, run+1)
			if errors.Is(err, storage.ErrNotFound) {
				continue // reprinted since
			} else if err != nil {
				yield(Standing{}, err)
				return
			}
			if _, err := st.s.Stat(ctx, DismissKey(id, h.Run)); err == nil {
				continue // dismissed since
			} else if !errors.Is(err, storage.ErrNotFound) {
				yield(Standing{}, err)
				return
			}
			_, err = st.s.Stat(ctx, envelopes.CancelKey(id))
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				yield(Standing{}, err)
				return
			}
			if !yield(Standing{Hold: h, Cancelled: err == nil}, nil) {
				return
			}
		}
	}
}

// Release takes envelope id off the held list, once an operator has asked
// for its reprint or dismissed it, or it was cancelled.
func (st *Store) Release(ctx context.Context, id string) error {
	return st.s.Delete(ctx, ReprintHeldPrefix+id)
}

// LatestRun returns the number of envelope id's latest run (0 if it was
// never reprinted) and, for a reprint, its request.
func (st *Store) LatestRun(ctx context.Context, id string) (int, *Reprint, error) {
	rs, err := st.Reprints(ctx, id)
	if err != nil || len(rs) == 0 {
		return 0, nil, err
	}
	last := rs[len(rs)-1]
	return last.Run, &last, nil
}
