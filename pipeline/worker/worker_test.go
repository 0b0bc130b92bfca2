package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/quire-print/quire/internal/samples"
	"github.com/quire-print/quire/internal/syncbuf"
	"github.com/quire-print/quire/internal/waitfor"
	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/memqueue"
	"github.com/quire-print/quire/pipeline/metrics"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/fsstore"
	"github.com/quire-print/quire/pipeline/worker"
	"github.com/quire-print/quire/renderer/rendered"
	"github.com/quire-print/quire/request"
	"github.com/quire-print/quire/schemas"
)

var start = time.Date(2026, 3, 2, 17, 4, 5, 0, time.UTC)

// fakeRenderer makes small fake PDFs quickly, and misbehaves on request:
// by envelope id prefix, "panic-" panics, "unprintable-" returns field
// errors, "broken-" returns another error. block, when set, holds every
// render until it is closed.
type fakeRenderer struct {
	calls   atomic.Int32
	fits    atomic.Int32 // certificates laid out while decoding
	block   chan struct{}
	started chan string
}

func (r *fakeRenderer) Render(env *request.Envelope) ([]rendered.Document, error) {
	r.calls.Add(1)
	if r.started != nil {
		r.started <- env.EnvelopeID
	}
	if r.block != nil {
		<-r.block
	}
	switch id := env.EnvelopeID; {
	case strings.HasPrefix(id, "panic-"):
		var pages []int
		_ = pages[len(env.Certificates)] // an index panic, as a real bug would be
	case strings.HasPrefix(id, "unprintable-"):
		return nil, request.Errors{{Field: "certificates[0].babyName", Problem: "has a character no font can draw"}}
	case strings.HasPrefix(id, "broken-"):
		return nil, fmt.Errorf("pdf: cannot draw %q", env.Recipient.Name) // quotes personal data, as a careless error might
	}
	docs := []rendered.Document{{Kind: "letter", Name: "letter.pdf", TemplateID: "carriage-letter",
		TemplateVersion: 1, Pages: 2, Sheets: 1, PDF: []byte("%PDF-fake letter " + env.ContentHash())}}
	for i := range env.Certificates {
		docs = append(docs, rendered.Document{Kind: "certificate", Name: fmt.Sprintf("certificate-%d.pdf", i+1),
			TemplateID: "baby-loss-certificate", TemplateVersion: 1, Pages: 1, Sheets: 1,
			PDF: []byte(fmt.Sprintf("%%PDF-fake certificate %d %s", i+1, env.ContentHash()))})
	}
	return docs, nil
}

// FitCertificate makes fakeRenderer a request.Fitter: a baby named
// "Unfit" does not fit its box.
func (r *fakeRenderer) FitCertificate(c *request.Certificate, path string) request.Errors {
	r.fits.Add(1)
	if c.BabyName == "Unfit" {
		return request.Errors{{Field: path + ".babyName", Problem: "is too long to fit in box 5"}}
	}
	return nil
}

// FitLetter finds nothing wrong with a letter.
func (r *fakeRenderer) FitLetter(env *request.Envelope) request.Errors { return nil }

// flakyStore is a storage.Store that fails every call while down is set.
type flakyStore struct {
	storage.Store
	down atomic.Bool
}

var errDown = errors.New("flaky: storage unreachable")

func (s *flakyStore) check() error {
	if s.down.Load() {
		return errDown
	}
	return nil
}
func (s *flakyStore) Put(ctx context.Context, k string, d []byte) (storage.Info, error) {
	if err := s.check(); err != nil {
		return storage.Info{}, err
	}
	return s.Store.Put(ctx, k, d)
}
func (s *flakyStore) Create(ctx context.Context, k string, d []byte) (storage.Info, error) {
	if err := s.check(); err != nil {
		return storage.Info{}, err
	}
	return s.Store.Create(ctx, k, d)
}
func (s *flakyStore) Get(ctx context.Context, k string) ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	return s.Store.Get(ctx, k)
}
func (s *flakyStore) Stat(ctx context.Context, k string) (storage.Info, error) {
	if err := s.check(); err != nil {
		return storage.Info{}, err
	}
	return s.Store.Stat(ctx, k)
}
func (s *flakyStore) Delete(ctx context.Context, k string) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.Store.Delete(ctx, k)
}
func (s *flakyStore) GetRange(ctx context.Context, k string, off, n int64) ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	return s.Store.GetRange(ctx, k, off, n)
}
func (s *flakyStore) List(ctx context.Context, p string) iter.Seq2[storage.Info, error] {
	if err := s.check(); err != nil {
		return func(yield func(storage.Info, error) bool) { yield(storage.Info{}, err) }
	}
	return s.Store.List(ctx, p)
}
func (s *flakyStore) Ping(ctx context.Context) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.Store.Ping(ctx)
}

