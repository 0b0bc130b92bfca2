//go:build integration

package s3store_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/s3store"
)

// privateMinIO is a MinIO server of the test's own, on its own port and
// data directory, so that stopping it disturbs no other test.
type privateMinIO struct {
	t    *testing.T
	bin  string
	addr string
	data string
	cmd  *exec.Cmd
	done chan struct{}
}

func startPrivateMinIO(t *testing.T) *privateMinIO {
	t.Helper()
	bin := os.Getenv("QUIRE_TEST_MINIO_BIN")
	if bin == "" {
		t.Fatal("QUIRE_TEST_MINIO_BIN is not set; run `./scripts/test-services.sh && . ./.test-env` first, or `make test`")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	m := &privateMinIO{t: t, bin: bin, addr: addr, data: t.TempDir()}
	m.start()
	t.Cleanup(m.kill)
	return m
}

func (m *privateMinIO) start() {
	m.t.Helper()
	m.cmd = exec.Command(m.bin, "server", m.data, "--address", m.addr, "--quiet")
	m.cmd.Env = append(os.Environ(), "MINIO_ROOT_USER=outage-test", "MINIO_ROOT_PASSWORD=outage-test-secret")
	if err := m.cmd.Start(); err != nil {
		m.t.Fatal(err)
	}
	m.done = make(chan struct{})
	go func() { m.cmd.Wait(); close(m.done) }()
	// An external process: poll its health endpoint, within a deadline.
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + m.addr + "/minio/health/live")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-m.done:
			m.t.Fatalf("MinIO on %s exited while starting", m.addr)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("MinIO on %s did not start within a minute", m.addr)
		}
	}
}

// kill stops the server as a crash would, and waits for it to go.
func (m *privateMinIO) kill() {
	if m.cmd == nil {
		return
	}
	m.cmd.Process.Kill()
	<-m.done
	m.cmd = nil
}

func (m *privateMinIO) config() s3store.Config {
	return s3store.Config{
		Endpoint: m.addr, AccessKey: "outage-test", SecretKey: "outage-test-secret",
		DisableTLS: true, CreateBucket: true, Bucket: "outage",
	}
}

// While the service is down every call fails promptly with an error that
// cannot be mistaken for an answer (not found, exists); once it is back the
// same Store works again and what was written before is there.
func TestOutage(t *testing.T) {
	m := startPrivateMinIO(t)
	s, err := s3store.New(t.Context(), m.config())
	if err != nil {
		t.Fatal(err)
	}
	before := []byte("written before the outage")
	if _, err := s.Put(t.Context(), "envelopes/E1/record.json", before); err != nil {
		t.Fatal(err)
	}

	m.kill()
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

	m.start()
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
