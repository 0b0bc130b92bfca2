package batch

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quire-print/quire/internal/promgroup"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/supplier"
)

// Outcomes of a cut-off, for quire_batch_cutoffs_total.
const (
	cutOffCompleted = "completed"
	cutOffFailed    = "failed"
)

// Outcomes of handing one batch over, for quire_batch_handoffs_total.
const (
	handOffDone          = "handed-over"
	handOffWillRetry     = "will-retry"
	handOffNeedsOperator = "needs-operator"
)

// States of a sealed batch not yet handed over, for
// quire_batch_handoffs_waiting.
const (
	waitingRetrying = "retrying"
	waitingOperator = "needs-operator"
)

// leftCodes are every ledger.Left code, so that each has a series from the start.
var leftCodes = []string{ledger.LeftCancelled, ledger.LeftClaimed, ledger.LeftDamaged, ledger.LeftRefused, ledger.LeftMissing}

// metrics are the batcher's Prometheus metrics, counted where things
// happen. Labels are outcomes, reason codes and the adapter kind: small
// fixed sets, never a batch id, an envelope id or anything an envelope
// holds.
type metrics struct {
	cutOffs  *prometheus.CounterVec // by outcome
	lastDone prometheus.GaugeFunc
	lastDue  prometheus.GaugeFunc
	batched  prometheus.Counter
	leftOut  *prometheus.CounterVec // by reason
	handOffs *prometheus.CounterVec // by adapter and outcome
	waitingG *prometheus.GaugeVec   // sealed batches not handed over, by state
	reprints *prometheus.CounterVec // reprints sealed, by source
	held     *prometheus.GaugeVec   // envelopes held for an operator, by code
	adapter  string

	mu   sync.Mutex
	done time.Time // the latest cut-off known to be done
}

func newMetrics(cfg Config) *metrics {
	m := &metrics{
		cutOffs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quire_batch_cutoffs_total",
			Help: "Cut-offs this process made (outcome=completed) or tried to make and failed (outcome=failed; tried again each poll). A cut-off another batcher holds or has made is not counted.",
		}, []string{"outcome"}),
		batched: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "quire_batch_envelopes_batched_total",
			Help: "Envelopes in the batches this process sealed.",
		}),
		leftOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quire_batch_envelopes_left_out_total",
			Help: "Envelopes planned for a batch this process sealed and left out of it, by reason (cancelled, claimed-elsewhere, damaged, refused, missing); damaged and refused need a person.",
		}, []string{"reason"}),
		handOffs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quire_batch_handoffs_total",
			Help: "Attempts to hand a sealed batch over, by adapter and outcome: handed-over; will-retry (tried again at the next poll); needs-operator (HAND-OFF FAILED until quire batches resend).",
		}, []string{"adapter", "outcome"}),
		waitingG: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "quire_batch_handoffs_waiting",
			Help: "Sealed batches not yet handed over, as of the batcher's last pass over the hand-off index (each poll): state=retrying (tried again each poll) or state=needs-operator (HAND-OFF FAILED until quire batches resend).",
		}, []string{"state"}),
		reprints: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quire_reprints_batched_total",
			Help: "Reprints in the batches this process sealed, by who asked for them: source=supplier (automatic, on a spoiled report) or source=operator (quire envelopes reprint). Counted at the seal because an operator asks from a command no one scrapes.",
		}, []string{"source"}),
		held: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "quire_reprints_held",
			Help: "Envelopes the supplier reported spoiled whose reprint was not made and waits for a person (quire envelopes held), by the hold's code (one cancelled since under cancelled, until the cancel handler takes it off the list; a dismissed one not at all); read from the store's held list every batcher poll interval. code=reprint-limit waits for an operator's decision; the other codes for a new envelope request from upstream.",
		}, []string{"code"}),
		adapter: cfg.Supplier.Adapter(),
	}
	m.lastDone = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "quire_batch_last_cutoff_done_timestamp_seconds",
		Help: "The scheduled time (Unix seconds) of the latest cut-off this process knows is done, made by it or by another batcher; 0 until it has checked one.",
	}, func() float64 {
		m.mu.Lock()
		defer m.mu.Unlock()
		return unixSeconds(m.done)
	})
	m.lastDue = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "quire_batch_last_cutoff_due_timestamp_seconds",
		Help: "The scheduled time (Unix seconds) of the latest cut-off that has passed, read from the schedule when scraped. Above quire_batch_last_cutoff_done_timestamp_seconds: that cut-off is not done yet.",
	}, func() float64 {
		last, _ := cfg.Schedule.Last(cfg.Clock.Now())
		return unixSeconds(last)
	})
	for _, o := range []string{cutOffCompleted, cutOffFailed} {
		m.cutOffs.WithLabelValues(o)
	}
	for _, c := range leftCodes {
		m.leftOut.WithLabelValues(c)
	}
	for _, o := range []string{handOffDone, handOffWillRetry, handOffNeedsOperator} {
		m.handOffs.WithLabelValues(m.adapter, o)
	}
	m.waiting(0, 0)
	for _, src := range []string{ledger.SourceSupplier, ledger.SourceOperator} {
		m.reprints.WithLabelValues(src)
	}
	m.setHeld(nil)
	return m
}

