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

	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/batch/schedule"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/request"
)

// Assembler writes a batch's print files: the envelopes of list, in its
// order, into print-ready files stored under job.KeyPrefix, with their
// manifest. pipeline/batch/printfile's Assembler is the real one
// (PrintFiles adapts it).
//
// If it will not print an envelope it returns an error wrapping a
// *RefusedError naming it; the batcher leaves that envelope out and
// assembles again. Files it stored before failing are the batcher's to
// remove.
type Assembler interface {
	Assemble(ctx context.Context, job PrintJob, list iter.Seq2[PrintEnvelope, error]) (Printed, error)
}

// PrintJob names the batch being assembled.
type PrintJob struct {
	BatchID string
	CutOff  time.Time
	// KeyPrefix ends in "/"; each file is stored at KeyPrefix + its name.
	KeyPrefix string
}

// PrintEnvelope is one envelope of a batch as the assembler gets it.
type PrintEnvelope struct {
	// Sequence is its position in the batch, from 1.
	Sequence int
	ID       string
	// Request is the stored normalised request, decoded.
	Request *request.Envelope
	Record  envelopes.Record
}

// Printed is what an assembler made: print files (already stored) and the
// manifest in JSON and CSV (for the batcher to store).
type Printed struct {
	// Files are the print files, in print order.
	Files         []PrintedFile
	Pages, Sheets int
	ManifestJSON  []byte
	ManifestCSV   []byte
}

// PrintedFile is one stored print file.
type PrintedFile struct {
	Name   string
	SHA256 string
	Size   int64
}

// RefusedError names an envelope that cannot be printed as its record
// says: its stored request does not decode, or no longer renders to the
// documents recorded. It needs a person, not a retry.
type RefusedError struct {
	EnvelopeID string
	// Reason holds no personal data.
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("batch: envelope %s cannot be printed: %s", e.EnvelopeID, e.Reason)
}

// Supplier hands sealed batches to the print supplier.
// *supplier.Sender is one: it wraps an adapter in the retry policy.
type Supplier interface {
	// Name is the supplier's name, recorded in every batch made for it.
	Name() string
	// Adapter names how batches reach it ("folder", "pull"), for the
	// hand-over record.
	Adapter() string
	// Send hands b over, retrying as long as the adapter allows and ctx
	// lasts. An error wrapping ErrNotRetryable means trying again will not
	// help until someone acts.
	Send(ctx context.Context, b *Sealed) error
}

// ErrNotRetryable is wrapped by Supplier.Send's error when the adapter
// said the hand-off cannot succeed by trying again.
var ErrNotRetryable = errors.New("hand-off cannot be retried")

// Retention schedules the deletion of a batch's print files.
type Retention interface {
	HandedOver(ctx context.Context, batchID string, at time.Time) error
}

// Clock tells the time and schedules wake-ups. *memqueue.ManualClock
// satisfies it, for tests.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f once d has passed.
	AfterFunc(d time.Duration, f func())
}

type systemClock struct{}

func (systemClock) Now() time.Time                      { return time.Now() }
func (systemClock) AfterFunc(d time.Duration, f func()) { time.AfterFunc(d, f) }

// SystemClock is the real time.
var SystemClock Clock = systemClock{}

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
	// files (personal data) are deleted after the retention period.
	// *retention.Keeper is one. Default nil: print files are kept.
	Retention Retention

	// Clock tells the time. Default: the system clock.
	Clock Clock
	// Logger receives one line per step, with ids and counts only.
	// Default slog.Default().
	Logger *slog.Logger
	// Owner names this batcher in cut-off claims and logs. Default: host
	// name, process id and a random suffix.
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
	c.Clock = cmp.Or(c.Clock, SystemClock)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Owner == "" {
		host, _ := os.Hostname()
		c.Owner = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), randomHex(3))
	}
	c.MaxEnvelopes = cmp.Or(c.MaxEnvelopes, DefaultMaxEnvelopes)
	c.Parallelism = cmp.Or(c.Parallelism, DefaultParallelism)
	c.HeartbeatInterval = cmp.Or(c.HeartbeatInterval, DefaultHeartbeatInterval)
	c.StaleAfter = cmp.Or(c.StaleAfter, DefaultStaleAfter)
	c.PollInterval = cmp.Or(c.PollInterval, DefaultPollInterval)
	c.HandOffTimeout = cmp.Or(c.HandOffTimeout, DefaultHandOffTimeout)
	return c
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}
