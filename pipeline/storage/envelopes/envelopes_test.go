package envelopes_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/fsstore"
	"github.com/quire-print/quire/renderer/rendered"
)

// The tests run on any storage.Store; envelopes_integration_test.go runs
// them on MinIO as well.
func TestFS(t *testing.T) {
	runAll(t, func(t *testing.T) storage.Store {
		s, err := fsstore.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func runAll(t *testing.T, newStore func(t *testing.T) storage.Store) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s storage.Store)
	}{
		{"Commit", testCommit},
		{"Redelivery", testRedelivery},
		{"SkipLookup", testSkipLookup},
		{"Conflict", testConflict},
		{"CompetingWorkers", testCompetingWorkers},
		{"CompetingConflicts", testCompetingConflicts},
		{"RetryAfterFailure", testRetryAfterFailure},
		{"LostAnswer", testLostAnswer},
		{"Verify", testVerify},
		{"Cancel", testCancel},
		{"CancelRace", testCancelRace},
		{"ForgetCancellationReason", testForgetCancellationReason},
		{"Lookup", testLookup},
		{"CancelFirst", testCancelFirst},
		{"RequestsPerEnvelope", testRequestsPerEnvelope},
		{"Invalid", testInvalid},
		{"FilesOfTheirOwn", testFilesOfTheirOwn},
		{"PartsOutsideTheBundle", testPartsOutsideTheBundle},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

var t0 = time.Date(2026, 3, 2, 17, 4, 5, 0, time.UTC)

// requestJSON stands for a normalised request: it holds personal data that
// must never reach a record or a marker.
func requestJSON(id, parent string) []byte {
	return fmt.Appendf(nil, `{"schemaVersion":1,"envelopeId":%q,"recipient":{"name":%q,"address":["1 High Street","Canterbury","CT1 1AA"]},`+
		`"certificates":[{"reference":"R1","dateOfIssue":"2026-03-01","parentName":%q,"babyName":"Robin","dateOfLoss":"2025-11"}]}`, id, parent, parent)
}

func hash(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// renderedEnv builds an envelope for id; variant changes the PDFs, as a
// different template version would, and parent changes the request.
func renderedEnv(id, parent string, variant int, at time.Time) envelopes.Rendered {
	req := requestJSON(id, parent)
	return envelopes.Rendered{
		EnvelopeID:  id,
		RequestHash: hash(req),
		Request:     req,
		RenderedAt:  at,
		Documents: []rendered.Document{
			{Kind: "letter", Name: "letter.pdf", TemplateID: "carriage-letter", TemplateVersion: 1 + variant, Pages: 2, Sheets: 1,
				PDF: fmt.Appendf(nil, "%%PDF letter to %s v%d", parent, variant)},
			{Kind: "certificate", Name: "certificate-1.pdf", TemplateID: "baby-loss-certificate", TemplateVersion: 3, Pages: 1, Sheets: 1,
				PDF: fmt.Appendf(nil, "%%PDF certificate for %s v%d", parent, variant)},
		},
	}
}

func keys(t *testing.T, s storage.Store, prefix string) []string {
	t.Helper()
	var ks []string
	for info, err := range s.List(t.Context(), prefix) {
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, info.Key)
	}
	return ks
}

// checkCommitted checks the invariant the batcher relies on: the record
// exists, every file it names is stored as recorded, no other file is
// left, and the envelope is in the ready index.
func checkCommitted(t *testing.T, s storage.Store, rec envelopes.Record) {
	t.Helper()
	es := envelopes.New(s)
	ctx := t.Context()
	stored, err := es.Record(ctx, rec.EnvelopeID)
	if err != nil {
		t.Fatalf("Record: %v", err)
	}
	if !recordsEqual(stored, rec) {
		t.Errorf("stored record %+v, want %+v", stored, rec)
	}
	if err := es.Verify(ctx, stored); err != nil {
		t.Errorf("Verify: %v", err)
	}
	var want []string
	for _, f := range stored.Files() {
		want = append(want, f.Key)
	}
	slices.Sort(want)
	if got := keys(t, s, envelopes.EnvelopesPrefix+rec.EnvelopeID+"/files/"); !slices.Equal(got, want) {
		t.Errorf("files stored %q, want exactly the record's %q", got, want)
	}
	found := false
	for id, err := range es.Ready(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		found = found || id == rec.EnvelopeID
	}
	if !found {
		t.Errorf("%s is not in the ready index", rec.EnvelopeID)
	}
}

func recordsEqual(a, b envelopes.Record) bool {
	return a.SchemaVersion == b.SchemaVersion && (a.Bundle == nil) == (b.Bundle == nil) && (a.Bundle == nil || *a.Bundle == *b.Bundle) &&
		a.EnvelopeID == b.EnvelopeID && a.RequestHash == b.RequestHash && a.Request == b.Request &&
		slices.Equal(a.Documents, b.Documents) && a.Status == b.Status && a.RenderedAt.Equal(b.RenderedAt)
}

func testCommit(t *testing.T, s storage.Store) {
	ctx := t.Context()
	es := envelopes.New(s)
	r := renderedEnv("E-1", "Alex Smith", 0, t0)
	rec, created, err := es.Commit(ctx, r)
	if err != nil || !created {
		t.Fatalf("Commit = %v, %v; want created", created, err)
	}
	if rec.EnvelopeID != "E-1" || rec.RequestHash != r.RequestHash || rec.Status != envelopes.StatusRendered ||
		!rec.RenderedAt.Equal(t0) || len(rec.Documents) != 2 || rec.SchemaVersion != envelopes.RecordVersion {
		t.Errorf("record %+v", rec)
	}
	// One bundle: the request, then the documents, back to back.
	bundle := append(append(append([]byte(nil), r.Request...), r.Documents[0].PDF...), r.Documents[1].PDF...)
	if rec.Bundle == nil || rec.Bundle.SHA256 != hash(bundle) || rec.Bundle.Size != int64(len(bundle)) ||
		rec.Bundle.Key != envelopes.EnvelopesPrefix+"E-1/files/"+
			hash([]byte(hash(r.Request)+"\n"+hash(r.Documents[0].PDF)+"\n"+hash(r.Documents[1].PDF)+"\n"))+"/"+envelopes.BundleName {
		t.Fatalf("bundle %+v", rec.Bundle)
	}
	if got, err := s.Get(ctx, rec.Bundle.Key); err != nil || string(got) != string(bundle) {
		t.Errorf("bundle stored as %q, %v", got, err)
	}
	if f := rec.Request; f.Key != rec.Bundle.Key || f.Offset != 0 || f.Size != int64(len(r.Request)) || f.SHA256 != hash(r.Request) {
		t.Errorf("request %+v", f)
	}
	for i, d := range rec.Documents {
		in := r.Documents[i]
		if d.Kind != in.Kind || d.Name != in.Name || d.TemplateID != in.TemplateID || d.TemplateVersion != in.TemplateVersion ||
			d.Pages != in.Pages || d.Sheets != in.Sheets || d.SHA256 != hash(in.PDF) || d.Size != int64(len(in.PDF)) {
			t.Errorf("document %d = %+v, from %+v", i, d, in)
		}
		got, err := es.Read(ctx, d.File)
		if err != nil || string(got) != string(in.PDF) {
			t.Errorf("document %d reads back as %q, %v", i, got, err)
		}
	}
	if got, err := es.Read(ctx, rec.Request); err != nil || string(got) != string(r.Request) {
		t.Errorf("request reads back as %q, %v", got, err)
	}
	checkCommitted(t, s, rec)

	// Personal data stays in the files: the record and the ready entry hold
	// none of it.
	for _, key := range []string{envelopes.RecordKey("E-1"), envelopes.ReadyKey("E-1")} {
		data, err := s.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		for _, personal := range []string{"Alex", "Smith", "High Street", "Canterbury", "CT1", "Robin", "2025-11"} {
			if strings.Contains(string(data), personal) {
				t.Errorf("%s holds personal data %q:\n%s", key, personal, data)
			}
		}
	}
	// Every personal object is under envelopes/.
	for _, k := range keys(t, s, "") {
		if !strings.HasPrefix(k, envelopes.EnvelopesPrefix) && !strings.HasPrefix(k, envelopes.ReadyPrefix) {
			t.Errorf("object %q outside the layout", k)
		}
	}
}

// A redelivered envelope is answered from the record: same outcome,
// nothing written, counted once.
func testRedelivery(t *testing.T, s storage.Store) {
	ctx := t.Context()
	es := envelopes.New(s)
	first, created, err := es.Commit(ctx, renderedEnv("E-2", "Alex Smith", 0, t0))
	if err != nil || !created {
		t.Fatalf("first Commit = %v, %v", created, err)
	}
	before := keys(t, s, "")
	// Rendered again later, by a newer template: still the first record.
	again, created, err := es.Commit(ctx, renderedEnv("E-2", "Alex Smith", 1, t0.Add(time.Hour)))
	if err != nil || created {
		t.Fatalf("second Commit = %v, %v; want not created", created, err)
	}
	if !recordsEqual(again, first) {
		t.Errorf("second Commit returned %+v, want the first record %+v", again, first)
	}
	if after := keys(t, s, ""); !slices.Equal(after, before) {
		t.Errorf("a redelivery changed the store: %q, was %q", after, before)
	}
	checkCommitted(t, s, first)
}

// readCounter counts reads, to show which commits look before writing.
type readCounter struct {
	storage.Store
	gets atomic.Int64
}

func (r *readCounter) Get(ctx context.Context, key string) ([]byte, error) {
	r.gets.Add(1)
	return r.Store.Get(ctx, key)
}

// A commit told that its caller has looked reads nothing on the way to
// its commit point, and still answers a record committed meanwhile: the
// same request as a duplicate, leaving only the first commit's files, and
// a different one as a conflict.
func testSkipLookup(t *testing.T, s storage.Store) {
	ctx := t.Context()
	rc := &readCounter{Store: s}
	es := envelopes.New(rc)
	fresh := renderedEnv("E-9", "Alex Smith", 0, t0)
	fresh.SkipLookup = true
	first, created, err := es.Commit(ctx, fresh)
	if err != nil || !created {
		t.Fatalf("first Commit = %v, %v", created, err)
	}
	if n := rc.gets.Load(); n != 0 {
		t.Errorf("a commit skipping the look-up read storage %d times, want 0", n)
	}
	before := keys(t, s, "")
	late := renderedEnv("E-9", "Alex Smith", 1, t0.Add(time.Minute))
	late.SkipLookup = true
	again, created, err := es.Commit(ctx, late)
	if err != nil || created || !recordsEqual(again, first) {
		t.Fatalf("second Commit = %+v, %v, %v; want the first record, not created", again, created, err)
	}
	if after := keys(t, s, ""); !slices.Equal(after, before) {
		t.Errorf("the losing commit left %q, want %q", after, before)
	}
	other := renderedEnv("E-9", "Sam Jones", 0, t0)
	other.SkipLookup = true
	if _, _, err := es.Commit(ctx, other); !errors.Is(err, envelopes.ErrConflict) {
		t.Errorf("Commit of another request = %v, want ErrConflict", err)
	}
	checkCommitted(t, s, first)
}

func testConflict(t *testing.T, s storage.Store) {
	ctx := t.Context()
	es := envelopes.New(s)
	first, _, err := es.Commit(ctx, renderedEnv("E-3", "Alex Smith", 0, t0))
	if err != nil {
		t.Fatal(err)
	}
	_, created, err := es.Commit(ctx, renderedEnv("E-3", "Sam Jones", 0, t0))
	if !errors.Is(err, envelopes.ErrConflict) || created {
		t.Fatalf("Commit of other content under the same id = %v, %v; want ErrConflict", created, err)
	}
	if strings.Contains(err.Error(), "Sam") {
		t.Errorf("the conflict error carries personal data: %v", err)
	}
	checkCommitted(t, s, first)
}

// Workers racing to commit one envelope, each with its own rendering (as
// during a rolling deploy with a new template version): exactly one
// commits, the others get its record, and only its files remain.
func testCompetingWorkers(t *testing.T, s storage.Store) {
	const n = 8
	es := envelopes.New(s)
	type result struct {
		rec     envelopes.Record
		created bool
		err     error
	}
	results := make([]result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			r := renderedEnv("E-4", "Alex Smith", i, t0.Add(time.Duration(i)*time.Second))
			rec, created, err := es.Commit(t.Context(), r)
			results[i] = result{rec, created, err}
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("worker %d: %v", i, r.err)
		}
		if r.created {
			if winner >= 0 {
				t.Fatalf("workers %d and %d both committed", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatal("no worker committed")
	}
	for i, r := range results {
		if !recordsEqual(r.rec, results[winner].rec) {
			t.Errorf("worker %d got record %+v, want the winner's", i, r.rec)
		}
	}
	checkCommitted(t, s, results[winner].rec)
}

// Racing workers with different requests under one id: one commits, the
// ones with its request see a duplicate, the others a conflict.
func testCompetingConflicts(t *testing.T, s storage.Store) {
	const n = 8
	es := envelopes.New(s)
	parents := []string{"Alex Smith", "Sam Jones"}
	errs := make([]error, n)
	recs := make([]envelopes.Record, n)
	var created atomic.Int32
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			rec, c, err := es.Commit(t.Context(), renderedEnv("E-5", parents[i%2], 0, t0))
			recs[i], errs[i] = rec, err
			if c {
				created.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if created.Load() != 1 {
		t.Fatalf("%d commits, want 1", created.Load())
	}
	stored, err := es.Record(t.Context(), "E-5")
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		same := renderedEnv("E-5", parents[i%2], 0, t0).RequestHash == stored.RequestHash
		switch {
		case same && errs[i] != nil:
			t.Errorf("worker %d with the committed request: %v", i, errs[i])
		case !same && !errors.Is(errs[i], envelopes.ErrConflict):
			t.Errorf("worker %d with another request: %v, want ErrConflict", i, errs[i])
		}
	}
	checkCommitted(t, s, stored)
}

// faultyStore fails chosen operations, standing for a store that went away
// at the worst moment.
type faultyStore struct {
	storage.Store
	failCreate atomic.Int32 // Creates still to fail before writing
	lostAnswer atomic.Bool  // the next Create writes, then reports ErrExists
}

var errInjected = errors.New("injected failure")

func (f *faultyStore) Create(ctx context.Context, key string, data []byte) (storage.Info, error) {
	if f.failCreate.Add(-1) >= 0 {
		return storage.Info{}, errInjected
	}
	if f.lostAnswer.CompareAndSwap(true, false) {
		if _, err := f.Store.Create(ctx, key, data); err != nil {
			return storage.Info{}, err
		}
		// The answer was lost and the retry found the object.
		return storage.Info{}, fmt.Errorf("retried: %w", storage.ErrExists)
	}
	return f.Store.Create(ctx, key, data)
}

// A commit that fails at the commit point leaves no record; the next
// attempt (the redelivery) commits.
func testRetryAfterFailure(t *testing.T, s storage.Store) {
	f := &faultyStore{Store: s}
	f.failCreate.Store(1)
	es := envelopes.New(f)
	if _, _, err := es.Commit(t.Context(), renderedEnv("E-6", "Alex Smith", 0, t0)); !errors.Is(err, errInjected) {
		t.Fatalf("Commit = %v, want the injected failure", err)
	}
	if _, err := es.Record(t.Context(), "E-6"); !errors.Is(err, envelopes.ErrNotFound) {
		t.Fatalf("Record after a failed commit = %v, want ErrNotFound", err)
	}
	rec, created, err := es.Commit(t.Context(), renderedEnv("E-6", "Alex Smith", 0, t0.Add(time.Minute)))
	if err != nil || !created {
		t.Fatalf("retry = %v, %v; want created", created, err)
	}
	checkCommitted(t, s, rec)
}

// A Create that succeeded but whose answer was lost (and so was retried
// into ErrExists) leaves the envelope committed, complete, and answered as
// a duplicate: possibly uncounted, never counted twice.
func testLostAnswer(t *testing.T, s storage.Store) {
	f := &faultyStore{Store: s}
	f.lostAnswer.Store(true)
	r := renderedEnv("E-7", "Alex Smith", 0, t0)
	rec, created, err := envelopes.New(f).Commit(t.Context(), r)
	if err != nil || created {
		t.Fatalf("Commit = %v, %v; want a duplicate", created, err)
	}
	if !rec.RenderedAt.Equal(r.RenderedAt) {
		t.Errorf("record %+v is not this commit's", rec)
	}
	checkCommitted(t, s, rec)
}

func testVerify(t *testing.T, s storage.Store) {
	ctx := t.Context()
	es := envelopes.New(s)
	rec, _, err := es.Commit(ctx, renderedEnv("E-8", "Alex Smith", 0, t0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, rec.Documents[1].Key, []byte("%PDF something else")); err != nil {
		t.Fatal(err)
	}
	if err := es.Verify(ctx, rec); !errors.Is(err, storage.ErrChecksum) {
		t.Errorf("Verify of a replaced file = %v, want ErrChecksum", err)
	}
	for _, f := range []envelopes.File{rec.Request, rec.Documents[1].File} {
		if _, err := es.Read(ctx, f); !errors.Is(err, storage.ErrChecksum) {
			t.Errorf("Read of a part of a replaced bundle = %v, want ErrChecksum", err)
		}
	}
	if err := s.Delete(ctx, rec.Request.Key); err != nil {
		t.Fatal(err)
	}
	if err := es.Verify(ctx, rec); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Verify of a missing file = %v, want ErrNotFound", err)
	}
	if _, err := es.Read(ctx, rec.Request); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Read of a deleted bundle's part = %v, want ErrNotFound", err)
	}
}

func testCancel(t *testing.T, s storage.Store) {
	ctx := t.Context()
	es := envelopes.New(s)
	if _, err := es.Cancellation(ctx, "E-9"); !errors.Is(err, envelopes.ErrNotFound) {
		t.Errorf("Cancellation before any = %v, want ErrNotFound", err)
	}
	// Cancelled before it was ever seen: remembered all the same.
	first := envelopes.Cancellation{EnvelopeID: "E-9", Code: "requested-by-parent", Reason: "Parent asked by phone", At: t0}
	got, won, err := es.Cancel(ctx, first)
	if err != nil || !won {
		t.Fatalf("Cancel = %v, %v", won, err)
	}
	if got.EnvelopeID != "E-9" || got.Code != first.Code || !got.At.Equal(t0) || got.SchemaVersion != envelopes.SchemaVersion {
		t.Errorf("Cancel returned %+v", got)
	}
	// The first cancellation wins.
	later := envelopes.Cancellation{EnvelopeID: "E-9", Code: "duplicate", At: t0.Add(time.Hour)}
	got, won, err = es.Cancel(ctx, later)
	if err != nil || won {
		t.Fatalf("second Cancel = %v, %v; want not won", won, err)
	}
	if got.Code != first.Code || !got.At.Equal(t0) {
		t.Errorf("second Cancel returned %+v, want the first", got)
	}
	stored, err := es.Cancellation(ctx, "E-9")
	if err != nil || stored.Code != first.Code || stored.Reason != first.Reason || !stored.At.Equal(t0) {
		t.Errorf("Cancellation = %+v, %v", stored, err)
	}
	// A cancellation does not commit anything.
	if _, err := es.Record(ctx, "E-9"); !errors.Is(err, envelopes.ErrNotFound) {
		t.Errorf("Record of a cancelled, never rendered envelope = %v", err)
	}
}

func testCancelRace(t *testing.T, s storage.Store) {
	const n = 8
	es := envelopes.New(s)
	var won atomic.Int32
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			c := envelopes.Cancellation{EnvelopeID: "E-10", Code: fmt.Sprintf("code-%d", i), At: t0}
			got, w, err := es.Cancel(t.Context(), c)
			if err != nil {
				t.Errorf("Cancel %d: %v", i, err)
				return
			}
			if w {
				won.Add(1)
				if got.Code != c.Code {
					t.Errorf("winner %d got %+v", i, got)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if won.Load() != 1 {
		t.Errorf("%d cancellations won, want 1", won.Load())
	}
}

func testInvalid(t *testing.T, s storage.Store) {
	ctx := t.Context()
	es := envelopes.New(s)
	for _, id := range []string{"", ".", "..", "a/b", "a b", strings.Repeat("x", 65)} {
		r := renderedEnv(id, "Alex Smith", 0, t0)
		if _, _, err := es.Commit(ctx, r); !errors.Is(err, envelopes.ErrInvalid) {
			t.Errorf("Commit(id %q) = %v, want ErrInvalid", id, err)
		}
		if _, err := es.Record(ctx, id); !errors.Is(err, envelopes.ErrInvalid) {
			t.Errorf("Record(%q) = %v, want ErrInvalid", id, err)
		}
		if _, _, err := es.Cancel(ctx, envelopes.Cancellation{EnvelopeID: id, Code: "x", At: t0}); !errors.Is(err, envelopes.ErrInvalid) {
			t.Errorf("Cancel(%q) = %v, want ErrInvalid", id, err)
		}
	}
	for name, change := range map[string]func(*envelopes.Rendered){
		"no hash":        func(r *envelopes.Rendered) { r.RequestHash = "" },
		"no request":     func(r *envelopes.Rendered) { r.Request = nil },
		"no time":        func(r *envelopes.Rendered) { r.RenderedAt = time.Time{} },
		"no documents":   func(r *envelopes.Rendered) { r.Documents = nil },
		"same name":      func(r *envelopes.Rendered) { r.Documents[1].Name = r.Documents[0].Name },
		"path in name":   func(r *envelopes.Rendered) { r.Documents[0].Name = "../x.pdf" },
		"request name":   func(r *envelopes.Rendered) { r.Documents[0].Name = "request.json" },
		"empty PDF":      func(r *envelopes.Rendered) { r.Documents[0].PDF = nil },
		"no template":    func(r *envelopes.Rendered) { r.Documents[0].TemplateID = "" },
		"no pages":       func(r *envelopes.Rendered) { r.Documents[0].Pages = 0 },
		"version 0":      func(r *envelopes.Rendered) { r.Documents[0].TemplateVersion = 0 },
		"upper-case sum": func(r *envelopes.Rendered) { r.RequestHash = strings.ToUpper(r.RequestHash) },
	} {
		r := renderedEnv("E-11", "Alex Smith", 0, t0)
		change(&r)
		if _, _, err := es.Commit(ctx, r); !errors.Is(err, envelopes.ErrInvalid) {
			t.Errorf("%s: Commit = %v, want ErrInvalid", name, err)
		}
	}
	for name, c := range map[string]envelopes.Cancellation{
		"no code":      {EnvelopeID: "E-11", At: t0},
		"bad code":     {EnvelopeID: "E-11", Code: "Parent Request", At: t0},
		"long reason":  {EnvelopeID: "E-11", Code: "x", Reason: strings.Repeat("r", envelopes.MaxReasonLen+1), At: t0},
		"multi-line":   {EnvelopeID: "E-11", Code: "x", Reason: "a\nb", At: t0},
		"no time":      {EnvelopeID: "E-11", Code: "x"},
		"invalid utf8": {EnvelopeID: "E-11", Code: "x", Reason: "\xff", At: t0},
	} {
		if _, _, err := es.Cancel(ctx, c); !errors.Is(err, envelopes.ErrInvalid) {
			t.Errorf("%s: Cancel = %v, want ErrInvalid", name, err)
		}
	}
	if ks := keys(t, s, ""); len(ks) != 0 {
		t.Errorf("invalid input stored %q", ks)
	}
}

func testForgetCancellationReason(t *testing.T, s storage.Store) {
	ctx := t.Context()
	es := envelopes.New(s)
	// Nothing to forget: no marker, then a marker without a reason.
	if err := es.ForgetCancellationReason(ctx, "E-1"); err != nil {
		t.Fatalf("without a cancellation: %v", err)
	}
	if _, err := es.Cancellation(ctx, "E-1"); !errors.Is(err, envelopes.ErrNotFound) {
		t.Errorf("forgetting created a marker: %v", err)
	}
	c := envelopes.Cancellation{EnvelopeID: "E-2", Code: "requested-by-parent", Reason: "Mrs Example rang on 0161 496 0000", At: t0}
	if _, _, err := es.Cancel(ctx, c); err != nil {
		t.Fatal(err)
	}
	for range 2 { // again changes nothing
		if err := es.ForgetCancellationReason(ctx, "E-2"); err != nil {
			t.Fatal(err)
		}
		got, err := es.Cancellation(ctx, "E-2")
		if err != nil || got.Reason != "" || got.Code != c.Code || !got.At.Equal(t0) {
			t.Errorf("after forgetting: %+v, %v; want the code and time without the reason", got, err)
		}
	}
	data, err := s.Get(ctx, envelopes.CancelKey("E-2"))
	if err != nil || strings.Contains(string(data), "Example") {
		t.Errorf("stored marker %s, %v still holds the reason", data, err)
	}
	// The marker still wins over a later cancellation.
	if got, won, err := es.Cancel(ctx, envelopes.Cancellation{EnvelopeID: "E-2", Code: "duplicate", At: t0}); err != nil || won || got.Code != c.Code {
		t.Errorf("Cancel after forgetting = %+v, %v, %v; want the first marker kept", got, won, err)
	}
}
