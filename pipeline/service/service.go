// Package service assembles quire serve and starts and stops all of it:
// the intake queue (RabbitMQ, or the in-process queue), the store (S3, or a
// directory), the render worker (which checks every cancellation against
// the batch records), batching (the batcher, the retention sweep, the
// supplier's pull API) and the preview, behind HTTP listeners by audience:
// public (the preview), supplier (the pull API) and admin (/metrics,
// /healthz, /readyz, the status API with Config.StatusTokensFile and, with
// the in-process queue, the intake endpoint that quire submit uses). Each audience may have its own address, or share
// one; each listener's /readyz checks only what its audience needs.
//
// cmd/quire only turns flags and environment into a Config and calls Run;
// everything else is here, so tests run the whole service with a fake
// renderer.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quire-print/quire/internal/backoff"
	"github.com/quire-print/quire/internal/buildinfo"
	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/batch/printfile"
	"github.com/quire-print/quire/pipeline/batch/retention"
	"github.com/quire-print/quire/pipeline/broker"
	"github.com/quire-print/quire/pipeline/health"
	"github.com/quire-print/quire/pipeline/memqueue"
	"github.com/quire-print/quire/pipeline/metrics"
	"github.com/quire-print/quire/pipeline/status/statusapi"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/fsstore"
	"github.com/quire-print/quire/pipeline/storage/refindex"
	"github.com/quire-print/quire/pipeline/storage/s3store"
	"github.com/quire-print/quire/pipeline/worker"
	"github.com/quire-print/quire/preview"
)

// Service is one quire serve process.
type Service struct {
	cfg      Config
	log      *slog.Logger
	build    buildinfo.Info
	source   pipeline.Source
	mem      *memqueue.Queue // with the embedded queue only
	brk      *broker.Broker  // with RabbitMQ only
	store    storage.Store
	s3       *s3store.Store // with S3 only
	metrics  *metrics.Metrics
	envs     *envelopes.Store
	events   pipeline.Publisher
	worker   *worker.Worker
	batching *Batching        // nil without Config.Batching.Supplier
	preview  *preview.Handler // nil when the renderer draws no documents
	registry *prometheus.Registry
	servers  []*server
	stopping atomic.Bool

	// storageReady is closed once the store answers (StorageReady).
	storageReady chan struct{}
}

// DocumentRenderer lays out and draws single documents, for the preview
// and for batches' print files. The Renderer from NewRenderer is one.
type DocumentRenderer interface {
	preview.Renderer
	printfile.Renderer
}

