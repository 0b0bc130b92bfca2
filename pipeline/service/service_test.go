package service_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quire-print/quire/internal/waitfor"
	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/batch/batchtest"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/service"
	"github.com/quire-print/quire/pipeline/storage/fsstore"
	"github.com/quire-print/quire/pipeline/storage/s3store"
	"github.com/quire-print/quire/renderer/rendered"
	"github.com/quire-print/quire/request"
)

type fakeRenderer struct{}

func (fakeRenderer) Render(env *request.Envelope) ([]rendered.Document, error) {
	return []rendered.Document{{Kind: "letter", Name: "letter.pdf", TemplateID: "carriage-letter",
		TemplateVersion: 1, Pages: 1, Sheets: 1, PDF: []byte("%PDF-fake " + env.ContentHash())}}, nil
}

// recorder keeps the events an embedded service publishes.
type recorder struct {
	mu sync.Mutex
	ev []events.Event
}

func (r *recorder) on(kind string, body []byte) {
	var e events.Event
	_ = json.Unmarshal(body, &e)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ev = append(r.ev, e)
}

func (r *recorder) find(typ, id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.ev {
		if e.Type == typ && e.EnvelopeID == id {
			return true
		}
	}
	return false
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	return do(t, http.DefaultClient, "GET", url, "")
}

