package preview

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the preview's Prometheus metrics: a request duration
// histogram observed as each request ends, and the cache and limiter
// totals (Stats) read at scrape time. Labels are the route pattern and
// the status code, never anything a parent sent.
type metrics struct {
	duration *prometheus.HistogramVec
	stats    func() Stats

	hits, misses, shared, evictions, rejected *prometheus.Desc
	cacheBytes, cacheEntries                  *prometheus.Desc
}

func newMetrics(stats func() Stats) *metrics {
	desc := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }
	return &metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "quire_preview_request_duration_seconds",
			Help: "Time to answer a preview request, by route pattern and status code.",
			// The budget is 25 ms at p99; the tail beyond shows queueing.
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "code"}),
		stats:        stats,
		hits:         desc("quire_preview_cache_hits_total", "Previews answered from the cache."),
		misses:       desc("quire_preview_cache_misses_total", "Previews drawn because the cache did not hold them."),
		shared:       desc("quire_preview_shared_total", "Previews that waited for an identical one another request was drawing."),
		evictions:    desc("quire_preview_cache_evictions_total", "Previews dropped from the cache to make room."),
		rejected:     desc("quire_preview_rejected_total", "Preview requests turned away with 503 because every render slot and queue place was taken, or the wait ran out."),
		cacheBytes:   desc("quire_preview_cache_bytes", "Bytes of previews the cache holds now."),
		cacheEntries: desc("quire_preview_cache_entries", "Previews the cache holds now."),
	}
}

// observe records one answered request.
func (m *metrics) observe(route string, status int, took time.Duration) {
	m.duration.WithLabelValues(route, strconv.Itoa(status)).Observe(took.Seconds())
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	m.duration.Describe(ch)
	for _, d := range []*prometheus.Desc{m.hits, m.misses, m.shared, m.evictions, m.rejected, m.cacheBytes, m.cacheEntries} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.duration.Collect(ch)
	s := m.stats()
	for _, c := range []struct {
		d *prometheus.Desc
		v uint64
	}{{m.hits, s.Hits}, {m.misses, s.Misses}, {m.shared, s.Shared}, {m.evictions, s.Evictions}, {m.rejected, s.Rejected}} {
		ch <- prometheus.MustNewConstMetric(c.d, prometheus.CounterValue, float64(c.v))
	}
	ch <- prometheus.MustNewConstMetric(m.cacheBytes, prometheus.GaugeValue, float64(s.CacheBytes))
	ch <- prometheus.MustNewConstMetric(m.cacheEntries, prometheus.GaugeValue, float64(s.CacheEntries))
}

// Collector returns the preview's metrics, for quire serve's /metrics:
// request durations by route and status, cache hits, misses, shared
// draws, evictions, size, and requests turned away as busy.
func (h *Handler) Collector() prometheus.Collector { return h.metrics }
