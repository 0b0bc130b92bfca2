package service

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/quire-print/quire/internal/syncbuf"
)

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
	logs.WaitFor(t, "not installed yet", 1)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("installLifecycle stopped while waiting = %v, want nil", err)
	}
}
