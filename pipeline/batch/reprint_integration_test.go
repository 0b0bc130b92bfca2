//go:build integration

package batch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quire-print/quire/internal/pdftest"
	"github.com/quire-print/quire/internal/syncbuf"
	"github.com/quire-print/quire/internal/waitfor"
	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/batch/batchtest"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/batch/printfile"
	"github.com/quire-print/quire/pipeline/batch/printfile/printfiletest"
	"github.com/quire-print/quire/pipeline/batch/reprint"
	"github.com/quire-print/quire/pipeline/batch/retention"
	"github.com/quire-print/quire/pipeline/broker"
	"github.com/quire-print/quire/pipeline/cancel"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/service"
	"github.com/quire-print/quire/pipeline/service/servicetest"
	"github.com/quire-print/quire/pipeline/storage/s3store/s3test"
	"github.com/quire-print/quire/pipeline/supplier/pull"
	"github.com/quire-print/quire/renderer"
)

// TestReprintEndToEnd runs reprints on RabbitMQ and MinIO with the real
// worker, print files and pull API: the supplier reports an envelope
// spoiled (twice); the next cut-off prints it again, once, with the same
// documents (pdftotext reads the same text) and codes of its own (read off
// the pages and checked with printfile.Verify); spoiled again past the
// limit it is held; an operator dismisses the hold, then asks for the
// reprint after all, and it goes through; spoiled again and held, it is
// cancelled by upstream, and the real worker lets the cancellation stand
// and takes it off the held list; and once retention has deleted another
// envelope's documents, its reprint is refused with the sentence upstream
// acts on.
func TestReprintEndToEnd(t *testing.T) {
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

	all := []string{"RP-1", "RP-2"}
	for i, name := range []string{"twins.json", "non-ascii-names.json"} {
		if err := up.Broker.PublishMessage(ctx, broker.Message{Kind: pipeline.KindRender, MessageID: all[i], Body: sampleRequest(t, name, all[i], "")}); err != nil {
			t.Fatal(err)
		}
	}
	up.WaitSettled(all, time.Minute)

	rig := newCutOffRig(t, store, r, prefix, logger)
	sched, c1, clock, evBroker, keeper, b := rig.sched, rig.cutOff, rig.clock, rig.events, rig.keeper, rig.batcher
	rp, err := reprint.New(reprint.Config{Store: store, Events: evBroker.Events(), MaxAutomatic: 1, Clock: clock, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	token, hash := pull.NewToken()
	api, err := pull.New(pull.Config{Store: store, Events: evBroker.Events(), Retention: keeper, Reprints: rp, Clock: clock, Logger: logger,
		Suppliers: []pull.Credentials{{Supplier: "northprint", TokenSHA256: []string{hash}}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	call := func(method, path string, body any) (int, []byte) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			js, _ := json.Marshal(body)
			rd = bytes.NewReader(js)
		}
		req, _ := http.NewRequest(method, srv.URL+path, rd)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, data
	}
	// cutOffAt makes cut-off c's one batch and hands it over, and returns
	// it with its manifest and print files as the supplier downloads them.
	dir := t.TempDir()
	cutOffAt := func(c time.Time) (*ledger.Sealed, *printfile.Manifest, map[string]string) {
		t.Helper()
		clock.Advance(c.Add(time.Second).Sub(clock.Now()))
		res, err := b.CutOff(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Batches) != 1 {
			t.Fatalf("cut-off %s made %d batches", c, len(res.Batches))
		}
		if _, err := b.HandOffPending(ctx); err != nil {
			t.Fatal(err)
		}
		s := res.Batches[0]
		status, data := call("GET", pull.BasePath+"/batches/"+s.BatchID+"/manifest", nil)
		if status != 200 {
			t.Fatalf("manifest of %s: %d %s", s.BatchID, status, data)
		}
		m, err := printfile.ParseManifest(data)
		if err != nil {
			t.Fatal(err)
		}
		paths := map[string]string{}
		for _, f := range m.Files {
			status, data := call("GET", pull.BasePath+"/batches/"+s.BatchID+"/files/"+f.Name, nil)
			if status != 200 {
				t.Fatalf("%s of %s: %d", f.Name, s.BatchID, status)
			}
			paths[f.Name] = filepath.Join(dir, s.BatchID+"-"+f.Name)
			if err := os.WriteFile(paths[f.Name], data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return s, m, paths
	}
	report := func(s *ledger.Sealed, id, outcome string) {
		t.Helper()
		m, _ := s.Member(id)
		status, data := call("POST", pull.BasePath+"/batches/"+s.BatchID+"/outcomes", map[string]any{"outcomes": []pull.Report{
			{Sequence: m.Sequence, EnvelopeID: id, Outcome: outcome, At: clock.Now(), Code: map[bool]string{true: "paper-jam"}[outcome == "spoiled"]}}})
		if status != 200 {
			t.Fatalf("reporting %s %s in %s: %d %s", id, outcome, s.BatchID, status, data)
		}
	}
	codesOf := func(m *printfile.Manifest, paths map[string]string) []string {
		var codes []string
		for _, f := range m.Files {
			codes = append(codes, printfiletest.ReadCodes(t, paths[f.Name], r.Templates())...)
		}
		if err := printfile.Verify(m, codes); err != nil {
			t.Errorf("batch %s as printed: %v", m.BatchID, err)
		}
		return codes
	}
	textOf := func(m *printfile.Manifest, paths map[string]string, id string) string {
		for _, e := range m.Envelopes {
			if e.EnvelopeID == id {
				return pdftest.Run(t, "pdftotext", "-layout", "-f", strconv.Itoa(e.FirstPage), "-l", strconv.Itoa(e.LastPage), paths[e.File], "-")
			}
		}
		t.Fatalf("%s is not in batch %s", id, m.BatchID)
		return ""
	}

	// The first cut-off prints both; the supplier spoils RP-1, and sends
	// the report twice.
	first, m1, p1 := cutOffAt(c1)
	spoiled := all[0]
	report(first, spoiled, "spoiled")
	report(first, spoiled, "spoiled")
	report(first, all[1], "posted")
	st := ledger.NewStore(store)
	if rs, err := st.Reprints(ctx, spoiled); err != nil || len(rs) != 1 {
		t.Fatalf("reprints after two spoiled reports: %+v, %v; want one", rs, err)
	}

	// The next cut-off prints it again, alone.
	c2, _ := sched.Next(c1)
	second, m2, p2 := cutOffAt(c2)
	if len(m2.Envelopes) != 1 {
		t.Fatalf("the second batch holds %d envelopes, want the reprint alone", len(m2.Envelopes))
	}
	if e := m2.Envelopes[0]; e.EnvelopeID != spoiled || e.Reprint != 1 || e.ReprintOf != first.BatchID {
		t.Errorf("manifest entry %s reprint %d of %q, want %s reprint 1 of %s", e.EnvelopeID, e.Reprint, e.ReprintOf, spoiled, first.BatchID)
	}
	status, csvData := call("GET", pull.BasePath+"/batches/"+second.BatchID+"/files/"+ledger.ManifestCSV, nil)
	if status != 200 || !strings.HasSuffix(strings.TrimSpace(string(csvData)), ",1,"+first.BatchID) {
		t.Errorf("manifest.csv of the reprint: %d\n%s", status, csvData)
	}
	codes1, codes2 := codesOf(m1, p1), codesOf(m2, p2)
	for _, c := range codes2 {
		if slices.Contains(codes1, c) {
			t.Errorf("code %q is printed in both runs", c)
		}
	}
	if len(codes2) == 0 || len(codes1) <= len(codes2) {
		t.Errorf("codes read: %d in the first batch, %d in the reprint", len(codes1), len(codes2))
	}
	if a, b := textOf(m1, p1, spoiled), textOf(m2, p2, spoiled); a != b || len(strings.TrimSpace(a)) < 100 {
		t.Errorf("the reprint's text differs from the first print's (%d and %d characters)", len(a), len(b))
	}
	firstEntry := m1.Envelopes[slices.IndexFunc(m1.Envelopes, func(e printfile.Entry) bool { return e.EnvelopeID == spoiled })]
	for i, d := range m2.Envelopes[0].Documents {
		if d.SHA256 != firstEntry.Documents[i].SHA256 {
			t.Errorf("document %d: %s in the reprint, %s first", i+1, d.SHA256, firstEntry.Documents[i].SHA256)
		}
	}

	// Spoiled again: the limit is one, so it is held; the next cut-off
	// has nothing.
	report(second, spoiled, "spoiled")
	if h, err := st.Hold(ctx, spoiled, 2); err != nil || h.Code != ledger.HoldLimit {
		t.Errorf("hold %+v, %v", h, err)
	}
	c3, _ := sched.Next(c2)
	clock.Advance(c3.Add(time.Second).Sub(clock.Now()))
	if res, err := b.CutOff(ctx, c3); err != nil || len(res.Batches) != 0 {
		t.Errorf("a cut-off with the envelope held: %d batches, %v", len(res.Batches), err)
	}

	// An operator dismisses it: it leaves the held list and upstream is
	// told. Then the operator decides otherwise: the reprint is made.
	if d, err := rp.Dismiss(ctx, spoiled, ledger.DismissNotNeeded); err != nil || d.Run != 2 || d.BatchID != second.BatchID {
		t.Fatalf("dismiss %+v, %v", d, err)
	}
	if n, err := b.RefreshHeld(ctx); err != nil || n != 0 {
		t.Errorf("held after the dismissal: %d, %v", n, err)
	}
	// An operator's reprint is made.
	if w, err := rp.Operator(ctx, spoiled, ledger.ReasonDamaged); err != nil || w.Run != 2 {
		t.Fatalf("operator reprint %+v, %v", w, err)
	}
	c4, _ := sched.Next(c3)
	third, m3, _ := cutOffAt(c4)
	if e := m3.Envelopes; len(e) != 1 || e[0].Reprint != 2 || e[0].ReprintOf != second.BatchID {
		t.Errorf("the operator's reprint: %+v", e)
	}

	// The events upstream received, run by run.
	runs := func(typ string) []string {
		var out []string
		for _, e := range printEvents(up)[typ] {
			if e.EnvelopeID == spoiled {
				out = append(out, e.BatchID+"/"+strconv.Itoa(e.Reprint))
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	want := []string{first.BatchID + "/0", second.BatchID + "/1", third.BatchID + "/2"}
	waitfor.True(t, time.Minute, "batched, handed-over and reprint events", func() bool {
		up.Drain()
		return slices.Equal(runs(events.TypeBatched), want) && slices.Equal(runs(events.TypeHandedOver), want) &&
			len(runs(events.TypeReprintRequested)) == 2 && len(runs(events.TypeReprintHeld)) == 1 &&
			slices.Equal(runs(events.TypeReprintDismissed), []string{second.BatchID + "/2"}) &&
			slices.Equal(runs(events.TypeSpoiled), want[:2])
	})
	if got := runs(events.TypeReprintRequested); !slices.Equal(got, []string{first.BatchID + "/1", second.BatchID + "/2"}) {
		t.Errorf("reprint-requested events %v", got)
	}
	for _, e := range up.Events() {
		batchtest.CheckNoPersonalData(t, "an event", string(e.Body))
	}

	// Spoiled a third time: held again, the limit reached. Upstream
	// cancels it: nothing more is coming from a sealed batch, so the
	// worker lets the cancellation stand, schedules the deletion of its
	// personal data, and takes it off the held list; an operator's reprint
	// is refused from then on.
	report(third, spoiled, "spoiled")
	if h, err := st.Hold(ctx, spoiled, 3); err != nil || h.Code != ledger.HoldLimit {
		t.Fatalf("the third hold: %+v, %v", h, err)
	}
	if n, err := b.RefreshHeld(ctx); err != nil || n != 1 {
		t.Errorf("held before the cancellation: %d, %v", n, err)
	}
	dueFor := func() int {
		n := 0
		for info, err := range store.List(ctx, retention.DuePrefix) {
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(info.Key, "/envelope-"+spoiled) {
				n++
			}
		}
		return n
	}
	dueBefore := dueFor()
	cancelBody, err := cancel.Encode(cancel.Request{EnvelopeID: spoiled, Code: "requested-by-parent"})
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Broker.Publish(ctx, pipeline.KindCancel, cancelBody); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, time.Minute, "the cancellation of the held envelope", func() bool {
		up.Drain()
		return slices.Contains(up.Settled()[spoiled], events.TypeCancelled)
	})
	if r := runs(events.TypeCancelRefused); len(r) != 0 {
		t.Errorf("the cancellation of a held envelope was refused: %v", r)
	}
	if n, err := b.RefreshHeld(ctx); err != nil || n != 0 {
		t.Errorf("held after the cancellation stood: %d, %v", n, err)
	}
	if got := dueFor(); got != dueBefore+1 {
		t.Errorf("%d due entries for %s after the cancellation, want %d", got, spoiled, dueBefore+1)
	}
	_, err = rp.Operator(ctx, spoiled, ledger.ReasonDamaged)
	var cancelled *reprint.RefusedError
	if !errors.As(err, &cancelled) || cancelled.Code != ledger.HoldCancelled {
		t.Errorf("a reprint of the cancelled envelope: %v", err)
	}

	// RP-2 was posted; thirty days on, retention deletes its documents,
	// and a reprint is refused, saying what upstream must do.
	clock.Advance(31 * 24 * time.Hour)
	if _, err := keeper.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = rp.Operator(ctx, all[1], ledger.ReasonLostInPost)
	var refused *reprint.RefusedError
	if !errors.As(err, &refused) || refused.Code != ledger.HoldDeleted ||
		!strings.Contains(err.Error(), "upstream must send a new envelope request, with a new envelope id") {
		t.Errorf("a reprint past retention: %v", err)
	}
}
