//go:build integration

package s3store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/s3store"
	"github.com/quire-print/quire/pipeline/storage/s3store/s3test"
)

// A hung service (the process stopped with SIGSTOP: connections are still
// accepted, nothing is answered) fails every call within the request
// timeout, with an error that says so, rather than holding the caller
// until its own deadline; once the service goes on, the same Store works.
func TestHungServiceFailsWithinTheRequestTimeout(t *testing.T) {
	m := s3test.StartMinIO(t)
	cfg := m.Config()
	cfg.RequestTimeout, cfg.MaxAttempts = time.Second, 1
	s, err := s3store.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(t.Context(), "envelopes/E1/record.json", []byte("before")); err != nil {
		t.Fatal(err)
	}
	// Larger than the socket buffers, so that sending it stalls.
	big := make([]byte, 24<<20)
	rand.Read(big)
	sum := sha256.Sum256(big)

	m.Pause()
	resumed := false
	defer func() {
		if !resumed {
			m.Resume()
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	checks := map[string]func() error{
		"Ping":      func() error { return s.Ping(ctx) },
		"Stat":      func() error { _, err := s.Stat(ctx, "envelopes/E1/record.json"); return err },
		"Get":       func() error { _, err := s.Get(ctx, "envelopes/E1/record.json"); return err },
		"Put":       func() error { _, err := s.Put(ctx, "envelopes/E1/other", []byte("x")); return err },
		"Put large": func() error { _, err := s.Put(ctx, "envelopes/E1/large.pdf", big); return err },
		"PutStream": func() error {
			_, err := s.PutStream(ctx, "envelopes/E1/big.pdf", bytes.NewReader(big), int64(len(big)), hex.EncodeToString(sum[:]))
			return err
		},
	}
	for op, call := range checks {
		start := time.Now()
		err := call()
		took := time.Since(start)
		switch {
		case err == nil:
			t.Errorf("%s succeeded with the service stopped", op)
		case errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrExists):
			t.Errorf("%s with the service stopped = %v: a hung service must not look like an answer", op, err)
		case !strings.Contains(err.Error(), "no progress for 1s"):
			t.Errorf("%s with the service stopped: %v; want the request timeout named", op, err)
		case !s3store.Retryable(err):
			t.Errorf("%s: %v is not retryable", op, err)
		}
		// One attempt of one second, and for a multipart upload one part
		// request and the abort.
		if took > 10*time.Second {
			t.Errorf("%s took %v with the service stopped", op, took)
		}
		t.Logf("%s failed after %v: %v", op, took.Round(time.Millisecond), err)
	}

	m.Resume()
	resumed = true
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping once the service goes on: %v", err)
	}
	if got, err := s.Get(t.Context(), "envelopes/E1/record.json"); err != nil || string(got) != "before" {
		t.Errorf("Get once the service goes on = %q, %v", got, err)
	}
}
