//go:build integration

package s3store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/s3store"
	"github.com/quire-print/quire/pipeline/storage/s3store/s3test"
)

// While the service is down every call fails promptly with an error that
// cannot be mistaken for an answer (not found, exists); once it is back the
// same Store works again and what was written before is there.
func TestOutage(t *testing.T) {
	m := s3test.StartMinIO(t)
	s, err := s3store.New(t.Context(), m.Config())
	if err != nil {
		t.Fatal(err)
	}
	before := []byte("written before the outage")
	if _, err := s.Put(t.Context(), "envelopes/E1/record.json", before); err != nil {
		t.Fatal(err)
	}

	m.Kill()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	start := time.Now()
	checks := map[string]error{}
	checks["Ping"] = s.Ping(ctx)
	_, checks["Stat"] = s.Stat(ctx, "envelopes/E1/record.json")
	_, checks["Get"] = s.Get(ctx, "envelopes/E1/cancel.json")
	_, checks["Create"] = s.Create(ctx, "envelopes/E1/record.json", []byte("x"))
	_, checks["Put"] = s.Put(ctx, "envelopes/E1/other", []byte("x"))
	for _, err := range s.List(ctx, "envelopes/") {
		checks["List"] = err
		break
	}
	for op, err := range checks {
		switch {
		case err == nil:
			t.Errorf("%s succeeded with the service down", op)
		case errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrExists):
			t.Errorf("%s with the service down = %v: an outage must not look like an answer", op, err)
		}
	}
	elapsed := time.Since(start)
	t.Logf("six calls failed in %v with the service down", elapsed)
	if elapsed > 20*time.Second {
		t.Errorf("failing with the service down took %v", elapsed)
	}

	m.Start()
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping after the service came back: %v", err)
	}
	got, err := s.Get(t.Context(), "envelopes/E1/record.json")
	if err != nil || string(got) != string(before) {
		t.Errorf("after the outage Get = %q, %v", got, err)
	}
	if _, err := s.Create(t.Context(), "envelopes/E1/cancel.json", []byte("after")); err != nil {
		t.Errorf("Create after the outage: %v", err)
	}
}
