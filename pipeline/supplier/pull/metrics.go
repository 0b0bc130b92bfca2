package pull

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quire-print/quire/internal/promgroup"
	"github.com/quire-print/quire/internal/respstat"
)

// metrics are the API's Prometheus metrics: requests answered, by route
// pattern and status code, and lockouts for failed authentications.
// Labels are the pattern a request matched, never its path (which holds
// batch ids and file names), and never the client's address.
type metrics struct {
	requests *prometheus.CounterVec // by route, code
	lockouts prometheus.Counter
}

func newMetrics() *metrics {
	return &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quire_pull_requests_total",
			Help: "Supplier pull API requests answered, by route pattern and status code (429: refused after too many failed authentications).",
		}, []string{"route", "code"}),
		lockouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "quire_pull_lockouts_total",
			Help: "Times a client address used up its failed authentications and began to be refused with 429 (once per lockout, as logged).",
		}),
	}
}

// count wraps h to count each answer under route, a pattern the API
// registered. A download cut short counts under the status it began with.
func (m *metrics) count(route string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rw := &respstat.Writer{ResponseWriter: w}
		defer func() { m.requests.WithLabelValues(route, strconv.Itoa(rw.Status())).Inc() }()
		h(rw, r)
	}
}

// Collector returns the API's metrics, for quire serve's /metrics:
// requests by route pattern and status code, and lockouts for failed
// authentications (docs/batching.md, "Metrics").
func (a *API) Collector() prometheus.Collector {
	return promgroup.Group{a.metrics.requests, a.metrics.lockouts}
}
