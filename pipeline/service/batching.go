package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
	_ "time/tzdata" // cut-offs are in Europe/London even on a machine without zone files

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quire-print/quire/internal/backoff"
	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/batch"
	"github.com/quire-print/quire/pipeline/batch/printfile"
	"github.com/quire-print/quire/pipeline/batch/reprint"
	"github.com/quire-print/quire/pipeline/batch/retention"
	"github.com/quire-print/quire/pipeline/batch/schedule"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/s3store"
	"github.com/quire-print/quire/pipeline/supplier"
	"github.com/quire-print/quire/pipeline/supplier/adapters"
	"github.com/quire-print/quire/pipeline/supplier/folder"
	"github.com/quire-print/quire/pipeline/supplier/pull"
	"github.com/quire-print/quire/pipeline/worker"
)

// BatchConfig configures batching: the batcher at each cut-off, the
// retention sweep, and the hand-off to one print supplier. The zero value
// means no batching.
type BatchConfig struct {
	// Supplier names the print supplier batches are made for. Default
	// empty: no batching in this process (the worker still checks
	// cancellations against batches made elsewhere).
	Supplier string
	// Adapter is how batches reach the supplier: "pull" (the pull API, on
	// the supplier listener) or "folder". Default "pull".
	Adapter string
	// Folder is the directory batches are written to, with the folder
	// adapter.
	Folder string
	// Tokens are who may call the pull API, with which token hashes.
	// Required with the pull adapter.
	Tokens []pull.Credentials
	// Schedule sets the cut-offs. Default: 17:30 Europe/London, Monday to
	// Friday, without England and Wales bank holidays.
	Schedule schedule.Config
	// MaxEnvelopes is the most envelopes in one batch. Default
	// batch.DefaultMaxEnvelopes.
	MaxEnvelopes int
	// RetentionDays is how long personal data is kept after posting, or
	// after a cancellation that stands. It applies without a Supplier too:
	// the worker schedules the envelopes whose cancellation stands, for
	// the sweep of whichever process batches. Default
	// retention.DefaultDays.
	RetentionDays int
	// Lifecycle also installs S3 lifecycle rules, so the store deletes
	// personal data itself. S3 only. Default false.
	Lifecycle bool
	// Instance names this process's batcher in cut-off claims
	// (batch.Config.Owner): the same after a restart, so that a restarted
	// process resumes the cut-off it held at once, and different from
	// every other process running. Default: the host name.
	Instance string
	// MaxReprints is the most reprints of one envelope made automatically
	// on the supplier's spoiled reports (pipeline/batch/reprint). 0 means
	// reprint.DefaultMaxAutomatic; -1 makes none automatically.
	MaxReprints int
}

// maxReprints is MaxReprints with its default applied.
func (b BatchConfig) maxReprints() int {
	switch {
	case b.MaxReprints == 0:
		return reprint.DefaultMaxAutomatic
	case b.MaxReprints < 0:
		return 0
	}
	return b.MaxReprints
}

func (b BatchConfig) adapter() string { return cmp.Or(b.Adapter, adapters.DefaultAdapter) }

// servesPull reports whether batching serves the pull API.
func (b BatchConfig) servesPull() bool { return b.Supplier != "" && b.adapter() == pull.Kind }

func (b BatchConfig) validate() error {
	var errs []error
	if b.adapter() == pull.Kind && len(b.Tokens) == 0 {
		errs = append(errs, errors.New("the pull adapter needs supplier tokens (make one with quire batches token)"))
	}
	if b.Instance != "" {
		if err := batch.ValidOwner(b.Instance); err != nil {
			errs = append(errs, fmt.Errorf("instance name %w", err))
		}
	}
	return errors.Join(errs...)
}

// Batching is batching assembled: the batcher, the retention sweep, the
// supplier's adapter and, with the pull adapter, the pull API.
type Batching struct {
	batcher   *batch.Batcher
	keeper    *retention.Keeper
	api       *pull.API            // nil unless the adapter is pull
	lifecycle *retention.Lifecycle // nil unless Lifecycle
	log       *slog.Logger
}

