package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/quire-print/quire/internal/syncbuf"
)

// waitLog polls logs until want occurs n times, within a deadline.
func waitLog(t *testing.T, logs *syncbuf.Buffer, want string, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for strings.Count(logs.String(), want) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the log never said %q %d times:\n%s", want, n, logs.String())
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// fakeInstaller answers Install with errs in turn, then nil.
type fakeInstaller struct {
	errs  []error
	calls int
}

func (f *fakeInstaller) Install(ctx context.Context) error {
	f.calls++
	if len(f.errs) == 0 {
		return nil
	}
	err := f.errs[0]
	f.errs = f.errs[1:]
	return err
}

func TestInstallLifecycle(t *testing.T) {
	noAnswer := &url.Error{Op: "Get", URL: "http://127.0.0.1:1/b/?lifecycle", Err: errors.New("connection refused")}
	busy := minio.ErrorResponse{Code: "SlowDown", StatusCode: 503}
	denied := minio.ErrorResponse{Code: "AccessDenied", StatusCode: 403}
	unsupported := minio.ErrorResponse{Code: "NotImplemented", StatusCode: 501}
	for _, tt := range []struct {
		name      string
		errs      []error
		wantErr   error
		wantCalls int
	}{
		{"installed at once", nil, nil, 1},
		{"no answer, then busy, then installed", []error{noAnswer, busy}, nil, 3},
		{"refused: no waiting", []error{denied, nil}, denied, 1},
		{"no lifecycle support: no waiting", []error{unsupported, nil}, unsupported, 1},
		{"refused after waiting", []error{noAnswer, denied}, denied, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs syncbuf.Buffer
			f := &fakeInstaller{errs: tt.errs}
			err := installLifecycle(t.Context(), f, slog.New(slog.NewTextHandler(&logs, nil)))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("installLifecycle = %v, want %v", err, tt.wantErr)
			}
			if f.calls != tt.wantCalls {
				t.Errorf("%d attempts, want %d", f.calls, tt.wantCalls)
			}
			if waits := strings.Count(logs.String(), "not installed yet"); waits != f.calls-1 {
				t.Errorf("%d waits logged for %d attempts:\n%s", waits, f.calls, logs.String())
			}
		})
	}

	// A stop while waiting is not a failure.
	ctx, cancel := context.WithCancel(t.Context())
	f := &fakeInstaller{errs: []error{noAnswer, noAnswer, noAnswer}}
	done := make(chan error, 1)
	var logs syncbuf.Buffer
	go func() { done <- installLifecycle(ctx, f, slog.New(slog.NewTextHandler(&logs, nil))) }()
	waitLog(t, &logs, "not installed yet", 1)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("installLifecycle stopped while waiting = %v, want nil", err)
	}
}

// With storage that does not answer, quire serve with batching waits
// quietly: the storage wait is logged, but no cut-off, sweep or lifecycle
// rule is tried (each would log an error), and a stop exits 0.
func TestServeBatchingWaitsForStorage(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close() // nothing listens here now
	args := []string{"--listen", "127.0.0.1:0", "--s3-endpoint", dead, "--s3-bucket", "quire-outputs", "--s3-disable-tls",
		"--s3-access-key", "AK", "--s3-secret-key", "SK", "--retention-lifecycle",
		"--supplier", "local", "--supplier-adapter", "folder", "--supplier-folder", t.TempDir()}
	var stdout bytes.Buffer
	var logs syncbuf.Buffer
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() { done <- runServe(ctx, args, &stdout, &logs) }()

	// Three waits: the batcher and the sweep would have started (and
	// failed) at once, had they not waited.
	waitLog(t, &logs, "storage does not answer; waiting before consuming", 3)
	stop()
	if code := <-done; code != 0 {
		t.Errorf("exit %d after a stop, want 0", code)
	}
	out := logs.String()
	if !strings.Contains(out, "quire serve: batching, once storage answers") {
		t.Errorf("batching did not say it waits for storage:\n%s", out)
	}
	for _, bad := range []string{"level=ERROR", "lifecycle", "batch:", "retention:"} {
		if strings.Contains(out, bad) {
			t.Errorf("the log says %q while storage does not answer:\n%s", bad, out)
		}
	}
}
