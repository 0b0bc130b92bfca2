// Package worker is Quire's render worker: it takes envelope requests and
// cancellations from the intake queue, renders and stores envelopes through
// the commit protocol of pipeline/storage/envelopes, tells upstream what
// happened with status events, and settles each message only once its
// outcome is durable (docs/pipeline.md).
//
// Every outcome is idempotent by envelope id: a redelivered message (after
// a crash, a reconnect or a re-publish) finds the stored record or
// cancellation marker, announces it again and is acked, so nothing is
// stored twice, and no envelope is counted as rendered or cancelled twice.
// Permanent failures are dead-lettered with a reason code at once and never
// retried; transient ones (storage, the events publisher) go round the
// queue's retry path.
//
// When envelopes are batched (Config.Cancels), a cancellation is stored
// and then checked against the batch records: once the envelope is in a
// sealed batch it will be printed, so the cancellation is refused with an
// envelope.cancel-refused event instead of announced as cancelled.
//
// Logs, metric labels, dead-letter reasons and events carry envelope ids,
// reason codes and field names only: never the names, addresses or dates a
// request holds.
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/quire-print/quire/internal/clock"
	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/cancel"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/metrics"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/renderer/rendered"
	"github.com/quire-print/quire/request"
)

// Dead-letter reason codes the worker uses, in pipeline.Reason.Code, the
// rejected event and the quire_envelopes_rejected_total metric. They are
// stable: upstream and operators filter on them.
const (
	// CodeMalformed: the body is not a JSON object at all.
	CodeMalformed = "malformed"
	// CodeInvalidRequest: the request breaks the request model's rules;
	// Fields lists each problem.
	CodeInvalidRequest = "invalid-request"
	// CodeConflict: the envelope id is already committed with a different
	// request.
	CodeConflict = "conflict"
	// CodeUnprintable: valid, but cannot be printed as asked (text too long
	// for its box, a character no font has); Fields lists each problem.
	CodeUnprintable = "unprintable"
	// CodeRenderFailed: rendering failed or panicked: a Quire bug.
	CodeRenderFailed = "render-failed"
	// CodeInternal: another Quire bug (the decoder panicked, the store
	// refused what the renderer made).
	CodeInternal = "internal-error"
	// CodeInvalidCancel: a cancel message that cannot be read or breaks
	// the cancel rules.
	CodeInvalidCancel = "invalid-cancel"
	// CodeUnknownKind: neither envelope.render nor envelope.cancel.
	CodeUnknownKind = "unknown-kind"
)

// RejectCodes are every dead-letter code the worker uses, and RetryReasons
// every retry reason: each has its metric series from the start, at 0.
var (
	RejectCodes = []string{CodeMalformed, CodeInvalidRequest, CodeConflict, CodeUnprintable, CodeRenderFailed,
		CodeInternal, CodeInvalidCancel, CodeUnknownKind}
	RetryReasons = []string{ReasonStorageUnavailable, ReasonEventsUnavailable, ReasonBatchSealing}
)

// Retry reasons, in the x-quire-retry-reason header and the
// quire_envelopes_failed_total metric.
const (
	// ReasonStorageUnavailable: a storage call failed; the gate is closed
	// until storage answers.
	ReasonStorageUnavailable = "storage-unavailable"
	// ReasonEventsUnavailable: a status event was not confirmed.
	ReasonEventsUnavailable = "events-unavailable"
	// ReasonBatchSealing: a cancellation's envelope is claimed by a batch
	// that is being sealed, so whether the cancellation came in time is
	// not decided yet. The seal decides it within minutes.
	ReasonBatchSealing = "batch-sealing"
)

// Worker handles intake messages. It is safe for concurrent use; the
// source decides how many messages it handles at once.
type Worker struct {
	cfg     Config
	store   Store
	cancels CancelChecker // nil: nothing is batched
	render  Renderer
	fit     request.Fitter // the Renderer, when it is one; else nil
	events  *events.Publisher
	clock   clock.Clock
	m       *metrics.Metrics
	log     *slog.Logger
	gate    *gate
}

