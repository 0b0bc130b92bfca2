package preview

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/quire-print/quire/internal/respstat"
)

// record is what is logged about one request. It holds ids, outcomes and
// sizes only: never a field value, a query string or a cache key (a key is
// a hash of what a parent typed).
type record struct {
	cache    outcome
	template string // a template's id@version, for samples
}

// requestID is the shape of an X-Request-Id worth logging; anything else
// might be a value pasted in by mistake, and is left out.
var requestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// wrap serves one route, logging it when it is done.
func (h *Handler) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &record{}
		rw := &respstat.Writer{ResponseWriter: w}
		rt.serve(h, rw, r, rec)
		status := rw.Status()
		took := time.Since(start)
		h.metrics.observe(rt.pattern, status, took)

		level := slog.LevelInfo
		switch {
		case status == http.StatusServiceUnavailable:
			level = slog.LevelWarn
		case status >= 500:
			level = slog.LevelError
		}
		attrs := []slog.Attr{
			slog.String("route", rt.pattern),
			slog.Int("status", status),
			slog.Float64("ms", float64(took.Microseconds())/1000),
			slog.Int("bytes", rw.Bytes),
		}
		if rec.cache != "" {
			attrs = append(attrs, slog.String("cache", string(rec.cache)))
		}
		if rec.template != "" {
			attrs = append(attrs, slog.String("template", rec.template))
		}
		if id := r.Header.Get("X-Request-Id"); requestID.MatchString(id) {
			attrs = append(attrs, slog.String("request_id", id))
		}
		h.log.LogAttrs(context.Background(), level, "preview", attrs...)
	})
}