// flakyEvents fails the next fail[kind] publishes of each event kind.
type flakyEvents struct {
	pipeline.Publisher
	mu   sync.Mutex
	fail map[string]int
}

func (e *flakyEvents) Publish(ctx context.Context, kind string, body []byte) error {
	e.mu.Lock()
	if e.fail[kind] > 0 {
		e.fail[kind]--
		e.mu.Unlock()
		return errors.New("flaky: no confirm")
	}
	e.mu.Unlock()
	return e.Publisher.Publish(ctx, kind, body)
}

func (e *flakyEvents) failNext(kind string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fail[kind] += n
}

type harness struct {
	t      *testing.T
	clock  *memqueue.ManualClock
	q      *memqueue.Queue
	fs     *flakyStore
	store  *envelopes.Store
	r      *fakeRenderer
	ev     *flakyEvents
	ret    *fakeRetention
	m      *metrics.Metrics
	w      *worker.Worker
	logs   *syncbuf.Buffer
	cancel context.CancelFunc
	done   chan error
}

func newHarness(t *testing.T, r *fakeRenderer) *harness {
	t.Helper()
	return newBatchedHarness(t, r, nil)
}

// newBatchedHarness is newHarness with a worker that asks the batch
// records about every cancellation: cancels, given the worker's store,
// returns them.
func newBatchedHarness(t *testing.T, r *fakeRenderer, cancels func(storage.Store) worker.CancelChecker) *harness {
	t.Helper()
	h := &harness{t: t, clock: memqueue.NewManualClock(start), r: r, logs: &syncbuf.Buffer{}}
	if h.r == nil {
		h.r = &fakeRenderer{}
	}
	logger := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var err error
	h.q, err = memqueue.New(memqueue.Config{Clock: h.clock, Concurrency: 2, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := fsstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h.fs = &flakyStore{Store: fs}
	h.store = envelopes.New(h.fs)
	h.ev = &flakyEvents{Publisher: h.q.Events(), fail: map[string]int{}}
	h.m = metrics.New(nil)
	h.ret = &fakeRetention{}
	cfg := worker.Config{
		Source: h.q, Store: h.store, Ping: h.fs.Ping, Renderer: h.r, Events: h.ev, Retention: h.ret,
		Clock: h.clock, Metrics: h.m, Logger: logger,
	}
	if cancels != nil {
		cfg.Cancels = cancels(h.fs)
	}
	h.w, err = worker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		checkNoPersonalData(t, h.logs.String())
		h.checkEventsAgainstSchema()
		h.checkReasonsKnown()
	})
	return h
}

// checkReasonsKnown fails when the worker counted a reason code missing
// from worker.RejectCodes or worker.RetryReasons: its series would not
// exist before its first event, and an alert on increase() would miss it.
func (h *harness) checkReasonsKnown() {
	h.t.Helper()
	for _, c := range []struct {
		vec   *prometheus.CounterVec
		known []string
	}{{h.m.Rejected, worker.RejectCodes}, {h.m.Failed, worker.RetryReasons}} {
		for _, v := range labelValues(h.t, c.vec) {
			if !slices.Contains(c.known, v) {
				h.t.Errorf("reason %q was counted but is not listed in worker.RejectCodes or worker.RetryReasons", v)
			}
		}
	}
}

// labelValues is the value of the one label of each of vec's series.
func labelValues(t *testing.T, vec *prometheus.CounterVec) []string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(vec)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var values []string
	for _, f := range families {
		for _, m := range f.GetMetric() {
			values = append(values, m.GetLabel()[0].GetValue())
		}
	}
	return values
}

// TestReasonSeriesStartAtZero checks that a new worker's rejected and
// failed counters have a series for each of its codes, at 0.
func TestReasonSeriesStartAtZero(t *testing.T) {
	h := newHarness(t, nil)
	for _, c := range []struct {
		vec   *prometheus.CounterVec
		known []string
	}{{h.m.Rejected, worker.RejectCodes}, {h.m.Failed, worker.RetryReasons}} {
		got := labelValues(t, c.vec)
		slices.Sort(got)
		if want := slices.Sorted(slices.Values(c.known)); !slices.Equal(got, want) {
			t.Errorf("series at start %q, want %q", got, want)
		}
		for _, v := range c.known {
			if n := testutil.ToFloat64(c.vec.WithLabelValues(v)); n != 0 {
				t.Errorf("%s at start: %v, want 0", v, n)
			}
		}
	}
}

