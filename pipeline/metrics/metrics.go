// Package metrics holds the pipeline's Prometheus metrics: what the worker
// counts and times, and what it reads from the queue when scraped.
//
// Labels are reason codes, kinds and queue names: small fixed sets, never
// ids or anything a request contained, so the series count is bounded and
// no personal data reaches a metrics store.
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the worker's counters, histograms and gauges. The zero value
// is not usable; call New. Methods are safe for concurrent use.
type Metrics struct {
	// Consumed counts deliveries by kind: "render", "cancel" or "unknown".
	Consumed *prometheus.CounterVec
	// Rendered counts envelopes committed by this process (a redelivery of
	// a committed envelope is not counted again).
	Rendered prometheus.Counter
	// Duplicates counts deliveries of envelopes already committed.
	Duplicates prometheus.Counter
	// Cancelled counts cancellations stored, envelopes skipped because
	// they had been cancelled, and cancellations refused because the
	// envelope was already in a sealed batch, by "what": "marker",
	// "skipped" or "refused". A refused cancellation's marker is stored
	// (and counted) too; a redelivered refusal counts again.
	Cancelled *prometheus.CounterVec
	// Rejected counts dead-lettered messages by reason code.
	Rejected *prometheus.CounterVec
	// Failed counts transient failures and Quire bugs by reason code.
	Failed *prometheus.CounterVec
	// RenderDuration and StoreDuration time rendering and committing one
	// envelope.
	RenderDuration prometheus.Histogram
	StoreDuration  prometheus.Histogram
	// InFlight is how many deliveries are being handled now.
	InFlight prometheus.Gauge
	// StorageGateOpen is 1 while the worker takes work, 0 while it waits
	// for storage to answer again.
	StorageGateOpen prometheus.Gauge
}

// New returns the metrics, registered with r. A nil r registers nothing,
// which is what unit tests want.
func New(r prometheus.Registerer) *Metrics {
	m := &Metrics{
		Consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quire_envelopes_consumed_total",
			Help: "Intake messages handed to the worker, by kind (render, cancel, unknown).",
		}, []string{"kind"}),
		Rendered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "quire_envelopes_rendered_total",
			Help: "Envelopes rendered and committed to storage by this process.",
		}),
		Duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "quire_envelopes_duplicate_total",
			Help: "Deliveries of envelopes already committed (redeliveries, re-publishes): rendered event re-sent, nothing stored.",
		}),
		Cancelled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quire_envelopes_cancelled_total",
			Help: "Cancellations stored (what=marker), envelopes not rendered because they were cancelled (what=skipped), and cancellations refused because the envelope was already in a sealed batch (what=refused).",
		}, []string{"what"}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quire_envelopes_rejected_total",
			Help: "Messages dead-lettered as permanently unprocessable, by reason code.",
		}, []string{"reason"}),
		Failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quire_envelopes_failed_total",
			Help: "Transient failures (sent round the retry path) and Quire bugs, by reason code.",
		}, []string{"reason"}),
		RenderDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "quire_render_duration_seconds",
			Help:    "Time to lay out and draw one envelope's PDFs.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 10), // 5ms … 2.6s
		}),
		StoreDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "quire_store_duration_seconds",
			Help:    "Time to commit one envelope to storage (files, index entry, record).",
			Buckets: prometheus.ExponentialBuckets(0.002, 2, 12), // 2ms … 4s
		}),
		InFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "quire_envelopes_in_flight",
			Help: "Intake messages being handled now.",
		}),
		StorageGateOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "quire_storage_gate_open",
			Help: "1 while the worker takes work; 0 while it has stopped because storage does not answer.",
		}),
	}
	m.StorageGateOpen.Set(1)
	for _, k := range ConsumedKinds {
		m.Consumed.WithLabelValues(k)
	}
	for _, w := range CancelledWhats {
		m.Cancelled.WithLabelValues(w)
	}
	if r != nil {
		r.MustRegister(m.Consumed, m.Rendered, m.Duplicates, m.Cancelled, m.Rejected, m.Failed,
			m.RenderDuration, m.StoreDuration, m.InFlight, m.StorageGateOpen)
	}
	return m
}

// The label values of Consumed and Cancelled. New gives each its series at
// 0, as KnownReasons does for the reason codes, so that rate() and
// increase() see the first event after a start: a series that appears with
// its first event shows no increase in its first sample.
var (
	ConsumedKinds  = []string{"render", "cancel", "unknown"}
	CancelledWhats = []string{"marker", "skipped", "refused"}
)

// KnownReasons gives each reason code its series at 0: rejected, the
// dead-letter codes of Rejected, and failed, the retry reasons of Failed.
// The worker, which owns the codes, calls it. It may be called more than
// once.
func (m *Metrics) KnownReasons(rejected, failed []string) {
	for _, c := range rejected {
		m.Rejected.WithLabelValues(c)
	}
	for _, r := range failed {
		m.Failed.WithLabelValues(r)
	}
}

// Since observes the time from start to now on h, in seconds.
func Since(h prometheus.Observer, start, now time.Time) {
	h.Observe(now.Sub(start).Seconds())
}

// QueueDepths are how many messages wait in each part of the intake queue.
type QueueDepths struct {
	Render, Cancel, Retry, Dead int
}

// Queue is what the metrics read from the intake queue at scrape time.
// pipeline/broker and pipeline/memqueue both provide it through a small
// adapter in cmd/quire.
type Queue interface {
	// Depths asks the queue how many messages wait; it may fail when the
	// broker does not answer.
	Depths(ctx context.Context) (QueueDepths, error)
	// Reconnects is how many times connections to the broker were
	// re-established after a loss.
	Reconnects() uint64
}

// queueCollector reads the queue's depths and counters when scraped.
type queueCollector struct {
	q          Queue
	timeout    time.Duration
	depth      *prometheus.Desc
	up         *prometheus.Desc
	reconnects *prometheus.Desc
}

// RegisterQueue registers, with r, gauges of q's depths
// (quire_queue_messages{queue="render|cancel|retry|dead"}; render is the
// queue lag), quire_queue_up (0 when the broker did not answer within
// timeout) and the reconnect counter quire_broker_reconnects_total.
func RegisterQueue(r prometheus.Registerer, q Queue, timeout time.Duration) error {
	return r.Register(&queueCollector{
		q:       q,
		timeout: timeout,
		depth: prometheus.NewDesc("quire_queue_messages",
			"Messages waiting in the intake queues: render (the queue lag), cancel, retry (all delays) and dead (awaiting an operator).",
			[]string{"queue"}, nil),
		up: prometheus.NewDesc("quire_queue_up",
			"1 if the queue answered the last scrape's depth query, else 0.", nil, nil),
		reconnects: prometheus.NewDesc("quire_broker_reconnects_total",
			"Broker connections re-established after a loss.", nil, nil),
	})
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.up
	ch <- c.reconnects
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.reconnects, prometheus.CounterValue, float64(c.q.Reconnects()))
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	d, err := c.q.Depths(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	for _, q := range []struct {
		name string
		n    int
	}{{"render", d.Render}, {"cancel", d.Cancel}, {"retry", d.Retry}, {"dead", d.Dead}} {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(q.n), q.name)
	}
}

// NewRegistry returns a registry with the Go runtime and process
// collectors, for quire serve's /metrics.
func NewRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// Handler serves r in the Prometheus exposition format.
func Handler(r *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(r, promhttp.HandlerOpts{Registry: r})
}