// New checks cfg and returns a Worker.
func New(cfg Config) (*Worker, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	w := &Worker{
		cfg:     cfg,
		store:   cfg.Store,
		cancels: cfg.Cancels,
		render:  cfg.Renderer,
		events:  events.NewPublisher(cfg.Events),
		clock:   cfg.Clock,
		m:       cfg.Metrics,
		log:     cfg.Logger,
	}
	w.m.KnownReasons(RejectCodes, RetryReasons)
	w.fit, _ = cfg.Renderer.(request.Fitter)
	w.gate = &gate{clock: cfg.Clock, ping: cfg.Ping, timeout: cfg.PingTimeout,
		min: cfg.GateBackoffMin, max: cfg.GateBackoffMax, m: cfg.Metrics, log: cfg.Logger,
		stop: make(chan struct{})}
	return w, nil
}

// Run consumes from the source until ctx ends, then stops taking messages,
// lets the ones in hand finish and settle, and returns (a soft stop: the
// source's handlers are not cancelled with ctx). Messages waiting at a
// closed storage gate when ctx ends are sent round the retry path instead
// of waiting on. Run returns the source's error, if it stopped for a reason
// other than ctx. Call Run once.
func (w *Worker) Run(ctx context.Context) error {
	stop := make(chan struct{})
	w.gate.stop = stop
	defer context.AfterFunc(ctx, func() { close(stop) })()
	return w.cfg.Source.Consume(ctx, func(hctx context.Context, d pipeline.Delivery) {
		w.Handle(hctx, d, stop)
	})
}

// StorageOpen reports whether the storage gate is open: false while the
// worker has stopped taking work because storage does not answer.
func (w *Worker) StorageOpen() bool { return w.gate.isOpen() }

// Handle handles one delivery and settles it. stop, when closed, tells a
// handler waiting at a closed storage gate to give up and retry later.
// Run calls it; it is exported for sources that call handlers themselves.
func (w *Worker) Handle(ctx context.Context, d pipeline.Delivery, stop <-chan struct{}) {
	w.m.InFlight.Inc()
	defer w.m.InFlight.Dec()
	switch d.Kind() {
	case pipeline.KindRender:
		w.m.Consumed.WithLabelValues("render").Inc()
		w.handleRender(ctx, d, stop)
	case pipeline.KindCancel:
		w.m.Consumed.WithLabelValues("cancel").Inc()
		w.handleCancel(ctx, d, stop)
	default:
		// The kind is not echoed: a stranger's string has no place in a
		// reason that operators and upstream read.
		w.m.Consumed.WithLabelValues("unknown").Inc()
		w.reject(ctx, d, "", pipeline.Reason{Code: CodeUnknownKind,
			Detail: "kind is neither " + pipeline.KindRender + " nor " + pipeline.KindCancel}, false)
	}
}