// Run runs quire serve with cfg and the real renderer until ctx ends,
// then drains (Service.Run). It returns an error if cfg is invalid, a
// listener cannot open, storage refuses at start, or the drain runs out
// of time.
func Run(ctx context.Context, cfg Config) error {
	r, err := NewRenderer()
	if err != nil {
		return err
	}
	s, err := New(cfg, r)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

// New sets up the queue and the store, builds the worker, batching and
// the preview, and opens the HTTP listeners. It sends nothing to RabbitMQ
// or S3: Run connects to both, and waits for either that is not up yet.
//
// r renders envelopes for the worker. When it is also a
// DocumentRenderer (as NewRenderer's is), the public listener serves the
// preview; batching requires one.
func New(cfg Config, r worker.Renderer) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errors.New("service: a renderer is required")
	}
	docs, _ := r.(DocumentRenderer)
	if docs == nil && cfg.Batching.Supplier != "" {
		return nil, errors.New("service: batching needs a renderer that draws print files")
	}
	cfg = cfg.withDefaults()
	s := &Service{cfg: cfg, log: cfg.Logger, build: buildinfo.Read(), registry: metrics.NewRegistry(), storageReady: make(chan struct{})}

	var err error
	var queue metrics.Queue
	if cfg.Embedded() {
		mcfg := memqueue.Config{Concurrency: cfg.Concurrency, RetryDelays: cfg.RetryDelays, Logger: cfg.Logger}
		if cfg.OnEvent != nil {
			mcfg.OnEvent = func(m memqueue.Message) { cfg.OnEvent(m.Kind, m.Body) }
		}
		if s.mem, err = memqueue.New(mcfg); err != nil {
			return nil, err
		}
		s.source, s.events, queue = s.mem, s.mem.Events(), memQueue{s.mem}
	} else {
		tlsCfg, err := AMQPTLS(cfg.AMQPCAFile)
		if err != nil {
			return nil, err
		}
		s.brk, err = broker.New(broker.Config{
			URL: cfg.AMQPURL, Prefix: cfg.Prefix, Concurrency: cfg.Concurrency, Prefetch: cfg.Prefetch,
			RetryDelays: cfg.RetryDelays, ConnectionName: "quire serve", Logger: cfg.Logger, TLS: tlsCfg,
		})
		if err != nil {
			return nil, err
		}
		s.source, s.events, queue = s.brk, s.brk.Events(), brokerQueue{s.brk}
	}

	if cfg.S3.Endpoint != "" {
		// Unchecked: Run waits for storage that is not up yet, as the
		// worker rides out an outage, rather than the start failing.
		if s.s3, err = s3store.NewUnchecked(cfg.S3); err != nil {
			return nil, err
		}
		s.store = s.s3
	} else {
		if s.store, err = fsstore.New(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	s.envs = envelopes.New(s.store)
	refs, err := refindex.ReadKeyFile(cfg.ReferenceKeyFile)
	if err != nil {
		return nil, err
	}

	m := metrics.New(s.registry)
	s.metrics = m
	if err := metrics.RegisterQueue(s.registry, queue, 2*time.Second); err != nil {
		return nil, err
	}
	if err := s.registry.Register(s.build.Collector()); err != nil {
		return nil, err
	}
	// The keeper the worker tells of cancellations that stand: batching's
	// (with its lifecycle tagging) when this process batches, else one of
	// its own with the same retention period, whose entries the sweep of
	// whichever process batches carries out.
	var keeper *retention.Keeper
	if cfg.Batching.Supplier != "" {
		if s.batching, err = NewBatching(cfg, s.store, s.events, docs, cfg.Logger); err != nil {
			return nil, err
		}
		for _, c := range s.batching.Collectors() {
			if err := s.registry.Register(c); err != nil {
				return nil, fmt.Errorf("service: batching metrics: %w", err)
			}
		}
		keeper = s.batching.keeper
	} else if keeper, err = retention.New(retention.Config{Store: s.store, Days: cfg.Batching.RetentionDays, Logger: cfg.Logger}); err != nil {
		return nil, fmt.Errorf("service: %w", err)
	}
	s.worker, err = worker.New(worker.Config{
		Source: s.source, Store: s.envs, Ping: s.store.Ping, Renderer: r, Events: s.events,
		// Always, not only when this process batches: batches made by
		// another process, or by this one before a restart without
		// batching, are in the same store, and an envelope no batch has
		// claimed costs one read per cancellation.
		Cancels:   ledger.NewStore(s.store),
		Retention: keeper,
		// A nil *refindex.Index names no entries: no index is written.
		References: refs,
		Metrics:    m, Logger: cfg.Logger, Zone: issueZone(cfg.Batching.Schedule.Location),
	})
	if err != nil {
		return nil, err
	}
	if docs != nil && cfg.Public.Addr != ListenerOff {
		if s.preview, err = preview.New(preview.Options{Renderer: docs, Logger: cfg.Logger}); err != nil {
			return nil, err
		}
		if err := s.registry.Register(s.preview.Collector()); err != nil {
			return nil, fmt.Errorf("service: preview metrics: %w", err)
		}
	}

	stopping := health.Check{Name: "service", Ping: func(context.Context) error {
		if s.stopping.Load() {
			return health.Reason("stopping")
		}
		return nil
	}}
	brokerReady := func(ctx context.Context) error { _, err := queue.Depths(ctx); return err }
	if s.brk != nil {
		brokerReady = func(ctx context.Context) error { return brokerReason(s.brk.Ready(ctx)) }
	}
	broker := health.Watch("broker", brokerReady, cfg.Logger)
	store := health.Watch("storage", s.store.Ping, cfg.Logger)
	checks := map[Audience][]health.Check{
		Public:   {stopping},
		Supplier: {stopping, store},
		Admin:    {stopping, broker, store},
	}
	var statusAPI *statusapi.API
	if cfg.StatusTokensFile != "" {
		if statusAPI, err = newStatusAPI(cfg, s.store, s.envs, refs); err != nil {
			return nil, err
		}
	}
	if s.servers, err = openServers(cfg, checks, cfg.Logger); err != nil {
		return nil, err
	}
	for _, srv := range s.servers {
		if srv.serves(Admin) {
			srv.mux.Handle("GET /metrics", metrics.Handler(s.registry))
			if s.mem != nil {
				srv.mux.Handle("POST "+IntakePath+"{kind}", &intake{q: s.mem, log: cfg.Logger, tokenSHA256: cfg.IntakeTokenSHA256, addr: srv.ln.Addr()})
			}
			if statusAPI != nil {
				srv.mux.Handle("/internal/", statusAPI)
			}
		}
		if srv.serves(Public) && s.preview != nil {
			s.preview.Register(srv.mux)
		}
		if srv.serves(Supplier) && s.batching != nil && s.batching.api != nil {
			srv.mux.Handle("/supplier/", s.batching.api)
		}
	}
	return s, nil
}

// Registry is the Prometheus registry /metrics serves, for more
// collectors.
func (s *Service) Registry() *prometheus.Registry { return s.registry }

// Addr is the admin listener's address (/metrics, /readyz, the intake),
// with the port chosen when it ended in ":0"; "" when the admin audience
// is off.
func (s *Service) Addr() string { return s.AudienceAddr(Admin) }

// AudienceAddr is the address of the listener serving audience a, or ""
// if a is served nowhere.
func (s *Service) AudienceAddr(a Audience) string {
	for _, srv := range s.servers {
		if srv.serves(a) {
			return srv.ln.Addr().String()
		}
	}
	return ""
}

// URL is the base URL of the listener serving audience a
// ("https://127.0.0.1:8443"), or "" if a is served nowhere.
func (s *Service) URL(a Audience) string {
	for _, srv := range s.servers {
		if srv.serves(a) {
			return srv.scheme() + "://" + srv.ln.Addr().String()
		}
	}
	return ""
}

// Embedded reports whether the service runs the in-process queue.
func (s *Service) Embedded() bool { return s.mem != nil }

// DataDir is the filesystem store's directory (absolute), or "" with S3.
func (s *Service) DataDir() string {
	if s.cfg.S3.Endpoint != "" {
		return ""
	}
	abs, err := filepath.Abs(s.cfg.DataDir)
	if err != nil {
		return s.cfg.DataDir
	}
	return abs
}

// Envelopes is the envelope store, for reading records and markers.
func (s *Service) Envelopes() *envelopes.Store { return s.envs }

// Store is the store the worker commits to, for batching to share rather
// than open a second client on the same bucket or directory.
func (s *Service) Store() storage.Store { return s.store }

// Events is the status events publisher (RabbitMQ's events exchange, or
// the in-process queue's), for batching to share rather than open a
// second connection. It is closed when Run returns.
func (s *Service) Events() pipeline.Publisher { return s.events }

// StorageReady is closed once Run has found the store answering: at once
// with the filesystem store; with S3 once the bucket answers (made first,
// if the configuration allows), which is also when consuming starts. It
// is never closed if Run ends first, as it does when storage refuses.
// Batching waits on it, so that its cut-offs, sweeps and S3 lifecycle
// rules do not fail, one log line each, while storage is still coming up.
func (s *Service) StorageReady() <-chan struct{} { return s.storageReady }

// Run serves HTTP and consumes until ctx ends, then drains: it stops taking
// messages, lets the envelopes in hand finish and settle (within
// ShutdownTimeout), then shuts the HTTP server down (with a fresh
// ShutdownTimeout). It returns nil after a clean drain, and an error if the
// queue stopped for good (bad credentials, a topology clash) or the drain
// ran out of time, in which case unsettled messages go back to the queue
// when the process exits.
func (s *Service) Run(ctx context.Context) error {
	// Batching stops the service through this context when it meets a
	// refusal only once storage answers (S3 lifecycle rules refused), as
	// a refusal at start would.
	ctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	httpErr := make(chan error, len(s.servers))
	var serving sync.WaitGroup
	for _, srv := range s.servers {
		serving.Go(func() {
			if err := srv.srv.Serve(srv.ln); !errors.Is(err, http.ErrServerClosed) {
				httpErr <- fmt.Errorf("%s listener: %w", srv.name(), err)
			}
		})
	}
	workCtx, stopWork := context.WithCancel(ctx)
	defer stopWork()
	workDone := make(chan error, 1)
	go func() {
		if err := s.awaitStorage(workCtx); err != nil {
			workDone <- err
			return
		}
		workDone <- s.worker.Run(workCtx)
	}()
	var batching sync.WaitGroup
	if s.batching != nil {
		batching.Go(func() { s.batching.run(workCtx, s.storageReady, fail) })
		s.log.Info("quire serve: batching, once storage answers", "supplier", s.cfg.Batching.Supplier,
			"adapter", s.cfg.Batching.adapter(), "cut_off", s.cfg.Batching.Schedule.At, "zone", s.cfg.Batching.Schedule.Location)
	} else {
		s.log.Info("quire serve: batching is off (no supplier)")
	}
	s.logStart()

	var runErr error
	select {
	case <-ctx.Done():
		if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
			runErr = err // batching refused
		}
		s.log.Info("quire serve: stopping; finishing envelopes in hand")
	case err := <-workDone:
		workDone = nil
		if err == nil && ctx.Err() != nil {
			// Consuming ended with ctx before this select saw ctx end,
			// as it does when stopped while waiting for storage: a stop
			// like any other.
			s.log.Info("quire serve: stopping")
			break
		}
		// The queue gave up (403, 406), or storage refused at start:
		// nothing more can be done here.
		runErr = fmt.Errorf("service: consuming stopped: %w", err)
	case err := <-httpErr:
		runErr = fmt.Errorf("service: HTTP server: %w", err)
	}
	s.stopping.Store(true)
	stopWork()
	if workDone != nil {
		t := time.NewTimer(s.cfg.ShutdownTimeout)
		select {
		case err := <-workDone:
			if err != nil && runErr == nil {
				runErr = fmt.Errorf("service: consuming: %w", err)
			}
		case <-t.C:
			runErr = errors.Join(runErr, fmt.Errorf("service: envelopes still in hand after %v; they go back to the queue", s.cfg.ShutdownTimeout))
		}
		t.Stop()
	}
	batching.Wait()
	// A fresh context: ctx is already done, and requests in flight
	// deserve their own time to finish.
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	var shutdown sync.WaitGroup
	shutdownErrs := make([]error, len(s.servers))
	for i, srv := range s.servers {
		shutdown.Go(func() {
			if err := srv.srv.Shutdown(sctx); err != nil {
				shutdownErrs[i] = fmt.Errorf("service: %s listener shutdown: %w", srv.name(), err)
			}
		})
	}
	shutdown.Wait()
	serving.Wait()
	runErr = errors.Join(append([]error{runErr}, shutdownErrs...)...)
	if s.brk != nil {
		_ = s.brk.Close()
	}
	if runErr == nil {
		s.log.Info("quire serve: stopped cleanly")
	}
	return runErr
}

