// Package health serves quire serve's liveness and readiness endpoints.
//
// /healthz answers 200 while the process can answer at all. /readyz
// answers 200 only while every dependency of a listener answers its check
// within a timeout, and its body says, one line per dependency, which one
// does not, so that a load balancer and an operator read the same thing.
// The body names the dependency, never the error's text (which can hold
// host names, paths or a server's words); the log has the error, once per
// change of state (Watch).
package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Check is one dependency's readiness check.
type Check struct {
	// Name names the dependency in the body: "broker", "storage".
	Name string
	// Ping returns nil when the dependency answers. Its error is not
	// shown, unless it is a Reason.
	Ping func(ctx context.Context) error
}

// Reason is an error whose text /readyz may show: words of Quire's own,
// such as "stopping".
type Reason string

func (r Reason) Error() string { return string(r) }

// Watch returns a check of name by ping that logs, on log, when the
// dependency stops answering (with the error) and when it answers again:
// once per change, however many listeners or probes ask.
func Watch(name string, ping func(ctx context.Context) error, log *slog.Logger) Check {
	var failing atomic.Bool
	return Check{Name: name, Ping: func(ctx context.Context) error {
		err := ping(ctx)
		if err != nil && !failing.Swap(true) {
			log.Warn("readiness: dependency not ready", "dependency", name, "err", err)
		} else if err == nil && failing.Swap(false) {
			log.Info("readiness: dependency ready again", "dependency", name)
		}
		return err
	}}
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
				lines[i] = fmt.Sprintf("%s: not ready: %s", c.Name, shown(err, timeout))
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

// shown is what the body says of a failed check: a Reason's words, or
// only whether it timed out.
func shown(err error, timeout time.Duration) string {
	var r Reason
	switch {
	case errors.As(err, &r):
		return string(r)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %v", timeout)
	}
	return "check failed; the log says why"
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
