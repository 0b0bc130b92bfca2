// Package envelopes keeps rendered envelopes in a storage.Store: where each
// object goes, what the render record and the cancellation marker hold, and
// the commit protocol that makes a redelivered or competing render store an
// envelope exactly once.
//
// Key layout (docs/storage.md explains it in full):
//
//	envelopes/<id>/record.json                 render record; the commit point
//	envelopes/<id>/cancel.json                 cancellation marker
//	envelopes/<id>/files/<parts>/bundle        the normalised request and the rendered
//	                                           documents, back to back (personal data)
//	ready/<id>                                 index of committed envelopes for the batcher
//	references/<hmac>/<id>                     reference index (package refindex)
//
// The bundle is one object, so that storing an envelope is one PUT however
// many documents it has; the record says where each part starts, how long
// it is and its own SHA-256, and a reader fetches only the part it needs
// (storage.Store.GetRange). Envelopes stored before bundles (record schema
// version 1) keep one object per file, envelopes/<id>/files/<sha256>/<name>,
// and are read, verified and deleted the same way.
//
// Objects are stored under a SHA-256 of their own content, so a key only
// ever names one content: two workers rendering the same envelope at once
// can never overwrite an object the other's record points to, and the
// record always describes exactly the bytes it names. A bundle's <parts>
// is the SHA-256 of its parts' SHA-256s (BundleKey), which names its
// content as surely as a hash of the bytes themselves without hashing
// every byte twice.
//
// Nothing here reads a clock: callers pass the times to record.
package envelopes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/internal/checksum"
	"github.com/quire-print/quire/pipeline/storage/refindex"
	"github.com/quire-print/quire/renderer/rendered"
)

// SchemaVersion is the version of the cancellation marker and ready entry
// formats written here, and of the render records written before bundles,
// which are still read. A reader refuses a version it does not know.
const SchemaVersion = 1

// RecordVersion is the version of the render records written here: the
// request and the documents are parts of one bundle object.
const RecordVersion = 2

// BundleName is the last segment of a bundle's key.
const BundleName = "bundle"

// StatusRendered is the status of a committed render record. Records are
// immutable; later states (batched, posted, …) are kept by their own
// markers.
const StatusRendered = "rendered"

// Limits on cancellation markers.
const (
	MaxReasonLen = 200 // characters of Cancellation.Reason
	maxFiles     = 100 // documents in one envelope, a sanity bound
)

// Errors.
var (
	// ErrConflict: the envelope id is already committed with a different
	// request. The message is permanent: retrying cannot help.
	ErrConflict = errors.New("envelope id already committed with a different request")
	// ErrInvalid: the input cannot be stored as given (bad id, missing
	// field). Permanent as well.
	ErrInvalid = errors.New("invalid envelope data")
	// ErrNotFound: no record or marker for the id. It wraps
	// storage.ErrNotFound.
	ErrNotFound = fmt.Errorf("envelopes: %w", storage.ErrNotFound)
)

// Prefixes of the layout. Personal data lives under EnvelopesPrefix only.
const (
	EnvelopesPrefix = "envelopes/"
	ReadyPrefix     = "ready/"
)

// idShape is request.Envelope's rule for envelope ids; "." and ".." match
// it but cannot be a key segment, and are refused separately.
var idShape = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ValidID reports whether id can name an envelope in storage.
func ValidID(id string) error {
	if !idShape.MatchString(id) || id == "." || id == ".." {
		return fmt.Errorf("%w: envelope id must be 1 to 64 characters from A-Z a-z 0-9 . _ - and not \".\" or \"..\"", ErrInvalid)
	}
	return nil
}

// RecordKey is the key of id's render record.
func RecordKey(id string) string { return EnvelopesPrefix + id + "/record.json" }

// CancelKey is the key of id's cancellation marker.
func CancelKey(id string) string { return EnvelopesPrefix + id + "/cancel.json" }

// ReadyKey is the key of id's entry in the batcher's index.
func ReadyKey(id string) string { return ReadyPrefix + id }

// fileKey is where a file with content hash sum is kept.
func fileKey(id, sum, name string) string {
	return EnvelopesPrefix + id + "/files/" + sum + "/" + name
}