func (w *Worker) handleRender(ctx context.Context, d pipeline.Delivery, stop <-chan struct{}) {
	env, err := safeDecode(d.Body(), w.fit)
	if err != nil {
		var fe request.Errors
		switch {
		case errors.As(err, &fe) && env == nil:
			w.reject(ctx, d, "", pipeline.Reason{Code: CodeMalformed, Detail: "not a JSON object", Fields: fe}, true)
		case errors.As(err, &fe):
			w.reject(ctx, d, env.EnvelopeID, pipeline.Reason{Code: CodeInvalidRequest, Detail: problems(len(fe)), Fields: fe}, true)
		default:
			w.log.Error("worker: decoding a request panicked", "message_id", safeID(d.MessageID()), "panic", panicText(err))
			w.reject(ctx, d, "", pipeline.Reason{Code: CodeInternal, Detail: "reading the request failed inside Quire"}, true)
		}
		return
	}
	id := env.EnvelopeID
	if err := envelopes.ValidID(id); err != nil {
		// request's rule lets "." and ".." through; they cannot be keys.
		w.reject(ctx, d, "", pipeline.Reason{Code: CodeInvalidRequest, Detail: problems(1),
			Fields: []request.FieldError{{Field: "envelopeId", Problem: "cannot be \".\" or \"..\""}}}, true)
		return
	}
	// Checked here, when the request arrives, and never when a stored
	// request is rendered again: the rule depends on the clock.
	if fe := request.CheckIssueDates(env, w.clock.Now(), w.cfg.Zone); len(fe) > 0 {
		w.reject(ctx, d, id, pipeline.Reason{Code: CodeInvalidRequest, Detail: problems(len(fe)), Fields: fe}, true)
		return
	}
	if !w.gate.wait(stop) {
		w.retry(ctx, d, id, ReasonStorageUnavailable)
		return
	}
	wctx, cancelWork := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancelWork()

	// Both lookups at once: each is a round trip to storage, and most
	// envelopes have neither.
	hash := env.ContentHash()
	var (
		c                 envelopes.Cancellation
		rec               envelopes.Record
		cancelErr, recErr error
		lookups           sync.WaitGroup
	)
	lookups.Go(func() { c, cancelErr = w.store.Cancellation(wctx, id) })
	lookups.Go(func() { rec, recErr = w.store.Record(wctx, id) })
	lookups.Wait()
	if cancelErr == nil && w.cancels != nil && !errors.Is(recErr, storage.ErrNotFound) {
		// Cancelled and stored, so perhaps in a sealed batch with its
		// cancellation refused: then it will be printed, and the request
		// sent again is answered as the stored envelope it is, never as
		// cancelled.
		if recErr != nil {
			w.storageFailed(ctx, d, id, recErr)
			return
		}
		refusal, ok := w.checkCancel(ctx, wctx, d, c)
		if !ok {
			return
		}
		if refusal != nil {
			w.settleCommitted(ctx, d, rec, hash)
			return
		}
	}
	switch {
	case cancelErr == nil:
		// A cancel that arrived first wins: the envelope is never rendered.
		w.m.Cancelled.WithLabelValues("skipped").Inc()
		w.log.Info("worker: envelope cancelled before rendering; not rendered", "envelope_id", id, "code", c.Code)
		w.announceAndAck(ctx, d, id, events.Cancelled(c))
		return
	case !errors.Is(cancelErr, storage.ErrNotFound):
		w.storageFailed(ctx, d, id, cancelErr)
		return
	case recErr == nil:
		w.settleCommitted(ctx, d, rec, hash)
		return
	case !errors.Is(recErr, storage.ErrNotFound):
		w.storageFailed(ctx, d, id, recErr)
		return
	}

	// The accepted event's confirm is awaited alongside rendering and
	// storing, not before them: it is a round trip that holds up nothing
	// but the rendered event, which is published only after it. If it is
	// not confirmed the message is retried; the retry finds the record.
	accepted := make(chan error, 1)
	go func() { accepted <- w.publish(ctx, events.Accepted(id, w.clock.Now())) }()
	awaitAccepted := func() bool {
		if err := <-accepted; err != nil {
			w.eventFailed(ctx, d, id, err)
			return false
		}
		return true
	}

	start := w.clock.Now()
	docs, err := w.safeRender(env)
	metrics.Since(w.m.RenderDuration, start, w.clock.Now())
	if err != nil {
		if !awaitAccepted() {
			return
		}
		var fe request.Errors
		if errors.As(err, &fe) {
			w.reject(ctx, d, id, pipeline.Reason{Code: CodeUnprintable, Detail: problems(len(fe)), Fields: fe}, true)
			return
		}
		// Renderer errors and panics can quote what they were drawing:
		// log only what kind of failure it was.
		w.log.Error("worker: rendering failed", "envelope_id", id, "err", panicText(err))
		w.reject(ctx, d, id, pipeline.Reason{Code: CodeRenderFailed, Detail: "rendering failed inside Quire"}, true)
		return
	}
	normalised, err := json.Marshal(env)
	if err != nil {
		if awaitAccepted() {
			w.reject(ctx, d, id, pipeline.Reason{Code: CodeInternal, Detail: "encoding the request failed inside Quire"}, true)
		}
		return
	}

	start = w.clock.Now()
	rec, created, err := w.store.Commit(wctx, envelopes.Rendered{
		EnvelopeID:  id,
		RequestHash: hash,
		Request:     normalised,
		Documents:   docs,
		RenderedAt:  w.clock.Now(),
		SkipLookup:  true, // looked up above
	})
	metrics.Since(w.m.StoreDuration, start, w.clock.Now())
	if !awaitAccepted() {
		return // committed or not, the retry settles it
	}
	switch {
	case errors.Is(err, envelopes.ErrConflict):
		w.reject(ctx, d, id, conflictReason(), true)
		return
	case errors.Is(err, envelopes.ErrInvalid):
		w.log.Error("worker: the store refused a rendered envelope", "envelope_id", id, "err", err)
		w.reject(ctx, d, id, pipeline.Reason{Code: CodeInternal, Detail: "the store refused the rendered envelope"}, true)
		return
	case err != nil:
		w.storageFailed(ctx, d, id, err)
		return
	}
	if created {
		w.m.Rendered.Inc()
		w.log.Info("worker: envelope rendered and stored", "envelope_id", id, "documents", len(rec.Documents))
	} else {
		// Another worker, or this message's earlier delivery, got there
		// first with the same request.
		w.m.Duplicates.Inc()
		w.log.Info("worker: envelope already stored by an earlier delivery", "envelope_id", id)
	}
	w.announceAndAck(ctx, d, id, events.Rendered(rec))
}

