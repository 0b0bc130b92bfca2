// Package supplier is how sealed batches reach a print supplier: the
// Adapter interface that each way of handing over implements (one package
// each: pipeline/supplier/folder, pipeline/supplier/pull), and Sender,
// which owns retrying.
//
// Adapters do not retry and do not sleep. Each Deliver is one attempt that
// says whether another attempt could succeed; Sender decides when, with
// exponential backoff and jitter, for as long as its context lasts. Every
// adapter passes the conformance suite in pipeline/supplier/suppliertest.
package supplier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/quire-print/quire/internal/backoff"
	"github.com/quire-print/quire/internal/clock"
	"github.com/quire-print/quire/pipeline/batch/ledger"
)

// Adapter hands sealed batches to a print supplier, one way.
// Implementations are safe for concurrent use.
type Adapter interface {
	// Deliver hands b over once, reading its files from the store the
	// adapter was made with and checking each against the SHA-256 and
	// size b records. Delivering a batch again is harmless: the supplier
	// ends up with one copy. On failure, retry says whether another
	// attempt may succeed (a network error, a full disk) or not (damaged
	// files, a refused configuration). Errors name keys, paths and
	// statuses, never file content.
	Deliver(ctx context.Context, b *ledger.Sealed) (retry bool, err error)
}

// Defaults for Retry's zero values.
const (
	DefaultRetryMin = time.Second
	DefaultRetryMax = 5 * time.Minute
)

// Retry is the backoff between attempts: from Min, doubling up to Max,
// each wait drawn between half and all of it (jitter, so that several
// Quires do not retry in step).
type Retry struct {
	// Min is the first wait. Default 1s.
	Min time.Duration
	// Max caps the wait. Default 5m; it cannot be shorter than Min.
	Max time.Duration
}

func (r Retry) validate() error {
	var errs []error
	if r.Min < 0 || r.Max < 0 {
		errs = append(errs, fmt.Errorf("retry waits cannot be negative (min %v, max %v)", r.Min, r.Max))
	}
	if r.Min > 0 && r.Max > 0 && r.Max < r.Min {
		errs = append(errs, fmt.Errorf("retry max (%v) cannot be shorter than retry min (%v)", r.Max, r.Min))
	}
	return errors.Join(errs...)
}

// wait is the backoff before attempt n+1, after n failures.
func (r Retry) wait(n int) time.Duration { return backoff.Delay(r.Min, r.Max, n) }

// ErrNotRetryable is wrapped by Sender.Send's error when the adapter said
// the hand-off cannot succeed by trying again: it needs someone to act.
var ErrNotRetryable = errors.New("hand-off cannot be retried")

var nameShape = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// ValidName reports whether name can name a supplier: 1 to 64 characters
// from a-z 0-9 -, starting with a letter or digit. The name is recorded in
// batches and events and appears in storage keys.
func ValidName(name string) error {
	if !nameShape.MatchString(name) {
		return fmt.Errorf("supplier: name %q must be 1 to 64 characters from a-z 0-9 -, starting with a letter or digit", name)
	}
	return nil
}

// SenderConfig configures a Sender. Name, Kind and Adapter are required.
type SenderConfig struct {
	// Name is the supplier's name (ValidName).
	Name string
	// Kind names the adapter ("folder", "pull") for records and logs.
	Kind string
	// Adapter hands batches over.
	Adapter Adapter
	// Retry is the backoff between attempts. Default: see Retry.
	Retry Retry
	// Clock times the waits. Default: the system clock.
	Clock clock.Clock
	// Logger receives a line per failed attempt. Default slog.Default().
	Logger *slog.Logger
}

// Sender hands batches to one supplier through one adapter, retrying as
// the adapter allows. It implements batch.Supplier.
type Sender struct {
	cfg SenderConfig
}

// NewSender checks cfg and returns a Sender.
func NewSender(cfg SenderConfig) (*Sender, error) {
	var errs []error
	if err := ValidName(cfg.Name); err != nil {
		errs = append(errs, err)
	}
	if cfg.Kind == "" {
		errs = append(errs, errors.New("supplier: Kind is required"))
	}
	if cfg.Adapter == nil {
		errs = append(errs, errors.New("supplier: Adapter is required"))
	}
	if err := cfg.Retry.validate(); err != nil {
		errs = append(errs, fmt.Errorf("supplier: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Retry.Min == 0 {
		cfg.Retry.Min = DefaultRetryMin
	}
	if cfg.Retry.Max == 0 {
		cfg.Retry.Max = max(DefaultRetryMax, cfg.Retry.Min)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Sender{cfg: cfg}, nil
}

// Name implements batch.Supplier.
func (s *Sender) Name() string { return s.cfg.Name }

// Adapter implements batch.Supplier.
func (s *Sender) Adapter() string { return s.cfg.Kind }

// Send implements batch.Supplier: it delivers b, and after a failure the
// adapter says may be retried, waits and tries again, until ctx ends. A
// failure that may not be retried ends it at once, wrapping
// ErrNotRetryable. A wait that would outlast ctx's deadline is not
// started.
func (s *Sender) Send(ctx context.Context, b *ledger.Sealed) error {
	for n := 1; ; n++ {
		retry, err := s.cfg.Adapter.Deliver(ctx, b)
		if err == nil {
			return nil
		}
		if !retry {
			return fmt.Errorf("supplier %s: %w: %w", s.cfg.Name, ErrNotRetryable, err)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("supplier %s: giving up after %d attempts: %w", s.cfg.Name, n, err)
		}
		wait := s.cfg.Retry.wait(n)
		if deadline, ok := ctx.Deadline(); ok && s.cfg.Clock.Now().Add(wait).After(deadline) {
			return fmt.Errorf("supplier %s: giving up after %d attempts, before the deadline: %w", s.cfg.Name, n, err)
		}
		s.cfg.Logger.Warn("supplier: hand-off failed; trying again", "supplier", s.cfg.Name, "adapter", s.cfg.Kind,
			"batch_id", b.BatchID, "attempt", n, "wait", wait, "err", err)
		if serr := clock.Sleep(ctx, s.cfg.Clock, wait); serr != nil {
			return fmt.Errorf("supplier %s: giving up after %d attempts: %w", s.cfg.Name, n, errors.Join(err, serr))
		}
	}
}