func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.Unix())
}

// cutOff counts the end of a cut-off attempt at c. Another batcher being
// busy with it, and a context ended (a stop), are not failures.
func (m *metrics) cutOff(ctx context.Context, c time.Time, res Result, err error) {
	switch {
	case err == nil:
		if !res.AlreadyDone {
			m.cutOffs.WithLabelValues(cutOffCompleted).Inc()
		}
		m.mu.Lock()
		if c.After(m.done) {
			m.done = c
		}
		m.mu.Unlock()
	case errors.Is(err, ErrBusy), ctx.Err() != nil:
	default:
		m.cutOffs.WithLabelValues(cutOffFailed).Inc()
	}
}

// sealed counts the envelopes of a batch this process sealed; sources
// says who asked for each reprint, by envelope id.
func (m *metrics) sealed(s *ledger.Sealed, sources map[string]string) {
	m.batched.Add(float64(len(s.Envelopes)))
	for _, e := range s.Envelopes {
		src, ok := sources[e.EnvelopeID]
		if !ok || e.Run == 0 {
			continue
		}
		if src != ledger.SourceSupplier && src != ledger.SourceOperator {
			src = heldOther // a source this Quire does not know: the label stays a fixed set
		}
		m.reprints.WithLabelValues(src).Inc()
	}
	for _, l := range s.Left {
		m.leftOut.WithLabelValues(l.Code).Inc()
	}
}

// handOff counts the end of an attempt to hand a batch over. A context
// ended (a stop) is not counted.
func (m *metrics) handOff(ctx context.Context, err error) {
	switch {
	case err == nil:
		m.handOffs.WithLabelValues(m.adapter, handOffDone).Inc()
	case errors.Is(err, supplier.ErrNotRetryable):
		m.handOffs.WithLabelValues(m.adapter, handOffNeedsOperator).Inc()
	case ctx.Err() != nil:
	default:
		m.handOffs.WithLabelValues(m.adapter, handOffWillRetry).Inc()
	}
}

// waiting sets the hand-off gauges from a whole pass over the index.
func (m *metrics) waiting(retrying, operator int) {
	m.waitingG.WithLabelValues(waitingRetrying).Set(float64(retrying))
	m.waitingG.WithLabelValues(waitingOperator).Set(float64(operator))
}

// heldOther counts, in quire_reprints_held and quire_reprints_batched_total,
// a hold's code or a reprint's source this Quire does not know (written by
// a newer one): the labels stay a fixed set.
const heldOther = "other"

// setHeld sets the held gauge from a whole pass over the held list: n
// holds by code. Every code has a series, 0 when none is held.
func (m *metrics) setHeld(n map[string]int) {
	other := 0
	for c, k := range n {
		if !slices.Contains(ledger.HoldCodes, c) {
			other += k
		}
	}
	for _, c := range ledger.HoldCodes {
		m.held.WithLabelValues(c).Set(float64(n[c]))
	}
	m.held.WithLabelValues(heldOther).Set(float64(other))
}

// Collector returns the batcher's metrics, for quire serve's /metrics:
// cut-offs made and failed, the latest cut-off done and the latest due,
// envelopes batched and left out by reason, hand-offs by adapter and
// outcome, reprints sealed by source and envelopes held for an operator
// (docs/batching.md, "Metrics").
func (b *Batcher) Collector() prometheus.Collector {
	m := b.metrics
	return promgroup.Group{m.cutOffs, m.lastDone, m.lastDue, m.batched, m.leftOut, m.handOffs, m.waitingG, m.reprints, m.held}
}