// settleCommitted answers a delivery of an envelope already committed:
// the same request is a redelivery, announced again and acked; a
// different one is a conflict.
func (w *Worker) settleCommitted(ctx context.Context, d pipeline.Delivery, rec envelopes.Record, hash string) {
	if rec.RequestHash != hash {
		w.reject(ctx, d, rec.EnvelopeID, conflictReason(), true)
		return
	}
	w.m.Duplicates.Inc()
	w.log.Info("worker: envelope already stored; announcing it again", "envelope_id", rec.EnvelopeID)
	w.announceAndAck(ctx, d, rec.EnvelopeID, events.Rendered(rec))
}

func conflictReason() pipeline.Reason {
	return pipeline.Reason{Code: CodeConflict, Detail: "envelope id already stored with a different request"}
}

func (w *Worker) handleCancel(ctx context.Context, d pipeline.Delivery, stop <-chan struct{}) {
	c, err := cancel.Decode(d.Body())
	if err != nil {
		var fe request.Errors
		errors.As(err, &fe)
		w.reject(ctx, d, "", pipeline.Reason{Code: CodeInvalidCancel, Detail: problems(len(fe)), Fields: fe}, false)
		return
	}
	id := c.EnvelopeID
	if !w.gate.wait(stop) {
		w.retry(ctx, d, id, ReasonStorageUnavailable)
		return
	}
	wctx, cancelWork := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancelWork()
	stored, created, err := w.store.Cancel(wctx, envelopes.Cancellation{
		EnvelopeID: id, Code: c.Code, Reason: c.Reason, At: w.clock.Now(),
	})
	switch {
	case errors.Is(err, envelopes.ErrInvalid):
		w.reject(ctx, d, "", pipeline.Reason{Code: CodeInvalidCancel, Detail: "the store refused the cancellation"}, false)
		return
	case err != nil:
		w.storageFailed(ctx, d, id, err)
		return
	}
	if created {
		w.m.Cancelled.WithLabelValues("marker").Inc()
	}
	if w.cancels != nil {
		// The marker is stored first and the batch claim read second; the
		// batcher creates the claim first and reads the marker second. So
		// at least one of the two sees the other, and the seal says which
		// (docs/batching.md).
		refusal, ok := w.checkCancel(ctx, wctx, d, stored)
		if !ok {
			return
		}
		if refusal != nil {
			w.m.Cancelled.WithLabelValues("refused").Inc()
			w.log.Info("worker: cancellation refused: the envelope is in a sealed batch and will be printed",
				"envelope_id", id, "batch_id", refusal.BatchID, "code", stored.Code)
			w.ackAfter(ctx, d, id, w.publishPrint(ctx, *refusal))
			return
		}
	}
	if created {
		w.log.Info("worker: envelope cancelled", "envelope_id", id, "code", stored.Code)
	} else {
		w.log.Info("worker: envelope was already cancelled; announcing the first cancellation again", "envelope_id", id, "code", stored.Code)
	}
	w.announceAndAck(ctx, d, id, events.Cancelled(stored))
}

