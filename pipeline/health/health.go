// Package health serves quire serve's liveness and readiness endpoints.
//
// /healthz answers 200 while the process can answer at all. /readyz
// answers 200 only while every dependency (the broker, the store) answers
// its check within a timeout, and its body says, one line per dependency,
// which one does not, so that a load balancer and an operator read the same
// thing.
package health

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Check is one dependency's readiness check.
type Check struct {
	// Name names the dependency in the body: "broker", "storage".
	Name string
	// Ping returns nil when the dependency answers. Its error is shown in
	// the body, so it must not carry secrets or personal data; connection
	// errors do not.
	Ping func(ctx context.Context) error
}

// DefaultTimeout bounds each check when Readiness.Timeout is zero.
const DefaultTimeout = 2 * time.Second

// Readiness runs checks for /readyz.
type Readiness struct {
	Checks []Check
	// Timeout bounds each check. Default DefaultTimeout.
	Timeout time.Duration
}

// Run runs every check at once and returns one line per check, and whether
// all passed.
func (r Readiness) Run(ctx context.Context) (lines []string, ok bool) {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	lines = make([]string, len(r.Checks))
	failed := make([]bool, len(r.Checks))
	var wg sync.WaitGroup
	for i, c := range r.Checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			if err := c.Ping(ctx); err != nil {
				lines[i] = fmt.Sprintf("%s: not ready: %s", c.Name, oneLine(err.Error()))
				failed[i] = true
				return
			}
			lines[i] = c.Name + ": ok"
		})
	}
	wg.Wait()
	for _, f := range failed {
		if f {
			return lines, false
		}
	}
	return lines, true
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", "; ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// ServeHTTP answers 200 when every check passes and 503 otherwise, with
// the checks' lines as a plain-text body.
func (r Readiness) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	lines, ok := r.Run(req.Context())
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	fmt.Fprintln(w, strings.Join(lines, "\n"))
}

// Liveness answers 200 "ok": the process is up and serving HTTP.
func Liveness() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintln(w, "ok")
	})
}