// printTypes are the event types of schemas/envelope-print-event.v1.schema.json.
var printTypes = map[string]bool{events.TypeBatched: true, events.TypeHandedOver: true, events.TypePrinted: true,
	events.TypePosted: true, events.TypeReturned: true, events.TypeSpoiled: true, events.TypeCancelRefused: true}

// checkEventsAgainstSchema validates every event published against its
// schema: schemas/envelope-print-event.v1.schema.json for the print event
// types, schemas/envelope-event.v1.schema.json for the others.
func (h *harness) checkEventsAgainstSchema() {
	h.t.Helper()
	compile := func(name string) *jsonschema.Schema {
		data, err := schemas.FS.ReadFile(name)
		if err != nil {
			h.t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			h.t.Fatal(err)
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		if err := c.AddResource(name, doc); err != nil {
			h.t.Fatal(err)
		}
		s, err := c.Compile(name)
		if err != nil {
			h.t.Fatal(err)
		}
		return s
	}
	status, printSchema := compile("envelope-event.v1.schema.json"), compile("envelope-print-event.v1.schema.json")
	for _, m := range h.q.Events().Messages() {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(m.Body))
		if err != nil {
			h.t.Fatal(err)
		}
		s := status
		if printTypes[m.Kind] {
			s = printSchema
		}
		if err := s.Validate(inst); err != nil {
			h.t.Errorf("event %s breaks the schema: %v\n%s", m.Kind, err, m.Body)
		}
		checkNoPersonalData(h.t, string(m.Body))
	}
}

func (h *harness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.done = make(chan error, 1)
	go func() { h.done <- h.w.Run(ctx) }()
	h.t.Cleanup(func() { h.stop() })
}

// stop cancels Run and waits for it to drain, within a deadline.
func (h *harness) stop() {
	h.t.Helper()
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		h.t.Fatal("Run did not return within 10s of its context ending")
	}
}

func (h *harness) publish(kind string, body []byte) {
	h.t.Helper()
	if err := h.q.Publish(context.Background(), kind, body); err != nil {
		h.t.Fatal(err)
	}
}

// settled is how many deliveries were settled one way or another.
func (h *harness) settled() uint64 {
	s := h.q.Stats()
	return s.Acked + s.Retried + s.DeadLettered
}

// waitSettled polls, with a deadline, until n deliveries have been settled.
func (h *harness) waitSettled(n uint64) {
	h.t.Helper()
	waitfor.True(h.t, 10*time.Second, fmt.Sprintf("%d settled deliveries", n), func() bool { return h.settled() >= n })
}

