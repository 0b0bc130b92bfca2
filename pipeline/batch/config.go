package batch

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"os"
	"time"

	"github.com/quire-print/quire/internal/clock"
	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/batch/printfile"
	"github.com/quire-print/quire/pipeline/batch/schedule"
	"github.com/quire-print/quire/pipeline/storage"
)

// Assembler writes a batch's print files: the envelopes of list, in its
// order, into print-ready files stored under b.KeyPrefix, and returns their
// manifest. *printfile.Assembler is the real one.
//
// If it will not print an envelope it returns an error wrapping a
// *printfile.RefusedError naming it; the batcher leaves that envelope out
// and assembles again. Files it stored before failing are the batcher's to
// remove.
type Assembler interface {
	Assemble(ctx context.Context, b printfile.Batch, list iter.Seq2[printfile.Envelope, error]) (*printfile.Manifest, error)
}

var _ Assembler = (*printfile.Assembler)(nil)

// Supplier hands sealed batches to the print supplier.
// *supplier.Sender is one: it wraps an adapter in the retry policy.
type Supplier interface {
	// Name is the supplier's name, recorded in every batch made for it.
	Name() string
	// Adapter names how batches reach it ("folder", "pull"), for the
	// hand-over record.
	Adapter() string
	// Send hands b over, retrying as long as the adapter allows and ctx
	// lasts. An error wrapping supplier.ErrNotRetryable means trying again
	// will not help until someone acts.
	Send(ctx context.Context, b *ledger.Sealed) error
}

// Retention schedules the deletion of personal data: a batch's print
// files once it is handed over, and the files and cancellation reason of
// an envelope a batch left out as cancelled, which is never posted.
type Retention interface {
	HandedOver(ctx context.Context, batchID string, at time.Time) error
	// Cancelled is told the stored cancellation time of an envelope left
	// out as cancelled; telling it again with the same time changes
	// nothing.
	Cancelled(ctx context.Context, envelopeID string, at time.Time) error
}

// Defaults for Config's zero values.
const (
	DefaultMaxEnvelopes      = 5000
	DefaultParallelism       = 16
	DefaultHeartbeatInterval = 30 * time.Second
	DefaultStaleAfter        = 5 * time.Minute
	DefaultPollInterval      = time.Minute
	DefaultHandOffTimeout    = 30 * time.Minute
)

// Config configures a Batcher. Store, Schedule, Assembler, Supplier and
// Events are required; every other field has the default given in its
// comment, used when the field is zero.
type Config struct {
	// Store holds envelopes and batches.
	Store storage.Store
	// Schedule says when the cut-offs are.
	Schedule *schedule.Schedule
	// Assembler writes print files.
	Assembler Assembler
	// Supplier receives sealed batches.
	Supplier Supplier
	// Events publishes status events, with confirms.
	Events pipeline.Publisher
	// Retention is told when a batch is handed over, so that its print
	// files (personal data) are deleted after the retention period, and
	// of each envelope a sealed batch left out as cancelled, so that its
	// files and cancellation reason are too. *retention.Keeper is one.
	// Default nil: print files are kept, and so are cancelled envelopes'
	// files unless the cancel handler scheduled them.
	Retention Retention

	// Clock tells the time. Default: the system clock.
	Clock clock.Clock
	// Logger receives one line per step, with ids and counts only.
	// Default slog.Default().
	Logger *slog.Logger
	// Owner is this batcher's instance name, in cut-off claims and logs.
	// It must stay the same when the process restarts and differ from
	// every other batcher running at the same time: then a restarted
	// batcher resumes the cut-off it held at once, instead of waiting
	// StaleAfter for its own heartbeat to go stale. 1 to 253 letters,
	// digits, '.', '_' or '-'. Default: the host name (a Kubernetes pod's
	// name, a container's id).
	Owner string

	// MaxEnvelopes is the most envelopes in one batch; a cut-off with more
	// is split into several batches. Default 5000.
	MaxEnvelopes int
	// Parallelism is how many storage calls (claims, checks, reads) run at
	// once. Default 16.
	Parallelism int
	// HeartbeatInterval is how often a batcher working on a cut-off says
	// so. Default 30s.
	HeartbeatInterval time.Duration
	// StaleAfter is how long another batcher's silence must last before
	// this one takes its cut-off over. Default 5m; it cannot be shorter
	// than three heartbeat intervals.
	StaleAfter time.Duration
	// PollInterval is how often a batcher that is not working on a cut-off
	// checks on one another batcher holds, and retries failed steps.
	// Default 1m.
	PollInterval time.Duration
	// HandOffTimeout bounds handing one batch over, retries included; a
	// batch not handed over by then is tried again at the next poll.
	// Default 30m.
	HandOffTimeout time.Duration
}

