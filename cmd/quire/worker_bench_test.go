package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/quire-print/quire/internal/variety"
	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/metrics"
	"github.com/quire-print/quire/pipeline/service"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/worker"
)

// BenchmarkWorkerEnvelope is Quire's own work per envelope on the
// pipeline path, without the network: decoding and validating the request,
// rendering, the commit protocol's hashing and records, and both status
// events, with storage and the broker in memory. The load harness measures
// the whole path with MinIO and RabbitMQ, whose run-to-run noise hides
// changes this size; this is the figure to watch for regressions in
// Quire's own share. Each envelope names a different family.
func BenchmarkWorkerEnvelope(b *testing.B) {
	r, err := service.NewRenderer()
	if err != nil {
		b.Fatal(err)
	}
	sample, err := os.ReadFile(filepath.Join("..", "..", "testdata", "requests", "valid", "two-parents-all-boxes.json"))
	if err != nil {
		b.Fatal(err)
	}
	bodies := make([][]byte, 1000)
	for i := range bodies {
		if bodies[i], err = variety.Request(sample, fmt.Sprintf("bench-%06d", i), i); err != nil {
			b.Fatal(err)
		}
	}
	st := &memStore{objects: map[string][]byte{}}
	w, err := worker.New(worker.Config{
		Source: neverSource{}, Store: envelopes.New(st), Ping: st.Ping, Renderer: r,
		Events: discard{}, Metrics: metrics.New(nil),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%len(bodies) == 0 {
			st.reset() // a new round of the same ids is new work, not redeliveries
		}
		d := &benchDelivery{body: bodies[i%len(bodies)]}
		w.Handle(context.Background(), d, nil)
		if !d.acked {
			b.Fatalf("envelope %d was not acked", i)
		}
		i++
	}
}

type benchDelivery struct {
	body  []byte
	acked bool
}

func (d *benchDelivery) Kind() string                        { return pipeline.KindRender }
func (d *benchDelivery) Body() []byte                        { return d.body }
func (d *benchDelivery) MessageID() string                   { return "" }
func (d *benchDelivery) Attempt() int                        { return 1 }
func (d *benchDelivery) Ack(context.Context) error           { d.acked = true; return nil }
func (d *benchDelivery) Retry(context.Context, string) error { return errors.New("retried") }
func (d *benchDelivery) Reject(context.Context, pipeline.Reason) error {
	return errors.New("rejected")
}

type neverSource struct{}

func (neverSource) Consume(ctx context.Context, _ pipeline.Handler) error {
	<-ctx.Done()
	return nil
}

type discard struct{}

func (discard) Publish(context.Context, string, []byte) error { return nil }

// memStore keeps objects in memory: the part of storage.Store the worker
// uses.
type memStore struct {
	mu      sync.Mutex
	objects map[string][]byte
}

func (s *memStore) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.objects)
}

// Put hashes what it stores, as every store does (the SHA-256 goes with
// the object and back in Info).
func (s *memStore) Put(_ context.Context, key string, data []byte) (storage.Info, error) {
	sum := sha256.Sum256(data)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects[key] = data
	return storage.Info{Key: key, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}, nil
}

func (s *memStore) Create(_ context.Context, key string, data []byte) (storage.Info, error) {
	sum := sha256.Sum256(data)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.objects[key]; ok {
		return storage.Info{}, storage.ErrExists
	}
	s.objects[key] = data
	return storage.Info{Key: key, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}, nil
}

func (s *memStore) Get(_ context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, ok := s.objects[key]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return data, nil
}

func (s *memStore) GetRange(_ context.Context, key string, offset, length int64) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, ok := s.objects[key]
	switch {
	case !ok:
		return nil, storage.ErrNotFound
	case offset+length > int64(len(data)):
		return nil, storage.ErrChecksum
	}
	return data[offset : offset+length], nil
}

func (s *memStore) PutStream(context.Context, string, io.Reader, int64, string) (storage.Info, error) {
	return storage.Info{}, errors.ErrUnsupported
}

func (s *memStore) Open(context.Context, string) (io.ReadCloser, storage.Info, error) {
	return nil, storage.Info{}, errors.ErrUnsupported
}

func (s *memStore) Stat(context.Context, string) (storage.Info, error) {
	return storage.Info{}, errors.ErrUnsupported
}

// List serves the worker's look-up, a listing of one envelope's keys, by
// trying the keys the worker writes there rather than walking the map:
// a service's listing does not slow down with the bucket's size either.
func (s *memStore) List(_ context.Context, prefix string) iter.Seq2[storage.Info, error] {
	s.mu.Lock()
	var found []storage.Info
	for _, name := range []string{"cancel.json", "record.json"} {
		if v, ok := s.objects[prefix+name]; ok {
			found = append(found, storage.Info{Key: prefix + name, Size: int64(len(v))})
		}
	}
	s.mu.Unlock()
	slices.SortFunc(found, func(a, b storage.Info) int { return strings.Compare(a.Key, b.Key) })
	return func(yield func(storage.Info, error) bool) {
		for _, info := range found {
			if !yield(info, nil) {
				return
			}
		}
	}
}

func (s *memStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.objects, key)
	return nil
}

func (s *memStore) Ping(context.Context) error { return nil }
