package printfile_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/quire-print/quire/internal/pdftest"
	"github.com/quire-print/quire/pipeline/batch/printfile"
	"github.com/quire-print/quire/pipeline/batch/printfile/printfiletest"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/renderer"
	"github.com/quire-print/quire/renderer/display"
	"github.com/quire-print/quire/request"
)

// TestAssemble assembles a batch of every sample (twins, large print,
// BFPO, long and non-Latin names) into files of three envelopes and checks
// the files with the tools a printer's front end would trust: qpdf, and
// poppler for fonts, page counts, text and the 2D codes.
func TestAssemble(t *testing.T) {
	envs := makeBatch(t, 8)
	st := newStore(t)
	tmp := t.TempDir()
	a := newAssemblerIn(t, st, 3, tmp)
	m, err := a.Assemble(t.Context(), batch("B-20260302-1"), list(envs))
	if err != nil {
		t.Fatal(err)
	}
	assertEmpty(t, tmp)

	// Files of 3, 3 and 2 envelopes, every envelope whole in one file.
	if len(m.Files) != 3 {
		t.Fatalf("%d files, want 3: %+v", len(m.Files), m.Files)
	}
	for i, want := range []int{3, 3, 2} {
		if f := m.Files[i]; f.Envelopes != want || f.Name != fmt.Sprintf("print-%04d.pdf", i+1) {
			t.Errorf("file %d: %s with %d envelopes, want print-%04d.pdf with %d", i+1, f.Name, f.Envelopes, i+1, want)
		}
	}
	if len(m.Envelopes) != len(envs) {
		t.Fatalf("%d envelopes in the manifest, want %d", len(m.Envelopes), len(envs))
	}
	for i, e := range m.Envelopes {
		in := envs[i]
		if e.Sequence != in.Sequence || e.EnvelopeID != in.ID {
			t.Errorf("manifest envelope %d is %d %s, want %d %s", i, e.Sequence, e.EnvelopeID, in.Sequence, in.ID)
		}
		if want := 1 + len(in.Request.Certificates); len(e.Documents) != want {
			t.Errorf("envelope %d: %d documents, want %d", e.Sequence, len(e.Documents), want)
		}
		for d, doc := range e.Documents {
			if doc.SHA256 != in.Record.Documents[d].SHA256 {
				t.Errorf("envelope %d document %d: SHA-256 %s, the record says %s", e.Sequence, d+1, doc.SHA256, in.Record.Documents[d].SHA256)
			}
		}
		pc := in.Request.Recipient.Address[len(in.Request.Recipient.Address)-1]
		if e.PostcodeDistrict != request.PostcodeDistrict(pc) || e.PostcodeDistrict == "" {
			t.Errorf("envelope %d: district %q for %q", e.Sequence, e.PostcodeDistrict, pc)
		}
		want := request.PostageSecond
		if firstClass(i, len(envs)) {
			want = request.PostageFirst
		}
		if e.Postage != want {
			t.Errorf("envelope %d: postage %q, want %q", e.Sequence, e.Postage, want)
		}
	}
	if m.CreatedAt != created || !m.CutOff.Equal(cutOff) || m.BatchID != "B-20260302-1" {
		t.Errorf("manifest header: %s %s %s", m.BatchID, m.CutOff, m.CreatedAt)
	}

	// The manifest reads back and is consistent (ParseManifest checks
	// page ranges, codes and totals).
	data, err := m.JSON()
	if err != nil {
		t.Fatal(err)
	}
	back, err := printfile.ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := back.JSON(); !bytes.Equal(again, data) {
		t.Error("manifest JSON does not survive a round trip")
	}

	r := mustRenderer(t)
	var allCodes []string
	refs := references(envs)
	for _, f := range m.Files {
		key := "batches/B-20260302-1/" + f.Name
		info, err := st.Stat(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		if info.Size != f.Size || info.SHA256 != f.SHA256 {
			t.Errorf("%s: stored %d bytes %s, manifest says %d %s", f.Name, info.Size, info.SHA256, f.Size, f.SHA256)
		}
		path := fetch(t, st, key)

		if out := pdftest.Run(t, "qpdf", "--check", path); !strings.Contains(out, "No syntax or stream encoding errors found") {
			t.Errorf("%s: qpdf --check:\n%s", f.Name, out)
		}
		pdftest.CheckFonts(t, f.Name, pdftest.Run(t, "pdffonts", path))
		info2 := pdftest.Run(t, "pdfinfo", path)
		if !regexp.MustCompile(`(?m)^Pages:\s+` + strconv.Itoa(f.Pages) + `$`).MatchString(info2) {
			t.Errorf("%s: pdfinfo disagrees with the manifest's %d pages:\n%s", f.Name, f.Pages, info2)
		}

		// Each envelope's certificate references appear in order, and
		// only in its own file.
		text := pdftest.Run(t, "pdftotext", "-layout", path, "-")
		pos := 0
		for _, e := range m.Envelopes {
			for _, ref := range refs[e.EnvelopeID] {
				i := strings.Index(text, ref)
				switch {
				case e.File != f.Name && i >= 0:
					t.Errorf("%s holds %s of envelope %d, which the manifest puts in %s", f.Name, ref, e.Sequence, e.File)
				case e.File == f.Name && i < pos:
					t.Errorf("%s: reference %s of envelope %d missing or out of order", f.Name, ref, e.Sequence)
				case e.File == f.Name:
					pos = i
				}
			}
		}

		codes := printfiletest.ReadCodes(t, path, r.Templates())
		if len(codes) != f.Pages {
			t.Fatalf("%s: read %d pages, want %d", f.Name, len(codes), f.Pages)
		}
		if err := printfile.VerifyFile(m, f.Name, codes); err != nil {
			t.Errorf("decoded codes: %v", err)
		}
		// Envelopes never split: each file starts at page 1 of an
		// envelope and ends at page n of n.
		first, err1 := printfile.ParseCode(codes[0])
		last, err2 := printfile.ParseCode(codes[len(codes)-1])
		if err1 != nil || err2 != nil || first.Page != 1 || last.Page != last.Pages {
			t.Errorf("%s begins with %q and ends with %q: an envelope is split", f.Name, codes[0], codes[len(codes)-1])
		}
		allCodes = append(allCodes, codes...)
	}
	if err := printfile.Verify(m, allCodes); err != nil {
		t.Error(err)
	}
	if m.Totals.Pages != len(allCodes) || m.Totals.Envelopes != len(envs) || m.Totals.Sheets != len(allCodes) {
		t.Errorf("totals %+v, but %d pages were printed", m.Totals, len(allCodes))
	}
}

// references lists each envelope's certificate references.
func references(envs []printfile.Envelope) map[string][]string {
	refs := map[string][]string{}
	for _, e := range envs {
		for _, c := range e.Request.Certificates {
			refs[e.ID] = append(refs[e.ID], c.Reference)
		}
	}
	return refs
}

// TestManifestHasNoPersonalData looks for every name, address line, full
// postcode, date and place of every request in the manifest's JSON and CSV.
func TestManifestHasNoPersonalData(t *testing.T) {
	envs := makeBatch(t, 9)
	m, err := newAssembler(t, newStore(t), 0).Assemble(t.Context(), batch("B1"), list(envs))
	if err != nil {
		t.Fatal(err)
	}
	js, err := m.JSON()
	if err != nil {
		t.Fatal(err)
	}
	csv, err := m.CSV()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range envs {
		r := e.Request
		personal := append([]string{r.Recipient.Name}, r.Recipient.Address...)
		for _, c := range r.Certificates {
			personal = append(personal, c.ParentName, c.OtherParentName, c.BabyName, c.PlaceOfLoss, c.DateOfLoss, c.Reference)
		}
		for _, p := range personal {
			if p == "" {
				continue
			}
			for name, out := range map[string][]byte{"JSON": js, "CSV": csv} {
				if bytes.Contains(out, []byte(p)) || bytes.Contains(out, []byte(strconv.Quote(p)[1:len(strconv.Quote(p))-1])) {
					t.Errorf("manifest %s holds %q of envelope %s", name, p, e.ID)
				}
			}
		}
	}
}

// TestAssembleIsDeterministic assembles the same batch twice: the files
// and the manifest are byte for byte the same.
func TestAssembleIsDeterministic(t *testing.T) {
	envs := makeBatch(t, 5)
	var files [2][][]byte
	var manifests [2][]byte
	for run := range 2 {
		st := newStore(t)
		m, err := newAssembler(t, st, 2).Assemble(t.Context(), batch("B1"), list(envs))
		if err != nil {
			t.Fatal(err)
		}
		if manifests[run], err = m.JSON(); err != nil {
			t.Fatal(err)
		}
		for _, f := range m.Files {
			data, err := st.Get(t.Context(), "batches/B1/"+f.Name)
			if err != nil {
				t.Fatal(err)
			}
			files[run] = append(files[run], data)
		}
	}
	if !bytes.Equal(manifests[0], manifests[1]) {
		t.Error("the manifests differ")
	}
	if len(files[0]) != 3 || len(files[0]) != len(files[1]) {
		t.Fatalf("%d and %d files, want 3", len(files[0]), len(files[1]))
	}
	for i := range files[0] {
		if !bytes.Equal(files[0][i], files[1][i]) {
			t.Errorf("file %d differs between runs", i+1)
		}
	}
}

// TestAssembleRefusesMismatchedEnvelopes: an envelope whose stored request
// no longer draws to exactly the documents its record describes is
// refused, by sequence number and id, and no manifest is made.
func TestAssembleRefusesMismatchedEnvelopes(t *testing.T) {
	cases := map[string]struct {
		change func(e *printfile.Envelope)
		reason string
	}{
		"document hash": {func(e *printfile.Envelope) {
			e.Record.Documents[1].SHA256 = strings.Repeat("0", 64)
		}, "document 2 draws to"},
		"document size": {func(e *printfile.Envelope) { e.Record.Documents[0].Size++ }, "document 1 draws to"},
		"page count": {func(e *printfile.Envelope) {
			e.Record.Documents[0].Pages++
			e.Record.Documents[0].Sheets++
		}, "document 1 has"},
		"template version": {func(e *printfile.Envelope) {
			e.Record.Documents[1].TemplateVersion = 7
		}, "no longer lays out"},
		"template id": {func(e *printfile.Envelope) {
			e.Record.Documents[0].TemplateID = "baby-loss-certificate"
		}, "no longer lays out"},
		"request changed": {func(e *printfile.Envelope) {
			r := *e.Request
			r.Recipient.Name = "Someone Else"
			e.Request = &r
		}, "content hash differs"},
		"request for another envelope": {func(e *printfile.Envelope) {
			r := *e.Request
			r.EnvelopeID = "E-other"
			e.Request = &r
		}, "the record is for"},
		"missing certificate": {func(e *printfile.Envelope) {
			e.Record.Documents = e.Record.Documents[:1]
		}, "lists 1 documents"},
	}
	envs := makeBatch(t, 4)
	before, _ := json.Marshal(envs)
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			bad := make([]printfile.Envelope, len(envs))
			copy(bad, envs)
			e := bad[2]
			e.Record.Documents = append(e.Record.Documents[:0:0], e.Record.Documents...)
			c.change(&e)
			bad[2] = e
			m, err := newAssembler(t, newStore(t), 0).Assemble(t.Context(), batch("B1"), list(bad))
			var refused *printfile.RefusedError
			if !errors.As(err, &refused) || !errors.Is(err, printfile.ErrRefused) {
				t.Fatalf("got manifest %v and error %v, want a refusal", m != nil, err)
			}
			if refused.Sequence != 3 || refused.EnvelopeID != envs[2].ID || !strings.Contains(refused.Reason, c.reason) {
				t.Errorf("refused %d %s: %q; want envelope 3 %s, reason containing %q", refused.Sequence, refused.EnvelopeID, refused.Reason, envs[2].ID, c.reason)
			}
			if m != nil {
				t.Error("a manifest came back with the error")
			}
		})
	}
	// Pinning template versions did not change the caller's envelopes.
	if after, _ := json.Marshal(envs); !bytes.Equal(before, after) {
		t.Error("Assemble changed the envelopes it was given")
	}
}