func (c Config) validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("batch: "+format, args...)) }
	if c.Store == nil {
		add("Store is required")
	}
	if c.Schedule == nil {
		add("Schedule is required")
	}
	if c.Assembler == nil {
		add("Assembler is required")
	}
	if c.Supplier == nil {
		add("Supplier is required")
	}
	if c.Events == nil {
		add("Events is required")
	}
	if c.Owner != "" {
		if err := ValidOwner(c.Owner); err != nil {
			errs = append(errs, fmt.Errorf("batch: Owner: %w", err))
		}
	}
	if c.MaxEnvelopes < 0 {
		add("MaxEnvelopes cannot be negative (got %d)", c.MaxEnvelopes)
	}
	if c.Parallelism < 0 {
		add("Parallelism cannot be negative (got %d)", c.Parallelism)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"HeartbeatInterval", c.HeartbeatInterval}, {"StaleAfter", c.StaleAfter},
		{"PollInterval", c.PollInterval}, {"HandOffTimeout", c.HandOffTimeout}} {
		if d.v < 0 {
			add("%s cannot be negative (got %v)", d.name, d.v)
		}
	}
	hb, stale := cmp.Or(c.HeartbeatInterval, DefaultHeartbeatInterval), cmp.Or(c.StaleAfter, DefaultStaleAfter)
	if hb > 0 && stale > 0 && stale < 3*hb {
		add("StaleAfter (%v) cannot be shorter than three HeartbeatIntervals (%v): a busy batcher would be taken over", stale, 3*hb)
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	c.Clock = cmp.Or(c.Clock, clock.System)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Owner == "" {
		c.Owner = DefaultOwner()
	}
	c.MaxEnvelopes = cmp.Or(c.MaxEnvelopes, DefaultMaxEnvelopes)
	c.Parallelism = cmp.Or(c.Parallelism, DefaultParallelism)
	c.HeartbeatInterval = cmp.Or(c.HeartbeatInterval, DefaultHeartbeatInterval)
	c.StaleAfter = cmp.Or(c.StaleAfter, DefaultStaleAfter)
	c.PollInterval = cmp.Or(c.PollInterval, DefaultPollInterval)
	c.HandOffTimeout = cmp.Or(c.HandOffTimeout, DefaultHandOffTimeout)
	return c
}

// DefaultOwner is the default instance name: the host name, which
// survives a restart of the process in the same container or pod, or
// "quire" if the host has no name.
func DefaultOwner() string {
	if host, err := os.Hostname(); err == nil && host != "" {
		return host
	}
	return "quire"
}

// ValidOwner checks an instance name (Config.Owner): 1 to 253 letters,
// digits, '.', '_' or '-', as host and pod names are.
func ValidOwner(s string) error {
	ok := s != "" && len(s) <= 253
	for _, r := range s {
		ok = ok && ('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '_' || r == '-')
	}
	if !ok {
		return fmt.Errorf("%q must be 1 to 253 letters, digits, '.', '_' or '-'", s)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}
