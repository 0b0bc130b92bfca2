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
// and then checked against the batch records: once the envelope's latest
// print is in a sealed batch it will be printed, so the cancellation is
// refused with an envelope.cancel-refused event instead of announced as
// cancelled. One whose print was spoiled and whose reprint is held for an
// operator, or asked for and not yet batched, has no print coming: its
// cancellation stands.
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

	"github.com/quire-print/quire/internal/clock"
	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/cancel"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/metrics"
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
	keeper  Retention     // nil: cancellations schedule no deletion
	render  Renderer
	fit     request.Fitter // the Renderer, when it is one; else nil
	events  *events.Publisher
	clock   clock.Clock
	m       *metrics.Metrics
	log     *slog.Logger
	gate    *gate
	// inFlight holds back a second delivery of an envelope this process
	// is rendering until the first is stored.
	inFlight inFlight
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
		keeper:  cfg.Retention,
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
	var o outcome
	switch d.Kind() {
	case pipeline.KindRender:
		w.m.Consumed.WithLabelValues("render").Inc()
		o = w.handleRender(ctx, d, stop)
	case pipeline.KindCancel:
		w.m.Consumed.WithLabelValues("cancel").Inc()
		o = w.handleCancel(ctx, d, stop)
	default:
		// The kind is not echoed: a stranger's string has no place in a
		// reason that operators and upstream read.
		w.m.Consumed.WithLabelValues("unknown").Inc()
		o = deadLetter("", pipeline.Reason{Code: CodeUnknownKind,
			Detail: "kind is neither " + pipeline.KindRender + " nor " + pipeline.KindCancel})
	}
	w.settle(ctx, d, o)
}

// handleRender takes an envelope request through its steps: decode, check
// the dates of issue, wait for storage, look up what is stored, render,
// commit. Each step either lets the next go on or returns the message's
// outcome.
func (w *Worker) handleRender(ctx context.Context, d pipeline.Delivery, stop <-chan struct{}) outcome {
	env, o := w.decode(d)
	if o.final() {
		return o
	}
	if o := w.checkIssueDates(env); o.final() {
		return o
	}
	id, hash := env.EnvelopeID, env.ContentHash()
	if !w.gate.wait(stop) {
		return retry(id, ReasonStorageUnavailable, nil)
	}
	wctx, cancelWork := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancelWork()
	leave, err := w.inFlight.enter(wctx, id)
	if err != nil {
		return retry(id, ReasonStorageUnavailable, nil)
	}
	defer leave()
	if o := w.lookUp(wctx, id, hash); o.final() {
		return o
	}

	// The accepted event's confirm is awaited alongside rendering and
	// storing, not before them: it is a round trip that holds up nothing
	// but the outcome, which settle applies only once it is confirmed.
	accepted := make(chan error, 1)
	go func() {
		e := events.Accepted(id, w.clock.Now())
		accepted <- w.publish(ctx, func(ctx context.Context) error { return w.events.Publish(ctx, e) })
	}()
	docs, normalised, o := w.renderEnvelope(env)
	if o.final() {
		return o.after(accepted)
	}
	start := w.clock.Now()
	rec, created, err := w.store.Commit(wctx, envelopes.Rendered{
		EnvelopeID:  id,
		RequestHash: hash,
		Request:     normalised,
		Documents:   docs,
		RenderedAt:  w.clock.Now(),
		SkipLookup:  true, // looked up above
		IndexKeys:   w.indexKeys(env),
	})
	metrics.Since(w.m.StoreDuration, start, w.clock.Now())
	return w.committed(id, rec, created, err).after(accepted)
}

// indexKeys names env's reference index entries, if there is an index.
func (w *Worker) indexKeys(env *request.Envelope) []string {
	if w.cfg.References == nil {
		return nil
	}
	refs := make([]string, len(env.Certificates))
	for i, c := range env.Certificates {
		refs[i] = c.Reference
	}
	return w.cfg.References.Keys(env.EnvelopeID, refs)
}

