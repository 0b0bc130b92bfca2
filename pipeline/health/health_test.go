package health_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/quire-print/quire/internal/syncbuf"
	"github.com/quire-print/quire/pipeline/health"
)

func TestReadinessBodyNamesTheDependencyOnly(t *testing.T) {
	secret := errors.New("stat /srv/quire-data/objects: no such file or directory (host s3.internal.example)")
	r := health.Readiness{Timeout: 50 * time.Millisecond, Checks: []health.Check{
		{Name: "service", Ping: func(context.Context) error { return health.Reason("stopping") }},
		{Name: "broker", Ping: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
		{Name: "storage", Ping: func(context.Context) error { return secret }},
		{Name: "cache", Ping: func(context.Context) error { return nil }},
	}}
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	want := "service: not ready: stopping\nbroker: not ready: no answer within 50ms\nstorage: not ready: check failed; the log says why\ncache: ok\n"
	if w.Code != http.StatusServiceUnavailable || w.Body.String() != want {
		t.Errorf("%d %q, want 503 %q", w.Code, w.Body.String(), want)
	}
}

func TestWatchLogsChangesOnce(t *testing.T) {
	var logs syncbuf.Buffer
	fail := true
	c := health.Watch("storage", func(context.Context) error {
		if fail {
			return errors.New("connection refused")
		}
		return nil
	}, slog.New(slog.NewTextHandler(&logs, nil)))
	for range 3 {
		_ = c.Ping(t.Context())
	}
	fail = false
	for range 3 {
		_ = c.Ping(t.Context())
	}
	out := logs.String()
	if strings.Count(out, "dependency not ready") != 1 || !strings.Contains(out, `err="connection refused"`) ||
		strings.Count(out, "dependency ready again") != 1 {
		t.Errorf("want one line for the failure, with the error, and one for the recovery:\n%s", out)
	}
}
