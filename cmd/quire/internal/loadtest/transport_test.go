package loadtest

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/quire-print/quire/internal/variety"
	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/service"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/fsstore"
	"github.com/quire-print/quire/pipeline/storage/storagetest"
	"github.com/quire-print/quire/pipeline/worker"
	"github.com/quire-print/quire/renderer"
	"github.com/quire-print/quire/request"
)

// TestTransportOnlyMakesTheWorkersRequests: the transport-only phase is a
// ceiling for the pipeline only if it asks S3 for what the worker asks for
// a new envelope. Both are counted on the same kind of store.
func TestTransportOnlyMakesTheWorkersRequests(t *testing.T) {
	r, err := renderer.New()
	if err != nil {
		t.Fatal(err)
	}
	sample, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "testdata", "requests", "valid", "two-parents-all-boxes.json"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := variety.Request(sample, "load-1", 1)
	if err != nil {
		t.Fatal(err)
	}

	// The worker, handling the request.
	ws := newCountingStore(t)
	w, err := worker.New(worker.Config{Source: idleSource{}, Store: envelopes.New(ws), Ping: ws.Ping,
		Renderer: r, Events: noEvents{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	d := &delivery{body: body}
	w.Handle(t.Context(), d, nil)
	if !d.acked {
		t.Fatal("the worker did not ack the envelope")
	}
	workerRequests := ws.Take()

	// The transport-only phase, for the same envelope's objects.
	env, err := request.Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.RenderEnvelope(env)
	if err != nil {
		t.Fatal(err)
	}
	ts := newCountingStore(t)
	tr := newTransportOnly(service.Config{Concurrency: 1}, "transport", out.Documents, body)
	if err := tr.store(t.Context(), envelopes.New(ts), ts, "load-1", func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	transportRequests := ts.Take()

	if !maps.Equal(workerRequests, transportRequests) {
		t.Errorf("S3 requests for one new envelope: worker %v, transport only %v", workerRequests, transportRequests)
	}
	// A letter and one certificate: one listing that finds neither record
	// nor cancellation marker, the bundle (the request and two PDFs) and
	// the ready entry, then the record.
	if want := map[string]int{"list": 1, "put": 2, "create": 1}; !maps.Equal(workerRequests, want) {
		t.Errorf("the worker made %v, want %v", workerRequests, want)
	}
	// Under the same keys, but for the hashes of contents that differ (the
	// phase stores the request as published, the worker normalised).
	if wk, tk := keyShapes(t, ws), keyShapes(t, ts); len(wk) != 3 || !slices.Equal(wk, tk) {
		t.Errorf("keys stored: worker %q, transport only %q", wk, tk)
	}
}

var sha256Segment = regexp.MustCompile(`/[0-9a-f]{64}/`)

// keyShapes lists s's keys with every SHA-256 segment written <sha256>.
func keyShapes(t *testing.T, s storage.Store) []string {
	t.Helper()
	var keys []string
	for info, err := range s.List(t.Context(), "") {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, sha256Segment.ReplaceAllString(info.Key, "/<sha256>/"))
	}
	return keys
}

func newCountingStore(t *testing.T) *storagetest.Counting {
	fs, err := fsstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return storagetest.NewCounting(fs)
}

type delivery struct {
	body  []byte
	acked bool
}

func (d *delivery) Kind() string                        { return pipeline.KindRender }
func (d *delivery) Body() []byte                        { return d.body }
func (d *delivery) MessageID() string                   { return "" }
func (d *delivery) Attempt() int                        { return 1 }
func (d *delivery) Ack(context.Context) error           { d.acked = true; return nil }
func (d *delivery) Retry(context.Context, string) error { return errors.New("retried") }
func (d *delivery) Reject(context.Context, pipeline.Reason) error {
	return errors.New("rejected")
}

type idleSource struct{}

func (idleSource) Consume(ctx context.Context, _ pipeline.Handler) error {
	<-ctx.Done()
	return nil
}

type noEvents struct{}

func (noEvents) Publish(context.Context, string, []byte) error { return nil }
