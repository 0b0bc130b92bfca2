// Package ledger keeps the batch records: which envelope is in which
// batch (claims), what each batch was planned to hold and what it holds
// once sealed, hand-overs, receipts and the outcomes the supplier reports,
// and the cut-off records that let one batcher at a time work on a cut-off
// (docs/batching.md, "Key layout").
//
// It needs only storage and events: the worker's cancel handler, the
// supplier adapters and the pull API read and write batches through it
// without the batcher and its print files (pipeline/batch).
//
// Every record is written once with storage.Store.Create (S3's
// If-None-Match: *), except heartbeats, hand-off failures and index
// entries, so of any number of writers racing exactly one record stands.
package ledger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/quire-print/quire/pipeline/storage/envelopes"
)

// SchemaVersion is the version of every record format written here. A
// reader refuses a version it does not know.
const SchemaVersion = 1

// Key layout (docs/batching.md). Nothing under these prefixes holds
// personal data except the print files under batches/<B>/attempts/.
const (
	BatchesPrefix = "batches/"
	CutOffsPrefix = "cutoffs/"
	// HandOffPrefix indexes sealed batches not yet handed over.
	HandOffPrefix = "handoff/"
	// IndexPrefix indexes every batch that was (or is being) sealed, so
	// that listing batches does not list their files.
	IndexPrefix = "batch-index/"
)

// ClaimKey is the key of an envelope's batch claim: created once, by the
// batch that takes it.
func ClaimKey(envelopeID string) string {
	return envelopes.EnvelopesPrefix + envelopeID + "/batch.json"
}

// PlanKey is the key of a batch's plan: the envelopes chosen for it.
func PlanKey(batchID string) string { return BatchesPrefix + batchID + "/plan.json" }

// SealKey is the key of a batch's seal: its commit point.
func SealKey(batchID string) string { return BatchesPrefix + batchID + "/sealed.json" }

// AttemptPrefix is where one attempt at building a batch keeps its print
// files and manifests.
func AttemptPrefix(batchID, attempt string) string {
	return BatchesPrefix + batchID + "/attempts/" + attempt + "/"
}

// HandoverKey records that a batch was handed to its supplier.
func HandoverKey(batchID string) string { return BatchesPrefix + batchID + "/handover.json" }

// HandOffFailedKey records that the last hand-off failed for good, until
// an operator re-sends the batch.
func HandOffFailedKey(batchID string) string { return BatchesPrefix + batchID + "/handoff-failed.json" }

// ReceiptKey records that the supplier acknowledged receiving a batch.
func ReceiptKey(batchID string) string { return BatchesPrefix + batchID + "/receipt.json" }

// OutcomeKey records one outcome the supplier reported for an envelope.
func OutcomeKey(batchID, envelopeID, outcome string) string {
	return BatchesPrefix + batchID + "/outcomes/" + envelopeID + "/" + outcome + ".json"
}

func cutOffKey(cutOffID, name string) string { return CutOffsPrefix + cutOffID + "/" + name }

