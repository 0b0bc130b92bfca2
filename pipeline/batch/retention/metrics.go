package retention

import (
	"context"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quire-print/quire/internal/promgroup"
)

// metrics are the sweep's Prometheus metrics, counted as it deletes.
// Labels are fixed words, never an id.
type metrics struct {
	sweeps  *prometheus.CounterVec // by outcome: completed, failed
	swept   *prometheus.CounterVec // scheduled deletions carried out, by what: envelope, batch
	objects prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		sweeps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quire_retention_sweeps_total",
			Help: "Retention sweeps run by this process, by outcome (completed, failed; a failed sweep is tried again at the next, hourly).",
		}, []string{"outcome"}),
		swept: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quire_retention_swept_total",
			Help: "Scheduled deletions of personal data the sweep carried out, by what: an envelope's files (after posting or a cancellation that stands) or a batch's print files (after hand-over).",
		}, []string{"what"}),
		objects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "quire_retention_objects_deleted_total",
			Help: "Objects the retention sweep deleted.",
		}),
	}
	for _, o := range []string{"completed", "failed"} {
		m.sweeps.WithLabelValues(o)
	}
	for _, w := range []string{"envelope", "batch"} {
		m.swept.WithLabelValues(w)
	}
	return m
}

// sweep counts the end of a sweep. One ended by its context (a stop) is
// not counted.
func (m *metrics) sweep(ctx context.Context, err error) {
	switch {
	case err == nil:
		m.sweeps.WithLabelValues("completed").Inc()
	case ctx.Err() == nil:
		m.sweeps.WithLabelValues("failed").Inc()
	}
}

// done counts one scheduled deletion carried out: name is the due entry's
// name, "envelope-<id>" or "batch-<id>", and only the word before the
// first "-" is kept.
func (m *metrics) done(name string) {
	what, _, _ := strings.Cut(name, "-")
	if what != "envelope" && what != "batch" {
		what = "other"
	}
	m.swept.WithLabelValues(what).Inc()
}

// Collector returns the sweep's metrics, for quire serve's /metrics:
// sweeps completed and failed, scheduled deletions carried out, and
// objects deleted (docs/batching.md, "Metrics").
func (k *Keeper) Collector() prometheus.Collector {
	return promgroup.Group{k.metrics.sweeps, k.metrics.swept, k.metrics.objects}
}
