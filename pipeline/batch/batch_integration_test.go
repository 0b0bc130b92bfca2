//go:build integration

package batch_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quire-print/quire/internal/clock"
	"github.com/quire-print/quire/internal/pdftest"
	"github.com/quire-print/quire/internal/syncbuf"
	"github.com/quire-print/quire/internal/waitfor"
	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/batch"
	"github.com/quire-print/quire/pipeline/batch/batchtest"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/batch/printfile"
	"github.com/quire-print/quire/pipeline/batch/printfile/printfiletest"
	"github.com/quire-print/quire/pipeline/batch/retention"
	"github.com/quire-print/quire/pipeline/batch/schedule"
	"github.com/quire-print/quire/pipeline/broker"
	"github.com/quire-print/quire/pipeline/cancel"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/memqueue"
	"github.com/quire-print/quire/pipeline/service"
	"github.com/quire-print/quire/pipeline/service/servicetest"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/s3store/s3test"
	"github.com/quire-print/quire/pipeline/supplier/adapters"
	"github.com/quire-print/quire/pipeline/supplier/pull"
	"github.com/quire-print/quire/renderer"
)

var testDelays = []time.Duration{200 * time.Millisecond, time.Second}

// sampleRequest is the sample request name with envelope id id and the
// letter's postage class set to postage ("" leaves the sample's).
func sampleRequest(t *testing.T, name, id, postage string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(batchtest.Root(), "testdata", "requests", "valid", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m["envelopeId"] = id
	if postage != "" {
		letter, _ := m["letter"].(map[string]any)
		if letter == nil {
			letter = map[string]any{}
		}
		letter["postage"] = postage
		m["letter"] = letter
	}
	out, _ := json.Marshal(m)
	return out
}

// printEvents returns the print events upstream received, by type.
func printEvents(up *servicetest.Upstream) map[string][]events.PrintEvent {
	out := map[string][]events.PrintEvent{}
	for _, r := range up.Events() {
		var e events.PrintEvent
		if json.Unmarshal(r.Body, &e) == nil && e.BatchID != "" {
			out[e.Type] = append(out[e.Type], e)
		}
	}
	return out
}

func ids(es []events.PrintEvent) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.EnvelopeID)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// cutOffRig is what an end-to-end test batches with: the default
// schedule, a manual clock just past its next cut-off after now (so every
// envelope rendered before is due), events on RabbitMQ, real print files,
// retention and the configured supplier adapter, all on store.
type cutOffRig struct {
	sched   *schedule.Schedule
	cutOff  time.Time
	clock   *memqueue.ManualClock
	events  *broker.Broker
	keeper  *retention.Keeper
	batcher *batch.Batcher
}