// checkCancel asks the batch records whether the stored cancellation c
// still stops its envelope from being printed. It returns the event
// refusing c if the envelope is in a sealed batch, or nil if c stands;
// ok is false when it has sent d round the retry path instead, because
// the batch is being sealed or storage failed. The stored time, not now,
// is passed on, so that every delivery publishes the same refusal.
func (w *Worker) checkCancel(ctx, wctx context.Context, d pipeline.Delivery, c envelopes.Cancellation) (refusal *events.PrintEvent, ok bool) {
	refusal, err := w.cancels.CheckCancel(wctx, c.EnvelopeID, c.At)
	switch {
	case errors.Is(err, ledger.ErrSealing):
		// Not a storage failure: the gate stays open.
		w.retry(ctx, d, c.EnvelopeID, ReasonBatchSealing)
		return nil, false
	case err != nil:
		w.storageFailed(ctx, d, c.EnvelopeID, err)
		return nil, false
	}
	return refusal, true
}

// settleCtx is the context for publishing events and settling: it outlives
// the work's timeout and the worker's stop, bounded by SettleTimeout.
func (w *Worker) settleCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), w.cfg.SettleTimeout)
}

func (w *Worker) publish(ctx context.Context, e events.Event) error {
	sctx, cancel := w.settleCtx(ctx)
	defer cancel()
	return w.events.Publish(sctx, e)
}

func (w *Worker) publishPrint(ctx context.Context, e events.PrintEvent) error {
	sctx, cancel := w.settleCtx(ctx)
	defer cancel()
	return w.events.Publish(sctx, e)
}

// announceAndAck publishes the outcome event and, once it is confirmed,
// acks.
func (w *Worker) announceAndAck(ctx context.Context, d pipeline.Delivery, id string, e events.Event) {
	w.ackAfter(ctx, d, id, w.publish(ctx, e))
}

// ackAfter settles d once its outcome event was published: published is
// the publish's error. An unconfirmed event sends the message round the
// retry path: the next delivery finds the stored outcome and announces it
// again.
func (w *Worker) ackAfter(ctx context.Context, d pipeline.Delivery, id string, published error) {
	if published != nil {
		w.eventFailed(ctx, d, id, published)
		return
	}
	sctx, cancel := w.settleCtx(ctx)
	defer cancel()
	if err := d.Ack(sctx); err != nil {
		// The outcome is stored; the redelivery will find it.
		w.log.Warn("worker: ack failed; the message will be redelivered and found done", "envelope_id", id, "err", err)
	}
}