// eventsOf returns the events published so far, decoded, of one type ("" for all).
func (h *harness) eventsOf(typ string) []events.Event {
	h.t.Helper()
	var out []events.Event
	for _, m := range h.q.Events().Messages() {
		var e events.Event
		if err := json.Unmarshal(m.Body, &e); err != nil {
			h.t.Fatalf("event %s: %v", m.Kind, err)
		}
		if m.Kind != e.Type {
			h.t.Errorf("event published with routing key %q has type %q", m.Kind, e.Type)
		}
		if typ == "" || e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// sample returns a valid sample request with its envelope id set to id.
func sample(t *testing.T, name, id string) []byte {
	t.Helper()
	return samples.Request(t, name, id, "")
}

// personal lists strings from the samples that must never reach a log.
var personal = []string{"Priya", "Raman", "Arjun", "Asha", "Mill Lane", "Canterbury", "CT1 2HX", "2025-01-12", "Dev\""}

func checkNoPersonalData(t *testing.T, text string) {
	t.Helper()
	for _, p := range personal {
		if strings.Contains(text, p) {
			t.Errorf("logs contain personal data %q:\n%s", p, text)
		}
	}
}

func (h *harness) record(id string) (envelopes.Record, bool) {
	h.t.Helper()
	rec, err := h.store.Record(context.Background(), id)
	if errors.Is(err, storage.ErrNotFound) {
		return envelopes.Record{}, false
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return rec, true
}

func TestRenderStoresAndAnnounces(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	h.publish(pipeline.KindRender, sample(t, "valid/twins.json", "E-1"))
	h.waitSettled(1)

	rec, ok := h.record("E-1")
	if !ok {
		t.Fatal("no record for E-1")
	}
	if len(rec.Documents) != 3 || !rec.RenderedAt.Equal(start) {
		t.Errorf("record: %d documents rendered at %v, want 3 at %v", len(rec.Documents), rec.RenderedAt, start)
	}
	if err := h.store.Verify(context.Background(), rec); err != nil {
		t.Error(err)
	}
	if s := h.q.Stats(); s.Acked != 1 || s.Retried != 0 || s.DeadLettered != 0 {
		t.Errorf("stats %+v, want exactly one ack", s)
	}
	var types []string
	for _, e := range h.eventsOf("") {
		types = append(types, e.Type)
	}
	if got := strings.Join(types, ","); got != "envelope.accepted,envelope.rendered" {
		t.Errorf("events %s, want accepted then rendered", got)
	}
	rendered := h.eventsOf(events.TypeRendered)[0]
	if rendered.EnvelopeID != "E-1" || len(rendered.Documents) != 3 ||
		rendered.Documents[1].Template != "baby-loss-certificate@1" || rendered.Documents[1].SHA256 != rec.Documents[1].SHA256 {
		t.Errorf("rendered event %+v does not describe the record", rendered)
	}
	if got := testutil.ToFloat64(h.m.Rendered); got != 1 {
		t.Errorf("rendered metric %v, want 1", got)
	}
	if got := testutil.ToFloat64(h.m.InFlight); got != 0 {
		t.Errorf("in-flight gauge %v after settling, want 0", got)
	}
}

func TestInvalidRequestIsDeadLetteredAndNeverRetried(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	h.publish(pipeline.KindRender, sample(t, "invalid/bad-postcode.json", ""))
	h.publish(pipeline.KindRender, []byte(`{"schemaVersion": 1, "envelopeId": `))
	h.waitSettled(2)
	h.clock.Advance(time.Hour) // any retry would come back now

	dead := h.q.DeadLetters()
	if len(dead) != 2 {
		t.Fatalf("%d dead letters, want 2", len(dead))
	}
	codes := map[string]pipeline.Reason{}
	for _, d := range dead {
		codes[d.Reason.Code] = d.Reason
		if d.Attempt != 1 {
			t.Errorf("%s dead-lettered on attempt %d, want 1", d.Reason.Code, d.Attempt)
		}
	}
	inv, ok := codes[worker.CodeInvalidRequest]
	if !ok || len(inv.Fields) != 1 || inv.Fields[0].Field != "recipient.address[3]" {
		t.Errorf("invalid-request reason %+v, want the postcode field", inv)
	}
	if _, ok := codes[worker.CodeMalformed]; !ok {
		t.Errorf("no malformed dead letter among %v", codes)
	}
	if s := h.q.Stats(); s.Retried != 0 || s.Consumed != 2 {
		t.Errorf("stats %+v: invalid input must never be retried", s)
	}
	if h.r.calls.Load() != 0 {
		t.Error("an invalid request was rendered")
	}
	rejected := h.eventsOf(events.TypeRejected)
	if len(rejected) != 2 {
		t.Fatalf("%d rejected events, want 2", len(rejected))
	}
	for _, e := range rejected {
		switch e.Reason.Code {
		case worker.CodeInvalidRequest:
			if e.EnvelopeID == "" || len(e.Reason.Fields) != 1 {
				t.Errorf("rejected event %+v lacks the envelope id or the field error", e)
			}
		case worker.CodeMalformed:
			if e.EnvelopeID != "" || e.MessageID == "" {
				t.Errorf("malformed event %+v: want no envelope id and the message id", e)
			}
		}
	}
	if len(h.eventsOf(events.TypeAccepted)) != 0 {
		t.Error("an invalid request was announced as accepted")
	}
	if got := testutil.ToFloat64(h.m.Rejected.WithLabelValues(worker.CodeInvalidRequest)); got != 1 {
		t.Errorf("rejected{invalid-request} = %v, want 1", got)
	}
}

// TestRejectionListsLayoutProblemsWithTheOthers: a request with a bad
// postcode and a name too long for its box is rejected once, with both;
// a valid request is laid out only by its render.
func TestRejectionListsLayoutProblemsWithTheOthers(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	bad := bytes.Replace(sample(t, "invalid/bad-postcode.json", ""), []byte(`"Morwenna"`), []byte(`"Unfit"`), 1)
	h.publish(pipeline.KindRender, bad)
	h.waitSettled(1)
	dead := h.q.DeadLetters()
	if len(dead) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dead))
	}
	var fields []string
	for _, f := range dead[0].Reason.Fields {
		fields = append(fields, f.Field)
	}
	if got := strings.Join(fields, " "); got != "recipient.address[3] certificates[0].babyName" {
		t.Errorf("rejected for %s, want the postcode and the baby's name", got)
	}

	h.publish(pipeline.KindRender, sample(t, "valid/twins.json", "E-fit"))
	h.waitSettled(2)
	if n := h.r.fits.Load(); n != 1 {
		t.Errorf("%d certificates laid out while decoding, want 1 (the invalid request's only)", n)
	}
}