func newCutOffRig(t *testing.T, store storage.Store, r printfile.Renderer, prefix string, logger *slog.Logger) cutOffRig {
	t.Helper()
	sched, err := schedule.New(schedule.Config{})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := sched.Next(time.Now())
	clock := memqueue.NewManualClock(c.Add(time.Second))
	evBroker, err := broker.New(broker.Config{URL: servicetest.AMQPURL(t), Prefix: prefix, RetryDelays: testDelays, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { evBroker.Close() })
	asm, err := printfile.New(printfile.Config{Renderer: r, Store: store, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	keeper, err := retention.New(retention.Config{Store: store, Clock: clock, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	sender, err := adapters.Build(adapters.Config{Supplier: "northprint"}, store, clock, logger)
	if err != nil {
		t.Fatal(err)
	}
	b, err := batch.New(batch.Config{Store: store, Schedule: sched, Assembler: asm, Supplier: sender,
		Events: evBroker.Events(), Retention: keeper, Clock: clock, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	return cutOffRig{sched: sched, cutOff: c, clock: clock, events: evBroker, keeper: keeper, batcher: b}
}

// TestEndToEnd runs Quire's whole path on RabbitMQ and MinIO: requests and
// a cancellation through the real worker, a cut-off of first- and
// second-class envelopes with the real print files, one class per file,
// the pull API's supplier downloading, checking and reporting, a
// cancellation after the cut-off refused, tokens refused, and a batch
// whose pages were shuffled caught by its 2D codes.
func TestEndToEnd(t *testing.T) {
	ctx := t.Context()
	s3 := s3test.Config(t)
	store := s3test.New(t, s3)
	prefix := servicetest.Prefix(t, testDelays)
	up := servicetest.NewUpstream(t, prefix, testDelays)
	r, err := renderer.New()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncbuf.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	t.Cleanup(func() { batchtest.CheckNoPersonalData(t, "the logs", logs.String()) })

	svc, err := service.New(service.Config{AMQPURL: servicetest.AMQPURL(t), Prefix: prefix, RetryDelays: testDelays,
		S3: s3, Listen: "127.0.0.1:0", Logger: logger}, r)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stopService := context.WithCancel(ctx)
	serviceDone := make(chan error)
	go func() { serviceDone <- svc.Run(runCtx) }()
	defer func() { stopService(); <-serviceDone }()

	// Four envelopes, the large-print one first class and the others
	// second; one is cancelled through RabbitMQ before the cut-off.
	samples := []string{"twins.json", "bfpo.json", "large-print.json", "non-ascii-names.json"}
	var all []string
	for i, name := range samples {
		id := fmt.Sprintf("E2E-%d", i+1)
		all = append(all, id)
		postage := ""
		if name == "large-print.json" {
			postage = "first"
		}
		if err := up.Broker.PublishMessage(ctx, broker.Message{Kind: pipeline.KindRender, MessageID: id, Body: sampleRequest(t, name, id, postage)}); err != nil {
			t.Fatal(err)
		}
	}
	up.WaitSettled(all, time.Minute)
	cancelled := all[1]
	note := "Parent rang the helpline on Tuesday"
	body, err := cancel.Encode(cancel.Request{EnvelopeID: cancelled, Code: "requested-by-parent", Reason: note})
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Broker.Publish(ctx, pipeline.KindCancel, body); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, time.Minute, "the cancellation", func() bool {
		up.Drain()
		return slices.Contains(up.Settled()[cancelled], events.TypeCancelled)
	})
	// The cancellation stands, so the worker scheduled the envelope's
	// personal data, which no posting ever will, before announcing it.
	due := 0
	for info, err := range store.List(ctx, retention.DuePrefix) {
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(info.Key, "/envelope-"+cancelled) {
			t.Errorf("unexpected due entry %s", info.Key)
		}
		due++
	}
	if due != 1 {
		t.Errorf("%d due entries after the cancellation, want 1", due)
	}

	// The cut-off: the next one after now, so every envelope was rendered
	// before it. The batcher's clock reads just after it.
	rig := newCutOffRig(t, store, r, prefix, logger)
	c, clock, evBroker, keeper, b := rig.cutOff, rig.clock, rig.events, rig.keeper, rig.batcher
	res, err := b.CutOff(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Batches) != 1 {
		t.Fatalf("cut-off made %d batches", len(res.Batches))
	}
	sealed := res.Batches[0]
	members := []string{all[0], all[2], all[3]}
	// Numbered in print order: the first-class envelope first.
	if got, want := sealedIDs(sealed), []string{all[2], all[0], all[3]}; !slices.Equal(got, want) {
		t.Errorf("batch holds %v, want %v", got, want)
	}
	if !slices.Equal(sealed.Left, []ledger.Left{{EnvelopeID: cancelled, Code: ledger.LeftCancelled}}) {
		t.Errorf("left out %+v", sealed.Left)
	}
	if _, err := b.HandOffPending(ctx); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, time.Minute, "batched and handed-over events", func() bool {
		up.Drain()
		p := printEvents(up)
		return slices.Equal(ids(p[events.TypeBatched]), members) && slices.Equal(ids(p[events.TypeHandedOver]), members)
	})

	// A cancellation after the cut-off, through RabbitMQ and the real
	// worker: its cancel handler stores the marker, asks the batch records
	// on S3, and refuses the cancellation instead of announcing it.
	late := all[0]
	body, err = cancel.Encode(cancel.Request{EnvelopeID: late, Code: "requested-by-parent"})
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Broker.Publish(ctx, pipeline.KindCancel, body); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, time.Minute, "the cancel-refused event", func() bool {
		up.Drain()
		return len(printEvents(up)[events.TypeCancelRefused]) == 1
	})
	got := printEvents(up)[events.TypeCancelRefused][0]
	want := fmt.Sprintf("too late: in batch %s, handed to the supplier at %s", sealed.BatchID, clock.Now().UTC().Format(time.RFC3339))
	if got.EnvelopeID != late || got.BatchID != sealed.BatchID || got.Reason == nil || got.Reason.Code != events.CodeTooLate ||
		got.Reason.Detail != want {
		t.Errorf("cancel-refused event %+v %+v, want %q", got, got.Reason, want)
	}
	if slices.Contains(up.Settled()[late], events.TypeCancelled) {
		t.Errorf("%s, in a sealed batch, was announced cancelled: %v", late, up.Settled()[late])
	}
	if _, err := envelopes.New(store).Cancellation(ctx, late); err != nil {
		t.Errorf("the late cancellation's marker: %v", err)
	}

	// The supplier collects the batch over the pull API.
	token, hash := pull.NewToken()
	otherToken, otherHash := pull.NewToken()
	api, err := pull.New(pull.Config{Store: store, Events: evBroker.Events(), Retention: keeper, Clock: clock, Logger: logger,
		Suppliers: []pull.Credentials{{Supplier: "northprint", TokenSHA256: []string{hash}}, {Supplier: "southprint", TokenSHA256: []string{otherHash}}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	call := func(tok, method, path string, body any) (int, []byte) {
		var rd io.Reader
		if body != nil {
			js, _ := json.Marshal(body)
			rd = bytes.NewReader(js)
		}
		req, _ := http.NewRequest(method, srv.URL+path, rd)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, data
	}
	status, data := call(token, "GET", pull.BasePath+"/batches", nil)
	var listing struct{ Batches []pull.Batch }
	if status != 200 || json.Unmarshal(data, &listing) != nil || len(listing.Batches) != 1 || listing.Batches[0].BatchID != sealed.BatchID {
		t.Fatalf("listing: %d %s", status, data)
	}
	files := map[string][]byte{}
	for _, f := range listing.Batches[0].Files {
		status, data := call(token, "GET", f.Href, nil)
		sum := sha256.Sum256(data)
		if status != 200 || hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(data)) != f.Size {
			t.Fatalf("%s: %d, %d bytes, SHA-256 %x; listing says %d, %s", f.Href, status, len(data), sum, f.Size, f.SHA256)
		}
		files[f.Name] = data
	}
	manifest, err := printfile.ParseManifest(files[ledger.ManifestJSON])
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range manifest.Files {
		sum := sha256.Sum256(files[f.Name])
		if hex.EncodeToString(sum[:]) != f.SHA256 {
			t.Errorf("%s does not match the manifest", f.Name)
		}
	}
	for _, name := range []string{ledger.ManifestJSON, ledger.ManifestCSV} {
		batchtest.CheckNoPersonalData(t, name, string(files[name]))
	}

	// Unknown and other suppliers' tokens are refused.
	if status, _ := call("qs_"+strings.Repeat("A", 43), "GET", pull.BasePath+"/batches", nil); status != 401 {
		t.Errorf("an unknown token: %d", status)
	}
	if status, _ := call("", "GET", pull.BasePath+"/batches/"+sealed.BatchID+"/manifest", nil); status != 401 {
		t.Errorf("no token: %d", status)
	}
	if status, data := call(otherToken, "GET", pull.BasePath+"/batches", nil); status != 200 || strings.Contains(string(data), sealed.BatchID) {
		t.Errorf("another supplier's listing: %d %s", status, data)
	}
	if status, _ := call(otherToken, "GET", pull.BasePath+"/batches/"+sealed.BatchID+"/files/"+manifest.Files[0].Name, nil); status != 404 {
		t.Errorf("another supplier's download: %d", status)
	}

	// One postage class per file: the first-class envelope alone in the
	// first file, the two second-class ones in the second. Each file is
	// checked with qpdf, its text read with pdftotext for whose envelopes
	// it holds, and its totals against the pages qpdf counts.
	recipients := map[string]string{all[0]: "Priya Raman", all[2]: "Margaret Ellery", all[3]: "Łucja Wróblewska"}
	wantFiles := []struct {
		postage   string
		envelopes []string
	}{{"first", []string{all[2]}}, {"second", []string{all[0], all[3]}}}
	if len(manifest.Files) != len(wantFiles) {
		t.Fatalf("%d print files, want %d: %+v", len(manifest.Files), len(wantFiles), manifest.Files)
	}
	dir := t.TempDir()
	var codes []string
	byClass := map[string]printfile.Count{}
	for i, f := range manifest.Files {
		w := wantFiles[i]
		var inFile []string
		for _, e := range manifest.Envelopes {
			if e.File == f.Name {
				inFile = append(inFile, e.EnvelopeID)
				if e.Postage != f.Postage {
					t.Errorf("%s, a %s-class file, holds %s of %s class", f.Name, f.Postage, e.EnvelopeID, e.Postage)
				}
			}
		}
		if f.Postage != w.postage || !slices.Equal(inFile, w.envelopes) || f.Envelopes != len(w.envelopes) {
			t.Errorf("%s: %s class with %v (%d envelopes); want %s with %v", f.Name, f.Postage, inFile, f.Envelopes, w.postage, w.envelopes)
		}
		pdf := filepath.Join(dir, f.Name)
		if err := os.WriteFile(pdf, files[f.Name], 0o600); err != nil {
			t.Fatal(err)
		}
		pdftest.Run(t, "qpdf", "--check", pdf)
		if n := strings.TrimSpace(pdftest.Run(t, "qpdf", "--show-npages", pdf)); n != fmt.Sprint(f.Pages) {
			t.Errorf("%s has %s pages; the manifest says %d", f.Name, n, f.Pages)
		}
		text := pdftest.Run(t, "pdftotext", "-enc", "UTF-8", pdf, "-")
		for id, name := range recipients {
			if got, want := strings.Contains(text, name), slices.Contains(w.envelopes, id); got != want {
				t.Errorf("%s: the letter to %s's recipient printed: %v, want %v", f.Name, id, got, want)
			}
		}
		fileCodes := printfiletest.ReadCodes(t, pdf, r.Templates())
		if err := printfile.VerifyFile(manifest, f.Name, fileCodes); err != nil {
			t.Errorf("%s as printed: %v", f.Name, err)
		}
		codes = append(codes, fileCodes...)
		c := byClass[f.Postage]
		c.Envelopes += f.Envelopes
		c.Pages += f.Pages
		c.Sheets += f.Sheets
		byClass[f.Postage] = c
	}
	if err := printfile.Verify(manifest, codes); err != nil {
		t.Errorf("the batch as printed: %v", err)
	}
	tot := manifest.Totals
	if len(tot.ByPostage) != 2 || tot.ByPostage["first"] != byClass["first"] || tot.ByPostage["second"] != byClass["second"] ||
		tot.Envelopes != 3 || tot.Pages != byClass["first"].Pages+byClass["second"].Pages || tot.Pages != sealed.Pages || tot.Sheets != sealed.Sheets {
		t.Errorf("totals %+v; the files add up to %+v; the seal says %d pages, %d sheets", tot, byClass, sealed.Pages, sealed.Sheets)
	}
	// The CSV gives each envelope's class and its file's totals.
	rows, err := csv.NewReader(bytes.NewReader(files[ledger.ManifestCSV])).ReadAll()
	if err != nil || len(rows) != 4 {
		t.Fatalf("manifest.csv: %d rows, %v", len(rows), err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, row := range rows[1:] {
		f := manifest.Files[0]
		if row[col["file"]] != f.Name {
			f = manifest.Files[1]
		}
		if row[col["postage"]] != f.Postage || row[col["file_envelopes"]] != fmt.Sprint(f.Envelopes) ||
			row[col["file_pages"]] != fmt.Sprint(f.Pages) || row[col["file_sheets"]] != fmt.Sprint(f.Sheets) {
			t.Errorf("manifest.csv row %q; its file is %+v", row, f)
		}
	}

	// With two pages of the second-class file swapped, the inserter's
	// check catches it.
	pdf := filepath.Join(dir, manifest.Files[1].Name)
	shuffled := filepath.Join(dir, "shuffled.pdf")
	pdftest.Run(t, "qpdf", pdf, "--pages", pdf, "1,3,2,4-z", "--", shuffled)
	var mismatch *printfile.MismatchError
	if err := printfile.VerifyFile(manifest, manifest.Files[1].Name, printfiletest.ReadCodes(t, shuffled, r.Templates())); !errors.As(err, &mismatch) || mismatch.FilePage != 2 {
		t.Errorf("shuffled pages: %v; want a mismatch at page 2", err)
	}

	// Receipt and outcomes: each envelope printed and posted.
	if status, data := call(token, "POST", pull.BasePath+"/batches/"+sealed.BatchID+"/receipt", nil); status != 200 {
		t.Fatalf("receipt: %d %s", status, data)
	}
	var reports []pull.Report
	for _, m := range manifest.Envelopes {
		for _, o := range []string{"printed", "posted"} {
			reports = append(reports, pull.Report{Sequence: m.Sequence, EnvelopeID: m.EnvelopeID, Outcome: o, At: clock.Now()})
		}
	}
	if status, data := call(token, "POST", pull.BasePath+"/batches/"+sealed.BatchID+"/outcomes", map[string]any{"outcomes": reports}); status != 200 {
		t.Fatalf("outcomes: %d %s", status, data)
	}
	waitfor.True(t, time.Minute, "printed and posted events", func() bool {
		up.Drain()
		p := printEvents(up)
		return slices.Equal(ids(p[events.TypePrinted]), members) && slices.Equal(ids(p[events.TypePosted]), members)
	})
	for _, r := range up.Events() {
		batchtest.CheckNoPersonalData(t, "an event", string(r.Body))
	}

	// Thirty days on, the sweep removes the personal data and keeps the
	// records: the posted envelopes', the print files, and the cancelled
	// envelope's files and cancellation reason (scheduled by the worker
	// and again, to the same entry, by the batcher leaving it out).
	clock.Advance(31 * 24 * time.Hour)
	if n, err := keeper.Sweep(ctx); err != nil || n != 5 {
		t.Errorf("sweep: %d, %v; want the three posted envelopes, the cancelled one and the batch's print files", n, err)
	}
	if c, err := envelopes.New(store).Cancellation(ctx, cancelled); err != nil || c.Reason != "" || c.Code != "requested-by-parent" {
		t.Errorf("the cancelled envelope's marker after the sweep: %+v, %v; want it kept without its reason", c, err)
	}
	for _, id := range append([]string{cancelled}, members...) {
		for info, err := range store.List(ctx, envelopes.EnvelopesPrefix+id+"/files/") {
			t.Errorf("left after the sweep: %s %v", info.Key, err)
		}
		if _, err := store.Stat(ctx, envelopes.RecordKey(id)); err != nil {
			t.Errorf("%s's record: %v", id, err)
		}
	}
	if status, _ := call(token, "GET", pull.BasePath+"/batches/"+sealed.BatchID+"/files/"+manifest.Files[0].Name, nil); status != http.StatusGone {
		t.Errorf("a print file after the sweep: %d, want 410", status)
	}
}

func sealedIDs(s *ledger.Sealed) []string {
	var out []string
	for _, m := range s.Envelopes {
		out = append(out, m.EnvelopeID)
	}
	return out
}

// TestBatchersRacingOnS3: two batchers, each with its own S3 client, at
// one cut-off, and then a stalled batcher taken over by another while it
// still works: with S3's conditional creates, every envelope ends in
// exactly one sealed batch.
func TestBatchersRacingOnS3(t *testing.T) {
	cfg := s3test.Config(t)
	setup := s3test.New(t, cfg)
	ids := batchtest.CommitN(t, setup, "R", 40, before)
	sched, err := schedule.New(schedule.Config{})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(owner string, clk clock.Clock, asm batch.Assembler) *batch.Batcher {
		s := s3test.New(t, cfg)
		if asm == nil {
			asm = &batchtest.Assembler{Store: s}
		}
		b, err := batch.New(batch.Config{Store: s, Schedule: sched, Assembler: asm, Supplier: &batchtest.Supplier{SupplierName: "northprint"},
			Events: &batchtest.Events{}, Clock: clk, Owner: owner, MaxEnvelopes: 15, Parallelism: 8,
			HeartbeatInterval: 10 * time.Second, StaleAfter: time.Minute, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	// Round 1: both at once.
	clock := memqueue.NewManualClock(cutOff.Add(time.Second))
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, owner := range []string{"a", "b"} {
		b := mk(owner, clock, nil)
		wg.Go(func() { _, errs[i] = b.CutOff(t.Context(), cutOff) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, batch.ErrBusy) {
			t.Fatal(err)
		}
	}
	h := &harness{t: t, store: setup, st: ledger.NewStore(setup)}
	h.checkOnce(ids)

	// Round 2, the next cut-off: A stalls mid-batch without heart-beating;
	// B takes over and finishes; then A wakes and finishes too.
	next, _ := sched.Next(cutOff)
	more := batchtest.CommitN(t, setup, "S", 20, next.Add(-time.Hour))
	blocked := &batchtest.Assembler{Store: setup, Block: make(chan struct{})}
	a := mk("a", memqueue.NewManualClock(next.Add(time.Second)), blocked)
	bClock := memqueue.NewManualClock(next.Add(time.Second))
	b := mk("b", bClock, nil)
	doneA := make(chan error)
	go func() { _, err := a.CutOff(context.Background(), next); doneA <- err }()
	blocked.Block <- struct{}{}
	bClock.Advance(2 * time.Minute)
	if _, err := b.CutOff(t.Context(), next); err != nil {
		t.Fatalf("B taking over: %v", err)
	}
	go func() {
		for {
			select {
			case blocked.Block <- struct{}{}:
			case <-t.Context().Done():
				return
			}
		}
	}()
	if err := <-doneA; err != nil {
		t.Fatalf("A: %v", err)
	}
	h.checkOnce(append(ids, more...))
	var n int
	for range h.st.Batches(t.Context()) {
		n++
	}
	if n != 5 { // 40 in three, then 20 in two
		t.Errorf("%d batches, want 5", n)
	}
}