// reject dead-letters d with r, after publishing a rejected event when
// event is set (for envelope requests; not for cancels or unknown kinds).
func (w *Worker) reject(ctx context.Context, d pipeline.Delivery, id string, r pipeline.Reason, event bool) {
	if event {
		if err := w.publish(ctx, events.Rejected(id, d.MessageID(), r, w.clock.Now())); err != nil {
			w.eventFailed(ctx, d, safeID(id), err)
			return
		}
	}
	sctx, cancel := w.settleCtx(ctx)
	defer cancel()
	if err := d.Reject(sctx, r); err != nil {
		w.log.Warn("worker: dead-lettering failed; the message will come back", "envelope_id", safeID(id),
			"message_id", safeID(d.MessageID()), "code", r.Code, "err", err)
		return
	}
	w.m.Rejected.WithLabelValues(r.Code).Inc()
	w.log.Info("worker: message dead-lettered", "envelope_id", safeID(id), "message_id", safeID(d.MessageID()),
		"code", r.Code, "problems", len(r.Fields))
}

// retry sends d round the retry path for a transient reason.
func (w *Worker) retry(ctx context.Context, d pipeline.Delivery, id, reason string) {
	w.m.Failed.WithLabelValues(reason).Inc()
	sctx, cancel := w.settleCtx(ctx)
	defer cancel()
	if err := d.Retry(sctx, reason); err != nil {
		// Unsettled, it goes back to the queue when its channel closes.
		w.log.Warn("worker: retry failed; the message will be redelivered", "envelope_id", id, "reason", reason, "err", err)
		return
	}
	w.log.Info("worker: message sent round the retry path", "envelope_id", id, "reason", reason, "attempt", d.Attempt())
}

func (w *Worker) storageFailed(ctx context.Context, d pipeline.Delivery, id string, err error) {
	w.log.Warn("worker: storage failed", "envelope_id", id, "err", err)
	w.gate.trip()
	w.retry(ctx, d, id, ReasonStorageUnavailable)
}

func (w *Worker) eventFailed(ctx context.Context, d pipeline.Delivery, id string, err error) {
	w.log.Warn("worker: status event not confirmed", "envelope_id", id, "err", err)
	w.retry(ctx, d, id, ReasonEventsUnavailable)
}

// errPanic carries a recovered panic.
type errPanic struct {
	value any
	stack []byte
}

func (e *errPanic) Error() string { return "panic: " + panicText(e) }

// panicText describes a failure without quoting data: a runtime error's
// own message (index out of range, nil dereference) and the stack for a
// panic, only the type for anything else, which might quote its input.
func panicText(err error) string {
	var p *errPanic
	if errors.As(err, &p) {
		if re, ok := p.value.(runtime.Error); ok {
			return re.Error() + "\n" + string(p.stack)
		}
		return fmt.Sprintf("%T\n%s", p.value, p.stack)
	}
	return fmt.Sprintf("%T", err)
}

// safeDecode decodes a request. With fit, a request with problems is laid
// out as it is read, so its rejection lists what does not fit or cannot
// be drawn with every other problem; a valid one is laid out once, by the
// render.
func safeDecode(body []byte, fit request.Fitter) (env *request.Envelope, err error) {
	defer func() {
		if r := recover(); r != nil {
			env, err = nil, &errPanic{value: r, stack: debug.Stack()}
		}
	}()
	return request.Decoder{Fit: fit, FitOnlyWithProblems: true}.Decode(body)
}

func (w *Worker) safeRender(env *request.Envelope) (docs []rendered.Document, err error) {
	defer func() {
		if r := recover(); r != nil {
			docs, err = nil, &errPanic{value: r, stack: debug.Stack()}
		}
	}()
	return w.render.Render(env)
}

// safeID returns id if it is a valid envelope id, for logs: anything else
// could hold anything.
func safeID(id string) string {
	if envelopes.ValidID(id) != nil {
		return ""
	}
	return id
}

func problems(n int) string {
	if n == 1 {
		return "1 problem"
	}
	return fmt.Sprintf("%d problems", n)
}