func TestConflictIsRefusedAndStoredEnvelopeKept(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	h.publish(pipeline.KindRender, sample(t, "valid/twins.json", "E-2"))
	h.waitSettled(1)
	before, _ := h.record("E-2")
	h.publish(pipeline.KindRender, sample(t, "valid/bfpo.json", "E-2"))
	h.waitSettled(2)

	dead := h.q.DeadLetters()
	if len(dead) != 1 || dead[0].Reason.Code != worker.CodeConflict {
		t.Fatalf("dead letters %+v, want one conflict", dead)
	}
	after, _ := h.record("E-2")
	if after.RequestHash != before.RequestHash {
		t.Error("the stored envelope changed")
	}
	if h.r.calls.Load() != 1 {
		t.Errorf("rendered %d times, want 1: a conflict is caught before rendering", h.r.calls.Load())
	}
	rej := h.eventsOf(events.TypeRejected)
	if len(rej) != 1 || rej[0].EnvelopeID != "E-2" || rej[0].Reason.Code != worker.CodeConflict {
		t.Errorf("rejected events %+v, want one conflict for E-2", rej)
	}
}

func TestRedeliveryStoresNothingTwiceAndAnnouncesAgain(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	body := sample(t, "valid/twins.json", "E-3")
	h.publish(pipeline.KindRender, body)
	h.waitSettled(1)
	h.publish(pipeline.KindRender, body) // the same message again, as after a lost ack
	h.waitSettled(2)

	if h.r.calls.Load() != 1 {
		t.Errorf("rendered %d times, want 1", h.r.calls.Load())
	}
	if s := h.q.Stats(); s.Acked != 2 || s.DeadLettered != 0 {
		t.Errorf("stats %+v, want both acked", s)
	}
	files := 0
	for info, err := range h.fs.List(context.Background(), "envelopes/E-3/files/") {
		if err != nil {
			t.Fatal(err)
		}
		_ = info
		files++
	}
	if files != 1 { // one bundle: the request, the letter and 2 certificates
		t.Errorf("%d files stored, want 1", files)
	}
	msgs := h.q.Events().Messages()
	var rendered [][]byte
	for _, m := range msgs {
		if m.Kind == events.TypeRendered {
			rendered = append(rendered, m.Body)
		}
	}
	if len(rendered) != 2 || !bytes.Equal(rendered[0], rendered[1]) {
		t.Errorf("rendered events %q: want the same event twice", rendered)
	}
	if r, d := testutil.ToFloat64(h.m.Rendered), testutil.ToFloat64(h.m.Duplicates); r != 1 || d != 1 {
		t.Errorf("rendered %v, duplicates %v; want 1 and 1", r, d)
	}
}

func TestEventPublishFailureRetriesAndTheRetryFindsTheRecord(t *testing.T) {
	h := newHarness(t, nil)
	h.ev.failNext(events.TypeRendered, 1)
	h.start()
	h.publish(pipeline.KindRender, sample(t, "valid/twins.json", "E-4"))
	h.waitSettled(1)
	if s := h.q.Stats(); s.Retried != 1 || s.Acked != 0 {
		t.Fatalf("stats %+v, want the message retried", s)
	}
	if _, ok := h.record("E-4"); !ok {
		t.Fatal("record missing: the commit comes before the event")
	}
	h.clock.Advance(time.Second) // first retry delay
	h.waitSettled(2)
	if s := h.q.Stats(); s.Acked != 1 {
		t.Errorf("stats %+v, want the retry acked", s)
	}
	if h.r.calls.Load() != 1 {
		t.Errorf("rendered %d times, want 1: the retry finds the record", h.r.calls.Load())
	}
	if n := len(h.eventsOf(events.TypeRendered)); n != 1 {
		t.Errorf("%d rendered events confirmed, want 1", n)
	}
	if got := testutil.ToFloat64(h.m.Failed.WithLabelValues(worker.ReasonEventsUnavailable)); got != 1 {
		t.Errorf("failed{events-unavailable} = %v, want 1", got)
	}
}

