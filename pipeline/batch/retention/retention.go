// Package retention deletes personal data once it is no longer needed: an
// envelope's rendered documents and request (envelopes/<id>/files/) and
// its reference index entries (references/…/<id>) a set number of days
// after the supplier reports it posted, or after it was cancelled before
// any batch took it, or after it was reported spoiled and held for an
// operator, and a batch's print files the same number of days after the
// batch was handed over.
//
// Two mechanisms, so that deletion does not depend on one of them:
//   - Quire's own sweep (Keeper.Sweep), for every store: each scheduled
//     deletion is an entry retention/due/<when>/<what> naming a key
//     prefix; the sweep walks the entries that are due, oldest first,
//     deletes everything under each prefix, then the entry. Deleting a
//     missing object is not an error, so an interrupted sweep simply runs
//     again.
//   - On S3, Lifecycle also tags each object with the number of days after
//     its creation it must go, and installs one bucket lifecycle rule per
//     such number (standard PutBucketLifecycleConfiguration), so the store
//     deletes the data even if no Quire is running.
//
// Render records, cancellation markers, claims, seals and manifests hold
// no personal data and are kept as tombstones: a message redelivered
// months later still finds its envelope committed and batched (or
// cancelled). A cancellation marker's free-text reason is removed when the
// envelope's files are, whether they were scheduled by its posting or its
// cancellation, and whether or not the envelope was ever rendered, and
// envelopes/<id>/deleted.json records when that was.
package retention

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/quire-print/quire/internal/clock"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/refindex"
)

// DuePrefix is where scheduled deletions wait.
const DuePrefix = "retention/due/"

// Defaults for Config's zero values.
const (
	DefaultDays          = 30
	DefaultSweepInterval = time.Hour
)

// Tagger marks objects to be deleted by the store itself. *Lifecycle is
// one.
type Tagger interface {
	// Expire marks every object under prefix to be deleted at or soon
	// after due. It returns how many objects it could not mark (which the
	// sweep deletes instead).
	Expire(ctx context.Context, prefix string, due time.Time) (unmarked int, err error)
}

// Config configures a Keeper. Store is required.
type Config struct {
	Store storage.Store
	// Days is how many days personal data is kept after posting (or after
	// a cancellation that stands, or a batch's hand-over). Default 30.
	Days int
	// Lifecycle, if set, also marks objects for the store's own deletion.
	// Default nil: the sweep alone.
	Lifecycle Tagger
	// SweepInterval is how often Run sweeps. Default 1h.
	SweepInterval time.Duration
	// Clock tells the time. Default: the system clock.
	Clock clock.Clock
	// Logger receives a line per sweep. Default slog.Default().
	Logger *slog.Logger
}

// Keeper schedules and carries out deletions. It is safe for concurrent
// use, and several Keepers may sweep one store at once.
type Keeper struct {
	cfg     Config
	metrics *metrics
}

// New checks cfg and returns a Keeper.
func New(cfg Config) (*Keeper, error) {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("retention: Store is required"))
	}
	if cfg.Days < 0 {
		errs = append(errs, fmt.Errorf("retention: Days cannot be negative (got %d)", cfg.Days))
	}
	if cfg.SweepInterval < 0 {
		errs = append(errs, fmt.Errorf("retention: SweepInterval cannot be negative (got %v)", cfg.SweepInterval))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Days == 0 {
		cfg.Days = DefaultDays
	}
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = DefaultSweepInterval
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Keeper{cfg: cfg, metrics: newMetrics()}, nil
}

// Days is the retention period in days.
func (k *Keeper) Days() int { return k.cfg.Days }

// entry is what a due entry holds.
type entry struct {
	Prefix string    `json:"prefix"`
	Due    time.Time `json:"due"`
}

func dueKey(due time.Time, name string) string {
	return DuePrefix + due.UTC().Format("20060102T150405Z") + "/" + name
}

// Posted implements the supplier API's Retention: envelope id was posted
// at at, so its personal data goes Days later. Calling it again with the
// same time (a repeated report) changes nothing.
func (k *Keeper) Posted(ctx context.Context, id string, at time.Time) error {
	if err := envelopes.ValidID(id); err != nil {
		return err
	}
	return k.schedule(ctx, "envelope-"+id, envelopes.EnvelopesPrefix+id+"/files/", at)
}

// Cancelled schedules the personal data of envelope id, whose
// cancellation, received at at, stands (it will never be printed, so never
// posted): its files, if it was rendered, and its cancellation's free-text
// reason go Days after the cancellation, so that support can still answer
// a family's questions about it for as long as after a posting. at must be
// the stored cancellation's time (envelopes.Cancellation.At), so that
// every caller (the cancel handler, the batcher leaving the envelope out),
// every redelivery and every retry writes the same entry: calling it again
// changes nothing.
func (k *Keeper) Cancelled(ctx context.Context, id string, at time.Time) error {
	if err := envelopes.ValidID(id); err != nil {
		return err
	}
	return k.schedule(ctx, "envelope-"+id, envelopes.EnvelopesPrefix+id+"/files/", at)
}

// Held schedules the personal data of envelope id, reported spoiled and
// held for an operator at at instead of being reprinted
// (pipeline/batch/reprint): it may never be posted, so its files go Days
// after the hold, as after a posting. An operator's reprint within that
// time is printed; one after it is refused, and upstream sends a new
// envelope request.
func (k *Keeper) Held(ctx context.Context, id string, at time.Time) error {
	if err := envelopes.ValidID(id); err != nil {
		return err
	}
	return k.schedule(ctx, "envelope-"+id, envelopes.EnvelopesPrefix+id+"/files/", at)
}