// NewBatching assembles cfg.Batching on store st, publishing status events
// on events, with r drawing print files. It sends nothing to the store:
// quire serve's Run starts it once storage answers; quire batches resend
// uses it at once.
func NewBatching(cfg Config, st storage.Store, events pipeline.Publisher, r printfile.Renderer, log *slog.Logger) (*Batching, error) {
	b := cfg.Batching
	if log == nil {
		log = slog.Default()
	}
	if b.Supplier == "" {
		return nil, errors.New("batching: a supplier is required")
	}
	if err := b.validate(); err != nil {
		return nil, fmt.Errorf("batching: %w", err)
	}
	sched, err := schedule.New(b.Schedule)
	if err != nil {
		return nil, fmt.Errorf("batching: %w", err)
	}
	days := cmp.Or(b.RetentionDays, retention.DefaultDays)
	out := &Batching{log: log}
	var lc retention.Tagger
	if b.Lifecycle {
		if cfg.S3.Endpoint == "" {
			return nil, errors.New("batching: S3 lifecycle rules need an S3 store")
		}
		if out.lifecycle, err = retention.NewLifecycleUnchecked(retention.LifecycleConfig{S3: cfg.S3, Days: days}); err != nil {
			return nil, fmt.Errorf("batching: %w", err)
		}
		lc = out.lifecycle
	}
	if out.keeper, err = retention.New(retention.Config{Store: st, Days: days, Lifecycle: lc, Logger: log}); err != nil {
		return nil, fmt.Errorf("batching: %w", err)
	}
	ac := adapters.Config{Supplier: b.Supplier, Adapter: b.adapter()}
	if b.Folder != "" {
		ac.Folder = folder.Config{Dir: b.Folder}
	}
	var sender *supplier.Sender
	if sender, err = adapters.Build(ac, st, nil, log); err != nil {
		return nil, fmt.Errorf("batching: %w", err)
	}
	asm, err := printfile.New(printfile.Config{Renderer: r, Store: st})
	if err != nil {
		return nil, fmt.Errorf("batching: %w", err)
	}
	out.batcher, err = batch.New(batch.Config{Store: st, Schedule: sched, Assembler: asm, Supplier: sender,
		Events: events, Retention: out.keeper, Logger: log, MaxEnvelopes: cmp.Or(b.MaxEnvelopes, batch.DefaultMaxEnvelopes),
		Owner: b.Instance})
	if err == nil && b.servesPull() {
		var rp *reprint.Reprinter
		if rp, err = reprint.New(reprint.Config{Store: st, Events: events, MaxAutomatic: b.maxReprints(), Retention: out.keeper, Logger: log}); err == nil {
			out.api, err = pull.New(pull.Config{Store: st, Suppliers: b.Tokens, Events: events, Retention: out.keeper, Reprints: rp, Logger: log})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("batching: %w", err)
	}
	return out, nil
}

// Collectors are batching's metrics: the batcher's, the sweep's and the
// pull API's.
func (b *Batching) Collectors() []prometheus.Collector {
	cs := []prometheus.Collector{b.batcher.Collector(), b.keeper.Collector()}
	if b.api != nil {
		cs = append(cs, b.api.Collector())
	}
	return cs
}

// Resend hands sealed batch id to the supplier again, installing the S3
// lifecycle rules first if configured (S3 must answer now).
func (b *Batching) Resend(ctx context.Context, id string) error {
	if b.lifecycle != nil {
		if err := b.lifecycle.Install(ctx); err != nil {
			return err
		}
	}
	return b.batcher.Resend(ctx, id)
}

// run runs the batcher, its count of envelopes held for an operator and
// the retention sweep, and installs the lifecycle rules, once ready is
// closed, until ctx ends. A refusal that waiting
// would not change (the lifecycle rules refused) is passed to fail.
func (b *Batching) run(ctx context.Context, ready <-chan struct{}, fail func(error)) {
	select {
	case <-ready:
	case <-ctx.Done():
		return
	}
	var wg sync.WaitGroup
	if b.lifecycle != nil {
		wg.Go(func() {
			if err := installLifecycle(ctx, b.lifecycle, b.log); err != nil {
				fail(fmt.Errorf("batching: %w", err))
			}
		})
	}
	wg.Go(func() { _ = b.batcher.Run(ctx) })
	wg.Go(func() { b.batcher.WatchHeld(ctx) })
	wg.Go(func() { _ = b.keeper.Run(ctx) })
	wg.Wait()
}

// lifecycleInstaller installs S3 lifecycle rules; *retention.Lifecycle is
// one.
type lifecycleInstaller interface {
	Install(ctx context.Context) error
}

// installLifecycle installs l's rules, trying again with the storage
// gate's backoff while S3 does not answer or cannot serve now. It returns
// nil once they are in or ctx ends, and the error of a refusal that
// waiting would not change: permission refused, or a store without
// lifecycle support.
func installLifecycle(ctx context.Context, l lifecycleInstaller, log *slog.Logger) error {
	err := backoff.Retry(ctx, worker.DefaultGateBackoffMin, worker.DefaultGateBackoffMax, l.Install, s3store.Retryable,
		func(err error, d time.Duration) {
			log.Warn("quire serve: S3 lifecycle rules not installed yet; trying again", "err", err, "retry_in", d)
		})
	switch {
	case err == nil:
		log.Info("quire serve: S3 lifecycle rules installed")
		return nil
	case ctx.Err() != nil:
		return nil
	}
	return err
}