// decode reads a render message's request. A request that can never be
// rendered is rejected at once, never retried.
func (w *Worker) decode(d pipeline.Delivery) (*request.Envelope, outcome) {
	env, err := safeDecode(d.Body(), w.fit)
	var fe request.Errors
	switch {
	case err == nil:
	case errors.As(err, &fe) && env == nil:
		return nil, reject("", pipeline.Reason{Code: CodeMalformed, Detail: "not a JSON object", Fields: fe})
	case errors.As(err, &fe):
		return nil, reject(env.EnvelopeID, pipeline.Reason{Code: CodeInvalidRequest, Detail: problems(len(fe)), Fields: fe})
	default:
		w.log.Error("worker: decoding a request panicked", "message_id", safeID(d.MessageID()), "panic", panicText(err))
		return nil, reject("", pipeline.Reason{Code: CodeInternal, Detail: "reading the request failed inside Quire"})
	}
	if err := envelopes.ValidID(env.EnvelopeID); err != nil {
		// request's rule lets "." and ".." through; they cannot be keys.
		return nil, reject("", pipeline.Reason{Code: CodeInvalidRequest, Detail: problems(1),
			Fields: []request.FieldError{{Field: "envelopeId", Problem: "cannot be \".\" or \"..\""}}})
	}
	return env, outcome{}
}

// checkIssueDates refuses a request whose dateOfIssue is later than
// tomorrow in the configured zone. Checked here, when the request arrives,
// and never when a stored request is rendered again: the rule depends on
// the clock.
func (w *Worker) checkIssueDates(env *request.Envelope) outcome {
	if fe := request.CheckIssueDates(env, w.clock.Now(), w.cfg.Zone); len(fe) > 0 {
		return reject(env.EnvelopeID, pipeline.Reason{Code: CodeInvalidRequest, Detail: problems(len(fe)), Fields: fe})
	}
	return outcome{}
}

// lookUp answers a request for an envelope that storage already knows:
// cancelled, or committed (a redelivery). For one it does not know, it
// returns the zero outcome: render it.
func (w *Worker) lookUp(ctx context.Context, id, hash string) outcome {
	found, err := w.store.Lookup(ctx, id)
	if err != nil {
		return storageFailed(id, err)
	}
	c, rec := found.Cancellation, found.Record
	if c != nil && rec != nil && w.cancels != nil {
		// Cancelled and stored, so perhaps in a sealed batch with its
		// cancellation refused: then it will be printed, and the request
		// sent again is answered as the stored envelope it is, never as
		// cancelled.
		refusal, o := w.checkCancel(ctx, *c)
		if o.final() {
			return o
		}
		if refusal != nil {
			return w.redelivered(*rec, hash)
		}
	}
	switch {
	case c != nil:
		// A cancel that arrived first wins: the envelope is never rendered.
		w.m.Cancelled.WithLabelValues("skipped").Inc()
		w.log.Info("worker: envelope cancelled before rendering; not rendered", "envelope_id", id, "code", c.Code)
		return ack(id, events.Cancelled(*c))
	case rec != nil:
		return w.redelivered(*rec, hash)
	}
	return outcome{}
}

// redelivered answers a delivery of an envelope already committed: the
// same request is a redelivery, announced again and acked; a different
// one is a conflict.
func (w *Worker) redelivered(rec envelopes.Record, hash string) outcome {
	if rec.RequestHash != hash {
		return reject(rec.EnvelopeID, conflictReason())
	}
	w.m.Duplicates.Inc()
	w.log.Info("worker: envelope already stored; announcing it again", "envelope_id", rec.EnvelopeID)
	return ack(rec.EnvelopeID, events.Rendered(rec))
}

// renderEnvelope renders env's documents and its normalised request, the
// two things a commit stores.
func (w *Worker) renderEnvelope(env *request.Envelope) ([]rendered.Document, []byte, outcome) {
	id := env.EnvelopeID
	start := w.clock.Now()
	docs, err := w.safeRender(env)
	metrics.Since(w.m.RenderDuration, start, w.clock.Now())
	var fe request.Errors
	switch {
	case errors.As(err, &fe):
		return nil, nil, reject(id, pipeline.Reason{Code: CodeUnprintable, Detail: problems(len(fe)), Fields: fe})
	case err != nil:
		// Renderer errors and panics can quote what they were drawing:
		// log only what kind of failure it was.
		w.log.Error("worker: rendering failed", "envelope_id", id, "err", panicText(err))
		return nil, nil, reject(id, pipeline.Reason{Code: CodeRenderFailed, Detail: "rendering failed inside Quire"})
	}
	normalised, err := json.Marshal(env)
	if err != nil {
		return nil, nil, reject(id, pipeline.Reason{Code: CodeInternal, Detail: "encoding the request failed inside Quire"})
	}
	return docs, normalised, outcome{}
}