// brokenRenderer fails to draw certificates, with an error quoting text.
type brokenRenderer struct{ *renderer.Renderer }

func (r brokenRenderer) WritePDF(buf *bytes.Buffer, d *display.Document) error {
	if d.Kind == renderer.KindCertificate {
		return errors.New("pdf: cannot draw \"Mrs A Smith\"")
	}
	return r.Renderer.WritePDF(buf, d)
}

// TestAssembleRefusesWhatNoLongerDraws: an envelope that drew when it was
// rendered but fails now is refused, without quoting the renderer's error.
func TestAssembleRefusesWhatNoLongerDraws(t *testing.T) {
	envs := makeBatch(t, 2)
	a, err := printfile.New(printfile.Config{Renderer: brokenRenderer{mustRenderer(t)}, Store: newStore(t), TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Assemble(t.Context(), batch("B1"), list(envs))
	var refused *printfile.RefusedError
	if !errors.As(err, &refused) || refused.Sequence != 1 || !strings.Contains(refused.Reason, "document 2 no longer draws") {
		t.Fatalf("got %v, want envelope 1 refused", err)
	}
	if strings.Contains(err.Error(), "Smith") {
		t.Errorf("the refusal quotes the renderer's error: %v", err)
	}
}

// TestAssembleRefusesBadInput: mistakes in what the batcher hands over
// stop the batch before anything could be printed twice or out of order.
func TestAssembleRefusesBadInput(t *testing.T) {
	envs := makeBatch(t, 3)
	dup := []printfile.Envelope{envs[0], envs[1], envs[0]}
	dup[2].Sequence = 3
	backwards := []printfile.Envelope{envs[1], envs[0]}
	failing := func(yield func(printfile.Envelope, error) bool) {
		if yield(envs[0], nil) {
			yield(printfile.Envelope{}, errors.New("store unreachable"))
		}
	}
	cases := map[string]struct {
		b    printfile.Batch
		list iter.Seq2[printfile.Envelope, error]
		want string
	}{
		"duplicate envelope":       {batch("B1"), list(dup), "listed twice"},
		"sequence backwards":       {batch("B1"), list(backwards), "sequence numbers must increase"},
		"list fails":               {batch("B1"), failing, "store unreachable"},
		"empty":                    {batch("B1"), list(nil), "no envelopes"},
		"bad batch id":             {batch("B|1"), list(envs), "batch id"},
		"long batch id":            {batch(strings.Repeat("B", 41)), list(envs), "batch id"},
		"prefix without /":         {printfile.Batch{ID: "B1", CutOff: cutOff, KeyPrefix: "batches/B1"}, list(envs), "key prefix"},
		"no cut-off":               {printfile.Batch{ID: "B1", KeyPrefix: "batches/B1/"}, list(envs), "cut-off"},
		"sequence from zero":       {batch("B1"), list([]printfile.Envelope{{Sequence: 0, ID: "E-0001", Request: envs[0].Request}}), "sequence numbers"},
		"envelope without request": {batch("B1"), list([]printfile.Envelope{{Sequence: 1, ID: "E-0001"}}), "no request"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			m, err := newAssembler(t, newStore(t), 0).Assemble(t.Context(), c.b, c.list)
			if err == nil || !strings.Contains(err.Error(), c.want) || m != nil {
				t.Errorf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// TestAssembleStoresNoPartialFile: when the list fails after three
// envelopes, the full first file (two envelopes) may be stored, but no
// file is made of the envelope read before the failure.
func TestAssembleStoresNoPartialFile(t *testing.T) {
	envs := makeBatch(t, 3)
	failing := func(yield func(printfile.Envelope, error) bool) {
		for _, e := range envs {
			if !yield(e, nil) {
				return
			}
		}
		yield(printfile.Envelope{}, errors.New("store unreachable"))
	}
	st := newStore(t)
	_, err := newAssembler(t, st, 2).Assemble(t.Context(), batch("B1"), failing)
	if err == nil || !strings.Contains(err.Error(), "after envelope 3: store unreachable") {
		t.Fatalf("got %v, want the list's error", err)
	}
	var keys []string
	for info, err := range st.List(t.Context(), "batches/") {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, info.Key)
	}
	if slices.Contains(keys, "batches/B1/print-0002.pdf") {
		t.Errorf("a partial file was stored: %q", keys)
	}
}

// TestAssembleStopsWhenCancelled cancels the context from inside the list,
// after the second envelope.
func TestAssembleStopsWhenCancelled(t *testing.T) {
	envs := makeBatch(t, 6)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	read := 0
	cancelling := func(yield func(printfile.Envelope, error) bool) {
		for _, e := range envs {
			read++
			if read == 3 {
				cancel()
			}
			if !yield(e, nil) {
				return
			}
		}
	}
	m, err := newAssembler(t, newStore(t), 0).Assemble(ctx, batch("B1"), cancelling)
	if !errors.Is(err, context.Canceled) || m != nil {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if read > 4 {
		t.Errorf("read %d envelopes after the context ended at the third", read)
	}
}

// countingStore records how many envelopes the list had yielded whenever
// a file is stored, and checks every upload against its declared size and
// hash.
type countingStore struct {
	storage.Store
	mu      sync.Mutex
	yielded *int
	at      []int
}

func (s *countingStore) PutStream(ctx context.Context, key string, r io.Reader, size int64, sum string) (storage.Info, error) {
	s.mu.Lock()
	s.at = append(s.at, *s.yielded)
	s.mu.Unlock()
	return s.Store.PutStream(ctx, key, r, size, sum)
}

// TestAssembleStreams checks that Assemble reads only a bounded number of
// envelopes ahead of the file it is writing, which is what keeps memory
// flat however large the batch.
func TestAssembleStreams(t *testing.T) {
	envs := makeBatch(t, 40)
	var mu sync.Mutex
	yielded := 0
	counting := func(yield func(printfile.Envelope, error) bool) {
		for _, e := range envs {
			mu.Lock()
			yielded++
			mu.Unlock()
			if !yield(e, nil) {
				return
			}
		}
	}
	st := &countingStore{Store: newStore(t), yielded: &yielded}
	a, err := printfile.New(printfile.Config{Renderer: mustRenderer(t), Store: st, Now: clock, EnvelopesPerFile: 5, Workers: 2, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.Assemble(t.Context(), batch("B1"), counting)
	if err != nil {
		t.Fatal(err)
	}
	// 14 first-class envelopes in files of 5, 5 and 4, then 26
	// second-class ones in files of 5 and one of 1.
	if len(m.Files) != 9 || len(st.at) != 9 {
		t.Fatalf("%d files, %d stored; want 9", len(m.Files), len(st.at))
	}
	// File k is stored once its last envelope is in; the list may run
	// ahead by the channels (2 × 4 × workers), the workers' envelopes and
	// the one being handed over: 19 more.
	for k, n := range st.at {
		if limit := m.Files[k].LastSequence + 19; n > limit {
			t.Errorf("file %d was stored after %d envelopes had been read; at most %d should have been", k+1, n, limit)
		}
	}
	if st.at[0] >= len(envs) {
		t.Error("the whole batch was read before the first file was stored")
	}
}

// failingStore refuses the second print file.
type failingStore struct {
	storage.Store
	calls int
}

func (s *failingStore) PutStream(ctx context.Context, key string, r io.Reader, size int64, sum string) (storage.Info, error) {
	s.calls++
	if s.calls == 2 {
		return storage.Info{}, errors.New("disk full")
	}
	return s.Store.PutStream(ctx, key, r, size, sum)
}

// TestAssembleStoreFails: a file that cannot be stored fails the batch,
// and its temporary file is removed all the same.
func TestAssembleStoreFails(t *testing.T) {
	envs := makeBatch(t, 5)
	tmp := t.TempDir()
	m, err := newAssemblerIn(t, &failingStore{Store: newStore(t)}, 2, tmp).Assemble(t.Context(), batch("B1"), list(envs))
	if err == nil || !strings.Contains(err.Error(), "storing print-0002.pdf: disk full") || m != nil {
		t.Errorf("got %v, want the second file's storage error", err)
	}
	assertEmpty(t, tmp)
}

func TestNewRefusesBadConfig(t *testing.T) {
	_, err := printfile.New(printfile.Config{EnvelopesPerFile: -1})
	for _, want := range []string{"Renderer is required", "Store is required", "cannot be negative"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want it to say %q", err, want)
		}
	}
}

// BenchmarkAssemble reports the cost of one envelope (a letter and one or
// two certificates, from the samples) through Assemble to a filesystem
// store. The 10,000-envelope figures come from internal/printbench.
func BenchmarkAssemble(b *testing.B) {
	envs := makeBatch(b, 100)
	a := newAssembler(b, newStore(b), 0)
	b.ResetTimer()
	for b.Loop() {
		if _, err := a.Assemble(b.Context(), batch("B1"), list(envs)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(envs)), "µs/envelope")
}

// TestAssembleOneClassPerFile: a file holds envelopes of one postage
// class, a new file starts where the class changes, the size limit
// applies within each class, and the manifest's files and totals say so.
func TestAssembleOneClassPerFile(t *testing.T) {
	envs := makeBatch(t, 7) // 3 first class, then 4 second class
	m, err := newAssembler(t, newStore(t), 2).Assemble(t.Context(), batch("B1"), list(envs))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		postage     string
		first, last int
	}{{"first", 1, 2}, {"first", 3, 3}, {"second", 4, 5}, {"second", 6, 7}}
	if len(m.Files) != len(want) {
		t.Fatalf("%d files, want %d: %+v", len(m.Files), len(want), m.Files)
	}
	byClass := map[string]printfile.Count{}
	for i, w := range want {
		f := m.Files[i]
		if f.Postage != w.postage || f.FirstSequence != w.first || f.LastSequence != w.last {
			t.Errorf("%s: %s class, envelopes %d to %d; want %s, %d to %d", f.Name, f.Postage, f.FirstSequence, f.LastSequence, w.postage, w.first, w.last)
		}
		var got printfile.Count
		for _, e := range m.Envelopes {
			if e.File != f.Name {
				continue
			}
			if e.Postage != f.Postage {
				t.Errorf("%s, a %s-class file, holds envelope %d of %s class", f.Name, f.Postage, e.Sequence, e.Postage)
			}
			got.Envelopes++
			got.Pages += len(e.Pages)
			got.Sheets += e.Sheets
		}
		if got != (printfile.Count{Envelopes: f.Envelopes, Pages: f.Pages, Sheets: f.Sheets}) {
			t.Errorf("%s says %d envelopes, %d pages, %d sheets; its envelopes add up to %+v", f.Name, f.Envelopes, f.Pages, f.Sheets, got)
		}
		c := byClass[f.Postage]
		c.Envelopes += got.Envelopes
		c.Pages += got.Pages
		c.Sheets += got.Sheets
		byClass[f.Postage] = c
	}
	for class, c := range byClass {
		if m.Totals.ByPostage[class] != c {
			t.Errorf("%s-class totals %+v; the files add up to %+v", class, m.Totals.ByPostage[class], c)
		}
	}
}

// TestAssembleRefusesClassesOutOfOrder: the list must give first-class
// envelopes before second-class ones; a first-class envelope after a
// second-class one would need a second first-class run, so it fails the
// batch and no file is stored.
func TestAssembleRefusesClassesOutOfOrder(t *testing.T) {
	envs := makeBatch(t, 4) // E-0001 and E-0002 first class
	envs[0], envs[2] = envs[2], envs[0]
	for i := range envs {
		envs[i].Sequence = i + 1
	}
	st := newStore(t)
	_, err := newAssembler(t, st, 0).Assemble(t.Context(), batch("B1"), list(envs))
	if err == nil || !strings.Contains(err.Error(), "envelope 2 is first class after second-class envelopes") {
		t.Fatalf("got %v, want the envelope out of order named", err)
	}
	if errors.Is(err, printfile.ErrRefused) {
		t.Error("the order is the caller's mistake, not the envelope's: it is not a refusal")
	}
	for info, err := range st.List(t.Context(), "batches/") {
		if err != nil {
			t.Fatal(err)
		}
		t.Errorf("%s was stored", info.Key)
	}
}