// HandedOver schedules the print files of batch id, handed over at at,
// for deletion Days later. The seal and manifests' hashes stay.
func (k *Keeper) HandedOver(ctx context.Context, id string, at time.Time) error {
	if err := ledger.ValidID(id); err != nil {
		return err
	}
	return k.schedule(ctx, "batch-"+id, ledger.BatchesPrefix+id+"/attempts/", at)
}

func (k *Keeper) schedule(ctx context.Context, name, prefix string, from time.Time) error {
	due := from.UTC().AddDate(0, 0, k.cfg.Days)
	data, _ := json.Marshal(entry{Prefix: prefix, Due: due})
	if _, err := k.cfg.Store.Put(ctx, dueKey(due, name), data); err != nil {
		return fmt.Errorf("retention: scheduling %s: %w", name, err)
	}
	if k.cfg.Lifecycle != nil {
		n, err := k.cfg.Lifecycle.Expire(ctx, prefix, due)
		if err != nil {
			// The sweep deletes it anyway; the entry is written.
			k.cfg.Logger.Warn("retention: could not tag objects for lifecycle expiry; the sweep will delete them", "what", name, "err", err)
		} else if n > 0 {
			k.cfg.Logger.Info("retention: some objects are left to the sweep", "what", name, "objects", n)
		}
	}
	return nil
}

// Sweep deletes what is due at the clock's current time, oldest first, and
// returns how many scheduled deletions it completed. It stops at the first
// error; running it again carries on.
func (k *Keeper) Sweep(ctx context.Context) (int, error) {
	n, err := k.sweep(ctx)
	k.metrics.sweep(ctx, err)
	return n, err
}

func (k *Keeper) sweep(ctx context.Context) (int, error) {
	now := k.cfg.Clock.Now()
	done := 0
	// The reference index, by envelope: listed once a sweep, when the
	// first envelope is due (refindex.Entries).
	var index map[string][]string
	for info, err := range k.cfg.Store.List(ctx, DuePrefix) {
		if err != nil {
			return done, err
		}
		stamp, _, _ := strings.Cut(strings.TrimPrefix(info.Key, DuePrefix), "/")
		due, err := time.Parse("20060102T150405Z", stamp)
		if err != nil {
			return done, fmt.Errorf("retention: %s is not a due entry", info.Key)
		}
		if due.After(now) {
			break // entries are in time order
		}
		data, err := k.cfg.Store.Get(ctx, info.Key)
		if errors.Is(err, storage.ErrNotFound) {
			continue // swept by another Quire meanwhile
		} else if err != nil {
			return done, err
		}
		var e entry
		if err := json.Unmarshal(data, &e); err != nil || e.Prefix == "" || storage.ValidPrefix(e.Prefix) != nil {
			return done, fmt.Errorf("retention: %s does not name what to delete", info.Key)
		}
		id, isEnvelope := envelopeOf(e.Prefix)
		if isEnvelope {
			// A certificate reference is personal data: its index entries
			// go first, while the files say which envelope this is.
			if index == nil {
				if index, err = refindex.Entries(ctx, k.cfg.Store); err != nil {
					return done, err
				}
			}
			for _, key := range index[id] {
				if err := k.cfg.Store.Delete(ctx, key); err != nil {
					return done, err
				}
				k.metrics.objects.Inc()
			}
		}
		if err := k.deleteAll(ctx, e.Prefix); err != nil {
			return done, err
		}
		if isEnvelope {
			envs := envelopes.New(k.cfg.Store)
			// The cancellation marker stays as a tombstone; its free-text
			// reason goes with the rest of the envelope's personal data.
			if err := envs.ForgetCancellationReason(ctx, id); err != nil {
				return done, err
			}
			// For support to say when it went (pipeline/status).
			if err := envs.RecordDeletion(ctx, id, now); err != nil {
				return done, err
			}
		}
		if err := k.cfg.Store.Delete(ctx, info.Key); err != nil {
			return done, err
		}
		done++
		k.metrics.done(strings.TrimPrefix(info.Key, DuePrefix+stamp+"/"))
	}
	if done > 0 {
		k.cfg.Logger.Info("retention: swept", "deletions", done)
	}
	return done, nil
}

// envelopeOf returns the envelope id whose files prefix is p
// (envelopes/<id>/files/), as Posted schedules it.
func envelopeOf(p string) (string, bool) {
	id, ok := strings.CutSuffix(strings.TrimPrefix(p, envelopes.EnvelopesPrefix), "/files/")
	if !ok || !strings.HasPrefix(p, envelopes.EnvelopesPrefix) || envelopes.ValidID(id) != nil {
		return "", false
	}
	return id, true
}

func (k *Keeper) deleteAll(ctx context.Context, prefix string) error {
	for info, err := range k.cfg.Store.List(ctx, prefix) {
		if err != nil {
			return err
		}
		if err := k.cfg.Store.Delete(ctx, info.Key); err != nil {
			return err
		}
		k.metrics.objects.Inc()
	}
	return nil
}

// Run sweeps now and every SweepInterval until ctx ends; it returns nil
// then. Failures are logged and retried at the next sweep.
func (k *Keeper) Run(ctx context.Context) error {
	for {
		if _, err := k.Sweep(ctx); err != nil && ctx.Err() == nil {
			k.cfg.Logger.Error("retention: sweep failed; trying again later", "err", err)
		}
		if clock.Sleep(ctx, k.cfg.Clock, k.cfg.SweepInterval) != nil {
			return nil
		}
	}
}