// CutOffID names a cut-off: its instant in UTC, to the second, e.g.
// "20260302T173000Z". Ids sort in time order.
func CutOffID(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// ID names part n (from 1) of the batches made at cut-off t, e.g.
// "20260302T173000Z-001".
func ID(t time.Time, n int) string { return fmt.Sprintf("%s-%03d", CutOffID(t), n) }

var idShape = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9]{3,}$`)

// ValidID reports whether id is a batch id made by ID.
func ValidID(id string) error {
	if !idShape.MatchString(id) || len(id) > 40 {
		return fmt.Errorf("batch: %q is not a batch id such as 20260302T173000Z-001", id)
	}
	return nil
}

// Claim is what envelopes/<id>/batch.json holds: the batch the envelope
// belongs to. It is created once and never changes: an envelope's first
// print is in at most one batch. A reprint's claim has the same shape, at
// ReprintClaimKey, with Run set: each run is in at most one batch.
type Claim struct {
	SchemaVersion int       `json:"schemaVersion"`
	EnvelopeID    string    `json:"envelopeId"`
	BatchID       string    `json:"batchId"`
	ClaimedAt     time.Time `json:"claimedAt"`
	// Run is the reprint claimed (Reprint.Run); 0, and left out, for the
	// first print.
	Run int `json:"run,omitempty"`
}

// Plan is what batches/<B>/plan.json holds: the envelopes chosen for a
// batch, in batch order, before they were claimed. The batch holds those
// of them whose claim names it and that were not left out (Sealed.Left).
type Plan struct {
	SchemaVersion int       `json:"schemaVersion"`
	BatchID       string    `json:"batchId"`
	CutOff        time.Time `json:"cutOff"`
	Supplier      string    `json:"supplier"`
	EnvelopeIDs   []string  `json:"envelopeIds"`
	// Reprints gives the run of each planned envelope that is a reprint,
	// by envelope id; the others are first prints.
	Reprints  map[string]int `json:"reprints,omitempty"`
	PlannedAt time.Time      `json:"plannedAt"`
}

// Run returns the run the plan is for of envelope id: 0 for a first
// print.
func (p *Plan) Run(id string) int { return p.Reprints[id] }

// Sealed is what batches/<B>/sealed.json holds: the batch as committed.
// Creating it is the commit point: until it exists the batch can still
// change, and from then on it never does. It holds ids and hashes only.
type Sealed struct {
	SchemaVersion int       `json:"schemaVersion"`
	BatchID       string    `json:"batchId"`
	CutOff        time.Time `json:"cutOff"`
	Supplier      string    `json:"supplier"`
	// Attempt names the build attempt whose files are the batch's: they
	// are under AttemptPrefix(BatchID, Attempt).
	Attempt  string    `json:"attempt"`
	SealedAt time.Time `json:"sealedAt"`
	// Envelopes are in batch order, numbered from 1.
	Envelopes []Member `json:"envelopes"`
	// Left are the planned envelopes left out of the batch, and why.
	Left []Left `json:"left,omitempty"`
	// Files are the print files in print order, then the manifest in JSON
	// and CSV. Empty for a batch with no envelopes.
	Files  []File `json:"files"`
	Pages  int    `json:"pages"`
	Sheets int    `json:"sheets"`
}

// Member is one envelope of a sealed batch.
type Member struct {
	Sequence   int    `json:"sequence"`
	EnvelopeID string `json:"envelopeId"`
	// Run is the reprint printed (Reprint.Run); 0, and left out, for a
	// first print.
	Run int `json:"run,omitempty"`
}

// Reasons an envelope planned for a batch was left out of it.
const (
	// LeftCancelled: cancelled before the batch was sealed.
	LeftCancelled = "cancelled"
	// LeftClaimed: another batch claimed it first.
	LeftClaimed = "claimed-elsewhere"
	// LeftDamaged: its stored files do not match its render record.
	LeftDamaged = "damaged"
	// LeftRefused: the print files could not reproduce it exactly
	// (printfile refused it). It needs a person.
	LeftRefused = "refused"
	// LeftMissing: its render record is gone.
	LeftMissing = "missing"
)

// Left is an envelope planned for a batch and left out.
type Left struct {
	EnvelopeID string `json:"envelopeId"`
	Code       string `json:"code"`
	// Run is the reprint left out; 0, and left out, for a first print.
	Run int `json:"run,omitempty"`
}

// Kinds of File.
const (
	FilePrint        = "print"
	FileManifestJSON = "manifest-json"
	FileManifestCSV  = "manifest-csv"
)

// Names of the manifest files within a batch.
const (
	ManifestJSON = "manifest.json"
	ManifestCSV  = "manifest.csv"
)

// File is one file of a sealed batch.
type File struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Key    string `json:"key"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// Member returns the member with envelope id id, and false if there is
// none.
func (s *Sealed) Member(id string) (Member, bool) {
	for _, m := range s.Envelopes {
		if m.EnvelopeID == id {
			return m, true
		}
	}
	return Member{}, false
}

// File returns the file named name, and false if there is none.
func (s *Sealed) File(name string) (File, bool) {
	for _, f := range s.Files {
		if f.Name == name {
			return f, true
		}
	}
	return File{}, false
}

