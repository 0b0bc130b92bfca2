// Package loadtest holds Quire's load harnesses: "quire load", the
// pipeline through RabbitMQ and S3 (with its transport-only and raw PUT
// baselines), and "quire previewload", the preview API. cmd/quire parses
// their flags and calls them. Loopback use only.
package loadtest

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/quire-print/quire/internal/variety"
	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/broker"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/service"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/s3store"
	"github.com/quire-print/quire/pipeline/worker"
	"github.com/quire-print/quire/renderer/rendered"
	"github.com/quire-print/quire/request"
)

// Config is one "quire load" run.
type Config struct {
	// Service is the serve's settings: the broker, S3, the concurrency.
	// The harness starts that serve in this process when StartServe is
	// set, under a fresh prefix; otherwise it loads one already running
	// at Service.Prefix.
	Service    service.Config
	StartServe bool
	// Renderer renders envelopes for the serve this process starts, and
	// the sample whose objects the baselines write.
	Renderer worker.Renderer
	// N envelopes are published, at Rate a second (0: unpaced); RawN
	// envelopes' worth of objects are PUT for the raw baseline.
	N, RawN int
	Rate    float64
	// Sample is the request file published, with its envelope id
	// replaced; unless Same, each envelope names a different family.
	Sample string
	Same   bool
	// Keep keeps the run's envelopes in S3; Transport runs the
	// transport-only phase.
	Keep, Transport bool
	// Watch names other processes whose CPU is reported per envelope.
	Watch Processes
}

// Validate reports what makes c unrunnable, naming the flag.
func (c Config) Validate() error {
	var errs []error
	if c.Service.AMQPURL == "" || c.Service.S3.Endpoint == "" {
		errs = append(errs, errors.New("--amqp-url and --s3-endpoint are required: the harness measures RabbitMQ and S3"))
	}
	if c.N < 1 || c.N > 100000 || c.RawN < 1 || c.RawN > 100000 {
		errs = append(errs, errors.New("--n and --raw-n must be between 1 and 100000"))
	}
	if c.Rate < 0 {
		errs = append(errs, errors.New("--rate cannot be negative"))
	}
	if c.Renderer == nil {
		errs = append(errs, errors.New("a renderer is required"))
	}
	return errors.Join(errs...)
}

