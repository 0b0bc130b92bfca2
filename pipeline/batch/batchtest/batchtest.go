// Package batchtest gives tests of the batcher, the supplier adapters and
// the supplier API what they share: committed envelopes to batch, a fake
// print-file assembler, a fake supplier and an events recorder.
package batchtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quire-print/quire/pipeline/batch"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/batch/printfile"
	"github.com/quire-print/quire/pipeline/batch/schedule"
	"github.com/quire-print/quire/pipeline/memqueue"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/renderer/rendered"
	"github.com/quire-print/quire/request"
)

// Root is the repository root, found from this file's location.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// Personal lists strings from the sample request Commit uses that must
// never appear in logs, manifests, events or errors.
var Personal = []string{"Priya", "Raman", "Arjun", "Asha", "Mill Lane", "Canterbury", "CT1 2HX", "2025-01-12"}

// Commit stores a rendered envelope with id id, rendered at renderedAt,
// from the twins sample request with small stand-in PDFs, as the worker
// would. It returns the record.
func Commit(t testing.TB, s storage.Store, id string, renderedAt time.Time) envelopes.Record {
	t.Helper()
	return CommitPostage(t, s, id, renderedAt, "")
}

// CommitPostage is Commit with the letter's postage class set to postage
// ("" leaves the sample's, which is second class).
func CommitPostage(t testing.TB, s storage.Store, id string, renderedAt time.Time, postage string) envelopes.Record {
	t.Helper()
	rec, _, err := envelopes.New(s).Commit(t.Context(), sample(t, id, renderedAt, postage))
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// CommitFilesOfTheirOwn stores the envelope Commit stores as Quire stored
// envelopes before bundles (render record schema version 1): the request
// and each document an object of its own under its SHA-256,
// envelopes/<id>/files/<sha256>/<name>, then the ready entry, then the
// record. It returns the record.
func CommitFilesOfTheirOwn(t testing.TB, s storage.Store, id string, renderedAt time.Time) envelopes.Record {
	t.Helper()
	ctx := t.Context()
	r := sample(t, id, renderedAt, "")
	put := func(name string, data []byte) envelopes.File {
		raw := sha256.Sum256(data)
		sum := hex.EncodeToString(raw[:])
		f := envelopes.File{Key: envelopes.EnvelopesPrefix + id + "/files/" + sum + "/" + name, SHA256: sum, Size: int64(len(data))}
		if _, err := s.Put(ctx, f.Key, data); err != nil {
			t.Fatal(err)
		}
		return f
	}
	rec := envelopes.Record{SchemaVersion: envelopes.SchemaVersion, EnvelopeID: id, RequestHash: r.RequestHash,
		Request: put("request.json", r.Request), Status: envelopes.StatusRendered, RenderedAt: renderedAt.UTC()}
	for _, d := range r.Documents {
		rec.Documents = append(rec.Documents, envelopes.Document{Kind: d.Kind, Name: d.Name, TemplateID: d.TemplateID,
			TemplateVersion: d.TemplateVersion, Pages: d.Pages, Sheets: d.Sheets, File: put(d.Name, d.PDF)})
	}
	data, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, envelopes.ReadyKey(id), []byte(`{"schemaVersion":1,"envelopeId":"`+id+`"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, envelopes.RecordKey(id), data); err != nil {
		t.Fatal(err)
	}
	return rec
}

// sample is the envelope CommitPostage stores.
func sample(t testing.TB, id string, renderedAt time.Time, postage string) envelopes.Rendered {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(Root(), "testdata", "requests", "valid", "twins.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m["envelopeId"] = id
	if postage != "" {
		m["letter"].(map[string]any)["postage"] = postage
	}
	data, _ = json.Marshal(m)
	env, err := request.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	normalised, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	docs := []rendered.Document{
		{Kind: "letter", Name: "letter.pdf", TemplateID: "carriage-letter", TemplateVersion: 1, Pages: 2, Sheets: 1,
			PDF: []byte("%PDF-1.7 letter for " + id + "\n")},
		{Kind: "certificate", Name: "certificate-1.pdf", TemplateID: "baby-loss-certificate", TemplateVersion: 1, Pages: 1, Sheets: 1,
			PDF: []byte("%PDF-1.7 certificate 1 for " + id + "\n")},
		{Kind: "certificate", Name: "certificate-2.pdf", TemplateID: "baby-loss-certificate", TemplateVersion: 1, Pages: 1, Sheets: 1,
			PDF: []byte("%PDF-1.7 certificate 2 for " + id + "\n")},
	}
	return envelopes.Rendered{EnvelopeID: id, RequestHash: env.ContentHash(), Request: normalised, Documents: docs, RenderedAt: renderedAt}
}

// CommitN commits n envelopes with ids prefix-0001, prefix-0002, … and
// returns their ids.
func CommitN(t testing.TB, s storage.Store, prefix string, n int, renderedAt time.Time) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("%s-%04d", prefix, i+1)
		Commit(t, s, ids[i], renderedAt)
	}
	return ids
}

// Assembler is a stand-in for the print-file assembler: it writes one
// file, print-0001.pdf, holding each envelope's stored documents in order
// under a line naming the batch and sequence, and a manifest listing the
// envelopes. It is safe for concurrent use.
type Assembler struct {
	Store storage.Store

	mu     sync.Mutex
	refuse map[string]bool
	fail   error
	calls  int
	// Block, if set, is received from before each envelope is written:
	// tests use it to hold an assembly half way.
	Block chan struct{}
}

// Refuse makes the assembler refuse envelope id.
func (a *Assembler) Refuse(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.refuse == nil {
		a.refuse = map[string]bool{}
	}
	a.refuse[id] = true
}

// FailWith makes every later Assemble fail with err (nil to stop).
func (a *Assembler) FailWith(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fail = err
}

// Calls counts Assemble calls.
func (a *Assembler) Calls() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls
}

// Assemble implements batch.Assembler. Its manifest lists each envelope
// with its pages, all in print-0001.pdf, and no page codes. Like
// printfile's, it fails a list that gives a first-class envelope after a
// second-class one.
func (a *Assembler) Assemble(ctx context.Context, b printfile.Batch, list iter.Seq2[printfile.Envelope, error]) (*printfile.Manifest, error) {
	a.mu.Lock()
	a.calls++
	fail, refuse := a.fail, a.refuse
	a.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	const name = "print-0001.pdf"
	var buf bytes.Buffer
	m := &printfile.Manifest{SchemaVersion: printfile.ManifestVersion, BatchID: b.ID, CutOff: b.CutOff}
	for e, err := range list {
		if err != nil {
			return nil, err
		}
		if a.Block != nil {
			select {
			case <-a.Block:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if refuse[e.ID] {
			return nil, fmt.Errorf("stand-in: %w", &printfile.RefusedError{Sequence: e.Sequence, EnvelopeID: e.ID, Reason: "told to refuse it"})
		}
		if e.Request == nil || e.Request.EnvelopeID != e.ID || e.Record.EnvelopeID != e.ID {
			return nil, fmt.Errorf("stand-in: envelope %d came without its own request and record", e.Sequence)
		}
		// As printfile does: first-class envelopes first.
		if n := len(m.Envelopes); n > 0 && printfile.PostageRank(e.Request.Letter.Postage) < printfile.PostageRank(m.Envelopes[n-1].Postage) {
			return nil, fmt.Errorf("stand-in: envelope %d is %s class after a %s-class one", e.Sequence, e.Request.Letter.Postage, m.Envelopes[n-1].Postage)
		}
		fmt.Fprintf(&buf, "== %s %d %s\n", b.ID, e.Sequence, e.ID)
		entry := printfile.Entry{Sequence: e.Sequence, EnvelopeID: e.ID, Postage: e.Request.Letter.Postage, File: name,
			FirstPage: m.Totals.Pages + 1, Reprint: e.Reprint, ReprintOf: e.ReprintOf}
		for _, d := range e.Record.Documents {
			data, err := envelopes.New(a.Store).Read(ctx, d.File)
			if err != nil {
				return nil, err
			}
			buf.Write(data)
			entry.Documents = append(entry.Documents, printfile.Document{Kind: d.Kind, Pages: d.Pages, Sheets: d.Sheets, SHA256: d.SHA256})
			for range d.Pages {
				entry.Pages = append(entry.Pages, printfile.Page{Kind: d.Kind})
			}
			entry.Sheets += d.Sheets
		}
		entry.LastPage = entry.FirstPage + len(entry.Pages) - 1
		m.Envelopes = append(m.Envelopes, entry)
		m.Totals.Envelopes++
		m.Totals.Pages += len(entry.Pages)
		m.Totals.Sheets += entry.Sheets
	}
	sum := sha256.Sum256(buf.Bytes())
	f := printfile.File{Name: name, SHA256: hex.EncodeToString(sum[:]), Size: int64(buf.Len()),
		Pages: m.Totals.Pages, Sheets: m.Totals.Sheets, Envelopes: len(m.Envelopes)}
	if len(m.Envelopes) > 0 {
		f.FirstSequence, f.LastSequence = m.Envelopes[0].Sequence, m.Envelopes[len(m.Envelopes)-1].Sequence
	}
	if _, err := a.Store.PutStream(ctx, b.KeyPrefix+f.Name, &buf, f.Size, f.SHA256); err != nil {
		return nil, err
	}
	m.Files = []printfile.File{f}
	return m, nil
}

// Supplier is a stand-in batch.Supplier that records what it is sent.
type Supplier struct {
	SupplierName string

	mu    sync.Mutex
	sent  []string
	fails []error
}

// Name implements batch.Supplier.
func (s *Supplier) Name() string { return s.SupplierName }

// Adapter implements batch.Supplier.
func (s *Supplier) Adapter() string { return "stand-in" }

// FailNext makes the next len(errs) sends fail with errs, in order.
func (s *Supplier) FailNext(errs ...error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fails = append(s.fails, errs...)
}

// Send implements batch.Supplier.
func (s *Supplier) Send(ctx context.Context, b *ledger.Sealed) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fails) > 0 {
		err := s.fails[0]
		s.fails = s.fails[1:]
		return err
	}
	s.sent = append(s.sent, b.BatchID)
	return nil
}

// Sent lists the batch ids sent, in order, repeats included.
func (s *Supplier) Sent() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.sent...)
}

// Events records published events and can fail publishes. It implements
// pipeline.Publisher and is safe for concurrent use.
type Events struct {
	// Notify, if set, receives every event confirmed, after it is
	// recorded; tests use it to wait for work done in the background.
	Notify chan Event

	mu     sync.Mutex
	events []Event
	fail   map[string]int
}

// Event is one published event.
type Event struct {
	Kind string
	Body []byte
	// ID is the message id it was published with; empty if published
	// without one.
	ID string
}

// Publish implements pipeline.Publisher.
func (e *Events) Publish(ctx context.Context, kind string, body []byte) error {
	return e.PublishWithID(ctx, kind, "", body)
}

// PublishWithID publishes an event with message id id, as the broker's
// events publisher does.
func (e *Events) PublishWithID(ctx context.Context, kind, id string, body []byte) error {
	e.mu.Lock()
	if e.fail[kind] > 0 {
		e.fail[kind]--
		e.mu.Unlock()
		return errors.New("stand-in: not confirmed")
	}
	ev := Event{kind, bytes.Clone(body), id}
	e.events = append(e.events, ev)
	e.mu.Unlock()
	if e.Notify != nil {
		select {
		case e.Notify <- ev:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// FailNext makes the next n publishes of kind fail.
func (e *Events) FailNext(kind string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fail == nil {
		e.fail = map[string]int{}
	}
	e.fail[kind] += n
}

// All returns every event published, in order.
func (e *Events) All() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Event(nil), e.events...)
}

// Of returns the envelope ids of the events of kind, in order published.
func (e *Events) Of(kind string) []string {
	var ids []string
	for _, ev := range e.All() {
		if ev.Kind == kind {
			var v struct {
				EnvelopeID string `json:"envelopeId"`
			}
			_ = json.Unmarshal(ev.Body, &v)
			ids = append(ids, v.EnvelopeID)
		}
	}
	return ids
}

// CheckNoPersonalData fails t if text holds any of Personal.
func CheckNoPersonalData(t testing.TB, what, text string) {
	t.Helper()
	for _, p := range Personal {
		if strings.Contains(text, p) {
			t.Errorf("%s holds personal data (%q)", what, p)
		}
	}
}

// ReadAll reads the object at key whole, checked against its SHA-256.
func ReadAll(t testing.TB, s storage.Store, key string) []byte {
	t.Helper()
	r, _, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Seal commits n envelopes rendered an hour before cut-off c, with ids
// starting "E" and c's date, and makes them into a sealed batch for
// supplier at c, with the stand-in assembler. The default schedule must
// have a cut-off at c.
func Seal(t testing.TB, s storage.Store, supplier string, c time.Time, n int) *ledger.Sealed {
	t.Helper()
	CommitN(t, s, c.Format("E20060102"), n, c.Add(-time.Hour))
	sched, err := schedule.New(schedule.Config{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := batch.New(batch.Config{
		Store: s, Schedule: sched, Assembler: &Assembler{Store: s},
		Supplier: &Supplier{SupplierName: supplier}, Events: &Events{},
		Clock: memqueue.NewManualClock(c.Add(time.Minute)), Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.CutOff(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Batches) != 1 || len(res.Batches[0].Envelopes) != n {
		t.Fatalf("sealing a batch of %d: %+v", n, res)
	}
	return res.Batches[0]
}

// Metric returns the value of the counter or gauge series name{labels}
// that c reports, labels given as name, value pairs, and fails t if c
// reports no such series. c is gathered through a pedantic registry, so a
// collector that describes its metrics wrongly fails too.
func Metric(t testing.TB, c prometheus.Collector, name string, labels ...string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(want) {
				continue
			}
			for _, l := range m.GetLabel() {
				if v, ok := want[l.GetName()]; !ok || v != l.GetValue() {
					continue series
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no series %s%q", name, labels)
	return 0
}
