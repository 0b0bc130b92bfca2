// Package service assembles quire serve: the intake queue (RabbitMQ, or the
// in-process queue), the store (S3, or a directory), the render worker
// (which checks every cancellation against the batch records), and one
// HTTP server for /metrics, /healthz, /readyz and, with the in-process
// queue, the loopback intake endpoint that quire submit uses.
//
// cmd/quire only turns flags and environment into a Config and passes the
// real renderer; everything else is here, so tests run the whole service
// with a fake renderer. Other packages' HTTP handlers (the preview
// endpoints) are mounted on Service.Mux before Run.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quire-print/quire/internal/backoff"
	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/batch"
	"github.com/quire-print/quire/pipeline/broker"
	"github.com/quire-print/quire/pipeline/health"
	"github.com/quire-print/quire/pipeline/memqueue"
	"github.com/quire-print/quire/pipeline/metrics"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/fsstore"
	"github.com/quire-print/quire/pipeline/storage/s3store"
	"github.com/quire-print/quire/pipeline/worker"
)

// Service is one quire serve process.
type Service struct {
	cfg      Config
	log      *slog.Logger
	source   pipeline.Source
	mem      *memqueue.Queue // with the embedded queue only
	brk      *broker.Broker  // with RabbitMQ only
	store    storage.Store
	s3       *s3store.Store // with S3 only
	metrics  *metrics.Metrics
	envs     *envelopes.Store
	events   pipeline.Publisher
	worker   *worker.Worker
	registry *prometheus.Registry
	mux      *http.ServeMux
	ln       net.Listener
	srv      *http.Server
	stopping atomic.Bool

	// storageReady is closed once the store answers (StorageReady).
	storageReady chan struct{}
}

// New sets up the queue and the store, builds the worker and opens the
// HTTP listener. It sends nothing to RabbitMQ or S3: Run connects to both,
// and waits for either that is not up yet.
func New(cfg Config, r worker.Renderer) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errors.New("service: a renderer is required")
	}
	cfg = cfg.withDefaults()
	s := &Service{cfg: cfg, log: cfg.Logger, registry: metrics.NewRegistry(), mux: http.NewServeMux(), storageReady: make(chan struct{})}

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
		s.brk, err = broker.New(broker.Config{
			URL: cfg.AMQPURL, Prefix: cfg.Prefix, Concurrency: cfg.Concurrency, Prefetch: cfg.Prefetch,
			RetryDelays: cfg.RetryDelays, ConnectionName: "quire serve", Logger: cfg.Logger,
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

	m := metrics.New(s.registry)
	s.metrics = m
	if err := metrics.RegisterQueue(s.registry, queue, 2*time.Second); err != nil {
		return nil, err
	}
	s.worker, err = worker.New(worker.Config{
		Source: s.source, Store: s.envs, Ping: s.store.Ping, Renderer: r, Events: s.events,
		// Always, not only when this process batches: batches made by
		// another process, or by this one before a restart without
		// --supplier, are in the same store, and an envelope no batch has
		// claimed costs one read per cancellation.
		Cancels: batch.NewStore(s.store),
		Metrics: m, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}

	ready := health.Readiness{Checks: []health.Check{
		{Name: "service", Ping: func(context.Context) error {
			if s.stopping.Load() {
				return errors.New("stopping")
			}
			return nil
		}},
		{Name: "broker", Ping: func(ctx context.Context) error { _, err := queue.Depths(ctx); return err }},
		{Name: "storage", Ping: s.store.Ping},
	}}
	s.mux.Handle("GET /metrics", metrics.Handler(s.registry))
	s.mux.Handle("GET /healthz", health.Liveness())
	s.mux.Handle("GET /readyz", ready)
	if s.mem != nil {
		s.mux.Handle("POST "+IntakePath+"{kind}", &intake{q: s.mem, log: cfg.Logger})
	}

	if s.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("service: HTTP listen address %s: %w", cfg.Listen, err)
	}
	s.srv = &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// Mux is the HTTP server's mux, for mounting more handlers (the preview
// endpoints) before Run.
func (s *Service) Mux() *http.ServeMux { return s.mux }

// Registry is the Prometheus registry /metrics serves, for more
// collectors.
func (s *Service) Registry() *prometheus.Registry { return s.registry }

// Addr is the HTTP server's address, with the port chosen when Listen
// ended in ":0".
func (s *Service) Addr() string { return s.ln.Addr().String() }

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
	httpErr := make(chan error, 1)
	go func() {
		if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
			httpErr <- err
		}
		close(httpErr)
	}()
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
	if s.s3 != nil {
		s.log.Info("quire serve: running", "http", s.Addr(), "embedded_queue", s.Embedded(),
			"s3_endpoint", s.cfg.S3.Endpoint, "s3_bucket", s.cfg.S3.Bucket)
	} else {
		s.log.Info("quire serve: running", "http", s.Addr(), "embedded_queue", s.Embedded(), "data_dir", s.DataDir())
	}

	var runErr error
	select {
	case <-ctx.Done():
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
	// A fresh context: ctx is already done, and requests in flight
	// deserve their own time to finish.
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("service: HTTP shutdown: %w", err))
	}
	if s.brk != nil {
		_ = s.brk.Close()
	}
	if runErr == nil {
		s.log.Info("quire serve: stopped cleanly")
	}
	return runErr
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