// Run publishes c.N envelopes through RabbitMQ to a quire serve, waits for
// each one's rendered event, and reports to stdout envelopes/s end to end
// and p50/p99 latency (publish to rendered event); then the transport-only
// rate and the raw S3 PUT rate for the same objects, measured in the same
// run. The serve's warnings go to stderr.
func Run(ctx context.Context, c Config, stdout, stderr io.Writer) error {
	if err := c.Validate(); err != nil {
		return err
	}
	cfg := c.Service
	run := strings.ToLower(rand.Text()[:8])
	// Worked out once: the serve, the transport-only phase and the raw
	// phase all run this many envelopes at a time.
	cfg.Concurrency = cmp.Or(cfg.Concurrency, service.DefaultConcurrency)
	conc := cfg.Concurrency
	// Each phase's objects are deleted after the last phase, not after
	// their own: on some file systems an S3 server's writes slow down for
	// a while after deletes, and that must not land on the next phase.
	var leftovers []storage.Store
	later := func(st storage.Store) { leftovers = append(leftovers, st) }
	defer func() {
		for _, st := range leftovers {
			deleteAll(context.WithoutCancel(ctx), st, 4*conc)
		}
	}()
	if c.StartServe {
		cfg.Prefix = "quire-load-" + run
		cfg.S3.Prefix = "quire-load-" + run + "/"
	}
	sample, err := os.ReadFile(c.Sample)
	if err != nil {
		return err
	}
	// Each envelope names a different family at a different address, as
	// real traffic does, unless --same: what Quire reuses between
	// documents must not be measured on one request repeated.
	body := func(id string, i int) ([]byte, error) {
		if c.Same {
			i = 0
		}
		b, err := variety.Request(sample, id, i)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Sample, err)
		}
		return b, nil
	}
	probe, err := body("probe", 0)
	if err != nil {
		return err
	}

	b, err := broker.New(broker.Config{URL: cfg.AMQPURL, Prefix: cfg.Prefix, ConnectionName: "quire load"})
	if err != nil {
		return err
	}
	defer b.Close()
	if _, err := b.Depths(ctx); err != nil { // declares the topology
		return err
	}
	defer deleteLoadTopology(cfg.AMQPURL, b.Topology(), cfg.Prefix+".load-events-"+run, c.StartServe)
	arrivals, stopEvents, err := watchRendered(ctx, cfg.AMQPURL, b.Topology().Events, cfg.Prefix+".load-events-"+run, c.N)
	if err != nil {
		return err
	}
	defer stopEvents()

	if c.StartServe {
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		cfg.Listen = "127.0.0.1:0"
		cfg.S3.CreateBucket = true
		svc, err := service.New(cfg, c.Renderer)
		if err != nil {
			return err
		}
		sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan error, 1)
		go func() { done <- svc.Run(sctx) }()
		defer func() { stop(); <-done }()
	}

	fmt.Fprintf(stdout, "quire load: %d envelopes (%s) through RabbitMQ prefix %s, concurrency %d, rate %s\n",
		c.N, filepath.Base(c.Sample), cfg.Prefix, conc, rateText(c.Rate))
	// The requests are made before the clock starts: making them is the
	// harness's work, not the pipeline's, and it runs in this process.
	ids := make([]string, c.N)
	bodies := make([][]byte, c.N)
	for i := range ids {
		ids[i] = fmt.Sprintf("load-%s-%06d", run, i)
		if bodies[i], err = body(ids[i], i); err != nil {
			return err
		}
	}
	cpuBegin := c.Watch.sample()
	lat, elapsed, err := drive(ctx, b, arrivals, ids, bodies, c.Rate)
	if err != nil {
		return err
	}
	cpuEnd := c.Watch.sample()
	pipelineRate := float64(c.N) / elapsed.Seconds()
	if rc := b.Stats().Reconnects; rc > 0 {
		fmt.Fprintf(stdout, "note: the broker connection was lost and re-established %d time(s) during the run\n", rc)
	}
	fmt.Fprintf(stdout, "end to end:  %d envelopes in %.2fs = %.1f envelopes/s; latency p50 %v, p99 %v, max %v\n",
		c.N, elapsed.Seconds(), pipelineRate, pct(lat, 50), pct(lat, 99), lat[len(lat)-1])
	if s := cpuBegin.perEnvelope(cpuEnd, c.N); s != "" {
		fmt.Fprintf(stdout, "             CPU per envelope: %s\n", s)
	}

	// The same objects, with the messaging and without Quire's work; then
	// the baseline: the objects alone, PUT straight to S3 by as many
	// envelopes at once as the service handles, as Commit writes them.
	var env request.Envelope
	if err := json.Unmarshal(probe, &env); err != nil {
		return err
	}
	docs, err := c.Renderer.Render(&env)
	if err != nil {
		return err
	}
	var transportRate float64
	if c.Transport {
		t := newTransportOnly(cfg, "quire-load-"+run+"-transport", docs, probe)
		var cpu string
		if transportRate, cpu, err = t.run(ctx, ids, bodies, c.Rate, c.Watch, later); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "transport only: %d envelopes at %.1f envelopes/s: the same RabbitMQ and S3 traffic, nothing decoded or rendered\n", c.N, transportRate)
		if cpu != "" {
			fmt.Fprintf(stdout, "             CPU per envelope: %s\n", cpu)
		}
	}
	objs, puts, cpu, err := rawPuts(ctx, cfg.S3, "quire-load-"+run+"-raw/", docs, probe, c.RawN, conc, c.Watch, later)
	if err != nil {
		return err
	}
	rawRate := puts * float64(c.RawN) / float64(objs)
	fmt.Fprintf(stdout, "raw S3 PUT:  %d objects (%s) at %.0f PUT/s = %.1f envelopes/s\n", objs, sizes(docs, probe), puts, rawRate)
	if cpu != "" {
		fmt.Fprintf(stdout, "             CPU per envelope: %s\n", cpu)
	}
	fmt.Fprintf(stdout, "pipeline / raw PUT: %.0f%%\n", 100*pipelineRate/rawRate)
	if c.Transport {
		fmt.Fprintf(stdout, "transport only / raw PUT: %.0f%% (the most any pipeline could reach here)\n", 100*transportRate/rawRate)
	}
	if c.StartServe && !c.Keep {
		// The run's envelopes are under its own prefix.
		if st, err := s3store.New(ctx, cfg.S3); err == nil {
			later(st)
		}
	}
	return nil
}