func TestEmbeddedServiceEndToEnd(t *testing.T) {
	rec := &recorder{}
	dir := t.TempDir()
	s, err := service.New(service.Config{Listen: "127.0.0.1:0", DataDir: dir, OnEvent: rec.on}, fakeRenderer{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	base := "http://" + s.Addr()

	body, err := os.ReadFile(filepath.Join("..", "..", "testdata", "requests", "valid", "twins.json"))
	if err != nil {
		t.Fatal(err)
	}
	id := service.EnvelopeID(body)
	if id != "env-2025-03-05-000201" {
		t.Fatalf("EnvelopeID = %q", id)
	}
	c := service.IntakeClient{BaseURL: base}
	if err := c.Submit(context.Background(), pipeline.KindRender, id, body); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, 10*time.Second, "the rendered event", func() bool { return rec.find(events.TypeRendered, id) })
	if _, err := s.Envelopes().Record(context.Background(), id); err != nil {
		t.Errorf("record: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "objects", "envelopes", id, "record.json")); err != nil {
		t.Errorf("record not under the data directory: %v", err)
	}

	if err := c.Submit(context.Background(), pipeline.KindCancel, id, []byte(`{"schemaVersion":1,"envelopeId":"`+id+`","code":"sent-in-error"}`)); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, 10*time.Second, "the cancelled event", func() bool { return rec.find(events.TypeCancelled, id) })

	if err := c.Submit(context.Background(), "envelope.print", "", []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("an unknown kind: %v, want 400", err)
	}
	if err := c.Submit(context.Background(), pipeline.KindRender, "bad id", body); err == nil {
		t.Error("a bad message id was accepted")
	}

	if code, body := get(t, base+"/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != 200 || !strings.Contains(body, "storage: ok") || !strings.Contains(body, "broker: ok") {
		t.Errorf("/readyz: %d %q", code, body)
	}
	code, metrics := get(t, base+"/metrics")
	for _, want := range []string{
		"quire_envelopes_rendered_total 1", `quire_envelopes_consumed_total{kind="render"} 1`,
		`quire_envelopes_cancelled_total{what="marker"} 1`, `quire_queue_messages{queue="render"} 0`,
		"quire_render_duration_seconds_count 1", "quire_store_duration_seconds_count 1", "quire_envelopes_in_flight 0",
		"quire_broker_reconnects_total 0", "quire_queue_up 1", "quire_storage_gate_open 1",
	} {
		if code != 200 || !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(metrics, id) {
		t.Error("/metrics mentions an envelope id")
	}

	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the stop")
	}
}

// TestCancelOfABatchedEnvelopeIsRefused: the service's worker asks the
// batch records in its store, so a cancellation of an envelope in a
// sealed batch is refused, and one of an envelope no batch holds stands.
func TestCancelOfABatchedEnvelopeIsRefused(t *testing.T) {
	rec := &recorder{}
	dir := t.TempDir()
	fs, err := fsstore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	sealed := batchtest.Seal(t, fs, "northprint", time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC), 2)
	s, err := service.New(service.Config{Listen: "127.0.0.1:0", DataDir: dir, OnEvent: rec.on}, fakeRenderer{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Store() == nil || s.Events() == nil {
		t.Fatal("the service does not share its store and events publisher")
	}
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { stop(); <-done }()

	c := service.IntakeClient{BaseURL: "http://" + s.Addr()}
	for _, id := range []string{sealed.Envelopes[0].EnvelopeID, "not-batched-1"} {
		if err := c.Submit(t.Context(), pipeline.KindCancel, id, []byte(`{"schemaVersion":1,"envelopeId":"`+id+`","code":"sent-in-error"}`)); err != nil {
			t.Fatal(err)
		}
	}
	waitfor.True(t, 10*time.Second, "the refusal", func() bool { return rec.find(events.TypeCancelRefused, sealed.Envelopes[0].EnvelopeID) })
	waitfor.True(t, 10*time.Second, "the cancellation", func() bool { return rec.find(events.TypeCancelled, "not-batched-1") })
	if rec.find(events.TypeCancelled, sealed.Envelopes[0].EnvelopeID) {
		t.Error("an envelope in a sealed batch was announced cancelled")
	}
}

func TestReadyzSaysWhichDependencyIsDown(t *testing.T) {
	dir := t.TempDir()
	s, err := service.New(service.Config{Listen: "127.0.0.1:0", DataDir: dir}, fakeRenderer{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	if err := os.RemoveAll(dir); err != nil { // the store's directory vanishes
		t.Fatal(err)
	}
	code, body := get(t, "http://"+s.Addr()+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "storage: not ready") || !strings.Contains(body, "broker: ok") {
		t.Errorf("/readyz with the store gone: %d %q", code, body)
	}
	stop()
	<-done
}

// StorageReady closes once Run has found the store: with the filesystem
// store, as soon as Run starts.
func TestStorageReadyOnTheFilesystem(t *testing.T) {
	s, err := service.New(service.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir()}, fakeRenderer{})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.StorageReady():
		t.Fatal("StorageReady closed before Run")
	default:
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	select {
	case <-s.StorageReady():
	case <-time.After(10 * time.Second): // a deadline, not a wait: it closes at once
		t.Error("StorageReady not closed 10s after Run started")
	}
	stop()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

// Run with ctx already ended returns nil, as a stop while quire serve
// waits for storage does (consuming ends as soon as ctx does there too),
// whichever of the two Run sees first: tried 50 times, since that order
// depends on scheduling.
func TestStopAtOnceIsClean(t *testing.T) {
	for i := range 50 {
		// Logging to a file, as to stderr, lets the other goroutines run
		// while Run logs that it is running.
		f, err := os.Create(filepath.Join(t.TempDir(), "log"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		s, err := service.New(service.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(f, nil))}, fakeRenderer{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(context.Background())
		stop()
		if err := s.Run(ctx); err != nil {
			t.Fatalf("run %d: Run stopped at once = %v, want nil", i, err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg  service.Config
		want string
	}{
		{service.Config{AMQPURL: "http://x"}, "AMQP URL must look like amqp://"},
		{service.Config{S3: s3store.Config{Bucket: "b"}}, "the S3 endpoint is empty"},
		{service.Config{S3: s3store.Config{Endpoint: "127.0.0.1:9000"}}, "S3 bucket is required"},
		{service.Config{S3: s3store.Config{Endpoint: "127.0.0.1:9000", Bucket: "b", AccessKey: "AK"}}, "access key and secret key go together"},
		{service.Config{Public: service.Listener{Addr: "8443"}}, `public listen address "8443" must be host:port`},
		{service.Config{Public: service.Listener{CertFile: "c.pem", KeyFile: "k.pem"}}, "public TLS needs a public listen address of its own"},
		{service.Config{Supplier: service.Listener{Addr: ":8443", CertFile: "c.pem"}}, "supplier TLS certificate and key go together"},
		{service.Config{Supplier: service.Listener{Addr: ":8443"}}, "the supplier listener serves only the pull API"},
		{service.Config{IntakeTokenSHA256: "qs_token"}, "intake token hash must be 64 lowercase hex digits"},
		{service.Config{AMQPURL: "amqp://localhost", AMQPCAFile: "ca.pem"}, "the AMQP URL is not amqps://"},
		{service.Config{Batching: service.BatchConfig{Supplier: "northprint"}}, "the pull adapter needs supplier tokens"},
		{service.Config{Batching: service.BatchConfig{Supplier: "local", Adapter: "folder", Lifecycle: true}}, "S3 lifecycle rules need an S3 store"},
		{service.Config{Batching: service.BatchConfig{Supplier: "local", Adapter: "folder", Instance: "quire 1"}}, `instance name "quire 1" must be 1 to 253 letters`},
		{service.Config{Concurrency: 8, Prefetch: 2}, "prefetch (2) cannot be smaller than concurrency (8)"},
		{service.Config{Prefetch: 2}, "prefetch (2) cannot be smaller than concurrency (8)"},
		{service.Config{Concurrency: -1}, "concurrency cannot be negative"},
		{service.Config{Listen: "8080"}, `HTTP listen address "8080" must be host:port`},
		{service.Config{ShutdownTimeout: -time.Second}, "shutdown timeout cannot be negative"},
		{service.Config{AMQPURL: "amqp://localhost", OnEvent: func(string, []byte) {}}, "OnEvent works only with the embedded queue"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", tt.cfg, err, tt.want)
		}
	}
	if err := (service.Config{}).Validate(); err != nil {
		t.Errorf("the zero Config (embedded defaults) is refused: %v", err)
	}
	if _, err := service.New(service.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir()}, nil); err == nil {
		t.Error("New accepted a nil renderer")
	}
}
