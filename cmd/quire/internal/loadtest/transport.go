package loadtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/broker"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/service"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/s3store"
	"github.com/quire-print/quire/renderer/rendered"
)

// transportOnly is the load harness's second phase: the pipeline's
// RabbitMQ and S3 traffic with none of Quire's own work. Quire's broker
// code, under a topology of the phase's own, consumes the same requests;
// each is answered with the S3 requests and events the worker makes for a
// new envelope (the look-up, then the accepted event published alongside
// the PUTs of the same objects Commit writes, then the record, then the
// rendered event, each confirmed, then the ack), but nothing is decoded,
// rendered or hashed.
//
// Its rate is what this machine allows any pipeline that does the
// messaging and storage Quire's pipeline needs. Where RabbitMQ, S3 and Quire
// share the cores, it bounds pipeline / raw PUT from above, so a run says
// how much of the gap to the raw rate is Quire's and how much is the
// messaging's.
type transportOnly struct {
	url         string
	prefix      string // AMQP prefix and S3 key prefix of the phase
	concurrency int
	prefetch    int
	s3          s3store.Config
	files       []file // the bundle of the request and the documents, named as Commit names it
	record      []byte
	rendered    envelopes.Record // the rendered event's record, id and time replaced
}

// file is one of an envelope's files: its key under envelopes/<id>/.
type file struct {
	name string
	data []byte
}

// newTransportOnly describes the phase for envelopes of these documents
// and request, under prefix, with cfg.Concurrency already worked out.
func newTransportOnly(cfg service.Config, prefix string, docs []rendered.Document, req []byte) transportOnly {
	t := transportOnly{url: cfg.AMQPURL, prefix: prefix, concurrency: cfg.Concurrency,
		prefetch: cfg.Prefetch, s3: cfg.S3}
	t.s3.Prefix = prefix + "/"
	t.s3.CreateBucket = true
	_, t.record = envelopeObjects(docs, req)
	// Hashed here, once: the key is the one Commit makes (BundleKey, the
	// same for every id below envelopes/<id>/), so that S3 gets the same
	// requests.
	hash := func(b []byte) string { sum := sha256.Sum256(b); return hex.EncodeToString(sum[:]) }
	sums := []string{hash(req)}
	for _, d := range docs {
		sums = append(sums, hash(d.PDF))
	}
	t.files = []file{{strings.TrimPrefix(envelopes.BundleKey("x", sums), envelopes.EnvelopesPrefix+"x/"), bundle(docs, req)}}
	for i, d := range docs {
		sum := sums[i+1]
		// The rendered event carries each file's hash and size, not its key.
		t.rendered.Documents = append(t.rendered.Documents, envelopes.Document{Kind: d.Kind, Name: d.Name,
			TemplateID: d.TemplateID, TemplateVersion: d.TemplateVersion, Pages: d.Pages, Sheets: d.Sheets,
			File: envelopes.File{SHA256: sum, Size: int64(len(d.PDF))}})
	}
	return t
}

// run publishes the requests, paced as the pipeline phase was, and
// returns the rate end to end and the CPU per envelope of the watched
// processes. It deletes its queues and exchanges and hands its store to
// later, to be emptied after the run.
func (t transportOnly) run(ctx context.Context, ids []string, bodies [][]byte, rate float64, watch Processes, later func(storage.Store)) (float64, string, error) {
	st, err := s3store.New(ctx, t.s3)
	if err != nil {
		return 0, "", err
	}
	later(st)
	b, err := broker.New(broker.Config{URL: t.url, Prefix: t.prefix, Concurrency: t.concurrency, Prefetch: t.prefetch,
		ConnectionName: "quire load (transport only)"})
	if err != nil {
		return 0, "", err
	}
	defer b.Close()
	if _, err := b.Depths(ctx); err != nil { // declares the topology
		return 0, "", err
	}
	eventsQueue := t.prefix + ".load-events"
	defer deleteLoadTopology(t.url, b.Topology(), eventsQueue, true)
	rendered, stopEvents, err := watchRendered(ctx, t.url, b.Topology().Events, eventsQueue, len(ids))
	if err != nil {
		return 0, "", err
	}
	defer stopEvents()

	ev := events.NewPublisher(b.Events())
	envs := envelopes.New(st)
	pctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	handle := func(ctx context.Context, d pipeline.Delivery) {
		id := d.MessageID()
		accepted := func(ctx context.Context) error { return ev.Publish(ctx, events.Accepted(id, time.Now())) }
		err := t.store(ctx, envs, st, id, accepted)
		if err == nil {
			rec := t.rendered
			rec.EnvelopeID, rec.RenderedAt = id, time.Now()
			err = ev.Publish(ctx, events.Rendered(rec))
		}
		if err == nil {
			err = d.Ack(ctx)
		}
		if err != nil {
			_ = d.Reject(ctx, pipeline.Reason{Code: "load-transport-failed"})
			fail(fmt.Errorf("transport-only phase: %w", err))
		}
	}
	consumed := make(chan error, 1)
	cctx, stopConsuming := context.WithCancel(pctx)
	go func() { consumed <- b.Consume(cctx, handle) }()
	defer func() { stopConsuming(); <-consumed }()

	cpuBegin := watch.sample()
	_, elapsed, err := drive(pctx, b, rendered, ids, bodies, rate)
	if err != nil {
		return 0, "", err
	}
	return float64(len(ids)) / elapsed.Seconds(), cpuBegin.perEnvelope(watch.sample(), len(ids)), nil
}

// store makes the S3 requests the worker makes for a new envelope id, in
// its order and with its keys: the look-up; then the bundle and the ready
// entry, in parallel; then the record. publishAccepted runs alongside the
// writes, as the accepted event does in the worker.
func (t transportOnly) store(ctx context.Context, envs *envelopes.Store, st storage.Store, id string, publishAccepted func(context.Context) error) error {
	found, err := envs.Lookup(ctx, id)
	if err != nil {
		return err
	}
	if found.Record != nil || found.Cancellation != nil {
		return fmt.Errorf("envelope %s is already stored", id)
	}
	accepted := make(chan error, 1)
	go func() { accepted <- publishAccepted(ctx) }()
	errs := make([]error, len(t.files)+1)
	var wg sync.WaitGroup
	for i, f := range t.files {
		wg.Go(func() { _, errs[i] = st.Put(ctx, envelopes.EnvelopesPrefix+id+"/"+f.name, f.data) })
	}
	wg.Go(func() {
		_, errs[len(t.files)] = st.Put(ctx, envelopes.ReadyKey(id), []byte(`{"schemaVersion":1,"envelopeId":"`+id+`"}`))
	})
	wg.Wait()
	if err := errors.Join(errs...); err == nil {
		_, err = st.Create(ctx, envelopes.RecordKey(id), t.record)
		errs = append(errs, err)
	}
	return errors.Join(append(errs, <-accepted)...)
}
