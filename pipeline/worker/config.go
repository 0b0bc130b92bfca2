package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
	_ "time/tzdata" // the zone of the date-of-issue check, on any machine

	"github.com/quire-print/quire/internal/clock"
	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/metrics"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/refindex"
	"github.com/quire-print/quire/renderer/rendered"
	"github.com/quire-print/quire/request"
)

// Renderer renders one validated envelope request into its documents, in
// envelope order (letter first). It returns request.Errors for a request
// that cannot be printed as asked (text too long for its box, a character
// no font has): a permanent refusal. Any other error is a Quire bug. It is
// safe for concurrent use. cmd/quire adapts *renderer.Renderer to it.
//
// A Renderer that is also a request.Fitter lays out a request with other
// problems as it is decoded, so that its rejection lists layout problems
// with them.
type Renderer interface {
	Render(env *request.Envelope) ([]rendered.Document, error)
}

// Store is where the worker looks up and commits envelopes and
// cancellations: *envelopes.Store, whose commit protocol makes every write
// idempotent.
type Store interface {
	Lookup(ctx context.Context, id string) (envelopes.Found, error)
	Commit(ctx context.Context, r envelopes.Rendered) (envelopes.Record, bool, error)
	Cancel(ctx context.Context, c envelopes.Cancellation) (envelopes.Cancellation, bool, error)
}

var _ Store = (*envelopes.Store)(nil)

// CancelChecker says whether a stored cancellation still stops its envelope
// from being printed: *ledger.Store, which reads the envelope's batch claim
// and seal (docs/batching.md, "Cancellation against the cut-off").
type CancelChecker interface {
	// CheckCancel is asked after the cancellation marker of envelope id,
	// received at at, is stored. It answers nil, nil when the cancellation
	// stands; the cancel-refused event to publish when the envelope's
	// latest print is in a sealed batch, not held, and will be printed; or
	// an error wrapping
	// ledger.ErrSealing while the envelope's batch is being sealed and the
	// answer is not known yet.
	CheckCancel(ctx context.Context, id string, at time.Time) (*events.PrintEvent, error)
}

var _ CancelChecker = (*ledger.Store)(nil)

// ReferenceIndex names an envelope's entries in the index that finds it by
// certificate reference: *refindex.Index, whose keys are keyed hashes.
type ReferenceIndex interface {
	Keys(envelopeID string, references []string) []string
}

var _ ReferenceIndex = (*refindex.Index)(nil)

// Retention schedules the deletion of personal data: *retention.Keeper.
type Retention interface {
	// Cancelled is told that the cancellation of envelope id, received at
	// at (the stored cancellation's time), stands: the envelope will never
	// be printed or posted, so its files and its cancellation's reason are
	// to go a retention period after at. Telling it again with the same at
	// changes nothing.
	Cancelled(ctx context.Context, id string, at time.Time) error
}

// Defaults for Config's zero values.
const (
	DefaultTimeout        = 2 * time.Minute
	DefaultSettleTimeout  = 30 * time.Second
	DefaultPingTimeout    = 5 * time.Second
	DefaultGateBackoffMin = 250 * time.Millisecond
	DefaultGateBackoffMax = 15 * time.Second
	// DefaultZone is the zone of Config.Zone when it is nil.
	DefaultZone = "Europe/London"
)

