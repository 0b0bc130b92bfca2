// Package printfile assembles a batch's print files: the envelopes of a
// batch, in batch order, drawn into print-ready PDF files with a 2D code
// on every page, and the manifest that lists every file, envelope and page
// (docs/print-files.md).
//
// Every envelope must be printed once, in one piece, or not at all. So:
//   - Each envelope is laid out again from its stored request with the
//     template versions its render record names, and drawn: unless every
//     document comes out byte for byte as the record says it was
//     rendered, the envelope is refused and nothing is assembled. A
//     different envelope is never printed in its place.
//   - An envelope never spans two files, and a file holds envelopes of
//     one postage class: the list gives the first-class envelopes first,
//     then the second-class ones, and a new file starts where the class
//     changes.
//   - Every page carries a DataMatrix code naming the batch, the
//     envelope's sequence number and the page (i of n across the whole
//     envelope), and the manifest lists every code in print order, so the
//     supplier's inserter, or Verify, catches a missing, extra or shuffled
//     page.
//
// Assembly streams: envelopes are rendered a bounded number ahead, files
// hold at most Config.EnvelopesPerFile envelopes, and each finished file
// goes to a temporary file, then to the store, so memory does not grow with
// the batch. The manifest grows by about a kilobyte an envelope.
//
// Which envelopes form a batch, their order, and committing the batch
// (writing the manifest) are the batcher's; this package writes print
// files and returns the manifest.
package printfile

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/renderer/display"
	"github.com/quire-print/quire/request"
	"github.com/quire-print/quire/templates"
)

// DefaultEnvelopesPerFile is Config.EnvelopesPerFile's default: 500 to
// 750 pages, about a megabyte of PDF, which a printer's front end opens at
// once and which is quick to reprint.
const DefaultEnvelopesPerFile = 250

// Renderer lays out and draws envelopes. *renderer.Renderer is one.
type Renderer interface {
	LayoutEnvelope(env *request.Envelope) ([]*display.Document, error)
	WritePDF(buf *bytes.Buffer, d *display.Document) error
	Templates() *templates.Set
}

// Store keeps the print files. storage.Store is one.
type Store interface {
	PutStream(ctx context.Context, key string, r io.Reader, size int64, sha256 string) (storage.Info, error)
}

// Config configures an Assembler.
type Config struct {
	// Renderer lays envelopes out and draws them. Required.
	Renderer Renderer
	// Store receives the print files. Required.
	Store Store
	// Now is the clock for Manifest.CreatedAt. Default time.Now.
	Now func() time.Time
	// EnvelopesPerFile is the most envelopes one print file holds.
	// Default DefaultEnvelopesPerFile.
	EnvelopesPerFile int
	// Workers is how many envelopes are laid out and checked at once.
	// Default runtime.GOMAXPROCS(0).
	Workers int
	// TempDir is where each print file is written before it is stored.
	// Default os.TempDir().
	TempDir string
}

// Assembler assembles print files. It is safe for concurrent use; each
// Assemble call is independent.
type Assembler struct {
	cfg Config
}