// TestAcceptedEventFailureRetries: the accepted event's confirm is awaited
// alongside rendering and storing; unconfirmed, the message is retried and
// the retry announces the stored envelope, rendered once.
func TestAcceptedEventFailureRetries(t *testing.T) {
	h := newHarness(t, nil)
	h.ev.failNext(events.TypeAccepted, 1)
	h.start()
	h.publish(pipeline.KindRender, sample(t, "valid/twins.json", "E-4b"))
	h.waitSettled(1)
	if s := h.q.Stats(); s.Retried != 1 || s.Acked != 0 {
		t.Fatalf("stats %+v, want the message retried", s)
	}
	if n := len(h.eventsOf(events.TypeRendered)); n != 0 {
		t.Errorf("%d rendered events before accepted was confirmed, want 0", n)
	}
	h.clock.Advance(time.Second)
	h.waitSettled(2)
	if _, ok := h.record("E-4b"); !ok {
		t.Error("not stored after the retry")
	}
	if n := len(h.eventsOf(events.TypeRendered)); n != 1 {
		t.Errorf("%d rendered events, want 1", n)
	}
	if h.r.calls.Load() != 1 {
		t.Errorf("rendered %d times, want 1", h.r.calls.Load())
	}
}

func TestCancelBeforeRenderIsRemembered(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	h.publish(pipeline.KindCancel, []byte(`{"schemaVersion":1,"envelopeId":"E-5","code":"requested-by-parent","reason":"asked by phone"}`))
	h.waitSettled(1)
	h.publish(pipeline.KindRender, sample(t, "valid/twins.json", "E-5"))
	h.waitSettled(2)

	if h.r.calls.Load() != 0 {
		t.Error("a cancelled envelope was rendered")
	}
	if _, ok := h.record("E-5"); ok {
		t.Error("a cancelled envelope was stored")
	}
	if s := h.q.Stats(); s.Acked != 2 {
		t.Errorf("stats %+v, want both acked", s)
	}
	c := h.eventsOf(events.TypeCancelled)
	if len(c) != 2 || c[0].Reason.Code != "requested-by-parent" || !c[0].OccurredAt.Equal(c[1].OccurredAt) {
		t.Errorf("cancelled events %+v, want the same cancellation announced twice", c)
	}
	if got := testutil.ToFloat64(h.m.Cancelled.WithLabelValues("skipped")); got != 1 {
		t.Errorf("cancelled{skipped} = %v, want 1", got)
	}
}

func TestCancelAfterRenderMarksAndFirstCancelWins(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	h.publish(pipeline.KindRender, sample(t, "valid/twins.json", "E-6"))
	h.waitSettled(1)
	h.publish(pipeline.KindCancel, []byte(`{"schemaVersion":1,"envelopeId":"E-6","code":"requested-by-parent"}`))
	h.waitSettled(2)
	h.clock.Advance(time.Minute)
	h.publish(pipeline.KindCancel, []byte(`{"schemaVersion":1,"envelopeId":"E-6","code":"duplicate-application"}`))
	h.waitSettled(3)

	c, err := h.store.Cancellation(context.Background(), "E-6")
	if err != nil {
		t.Fatal(err)
	}
	if c.Code != "requested-by-parent" {
		t.Errorf("stored cancellation %q, want the first one", c.Code)
	}
	if _, ok := h.record("E-6"); !ok {
		t.Error("record gone: cancelling keeps it, the batcher skips it")
	}
	ev := h.eventsOf(events.TypeCancelled)
	if len(ev) != 2 || ev[1].Reason.Code != "requested-by-parent" {
		t.Errorf("cancelled events %+v, want the first cancellation twice", ev)
	}
	if got := testutil.ToFloat64(h.m.Cancelled.WithLabelValues("marker")); got != 1 {
		t.Errorf("cancelled{marker} = %v, want 1", got)
	}
}