// File locates one stored file and says what it must contain: a whole
// object, or a part of a bundle.
type File struct {
	Key    string `json:"key"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Offset is where the file starts in the object at Key: 0 for a whole
	// object, where it starts in the bundle for a part.
	Offset int64 `json:"offset,omitempty"`
}

// Document is one rendered document in a render record.
type Document struct {
	// Kind is "letter" or "certificate" (rendered.KindLetter, …).
	Kind string `json:"kind"`
	// Name is the document's file name within the envelope, e.g.
	// "certificate-1.pdf".
	Name string `json:"name"`
	// TemplateID and TemplateVersion say which template laid it out.
	TemplateID      string `json:"templateId"`
	TemplateVersion int    `json:"templateVersion"`
	// Pages and Sheets count A4 pages and the sheets they print on.
	Pages  int `json:"pages"`
	Sheets int `json:"sheets"`
	File
}

// Record is what a committed envelope's record.json holds. It carries ids,
// hashes and counts only: no names, addresses or dates of loss, so it may
// outlive the personal data it points to.
type Record struct {
	SchemaVersion int    `json:"schemaVersion"`
	EnvelopeID    string `json:"envelopeId"`
	// RequestHash is request.Envelope.ContentHash: same id and a different
	// hash is a conflict.
	RequestHash string `json:"requestHash"`
	// Bundle is the object holding the request and the documents (from
	// RecordVersion on; nil in records of SchemaVersion 1, whose files are
	// objects of their own).
	Bundle *File `json:"bundle,omitempty"`
	// Request is the stored normalised request, for re-rendering at batch
	// time and for identical copies later.
	Request File `json:"request"`
	// Documents are in envelope order: the letter, then the certificates.
	Documents  []Document `json:"documents"`
	Status     string     `json:"status"`
	RenderedAt time.Time  `json:"renderedAt"`
}

// Files returns every object the record points to: its bundle, or for a
// record of SchemaVersion 1, the request and each document.
func (r Record) Files() []File {
	if r.Bundle != nil {
		return []File{*r.Bundle}
	}
	fs := []File{r.Request}
	for _, d := range r.Documents {
		fs = append(fs, d.File)
	}
	return fs
}

// Rendered is what Commit stores: one rendered envelope.
type Rendered struct {
	EnvelopeID string
	// RequestHash is request.Envelope.ContentHash of the request rendered.
	RequestHash string
	// Request is the normalised request as JSON.
	Request []byte
	// Documents in envelope order, as the renderer made them.
	Documents []rendered.Document
	// RenderedAt is when rendering finished, by the caller's clock.
	RenderedAt time.Time
	// SkipLookup says the caller looked for the envelope's record just
	// before rendering and found none, so Commit need not look again
	// (a round trip to storage per envelope). Correctness does not rest
	// on it: a record committed meanwhile is found at the commit point.
	// Leave it false otherwise: the look-up is what keeps a redelivery of
	// an envelope whose files retention has deleted from writing them
	// again.
	SkipLookup bool
	// IndexKeys are the envelope's entries in the reference index
	// (refindex.Index.Keys): empty objects written alongside the files,
	// whose keys reveal no reference. Empty: none (no reference key is
	// configured).
	IndexKeys []string
}

// Cancellation is what an envelope's cancel.json holds. It carries no
// personal data.
type Cancellation struct {
	SchemaVersion int    `json:"schemaVersion"`
	EnvelopeID    string `json:"envelopeId"`
	// Code is a stable machine-readable reason, e.g. "requested-by-parent":
	// 1 to 64 characters from a-z 0-9 -.
	Code string `json:"code"`
	// Reason is an optional short explanation, at most MaxReasonLen
	// characters, that must not hold personal data.
	Reason string `json:"reason,omitempty"`
	// At is when the cancellation was received, by the caller's clock.
	At time.Time `json:"at"`
}

// Store keeps envelopes in a storage.Store. It is safe for concurrent use,
// by many goroutines and processes sharing the store.
type Store struct {
	s storage.Store
}

// New returns a Store keeping envelopes in s.
func New(s storage.Store) *Store { return &Store{s: s} }

// Commit stores a rendered envelope once. It returns the envelope's record
// and whether this call committed it:
//   - true: this call's record is the commit. Count it.
//   - false: the envelope had already been committed with the same request
//     (a redelivery, or a competing worker that got there first); the
//     earlier record is returned and nothing is changed. Announcing it
//     again is harmless; counting it again is not.
//   - an error wrapping ErrConflict: the id was committed with a different
//     request. Nothing is changed.
//
// Unless r.SkipLookup, it first looks for the record. Then it writes the
// bundle, the ready index entry and the reference index entries
// (r.IndexKeys), then creates record.json, which is
// the commit point: an envelope without a record is not committed,
// whatever files it has, and is written again by the next attempt. A
// bundle left by a losing attempt is deleted. Three requests in all, and
// one more per reference index entry.
func (s *Store) Commit(ctx context.Context, r Rendered) (Record, bool, error) {
	if err := r.validate(); err != nil {
		return Record{}, false, fmt.Errorf("envelopes: commit %s: %w", r.EnvelopeID, err)
	}
	id := r.EnvelopeID

	// Most redeliveries find the record: answer them without writing.
	if !r.SkipLookup {
		if stored, err := s.Record(ctx, id); err == nil {
			return s.settle(ctx, r, stored, nil)
		} else if !errors.Is(err, storage.ErrNotFound) {
			return Record{}, false, err
		}
	}

	rec, bundle := bundleOf(r)

	// The bundle and the ready entry go in parallel: they are independent,
	// and an envelope's latency is the slower of them plus the record.
	// The record takes the bundle's SHA-256 from the store, which hashes
	// what it writes anyway.
	writes := []write{
		// Put, not Create: the key names its content, so whoever wrote it
		// before wrote the same bytes.
		{rec.Bundle.Key, bundle},
		// Written before the record so that no committed envelope is ever
		// missing from the index; an entry without a record is ignored by
		// the batcher and rewritten by the next attempt.
		{ReadyKey(id), readyEntry(id)},
	}
	// The reference index: one small PUT per certificate reference, in
	// parallel with the bundle. Like the bundle, written before the
	// record, so that a committed envelope is always found by its
	// reference; an entry left by an attempt that never commits names an
	// envelope id with no record, which a lookup reports as not found.
	for _, key := range r.IndexKeys {
		writes = append(writes, write{key, nil})
	}
	errs := make([]error, len(writes))
	infos := make([]storage.Info, len(writes))
	var wg sync.WaitGroup
	for i, w := range writes {
		wg.Go(func() { infos[i], errs[i] = s.s.Put(ctx, w.key, w.data) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Record{}, false, fmt.Errorf("envelopes: commit %s: %w", id, err)
	}
	if b := infos[0]; b.Size != rec.Bundle.Size || checksum.Valid(b.SHA256) != nil {
		return Record{}, false, fmt.Errorf("envelopes: commit %s: the store answered %d bytes, SHA-256 %q for a bundle of %d bytes",
			id, b.Size, b.SHA256, rec.Bundle.Size)
	}
	rec.Bundle.SHA256 = infos[0].SHA256

	data, err := marshal(rec)
	if err != nil {
		return Record{}, false, err
	}
	if _, err := s.s.Create(ctx, RecordKey(id), data); err == nil {
		return rec, true, nil
	} else if !errors.Is(err, storage.ErrExists) {
		return Record{}, false, fmt.Errorf("envelopes: commit %s: %w", id, err)
	}

	// Someone committed first. (Or this very Create succeeded, its answer
	// was lost and its retry found the record: then the record is ours, but
	// identical bytes cannot prove it, since two workers may render
	// identically, so it is answered as a duplicate. An envelope may go
	// uncounted that way, as when a worker dies just after committing;
	// it is never counted twice.)
	stored, err := s.Record(ctx, id)
	if err != nil {
		return Record{}, false, fmt.Errorf("envelopes: commit %s: reading the committed record: %w", id, err)
	}
	return s.settle(ctx, r, stored, &rec)
}

// settle answers a Commit that found stored already committed, deleting the
// files that mine (if it wrote any) wrote and stored does not use. Once a
// record exists no other record can, so nothing else will ever refer to
// them.
func (s *Store) settle(ctx context.Context, r Rendered, stored Record, mine *Record) (Record, bool, error) {
	if mine != nil {
		keep := map[string]bool{}
		for _, f := range stored.Files() {
			keep[f.Key] = true
		}
		var errs []error
		for _, f := range mine.Files() {
			if !keep[f.Key] {
				errs = append(errs, s.s.Delete(ctx, f.Key))
			}
		}
		if err := errors.Join(errs...); err != nil {
			// Reported, so that the message is retried: the retry answers
			// from the record, and these files are left to the retention
			// sweep.
			return Record{}, false, fmt.Errorf("envelopes: commit %s: removing files of the losing attempt: %w", r.EnvelopeID, err)
		}
	}
	if stored.RequestHash != r.RequestHash {
		return Record{}, false, fmt.Errorf("envelopes: commit %s: %w (committed request %s, this request %s)",
			r.EnvelopeID, ErrConflict, stored.RequestHash, r.RequestHash)
	}
	return stored, false, nil
}

type write struct {
	key  string
	data []byte
}

// bundleOf returns r's record and its bundle: the request, then each
// document in envelope order, back to back, kept at BundleKey. The
// record's Bundle.SHA256 is left for the store's answer to fill in.
func bundleOf(r Rendered) (Record, []byte) {
	rec := Record{
		SchemaVersion: RecordVersion,
		EnvelopeID:    r.EnvelopeID,
		RequestHash:   r.RequestHash,
		Status:        StatusRendered,
		RenderedAt:    r.RenderedAt.UTC(),
	}
	size := len(r.Request)
	for _, d := range r.Documents {
		size += len(d.PDF)
	}
	bundle := make([]byte, 0, size)
	part := func(data []byte) File {
		f := File{SHA256: checksum.Sum(data), Size: int64(len(data)), Offset: int64(len(bundle))}
		bundle = append(bundle, data...)
		return f
	}
	rec.Request = part(r.Request)
	rec.Documents = make([]Document, len(r.Documents))
	for i, d := range r.Documents {
		rec.Documents[i] = Document{
			Kind: d.Kind, Name: d.Name,
			TemplateID: d.TemplateID, TemplateVersion: d.TemplateVersion,
			Pages: d.Pages, Sheets: d.Sheets,
			File: part(d.PDF),
		}
	}
	sums := []string{rec.Request.SHA256}
	for _, d := range rec.Documents {
		sums = append(sums, d.SHA256)
	}
	key := BundleKey(r.EnvelopeID, sums)
	rec.Bundle = &File{Key: key, Size: int64(len(bundle))}
	rec.Request.Key = key
	for i := range rec.Documents {
		rec.Documents[i].Key = key
	}
	return rec, bundle
}

// BundleKey is where envelope id's bundle is kept when its parts, in
// order, have these SHA-256s: under the SHA-256 of those SHA-256s, one a
// line.
func BundleKey(id string, partSums []string) string {
	return fileKey(id, checksum.Sum([]byte(strings.Join(partSums, "\n")+"\n")), BundleName)
}

func readyEntry(id string) []byte {
	b, _ := json.Marshal(struct {
		SchemaVersion int    `json:"schemaVersion"`
		EnvelopeID    string `json:"envelopeId"`
	}{SchemaVersion, id})
	return b
}

// Found is what storage knows of an envelope, as Lookup reads it.
type Found struct {
	// Record is the envelope's render record, if it is committed.
	Record *Record
	// Cancellation is its stored cancellation, if it was cancelled.
	Cancellation *Cancellation
}

// Lookup reads what storage knows of envelope id, for a worker about to
// render it: its record and its cancellation marker. For almost every
// request there is neither, and one request says so: a listing of
// envelopes/<id>/, which names both keys if they exist. Only what it finds
// is read, in parallel.
//
// The listing is a hint, as the look-up always was: a record committed
// after it is still found at the commit point (Commit's Create), and a
// cancellation stored after it is still found by the batcher when it
// claims the envelope.
func (s *Store) Lookup(ctx context.Context, id string) (Found, error) {
	if err := ValidID(id); err != nil {
		return Found{}, err
	}
	var hasRecord, hasCancel bool
	for info, err := range s.s.List(ctx, EnvelopesPrefix+id+"/") {
		if err != nil {
			return Found{}, fmt.Errorf("envelopes: look up %s: %w", id, err)
		}
		switch info.Key {
		case RecordKey(id):
			hasRecord = true
		case CancelKey(id):
			hasCancel = true
		}
		if info.Key >= RecordKey(id) {
			break // keys come in order, and nothing after the record matters
		}
	}
	var (
		found          Found
		rec            Record
		c              Cancellation
		recErr, canErr error
		wg             sync.WaitGroup
	)
	if hasRecord {
		wg.Go(func() { rec, recErr = s.Record(ctx, id) })
	}
	if hasCancel {
		wg.Go(func() { c, canErr = s.Cancellation(ctx, id) })
	}
	wg.Wait()
	if err := errors.Join(recErr, canErr); err != nil {
		// Listed, so a not-found here is a store that lost the object
		// between two requests: an error like any other.
		return Found{}, err
	}
	if hasRecord {
		found.Record = &rec
	}
	if hasCancel {
		found.Cancellation = &c
	}
	return found, nil
}

// Record returns id's render record, or an error wrapping ErrNotFound if it
// has not been committed.
func (s *Store) Record(ctx context.Context, id string) (Record, error) {
	if err := ValidID(id); err != nil {
		return Record{}, err
	}
	data, err := s.s.Get(ctx, RecordKey(id))
	if errors.Is(err, storage.ErrNotFound) {
		return Record{}, fmt.Errorf("%w: no record for envelope %s", ErrNotFound, id)
	}
	if err != nil {
		return Record{}, err
	}
	return unmarshalRecord(id, data)
}

func unmarshalRecord(id string, data []byte) (Record, error) {
	var rec Record
	if err := unmarshal(data, &rec); err != nil {
		return Record{}, fmt.Errorf("envelopes: record of %s: %w", id, err)
	}
	if (rec.SchemaVersion != SchemaVersion && rec.SchemaVersion != RecordVersion) || rec.EnvelopeID != id {
		return Record{}, fmt.Errorf("envelopes: record of %s: schema version %d, envelope id %q: not a record this version reads",
			id, rec.SchemaVersion, rec.EnvelopeID)
	}
	if err := rec.checkLayout(); err != nil {
		return Record{}, fmt.Errorf("envelopes: record of %s: %w", id, err)
	}
	return rec, nil
}

// checkLayout checks that the files a record names are where its version
// keeps them: each an object of its own in version 1, each a part lying
// within the bundle in version 2.
func (r Record) checkLayout() error {
	parts := []File{r.Request}
	for _, d := range r.Documents {
		parts = append(parts, d.File)
	}
	switch {
	case r.SchemaVersion == SchemaVersion && r.Bundle != nil:
		return errors.New("a version 1 record cannot name a bundle")
	case r.SchemaVersion == RecordVersion && r.Bundle == nil:
		return errors.New("the record names no bundle")
	}
	for _, f := range parts {
		if r.Bundle == nil {
			if f.Offset != 0 {
				return fmt.Errorf("%s: a file of its own cannot start at byte %d", f.Key, f.Offset)
			}
			continue
		}
		if f.Key != r.Bundle.Key || f.Offset < 0 || f.Size < 1 || f.Offset+f.Size > r.Bundle.Size {
			return fmt.Errorf("a part of %d bytes at byte %d of %q does not lie within the bundle %q of %d bytes",
				f.Size, f.Offset, f.Key, r.Bundle.Key, r.Bundle.Size)
		}
	}
	return nil
}

// Read returns the content of f, a file of a record (its request or one
// of its documents), reading only its own bytes whether it is a part of a
// bundle or an object of its own. The content is checked against f's
// SHA-256: an error wraps storage.ErrChecksum if it does not match, and
// storage.ErrNotFound if the object is gone (deleted by retention, say).
func (s *Store) Read(ctx context.Context, f File) ([]byte, error) {
	data, err := s.s.GetRange(ctx, f.Key, f.Offset, f.Size)
	if err != nil {
		return nil, fmt.Errorf("envelopes: read %s: %w", f.Key, err)
	}
	if sum := checksum.Sum(data); sum != f.SHA256 {
		return nil, fmt.Errorf("envelopes: read %d bytes at byte %d of %s: SHA-256 %s, record says %s: %w",
			f.Size, f.Offset, f.Key, sum, f.SHA256, storage.ErrChecksum)
	}
	return data, nil
}

// Verify checks that every file rec points to is stored with the size and
// SHA-256 it records. The batcher calls it before printing an envelope.
func (s *Store) Verify(ctx context.Context, rec Record) error {
	var errs []error
	for _, f := range rec.Files() {
		info, err := s.s.Stat(ctx, f.Key)
		switch {
		case err != nil:
			errs = append(errs, err)
		case info.Size != f.Size || info.SHA256 != f.SHA256:
			errs = append(errs, fmt.Errorf("%s: stored size %d SHA-256 %s, record says %d %s: %w",
				f.Key, info.Size, info.SHA256, f.Size, f.SHA256, storage.ErrChecksum))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("envelopes: verify %s: %w", rec.EnvelopeID, err)
	}
	return nil
}

// Cancel records that id is cancelled. The first cancellation of an id wins
// and is kept: Cancel returns the stored one and whether this call stored
// it (false for a redelivered cancellation, as for Commit).
// An id that has not been seen yet is cancelled all the same, so that an
// envelope arriving later is never printed. Whether a committed envelope is
// still stopped in time is the batcher's to decide (docs/storage.md).
func (s *Store) Cancel(ctx context.Context, c Cancellation) (Cancellation, bool, error) {
	c.SchemaVersion = SchemaVersion
	c.At = c.At.UTC()
	if err := c.validate(); err != nil {
		return Cancellation{}, false, fmt.Errorf("envelopes: cancel %s: %w", c.EnvelopeID, err)
	}
	data, err := marshal(c)
	if err != nil {
		return Cancellation{}, false, err
	}
	if _, err := s.s.Create(ctx, CancelKey(c.EnvelopeID), data); err == nil {
		return c, true, nil
	} else if !errors.Is(err, storage.ErrExists) {
		return Cancellation{}, false, fmt.Errorf("envelopes: cancel %s: %w", c.EnvelopeID, err)
	}
	stored, err := s.Cancellation(ctx, c.EnvelopeID)
	if err != nil {
		return Cancellation{}, false, fmt.Errorf("envelopes: cancel %s: reading the stored cancellation: %w", c.EnvelopeID, err)
	}
	return stored, false, nil
}

// Cancellation returns id's cancellation, or an error wrapping ErrNotFound
// if it has none.
func (s *Store) Cancellation(ctx context.Context, id string) (Cancellation, error) {
	if err := ValidID(id); err != nil {
		return Cancellation{}, err
	}
	data, err := s.s.Get(ctx, CancelKey(id))
	if errors.Is(err, storage.ErrNotFound) {
		return Cancellation{}, fmt.Errorf("%w: no cancellation for envelope %s", ErrNotFound, id)
	}
	if err != nil {
		return Cancellation{}, err
	}
	return unmarshalCancellation(id, data)
}

func unmarshalCancellation(id string, data []byte) (Cancellation, error) {
	var c Cancellation
	if err := unmarshal(data, &c); err != nil {
		return Cancellation{}, fmt.Errorf("envelopes: cancellation of %s: %w", id, err)
	}
	if c.SchemaVersion != SchemaVersion || c.EnvelopeID != id {
		return Cancellation{}, fmt.Errorf("envelopes: cancellation of %s: schema version %d, envelope id %q: not a marker this version reads",
			id, c.SchemaVersion, c.EnvelopeID)
	}
	return c, nil
}

// Ready yields the ids in the batcher's index, in lexical order. The index
// is a hint: an id may be listed whose record is not committed yet (a
// render in progress or abandoned), or that is cancelled or already
// batched; the batcher checks each against its record and markers.
func (s *Store) Ready(ctx context.Context) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for info, err := range s.s.List(ctx, ReadyPrefix) {
			if err != nil {
				yield("", err)
				return
			}
			if !yield(strings.TrimPrefix(info.Key, ReadyPrefix), nil) {
				return
			}
		}
	}
}

func (r Rendered) validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if err := ValidID(r.EnvelopeID); err != nil {
		errs = append(errs, err)
	}
	if checksum.Valid(r.RequestHash) != nil {
		add("request hash must be a lowercase hex SHA-256")
	}
	if len(r.Request) == 0 {
		add("request cannot be empty")
	}
	if r.RenderedAt.IsZero() {
		add("rendered-at time cannot be zero")
	}
	if len(r.Documents) == 0 || len(r.Documents) > maxFiles {
		add("an envelope needs 1 to %d documents, not %d", maxFiles, len(r.Documents))
	}
	for _, k := range r.IndexKeys {
		if !refindex.ValidKey(k, r.EnvelopeID) {
			add("an index key must be a reference index entry for envelope %s (refindex.Index.Keys)", r.EnvelopeID)
			break
		}
	}
	seen := map[string]bool{}
	for i, d := range r.Documents {
		switch {
		case !docName.MatchString(d.Name) || d.Name == "." || d.Name == ".." || d.Name == "request.json":
			add("document %d: name must be 1 to 64 characters from A-Z a-z 0-9 . _ -, not \"request.json\"", i+1)
		case seen[d.Name]:
			add("document %d: name %q is used twice", i+1, d.Name)
		}
		seen[d.Name] = true
		if d.Kind == "" || d.TemplateID == "" {
			add("document %d: kind and template id cannot be empty", i+1)
		}
		if d.TemplateVersion < 1 || d.Pages < 1 || d.Sheets < 1 {
			add("document %d: template version, pages and sheets must be at least 1", i+1)
		}
		if len(d.PDF) == 0 {
			add("document %d: PDF cannot be empty", i+1)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

var (
	docName    = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	reasonCode = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
)

func (c Cancellation) validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if err := ValidID(c.EnvelopeID); err != nil {
		errs = append(errs, err)
	}
	if !reasonCode.MatchString(c.Code) {
		add("reason code must be 1 to 64 characters from a-z 0-9 -")
	}
	if n := utf8.RuneCountInString(c.Reason); n > MaxReasonLen {
		add("reason cannot be longer than %d characters, got %d", MaxReasonLen, n)
	}
	if !utf8.ValidString(c.Reason) || strings.ContainsFunc(c.Reason, unicode.IsControl) {
		add("reason must be UTF-8 text on one line")
	}
	if c.At.IsZero() {
		add("cancellation time cannot be zero")
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

func marshal(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("envelopes: %w", err)
	}
	return append(b, '\n'), nil
}

// unmarshal is strict, so that a record from a newer Quire with fields this
// one does not know is refused rather than half-read.
func unmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// ForgetCancellationReason removes the free-text reason from id's
// cancellation marker, keeping the marker itself (its code and time are
// the tombstone that stops a late render from being printed). The reason
// is meant to hold no personal data, but it is free text a person typed,
// so retention removes it with the envelope's other personal data. An
// envelope without a cancellation, or one without a reason, is left as it
// is; calling it again changes nothing.
func (s *Store) ForgetCancellationReason(ctx context.Context, id string) error {
	c, err := s.Cancellation(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if c.Reason == "" {
		return nil
	}
	c.Reason = ""
	data, err := marshal(c)
	if err != nil {
		return err
	}
	if _, err := s.s.Put(ctx, CancelKey(id), data); err != nil {
		return fmt.Errorf("envelopes: forget the cancellation reason of %s: %w", id, err)
	}
	return nil
}

// DeletedKey is the key of the marker retention leaves once it has
// deleted id's personal data.
func DeletedKey(id string) string { return EnvelopesPrefix + id + "/deleted.json" }

// Deletion is what an envelope's deleted.json holds: when retention
// deleted its documents, request and reference index entries. It carries
// no personal data.
type Deletion struct {
	SchemaVersion int       `json:"schemaVersion"`
	EnvelopeID    string    `json:"envelopeId"`
	At            time.Time `json:"at"`
}

// RecordDeletion records that id's personal data was deleted at at. A
// repeat (a sweep run again) keeps the first time.
func (s *Store) RecordDeletion(ctx context.Context, id string, at time.Time) error {
	if err := ValidID(id); err != nil {
		return err
	}
	data, err := marshal(Deletion{SchemaVersion: SchemaVersion, EnvelopeID: id, At: at.UTC()})
	if err != nil {
		return err
	}
	if _, err := s.s.Create(ctx, DeletedKey(id), data); err != nil && !errors.Is(err, storage.ErrExists) {
		return fmt.Errorf("envelopes: record the deletion of %s: %w", id, err)
	}
	return nil
}

// Deletion returns the record of id's deletion by retention, or an error
// wrapping ErrNotFound if there is none.
func (s *Store) Deletion(ctx context.Context, id string) (Deletion, error) {
	if err := ValidID(id); err != nil {
		return Deletion{}, err
	}
	data, err := s.s.Get(ctx, DeletedKey(id))
	if errors.Is(err, storage.ErrNotFound) {
		return Deletion{}, fmt.Errorf("%w: no deletion recorded for envelope %s", ErrNotFound, id)
	}
	if err != nil {
		return Deletion{}, err
	}
	var d Deletion
	if err := unmarshal(data, &d); err != nil || d.SchemaVersion != SchemaVersion || d.EnvelopeID != id {
		return Deletion{}, fmt.Errorf("envelopes: deletion record of %s is not one this version reads", id)
	}
	return d, nil
}