// committed answers what Commit returned.
func (w *Worker) committed(id string, rec envelopes.Record, created bool, err error) outcome {
	switch {
	case errors.Is(err, envelopes.ErrConflict):
		return reject(id, conflictReason())
	case errors.Is(err, envelopes.ErrInvalid):
		w.log.Error("worker: the store refused a rendered envelope", "envelope_id", id, "err", err)
		return reject(id, pipeline.Reason{Code: CodeInternal, Detail: "the store refused the rendered envelope"})
	case err != nil:
		return storageFailed(id, err)
	case created:
		w.m.Rendered.Inc()
		w.log.Info("worker: envelope rendered and stored", "envelope_id", id, "documents", len(rec.Documents))
	default:
		// Another worker, or this message's earlier delivery, got there
		// first with the same request.
		w.m.Duplicates.Inc()
		w.log.Info("worker: envelope already stored by an earlier delivery", "envelope_id", id)
	}
	return ack(id, events.Rendered(rec))
}

func conflictReason() pipeline.Reason {
	return pipeline.Reason{Code: CodeConflict, Detail: "envelope id already stored with a different request"}
}

// handleCancel takes a cancel message through its steps: decode, wait for
// storage, store the marker, ask the batch records whether it came in time,
// and, if it did, schedule the deletion of the envelope's personal data.
func (w *Worker) handleCancel(ctx context.Context, d pipeline.Delivery, stop <-chan struct{}) outcome {
	c, err := cancel.Decode(d.Body())
	if err != nil {
		var fe request.Errors
		errors.As(err, &fe)
		return deadLetter("", pipeline.Reason{Code: CodeInvalidCancel, Detail: problems(len(fe)), Fields: fe})
	}
	id := c.EnvelopeID
	if !w.gate.wait(stop) {
		return retry(id, ReasonStorageUnavailable, nil)
	}
	wctx, cancelWork := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancelWork()
	stored, created, err := w.store.Cancel(wctx, envelopes.Cancellation{
		EnvelopeID: id, Code: c.Code, Reason: c.Reason, At: w.clock.Now(),
	})
	switch {
	case errors.Is(err, envelopes.ErrInvalid):
		return deadLetter("", pipeline.Reason{Code: CodeInvalidCancel, Detail: "the store refused the cancellation"})
	case err != nil:
		return storageFailed(id, err)
	}
	if created {
		w.m.Cancelled.WithLabelValues("marker").Inc()
	}
	if w.cancels != nil {
		// The marker is stored first and the batch claim read second; the
		// batcher creates the claim first and reads the marker second. So
		// at least one of the two sees the other, and the seal says which
		// (docs/batching.md).
		refusal, o := w.checkCancel(wctx, stored)
		if o.final() {
			return o
		}
		if refusal != nil {
			w.m.Cancelled.WithLabelValues("refused").Inc()
			w.log.Info("worker: cancellation refused: the envelope is in a sealed batch and will be printed",
				"envelope_id", id, "batch_id", refusal.BatchID, "code", stored.Code)
			return ackRefusal(id, *refusal)
		}
	}
	if w.keeper != nil {
		// The envelope will never be posted, so posting will never
		// schedule its deletion: the cancellation does, from its stored
		// time, so every delivery writes the same entry. Before the ack:
		// a failure retries the message, and a crash redelivers it.
		if err := w.keeper.Cancelled(wctx, id, stored.At); err != nil {
			return storageFailed(id, err)
		}
	}
	if created {
		w.log.Info("worker: envelope cancelled", "envelope_id", id, "code", stored.Code)
	} else {
		w.log.Info("worker: envelope was already cancelled; announcing the first cancellation again", "envelope_id", id, "code", stored.Code)
	}
	return ack(id, events.Cancelled(stored))
}

// checkCancel asks the batch records whether the stored cancellation c
// still stops its envelope from being printed. It returns the event
// refusing c if the envelope is in a sealed batch, or nil if c stands; or
// the message's outcome instead, a retry, when the batch is being sealed
// or storage failed. The stored time, not now, is passed on, so that every
// delivery publishes the same refusal.
func (w *Worker) checkCancel(ctx context.Context, c envelopes.Cancellation) (*events.PrintEvent, outcome) {
	refusal, err := w.cancels.CheckCancel(ctx, c.EnvelopeID, c.At)
	switch {
	case errors.Is(err, ledger.ErrSealing):
		// Not a storage failure: the gate stays open.
		return nil, retry(c.EnvelopeID, ReasonBatchSealing, nil)
	case err != nil:
		return nil, storageFailed(c.EnvelopeID, err)
	}
	return refusal, outcome{}
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