// logStart logs the build, the listeners and the stores in one line, and
// warns of each listener that speaks plain HTTP to other hosts.
func (s *Service) logStart() {
	attrs := s.build.LogAttrs()
	for _, srv := range s.servers {
		attrs = append(attrs, "http_"+srv.name(), srv.scheme()+"://"+srv.ln.Addr().String())
		if srv.plainOffLoopback() {
			s.log.Warn("quire serve: listener speaks plain HTTP on an address other hosts can reach; give it a TLS certificate or put it behind a TLS proxy",
				"listener", srv.name(), "addr", srv.ln.Addr().String())
		}
	}
	if s.preview != nil && s.URL(Public) != "" {
		attrs = append(attrs, "preview", s.URL(Public)+"/preview")
	}
	attrs = append(attrs, "embedded_queue", s.Embedded())
	if s.Embedded() && s.URL(Admin) != "" {
		// Not durable: a stop loses what is queued but not yet stored.
		attrs = append(attrs, "intake", s.URL(Admin)+IntakePath)
	}
	if s.s3 != nil {
		attrs = append(attrs, "s3_endpoint", s.cfg.S3.Endpoint, "s3_bucket", s.cfg.S3.Bucket)
	} else {
		attrs = append(attrs, "data_dir", s.DataDir())
	}
	s.log.Info("quire serve: running", attrs...)
}