// drive publishes the requests through b, paced at rate envelopes/s (0:
// as fast as it can), and waits for each one's rendered event. It returns
// each envelope's latency, sorted, and the time from the first publish to
// the last event. The context's cause is returned if it ends first.
func drive(ctx context.Context, b *broker.Broker, rendered <-chan renderedEvent, ids []string, bodies [][]byte, rate float64) ([]time.Duration, time.Duration, error) {
	published := make(map[string]time.Time, len(ids))
	begin := time.Now()
	for i := range ids {
		if rate > 0 {
			next := begin.Add(time.Duration(float64(i) / rate * float64(time.Second)))
			if d := time.Until(next); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return nil, 0, context.Cause(ctx)
				}
			}
		}
		published[ids[i]] = time.Now()
		if err := b.PublishMessage(ctx, broker.Message{Kind: pipeline.KindRender, MessageID: ids[i], Body: bodies[i]}); err != nil {
			return nil, 0, err
		}
	}
	var lat []time.Duration
	var last time.Time
	for len(lat) < len(ids) {
		select {
		case ev := <-rendered:
			at, ok := published[ev.id]
			delete(published, ev.id) // a repeated event counts once
			if ok {
				lat = append(lat, ev.at.Sub(at))
				last = ev.at
			}
		case <-ctx.Done():
			return nil, 0, fmt.Errorf("only %d of %d envelopes rendered: %w", len(lat), len(ids), context.Cause(ctx))
		}
	}
	slices.Sort(lat)
	return lat, last.Sub(begin), nil
}

func rateText(r float64) string {
	if r == 0 {
		return "unpaced"
	}
	return fmt.Sprintf("%.0f/s", r)
}

func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[min(max(i-1, 0), len(sorted)-1)].Round(time.Millisecond / 10)
}

func sizes(docs []rendered.Document, req []byte) string {
	s := []string{fmt.Sprint(len(req))}
	for _, d := range docs {
		s = append(s, fmt.Sprint(len(d.PDF)))
	}
	return fmt.Sprintf("a bundle of %d bytes, %s, and two small index objects", len(bundle(docs, req)), strings.Join(s, " + "))
}