// Handover is what batches/<B>/handover.json holds.
type Handover struct {
	SchemaVersion int       `json:"schemaVersion"`
	BatchID       string    `json:"batchId"`
	Supplier      string    `json:"supplier"`
	Adapter       string    `json:"adapter"`
	At            time.Time `json:"at"`
}

// HandOffFailure is what batches/<B>/handoff-failed.json holds.
type HandOffFailure struct {
	SchemaVersion int       `json:"schemaVersion"`
	BatchID       string    `json:"batchId"`
	At            time.Time `json:"at"`
	// Error is the adapter's error message. Adapters' errors name keys,
	// paths and HTTP statuses, never file content.
	Error string `json:"error"`
}

// Receipt is what batches/<B>/receipt.json holds.
type Receipt struct {
	SchemaVersion int       `json:"schemaVersion"`
	BatchID       string    `json:"batchId"`
	Supplier      string    `json:"supplier"`
	At            time.Time `json:"at"`
}

// Outcomes a supplier reports for an envelope.
const (
	OutcomePrinted  = "printed"
	OutcomePosted   = "posted"
	OutcomeReturned = "returned"
	OutcomeSpoiled  = "spoiled"
)

// Outcome is what batches/<B>/outcomes/<id>/<outcome>.json holds: the
// first report of one outcome for one envelope.
type Outcome struct {
	SchemaVersion int    `json:"schemaVersion"`
	BatchID       string `json:"batchId"`
	EnvelopeID    string `json:"envelopeId"`
	Sequence      int    `json:"sequence"`
	Outcome       string `json:"outcome"`
	// Code is the supplier's reason code for returned or spoiled.
	Code string `json:"code,omitempty"`
	// At is when the supplier says it happened.
	At time.Time `json:"at"`
	// ReportedAt is when Quire received the report.
	ReportedAt time.Time `json:"reportedAt"`
}

// CutOffClaim is what cutoffs/<C>/claim.json holds: which batcher took
// the cut-off on. heartbeat.json holds the same, rewritten while it works.
type CutOffClaim struct {
	SchemaVersion int       `json:"schemaVersion"`
	CutOff        time.Time `json:"cutOff"`
	// Owner is the batcher's instance name, the same after a restart of
	// the same instance.
	Owner string `json:"owner"`
	// Run tells one process of the instance from the next: a new random
	// value each time a batcher starts. Empty in records of Quires from
	// before it was added.
	Run string    `json:"run,omitempty"`
	At  time.Time `json:"at"`
	// Released, on a heartbeat, says the batcher stopped cleanly (a
	// graceful shutdown) before the cut-off was done: another may take it
	// over at once.
	Released bool `json:"released,omitempty"`
}

// CutOffDone is what cutoffs/<C>/done.json holds: the cut-off's batches,
// all sealed.
type CutOffDone struct {
	SchemaVersion int       `json:"schemaVersion"`
	CutOff        time.Time `json:"cutOff"`
	Batches       []string  `json:"batches"`
	At            time.Time `json:"at"`
}

// record is a pointer to one of the record types above, which says where
// its schema version is, so that read and create can check and stamp it.
type record[T any] interface {
	*T
	version() *int
}

func (r *Claim) version() *int          { return &r.SchemaVersion }
func (r *Plan) version() *int           { return &r.SchemaVersion }
func (r *Sealed) version() *int         { return &r.SchemaVersion }
func (r *Handover) version() *int       { return &r.SchemaVersion }
func (r *HandOffFailure) version() *int { return &r.SchemaVersion }
func (r *Receipt) version() *int        { return &r.SchemaVersion }
func (r *Outcome) version() *int        { return &r.SchemaVersion }
func (r *CutOffClaim) version() *int    { return &r.SchemaVersion }
func (r *CutOffDone) version() *int     { return &r.SchemaVersion }

func marshal(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic("batch: encoding a record: " + err.Error()) // only plain structs are encoded
	}
	return append(b, '\n')
}

// unmarshal is strict, so that a record from a newer Quire is refused
// rather than half-read.
func unmarshal(key string, data []byte, v any, version *int) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("batch: reading %s: %w", key, err)
	}
	if *version != SchemaVersion {
		return fmt.Errorf("batch: reading %s: schema version %d; this Quire reads %d", key, *version, SchemaVersion)
	}
	return nil
}