// awaitStorage returns once the S3 bucket answers (made first, if the
// configuration allows), so that consuming starts only then. While S3 does
// not answer it waits with backoff, as the worker's storage gate does, and
// /readyz says storage is not ready: a Quire started before its storage,
// or with it after both went down, waits instead of exiting. It returns an
// error only for a refusal that waiting would not change (wrong keys, a
// missing bucket), and nil if ctx ends first. It closes StorageReady
// when it returns because storage answers.
func (s *Service) awaitStorage(ctx context.Context) error {
	if s.s3 == nil {
		close(s.storageReady)
		return nil
	}
	waited := false
	err := backoff.Retry(ctx, worker.DefaultGateBackoffMin, worker.DefaultGateBackoffMax, s.s3.EnsureBucket, s3store.Retryable,
		func(err error, d time.Duration) {
			// Not taking work, as while the worker's gate is closed.
			s.metrics.StorageGateOpen.Set(0)
			waited = true
			s.log.Warn("quire serve: storage does not answer; waiting before consuming", "err", err, "retry_in", d)
		})
	switch {
	case err == nil:
		if waited {
			s.metrics.StorageGateOpen.Set(1)
			s.log.Info("quire serve: storage answers; consuming")
		}
		close(s.storageReady)
		return nil
	case ctx.Err() != nil:
		return nil
	}
	return fmt.Errorf("storage refused at start: %w", err)
}