// Config configures a Worker. Source, Store, Ping, Renderer and Events are
// required; every other field has the default given in its comment, used
// when the field is zero.
type Config struct {
	// Source delivers intake messages: *broker.Broker or *memqueue.Queue.
	Source pipeline.Source
	// Store keeps envelopes and cancellations.
	Store Store
	// Ping checks that the store answers (storage.Store.Ping). While it
	// fails after a storage error, the worker takes no new work.
	Ping func(ctx context.Context) error
	// Renderer renders envelopes.
	Renderer Renderer
	// Events publishes status events, with confirms: the broker's or the
	// in-process queue's events publisher.
	Events pipeline.Publisher
	// Cancels, when set, is asked about every cancellation once its marker
	// is stored, so that a cancellation of an envelope whose latest print
	// is in a sealed batch (and not held for an operator) is refused
	// (envelope.cancel-refused) instead of announced as cancelled; a held
	// envelope it takes off the held list. Default nil: nothing is batched, and every stored
	// cancellation stands.
	Cancels CancelChecker
	// References, when set, names the reference index entries committed
	// with each envelope. Default nil: no index, and no lookup by
	// certificate reference.
	References ReferenceIndex
	// Retention, when set, is told of every cancellation that stands,
	// before it is announced, so that the envelope's personal data is
	// deleted although it is never posted. Default nil: nothing is
	// scheduled here (the batcher still schedules the envelopes it leaves
	// out as cancelled).
	Retention Retention

	// Clock stamps events and records and times the storage gate's
	// probes. Tests use *memqueue.ManualClock. Default: the system clock.
	Clock clock.Clock
	// Zone is the time zone "tomorrow" is counted in when a request's
	// dateOfIssue is checked against the Clock: the cut-off's zone.
	// Default Europe/London.
	Zone *time.Location
	// Metrics receives counts and timings. Default: a set registered
	// nowhere.
	Metrics *metrics.Metrics
	// Logger receives one line per outcome, with envelope ids and reason
	// codes only. Default slog.Default().
	Logger *slog.Logger

	// Timeout bounds the storage work for one message (lookups and the
	// commit). Default 2m.
	Timeout time.Duration
	// SettleTimeout bounds publishing an event and settling a message
	// (ack, retry, dead-letter), which happens even during a shutdown.
	// Default 30s.
	SettleTimeout time.Duration
	// PingTimeout bounds one storage probe while the gate is closed.
	// Default 5s.
	PingTimeout time.Duration
	// GateBackoffMin and GateBackoffMax bound the exponential backoff,
	// with jitter, between storage probes while the gate is closed.
	// Defaults 250ms and 15s.
	GateBackoffMin, GateBackoffMax time.Duration
}

func (c Config) validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("worker: "+format, args...)) }
	if c.Source == nil {
		add("Source is required")
	}
	if c.Store == nil {
		add("Store is required")
	}
	if c.Ping == nil {
		add("Ping is required: the worker stops taking work while storage does not answer it")
	}
	if c.Renderer == nil {
		add("Renderer is required")
	}
	if c.Events == nil {
		add("Events is required")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"Timeout", c.Timeout}, {"SettleTimeout", c.SettleTimeout}, {"PingTimeout", c.PingTimeout},
		{"GateBackoffMin", c.GateBackoffMin}, {"GateBackoffMax", c.GateBackoffMax}} {
		if d.v < 0 {
			add("%s cannot be negative (got %v)", d.name, d.v)
		}
	}
	if c.GateBackoffMin > 0 && c.GateBackoffMax > 0 && c.GateBackoffMax < c.GateBackoffMin {
		add("GateBackoffMax (%v) cannot be shorter than GateBackoffMin (%v)", c.GateBackoffMax, c.GateBackoffMin)
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.Clock == nil {
		c.Clock = clock.System
	}
	if c.Zone == nil {
		// time/tzdata is linked in, so this cannot fail.
		c.Zone, _ = time.LoadLocation(DefaultZone)
	}
	if c.Metrics == nil {
		c.Metrics = metrics.New(nil)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Timeout, DefaultTimeout)
	def(&c.SettleTimeout, DefaultSettleTimeout)
	def(&c.PingTimeout, DefaultPingTimeout)
	def(&c.GateBackoffMin, DefaultGateBackoffMin)
	def(&c.GateBackoffMax, DefaultGateBackoffMax)
	if c.GateBackoffMax < c.GateBackoffMin {
		c.GateBackoffMax = c.GateBackoffMin
	}
	return c
}