// New returns an Assembler for cfg, or an error naming every setting that
// is wrong.
func New(cfg Config) (*Assembler, error) {
	var errs []error
	if cfg.Renderer == nil {
		errs = append(errs, errors.New("Renderer is required"))
	}
	if cfg.Store == nil {
		errs = append(errs, errors.New("Store is required"))
	}
	if cfg.EnvelopesPerFile < 0 || cfg.Workers < 0 {
		errs = append(errs, errors.New("EnvelopesPerFile and Workers cannot be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("printfile: config: %w", err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.EnvelopesPerFile == 0 {
		cfg.EnvelopesPerFile = DefaultEnvelopesPerFile
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.TempDir == "" {
		cfg.TempDir = os.TempDir()
	}
	return &Assembler{cfg: cfg}, nil
}

// Batch names the batch being assembled.
type Batch struct {
	// ID is the batch id (ValidBatchID), printed in every page's code.
	ID string
	// CutOff is the cut-off the batch was made at, for the manifest.
	CutOff time.Time
	// KeyPrefix is where the print files are stored: each at KeyPrefix
	// followed by its name, e.g. "batches/B1/" + "print-0001.pdf". It ends
	// in "/".
	KeyPrefix string
}

// Envelope is one envelope of the batch, as the batcher hands it over.
type Envelope struct {
	// Sequence is the envelope's position in the batch, from 1, strictly
	// increasing along the batch.
	Sequence int
	// ID is the envelope id; Request and Record must be for it.
	ID string
	// Request is the stored normalised request, decoded
	// (request.Decode). Assemble does not change it.
	Request *request.Envelope
	// Record is the envelope's render record.
	Record envelopes.Record
	// Reprint is the envelope's reprint number, from 1, when this print
	// replaces an earlier one (spoiled, lost, damaged); 0 for its first
	// print. ReprintOf is then the batch the print it replaces was in.
	// Both go into the manifest; the documents are the same.
	Reprint   int
	ReprintOf string
}

// ErrRefused is wrapped by the error Assemble returns for an envelope it
// will not print. The error is a *RefusedError naming the envelope.
var ErrRefused = errors.New("envelope refused")

// RefusedError says which envelope was refused and why. Every failure to
// reproduce an envelope is one: the stored request no longer renders to
// the documents its record describes, or the record is not one this
// package can print. It is the same on every attempt, so the envelope needs
// a person, not a retry; the rest of the batch can be assembled without it.
type RefusedError struct {
	Sequence   int
	EnvelopeID string
	// Reason says what did not match. It holds no personal data.
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("printfile: envelope %d (%s) refused: %s", e.Sequence, e.EnvelopeID, e.Reason)
}

// Unwrap returns ErrRefused.
func (e *RefusedError) Unwrap() error { return ErrRefused }

// Assemble draws the envelopes of list, in its order, into print files
// stored under b.KeyPrefix, and returns the batch's manifest. It reads list
// once, a bounded number of envelopes ahead of the file being written.
// list must give the envelopes in PostageRank order (first class, then
// second), as they are to be printed: each file holds one class, so a
// second-class envelope followed by a first-class one is an error.
//
// If any envelope is refused (see RefusedError), list fails, ctx ends or a
// file cannot be stored, Assemble stops and returns the error; files
// already stored are left for the caller to remove or overwrite. They are
// not a batch until the caller commits the manifest, and assembling the
// same list again writes the same files under the same keys.
func (a *Assembler) Assemble(ctx context.Context, b Batch, list iter.Seq2[Envelope, error]) (*Manifest, error) {
	if err := ValidBatchID(b.ID); err != nil {
		return nil, err
	}
	if !strings.HasSuffix(b.KeyPrefix, "/") || storage.ValidKey(b.KeyPrefix+"print-0001.pdf") != nil {
		return nil, fmt.Errorf("printfile: batch %s: key prefix %q must end in \"/\" and make valid keys", b.ID, b.KeyPrefix)
	}
	if b.CutOff.IsZero() {
		return nil, fmt.Errorf("printfile: batch %s: cut-off time cannot be zero", b.ID)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The pipeline: one goroutine reads list and hands each envelope to
	// the workers and, in the same order, to this goroutine, which waits
	// for each envelope's result in turn and writes files in order. The
	// order channel's capacity bounds how far rendering runs ahead.
	window := 4 * a.cfg.Workers
	work := make(chan *job, window)
	order := make(chan *job, window)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(work)
		defer close(order)
		if err := a.read(ctx, list, work, order); err != nil {
			// In order, after the envelopes read before it, so the
			// writer stops there and stores no partial file. The send
			// cannot block for ever: if the writer has stopped, Assemble
			// drains order.
			j := &job{done: make(chan result, 1)}
			j.done <- result{err: err}
			order <- j
		}
	})
	for range a.cfg.Workers {
		wg.Go(func() {
			var buf bytes.Buffer
			for j := range work {
				if ctx.Err() != nil {
					j.done <- result{err: ctx.Err()}
					continue
				}
				p, err := a.prepare(b.ID, j.env, &buf)
				j.done <- result{prepared: p, err: err}
			}
		})
	}

	m, err := a.write(ctx, b, order)
	cancel()
	for range order {
		// Drain, so the reader is not left blocked on a full channel.
	}
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if len(m.Envelopes) == 0 {
		return nil, fmt.Errorf("printfile: batch %s has no envelopes", b.ID)
	}
	m.CreatedAt = a.cfg.Now().UTC()
	return m, nil
}

type job struct {
	env  Envelope
	done chan result // buffered: a worker never waits for the writer
}

type result struct {
	prepared
	err error
}

// read hands out the envelopes of list in order, checking what can be
// checked without rendering: sequence numbers increase and no envelope is
// listed twice (it would be printed twice).
func (a *Assembler) read(ctx context.Context, list iter.Seq2[Envelope, error], work, order chan<- *job) error {
	prev := 0
	seen := map[string]bool{}
	for env, err := range list {
		// Checked first: a select with a ready channel may not notice ctx.
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if err != nil {
			return fmt.Errorf("printfile: reading the batch after envelope %d: %w", prev, err)
		}
		switch {
		case env.Sequence <= prev:
			return fmt.Errorf("printfile: envelope %s has sequence number %d, after %d: sequence numbers must increase from 1", env.ID, env.Sequence, prev)
		case seen[env.ID]:
			return fmt.Errorf("printfile: envelope %s is listed twice (sequence %d)", env.ID, env.Sequence)
		case env.Request == nil:
			return fmt.Errorf("printfile: envelope %d (%s) has no request", env.Sequence, env.ID)
		case env.Reprint < 0 || (env.Reprint == 0) != (env.ReprintOf == ""):
			return fmt.Errorf("printfile: envelope %d (%s): a reprint needs both its number and the batch it reprints", env.Sequence, env.ID)
		case env.ReprintOf != "" && ValidBatchID(env.ReprintOf) != nil:
			return fmt.Errorf("printfile: envelope %d (%s): the batch it reprints: %w", env.Sequence, env.ID, ValidBatchID(env.ReprintOf))
		}
		prev = env.Sequence
		seen[env.ID] = true
		j := &job{env: env, done: make(chan result, 1)}
		select {
		case order <- j:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case work <- j:
		case <-ctx.Done():
			j.done <- result{err: ctx.Err()}
			return ctx.Err()
		}
	}
	return ctx.Err()
}

// write receives prepared envelopes in batch order and fills files.
func (a *Assembler) write(ctx context.Context, b Batch, order <-chan *job) (*Manifest, error) {
	m := &Manifest{SchemaVersion: ManifestVersion, BatchID: b.ID, CutOff: b.CutOff.UTC()}
	w := fileWriter{a: a, b: b, m: m}
	for j := range order {
		r := <-j.done
		if r.err != nil {
			return nil, r.err
		}
		if w.class != "" && PostageRank(r.entry.Postage) < PostageRank(w.class) {
			return nil, fmt.Errorf("printfile: batch %s: envelope %d is %s class after %s-class envelopes: list every first-class envelope before the second-class ones",
				b.ID, r.entry.Sequence, r.entry.Postage, w.class)
		}
		// A file holds one postage class: mail is sorted and paid per
		// class, so the supplier runs each file as it comes.
		if w.envelopes == a.cfg.EnvelopesPerFile || (w.envelopes > 0 && r.entry.Postage != w.class) {
			if err := w.finish(ctx); err != nil {
				return nil, err
			}
		}
		w.add(r.prepared)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if w.envelopes > 0 {
		if err := w.finish(ctx); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// fileWriter collects the pages of the print file being filled.
type fileWriter struct {
	a         *Assembler
	b         Batch
	m         *Manifest
	doc       display.Document
	file      File
	envelopes int
	// class is the postage class of the last envelope added.
	class string
	buf   bytes.Buffer
}

func (w *fileWriter) add(p prepared) {
	if w.envelopes == 0 {
		w.file = File{Name: fmt.Sprintf("print-%04d.pdf", len(w.m.Files)+1), Postage: p.entry.Postage, FirstSequence: p.entry.Sequence}
		w.doc = display.Document{Title: "Print file", Pages: w.doc.Pages[:0]}
	}
	e := p.entry
	e.File = w.file.Name
	e.FirstPage = len(w.doc.Pages) + 1
	e.LastPage = len(w.doc.Pages) + len(p.pages)
	w.doc.Pages = append(w.doc.Pages, p.pages...)
	w.envelopes++
	w.class = e.Postage
	w.file.Envelopes++
	w.file.LastSequence = e.Sequence
	w.file.Pages += len(p.pages)
	w.file.Sheets += e.Sheets

	t := &w.m.Totals
	c := Count{Envelopes: 1, Pages: len(e.Pages), Sheets: e.Sheets}
	t.Envelopes++
	t.Pages += c.Pages
	t.Sheets += c.Sheets
	addCount(&t.ByPostage, e.Postage, c)
	for _, d := range e.Documents {
		addCount(&t.ByKind, d.Kind, Count{Envelopes: 1, Pages: d.Pages, Sheets: d.Sheets})
	}
	w.m.Envelopes = append(w.m.Envelopes, e)
}

// finish draws the file, writes it to a temporary file while hashing it,
// and streams that to the store: PutStream needs the size and SHA-256
// before the first byte, and the temporary file keeps a large file out of
// memory while it uploads.
func (w *fileWriter) finish(ctx context.Context) error {
	name := w.file.Name
	w.buf.Reset()
	if err := w.a.cfg.Renderer.WritePDF(&w.buf, &w.doc); err != nil {
		return fmt.Errorf("printfile: batch %s: drawing %s: %w", w.b.ID, name, err)
	}
	// The display lists are no longer needed; drop them before uploading.
	clear(w.doc.Pages)
	w.doc.Pages = w.doc.Pages[:0]

	tmp, err := os.CreateTemp(w.a.cfg.TempDir, "quire-print-*.pdf")
	if err != nil {
		return fmt.Errorf("printfile: batch %s: %w", w.b.ID, err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	h := sha256.New()
	size, err := w.buf.WriteTo(io.MultiWriter(tmp, h))
	if err != nil {
		return fmt.Errorf("printfile: batch %s: writing %s to %s: %w", w.b.ID, name, tmp.Name(), err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("printfile: batch %s: %w", w.b.ID, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if _, err := w.a.cfg.Store.PutStream(ctx, w.b.KeyPrefix+name, tmp, size, sum); err != nil {
		return fmt.Errorf("printfile: batch %s: storing %s: %w", w.b.ID, name, err)
	}
	w.file.Size, w.file.SHA256 = size, sum
	w.m.Files = append(w.m.Files, w.file)
	w.envelopes = 0
	return nil
}