// memQueue and brokerQueue give the metrics the queue's depths and
// reconnects.
type memQueue struct{ q *memqueue.Queue }

func (m memQueue) Depths(ctx context.Context) (metrics.QueueDepths, error) {
	d, err := m.q.Depths(ctx)
	return metrics.QueueDepths{Render: d.Render, Cancel: d.Cancel, Retry: d.Retry, Dead: d.Dead}, err
}
func (m memQueue) Reconnects() uint64 { return 0 }

type brokerQueue struct{ b *broker.Broker }

func (b brokerQueue) Depths(ctx context.Context) (metrics.QueueDepths, error) {
	d, err := b.b.Depths(ctx)
	return metrics.QueueDepths{Render: d.Render, Cancel: d.Cancel, Retry: d.Retry, Dead: d.Dead}, err
}
func (b brokerQueue) Reconnects() uint64 { return b.b.Stats().Reconnects }

// issueZone is the zone a request's date of issue is checked in: the
// cut-off's, or the worker's default when none is configured or it does not
// load (Validate reports that).
func issueZone(name string) *time.Location {
	if name == "" {
		return nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	return loc
}

// brokerReason adds to the broker's readiness error the words /readyz may
// show, keeping the error itself for the log.
func brokerReason(err error) error {
	switch {
	case errors.Is(err, broker.ErrBlocked):
		return fmt.Errorf("%w: %w", health.Reason("publishing blocked by a resource alarm"), err)
	case errors.Is(err, broker.ErrUnreachable):
		return fmt.Errorf("%w: %w", health.Reason("cannot connect"), err)
	}
	return err
}