func TestBadCancelsAndUnknownKindsAreDeadLettered(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	h.publish(pipeline.KindCancel, []byte(`{"schemaVersion":1,"envelopeId":"E-7","code":"Bad Code","extra":1}`))
	h.publish(pipeline.KindCancel, []byte(`not json`))
	h.publish("envelope.print-now", []byte(`{}`))
	h.waitSettled(3)

	want := map[string]int{worker.CodeInvalidCancel: 2, worker.CodeUnknownKind: 1}
	got := map[string]int{}
	for _, d := range h.q.DeadLetters() {
		got[d.Reason.Code]++
		if strings.Contains(d.Reason.Detail, "print-now") {
			t.Errorf("reason %+v echoes the unknown kind", d.Reason)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("dead letters by code %v, want %v", got, want)
	}
	if n := len(h.eventsOf("")); n != 0 {
		t.Errorf("%d events for messages that are not envelopes, want 0", n)
	}
	if _, err := h.store.Cancellation(context.Background(), "E-7"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("an invalid cancel was stored: %v", err)
	}
}

func TestRenderFailuresAreDeadLettered(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	h.publish(pipeline.KindRender, sample(t, "valid/twins.json", "panic-1"))
	h.publish(pipeline.KindRender, sample(t, "valid/twins.json", "unprintable-1"))
	h.publish(pipeline.KindRender, sample(t, "valid/twins.json", "broken-1"))
	h.waitSettled(3)
	// The process is alive and still works.
	h.publish(pipeline.KindRender, sample(t, "valid/twins.json", "E-8"))
	h.waitSettled(4)
	if _, ok := h.record("E-8"); !ok {
		t.Error("the envelope after a panic was not stored")
	}

	got := map[string]pipeline.Reason{}
	for _, d := range h.q.DeadLetters() {
		got[d.Reason.Code+"/"+d.MessageID] = d.Reason
	}
	byCode := map[string]int{}
	for _, d := range h.q.DeadLetters() {
		byCode[d.Reason.Code]++
		if d.Reason.Code == worker.CodeUnprintable && len(d.Reason.Fields) != 1 {
			t.Errorf("unprintable reason %+v lacks its field", d.Reason)
		}
		checkNoPersonalData(t, d.Reason.Detail)
	}
	if byCode[worker.CodeRenderFailed] != 2 || byCode[worker.CodeUnprintable] != 1 {
		t.Errorf("dead letters by code %v, want 2 render-failed and 1 unprintable", byCode)
	}
	if s := h.q.Stats(); s.HandlerPanics != 0 || s.Retried != 0 {
		t.Errorf("stats %+v: the worker must recover render panics itself and never retry them", s)
	}
	for _, id := range []string{"panic-1", "unprintable-1", "broken-1"} {
		if _, ok := h.record(id); ok {
			t.Errorf("%s was stored", id)
		}
	}
	if n := len(h.eventsOf(events.TypeRejected)); n != 3 {
		t.Errorf("%d rejected events, want 3", n)
	}
	if !strings.Contains(h.logs.String(), "index out of range") {
		t.Error("the panic's runtime error is not logged")
	}
}

func TestStorageOutageRetriesStopsTakingWorkAndResumes(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	h.fs.down.Store(true)
	h.publish(pipeline.KindRender, sample(t, "valid/twins.json", "E-9"))
	h.waitSettled(1)
	if s := h.q.Stats(); s.Retried != 1 {
		t.Fatalf("stats %+v, want the storage failure retried", s)
	}
	if h.w.StorageOpen() {
		t.Fatal("the gate is open although storage failed")
	}
	if got := testutil.ToFloat64(h.m.StorageGateOpen); got != 0 {
		t.Errorf("gate gauge %v, want 0", got)
	}

	// New work waits at the gate: handed over, but neither rendered nor
	// settled.
	h.publish(pipeline.KindRender, sample(t, "valid/twins.json", "E-10"))
	waitfor.True(t, 10*time.Second, "E-10 handed to a handler", func() bool { return h.q.Stats().Consumed == 2 })
	h.clock.Advance(time.Minute) // probes fail while storage is down; the retry of E-9 comes back and waits too
	waitfor.True(t, 10*time.Second, "E-9's retry handed to a handler", func() bool { return h.q.Stats().Consumed == 3 })
	if h.settled() != 1 || h.r.calls.Load() != 0 {
		t.Fatalf("settled %d, rendered %d while storage is down; want 1 and 0", h.settled(), h.r.calls.Load())
	}

	h.fs.down.Store(false)
	h.clock.Advance(worker.DefaultGateBackoffMax) // the next probe succeeds
	h.waitSettled(3)
	if !h.w.StorageOpen() {
		t.Error("the gate did not open again")
	}
	for _, id := range []string{"E-9", "E-10"} {
		if _, ok := h.record(id); !ok {
			t.Errorf("%s not stored after storage came back", id)
		}
	}
	if s := h.q.Stats(); s.Acked != 2 || s.DeadLettered != 0 {
		t.Errorf("stats %+v, want both acked, none lost", s)
	}
}

func TestShutdownFinishesInFlightWork(t *testing.T) {
	r := &fakeRenderer{block: make(chan struct{}), started: make(chan string, 4)}
	h := newHarness(t, r)
	h.start()
	h.publish(pipeline.KindRender, sample(t, "valid/twins.json", "E-11"))
	<-r.started
	h.cancel() // SIGTERM
	select {
	case <-h.done:
		t.Fatal("Run returned with an envelope still rendering")
	default:
	}
	h.publish(pipeline.KindRender, sample(t, "valid/twins.json", "E-12")) // after the stop: not taken
	close(r.block)
	select {
	case err := <-h.done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after in-flight work finished")
	}
	h.cancel = nil
	if _, ok := h.record("E-11"); !ok {
		t.Error("the in-flight envelope was not stored")
	}
	if s := h.q.Stats(); s.Acked != 1 || s.Consumed != 1 {
		t.Errorf("stats %+v, want the in-flight one acked and nothing new taken", s)
	}
	if d, _ := h.q.Depths(context.Background()); d.Render != 1 {
		t.Errorf("%d render messages left in the queue, want 1", d.Render)
	}
}

func TestShutdownWhileStorageIsDownRetriesWaitingWork(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	h.fs.down.Store(true)
	h.publish(pipeline.KindRender, sample(t, "valid/twins.json", "E-13"))
	h.waitSettled(1)
	h.publish(pipeline.KindRender, sample(t, "valid/twins.json", "E-14"))
	waitfor.True(t, 10*time.Second, "E-14 at the gate", func() bool { return h.q.Stats().Consumed == 2 })
	h.stop()
	if s := h.q.Stats(); s.Retried != 2 || s.Acked != 0 {
		t.Errorf("stats %+v, want the waiting message sent round the retry path", s)
	}
}

func TestConfigValidate(t *testing.T) {
	_, err := worker.New(worker.Config{Timeout: -time.Second})
	if err == nil {
		t.Fatal("an empty config was accepted")
	}
	for _, want := range []string{"Source is required", "Store is required", "Ping is required", "Renderer is required",
		"Events is required", "Timeout cannot be negative"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

var _ io.Writer = (*syncbuf.Buffer)(nil)

func TestDateOfIssueLaterThanTomorrowIsRefused(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	// The clock says 2 March 2026, 17:04 in London.
	h.publish(pipeline.KindRender, samples.Request(t, "valid/twins.json", "E-TOMORROW", "2026-03-03"))
	h.publish(pipeline.KindRender, samples.Request(t, "valid/twins.json", "E-LATER", "2026-03-04"))
	h.waitSettled(2)

	if _, ok := h.record("E-TOMORROW"); !ok {
		t.Error("a certificate dated tomorrow was not rendered")
	}
	if _, ok := h.record("E-LATER"); ok {
		t.Error("a certificate dated the day after tomorrow was rendered")
	}
	dead := h.q.DeadLetters()
	if len(dead) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dead))
	}
	r := dead[0].Reason
	if r.Code != worker.CodeInvalidRequest || len(r.Fields) != 2 ||
		r.Fields[0].Field != "certificates[0].dateOfIssue" || r.Fields[1].Field != "certificates[1].dateOfIssue" {
		t.Errorf("reason %+v, want invalid-request naming both certificates' dateOfIssue", r)
	}
	rejected := h.eventsOf(events.TypeRejected)
	if len(rejected) != 1 || rejected[0].EnvelopeID != "E-LATER" {
		t.Errorf("rejected events %+v, want one for E-LATER", rejected)
	}

	// A day later the same request is accepted: the rule follows the
	// clock, and nothing about the request is remembered.
	h.clock.Advance(24 * time.Hour)
	h.publish(pipeline.KindRender, samples.Request(t, "valid/twins.json", "E-LATER", "2026-03-04"))
	h.waitSettled(3)
	if _, ok := h.record("E-LATER"); !ok {
		t.Error("the request was refused again once its date of issue was tomorrow")
	}
}