// rawPuts writes n envelopes' worth of the same objects straight to S3,
// conc envelopes at a time, each envelope's objects in parallel and then
// its record last, as the commit protocol does. It returns the objects
// written, the PUT rate and the CPU per envelope of the watched processes,
// and hands its store to later, to be emptied after the run.
func rawPuts(ctx context.Context, cfg s3store.Config, prefix string, docs []rendered.Document, req []byte, n, conc int, watch Processes, later func(storage.Store)) (int, float64, string, error) {
	cfg.Prefix = prefix
	cfg.CreateBucket = true
	st, err := s3store.New(ctx, cfg)
	if err != nil {
		return 0, 0, "", err
	}
	later(st)
	payloads, record := envelopeObjects(docs, req)
	work := make(chan int)
	errs := make(chan error, conc)
	var wg sync.WaitGroup
	cpuBegin := watch.sample()
	begin := time.Now()
	for range conc {
		wg.Go(func() {
			for i := range work {
				if err := putEnvelope(ctx, st, fmt.Sprintf("e%06d/", i), payloads, record); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := range n {
		select {
		case work <- i:
		case err := <-errs:
			close(work)
			wg.Wait()
			return 0, 0, "", err
		}
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(begin)
	cpu := cpuBegin.perEnvelope(watch.sample(), n)
	select {
	case err := <-errs:
		return 0, 0, "", err
	default:
	}
	objs := n * (len(payloads) + 1)
	return objs, float64(objs) / elapsed.Seconds(), cpu, nil
}

// envelopeObjects returns what Commit writes for an envelope of these
// documents and request, as the baseline writes it: the bundle and the
// ready entry, then a record of about a render record's size.
func envelopeObjects(docs []rendered.Document, req []byte) (payloads [][]byte, record []byte) {
	payloads = [][]byte{bundle(docs, req), []byte(`{"schemaVersion":1,"envelopeId":"x"}`)}
	return payloads, make([]byte, 1100)
}

// bundle is what Commit stores an envelope's request and documents as: one
// object, the request then the documents, back to back.
func bundle(docs []rendered.Document, req []byte) []byte {
	b := slices.Clone(req)
	for _, d := range docs {
		b = append(b, d.PDF...)
	}
	return b
}

// putEnvelope writes payloads under prefix in parallel, then creates the
// record, as the commit protocol does.
func putEnvelope(ctx context.Context, st storage.Store, prefix string, payloads [][]byte, record []byte) error {
	var wg sync.WaitGroup
	errs := make([]error, len(payloads))
	for j, p := range payloads {
		wg.Go(func() { _, errs[j] = st.Put(ctx, fmt.Sprintf("%sf%d", prefix, j), p) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	_, err := st.Create(ctx, prefix+"record.json", record)
	return err
}

// deleteAll deletes every object in st, conc at a time, so that a run
// leaves nothing behind for the next to share the S3 server's time with
// (MinIO's background scanner walks every object).
func deleteAll(ctx context.Context, st storage.Store, conc int) {
	keys := make(chan string)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for k := range keys {
				_ = st.Delete(ctx, k)
			}
		})
	}
	for info, err := range st.List(ctx, "") {
		if err != nil {
			break
		}
		keys <- info.Key
	}
	close(keys)
	wg.Wait()
}

type renderedEvent struct {
	id string
	at time.Time
}

// watchRendered binds a durable queue of the run's own to the events
// exchange and sends each rendered event's envelope id with its arrival
// time. It reconnects after a broker restart: the queue keeps the events
// published meanwhile. The channel holds n events: nothing reads it until
// every envelope is published, and an event must be timed when it arrives,
// not when there is room for it.
func watchRendered(ctx context.Context, url, exchange, queue string, n int) (<-chan renderedEvent, func(), error) {
	open := func() (*amqp.Connection, <-chan amqp.Delivery, error) {
		conn, err := amqp.Dial(url)
		if err != nil {
			return nil, nil, err
		}
		ch, err := conn.Channel()
		if err == nil {
			// Durable, so that events published while the broker restarts
			// are kept; classic, as an upstream consumer's queue may well
			// be. Every event type is bound, as upstream binds them: an
			// unbound type would go to the events' alternate exchange and
			// be counted against Quire.
			_, err = ch.QueueDeclare(queue, true, false, false, false, amqp.Table{"x-queue-type": "classic"})
		}
		if err == nil {
			err = ch.QueueBind(queue, "#", exchange, false, nil)
		}
		var deliveries <-chan amqp.Delivery
		if err == nil {
			deliveries, err = ch.Consume(queue, "", true, false, false, false, nil)
		}
		if err != nil {
			conn.Close()
			return nil, nil, err
		}
		return conn, deliveries, nil
	}
	conn, deliveries, err := open()
	if err != nil {
		return nil, nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	out := make(chan renderedEvent, n)
	go func() {
		for {
			for d := range deliveries {
				at := time.Now()
				if d.RoutingKey != events.TypeRendered {
					continue
				}
				var e events.Event
				if json.Unmarshal(d.Body, &e) == nil {
					select {
					case out <- renderedEvent{e.EnvelopeID, at}:
					case <-wctx.Done():
						conn.Close()
						return
					}
				}
			}
			conn.Close()
			for { // the broker went away: reconnect, once a second
				select {
				case <-wctx.Done():
					return
				case <-time.After(time.Second):
				}
				if conn, deliveries, err = open(); err == nil {
					break
				}
			}
		}
	}()
	return out, cancel, nil
}

// deleteLoadTopology removes the run's events queue and, when the run
// had its own prefix, its queues and exchanges.
func deleteLoadTopology(url string, topo broker.Topology, eventsQueue string, all bool) {
	conn, err := amqp.Dial(url)
	if err != nil {
		return
	}
	defer conn.Close()
	do := func(f func(ch *amqp.Channel) error) {
		if ch, err := conn.Channel(); err == nil {
			_ = f(ch)
			_ = ch.Close()
		}
	}
	queues := []string{eventsQueue}
	var exchanges []string
	if all {
		queues = append(queues, topo.Render, topo.Cancel, topo.Dead, topo.EventsUnrouted)
		exchanges = []string{topo.Requests, topo.RequestsUnrouted, topo.Dead, topo.Events, topo.EventsUnrouted}
		for _, s := range topo.Retry {
			queues, exchanges = append(queues, s.Name), append(exchanges, s.Name)
		}
	}
	for _, q := range queues {
		do(func(ch *amqp.Channel) error { _, err := ch.QueueDelete(q, false, false, false); return err })
	}
	for _, e := range exchanges {
		do(func(ch *amqp.Channel) error { return ch.ExchangeDelete(e, false, false) })
	}
}
