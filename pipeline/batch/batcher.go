// Package batch is Quire's batcher: at each cut-off it gathers the
// rendered, uncancelled envelopes not yet in a batch into one or more
// batches, has their print files assembled (pipeline/batch/printfile),
// seals them, and hands them to the print supplier (docs/batching.md). The
// records it writes are kept by pipeline/batch/ledger, which the worker
// and the supplier adapters read without needing the batcher.
//
// Every envelope is printed once, in one piece, or not at all, however
// many batchers run and wherever they stop. That rests on three creates
// that only one writer can win (storage.Store.Create, S3's
// If-None-Match: *):
//   - envelopes/<id>/batch.json, the envelope's claim: the one batch it
//     can ever be in;
//   - batches/<B>/plan.json, which envelopes batch B is for, fixed before
//     any is claimed, so that whoever finishes B finishes the same batch;
//   - batches/<B>/sealed.json, the seal: B's members, left-outs and files,
//     after which nothing about B changes.
//
// A batch holds exactly the envelopes of its plan whose claim names it and
// that were not found cancelled (or damaged) after being claimed. Files of
// competing attempts at one batch are kept apart (attempts/<attempt>/), and
// the seal names the one attempt whose files are the batch's.
//
// The batcher reads time from an injected Clock and never from time.Now.
package batch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quire-print/quire/internal/clock"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/batch/printfile"
	"github.com/quire-print/quire/pipeline/batch/schedule"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/request"
)

// ErrBusy: another batcher is working on the cut-off and has said so
// recently.
var ErrBusy = errors.New("batch: another batcher is working on this cut-off")

// Batcher makes batches at cut-offs. It is safe for concurrent use, and
// several batchers (in several processes) may share a store: each cut-off
// is built by one of them at a time, and taken over by another if that one
// goes quiet.
type Batcher struct {
	cfg     Config
	store   storage.Store
	st      *ledger.Store
	envs    *envelopes.Store
	events  *events.Publisher
	clock   clock.Clock
	log     *slog.Logger
	metrics *metrics
	// run tells this batcher's heartbeats from those of an earlier (or,
	// misconfigured, a concurrent) process with the same Owner; started
	// is when it was made, by its clock.
	run     string
	started time.Time
}

// New checks cfg and returns a Batcher.
func New(cfg Config) (*Batcher, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Batcher{
		cfg:     cfg,
		store:   cfg.Store,
		st:      ledger.NewStore(cfg.Store),
		envs:    envelopes.New(cfg.Store),
		events:  events.NewPublisher(cfg.Events),
		clock:   cfg.Clock,
		log:     cfg.Logger,
		metrics: newMetrics(cfg),
		run:     randomHex(8),
		started: cfg.Clock.Now(),
	}, nil
}

// Ledger is the batcher's record store.
func (b *Batcher) Ledger() *ledger.Store { return b.st }

// Run makes the batches of each cut-off as it passes, and hands sealed
// batches over, until ctx ends. It starts with the latest cut-off already
// passed, so a batcher that was down at a cut-off makes up for it, and
// resumes anything another batcher left half done. Failed steps are
// retried every PollInterval. Run returns nil when ctx ends.
func (b *Batcher) Run(ctx context.Context) error {
	b.warnHolidays()
	for {
		now := b.clock.Now()
		wait := time.Duration(-1)
		if last, ok := b.cfg.Schedule.Last(now); ok {
			if _, err := b.CutOff(ctx, last); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				if !errors.Is(err, ErrBusy) {
					b.log.Error("batch: cut-off failed; trying again", "cut_off", ledger.CutOffID(last), "err", err)
				}
				wait = b.cfg.PollInterval
			}
		}
		// A batch waiting for an operator is looked at each poll too, so
		// that a re-send from another process shows in the gauges soon.
		if n, operator, err := b.handOffPending(ctx); ctx.Err() != nil {
			return nil
		} else if err != nil || n > 0 || operator > 0 {
			if err != nil {
				b.log.Error("batch: hand-off failed; trying again", "err", err)
			}
			wait = b.cfg.PollInterval
		}
		now = b.clock.Now()
		if next, ok := b.cfg.Schedule.Next(now); ok && (wait < 0 || next.Sub(now) < wait) {
			wait = next.Sub(now)
		}
		if wait < 0 {
			wait = b.cfg.PollInterval
		}
		if err := clock.Sleep(ctx, b.clock, wait); err != nil {
			return nil
		}
	}
}

func (b *Batcher) warnHolidays() {
	until := b.cfg.Schedule.HolidaysKnownUntil()
	if until == (schedule.Date{}) {
		return
	}
	if soon := schedule.DateOf(b.clock.Now().In(b.cfg.Schedule.Location()).AddDate(0, 0, 60)); until.Before(soon) {
		b.log.Warn("batch: the bank holiday list ends soon; add next year's holidays to the schedule", "holidays_until", until.String())
	}
}

// Result says what a cut-off produced.
type Result struct {
	CutOff time.Time
	// Batches are the batches sealed for the cut-off, in order (including
	// any empty one whose envelopes were all left out).
	Batches []*ledger.Sealed
	// Resumed are batches of earlier cut-offs that this run finished.
	Resumed []*ledger.Sealed
	// AlreadyDone is set when the cut-off had been finished before; then
	// Batches is empty.
	AlreadyDone bool
}

// CutOff makes the batches of cut-off c: one batcher at a time, as
// cutoffs/<C>/claim.json and a heartbeat say. If another batcher holds the
// cut-off and has been heard from within StaleAfter, it returns ErrBusy;
// once it has gone quiet, this one takes over and finishes what it left
// (every step is idempotent, and correctness never depends on the claim:
// two batchers working at once still put each envelope in one batch). It
// takes over at once, without waiting, a cut-off whose batcher stopped
// cleanly, or that an earlier process of its own instance (Config.Owner)
// held (see mayWork). It does not hand batches over; HandOffPending does.
func (b *Batcher) CutOff(ctx context.Context, c time.Time) (Result, error) {
	res, err := b.cutOff(ctx, c)
	b.metrics.cutOff(ctx, c, res, err)
	return res, err
}

func (b *Batcher) cutOff(ctx context.Context, c time.Time) (Result, error) {
	cid := ledger.CutOffID(c)
	res := Result{CutOff: c}
	if _, err := b.st.CutOffDone(ctx, cid); err == nil {
		res.AlreadyDone = true
		return res, nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return res, err
	}

	claim := ledger.CutOffClaim{CutOff: c.UTC(), Owner: b.cfg.Owner, Run: b.run, At: b.clock.Now().UTC()}
	holder, created, err := b.st.ClaimCutOff(ctx, claim)
	if err != nil {
		return res, err
	}
	if !created {
		if err := b.mayWork(ctx, cid, holder); err != nil {
			return res, err
		}
	}

	stop, err := b.heartbeat(ctx, cid, c)
	if err != nil {
		return res, err
	}
	// A batcher stopped by its context (a graceful shutdown) says so, so
	// that another need not wait StaleAfter to take the cut-off over.
	defer func() { stop(ctx.Err() != nil) }()

	b.log.Info("batch: cut-off", "cut_off", cid, "owner", b.cfg.Owner)
	if err := b.build(ctx, c, &res); err != nil {
		return res, err
	}
	ids := make([]string, len(res.Batches))
	for i, s := range res.Batches {
		ids[i] = s.BatchID
	}
	mine := ledger.CutOffDone{CutOff: c.UTC(), Batches: ids, At: b.clock.Now().UTC()}
	if _, _, err := b.st.MarkCutOffDone(ctx, mine); err != nil {
		return res, err
	}
	b.log.Info("batch: cut-off done", "cut_off", cid, "batches", len(ids), "resumed", len(res.Resumed))
	return res, nil
}

// mayWork decides whether this batcher may work on cut-off cid, which
// holder claimed: it returns nil if so, and an error wrapping ErrBusy if
// the batcher that works on it now may still be working.
//
// The latest heartbeat says who that is. This process goes on at once
// with a cut-off it holds itself; one whose batcher wrote a released
// heartbeat on a graceful stop; and one held by an earlier process of its
// own instance, last heard from before this process started. Instance
// names are unique among running batchers, so that process has stopped
// (killed, or crashed, and restarted as this one). A heartbeat of its own
// instance written after it started comes from another process running
// under the same name: a misconfiguration, logged as an error and treated
// as a stranger. Any other batcher is a stranger, taken over once quiet
// for StaleAfter. Whichever way it goes, two batchers working on one
// cut-off at once is safe (every step is a create-once), only wasteful.
func (b *Batcher) mayWork(ctx context.Context, cid string, holder ledger.CutOffClaim) error {
	hb, err := b.st.LastHeartbeat(ctx, cid)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		hb = holder
	case err != nil:
		return err
	}
	mine := hb.Owner == b.cfg.Owner
	switch {
	case mine && hb.Run == b.run:
		return nil
	case hb.Released:
		b.log.Info("batch: taking over a cut-off whose batcher stopped cleanly", "cut_off", cid, "holder", hb.Owner, "stopped_at", hb.At)
		return nil
	case mine && hb.At.Before(b.started):
		b.log.Info("batch: resuming the cut-off this instance held before it restarted", "cut_off", cid, "owner", b.cfg.Owner, "last_heard", hb.At)
		return nil
	case mine:
		b.log.Error("batch: another running batcher has this one's instance name; give each its own --instance",
			"cut_off", cid, "owner", b.cfg.Owner, "last_heard", hb.At)
	}
	if quiet := b.clock.Now().Sub(hb.At); quiet < b.cfg.StaleAfter {
		return fmt.Errorf("%w (%s, heard from %v ago)", ErrBusy, hb.Owner, quiet.Round(time.Second))
	}
	b.log.Warn("batch: taking over a cut-off whose batcher went quiet", "cut_off", cid, "holder", hb.Owner, "last_heard", hb.At)
	return nil
}

// heartbeat writes cutoffs/<C>/heartbeat.json now and every
// HeartbeatInterval until stop is called; stop(true) writes a last one
// that says the cut-off is released. Each beat after the first reads the
// heartbeat before rewriting it, and warns if another batcher wrote one
// meanwhile (it took the cut-off over, or shares this one's instance
// name): both finish, and the creates decide.
func (b *Batcher) heartbeat(ctx context.Context, cid string, c time.Time) (stop func(release bool), err error) {
	var last time.Time
	beat := func(ctx context.Context, released bool) error {
		hb := ledger.CutOffClaim{CutOff: c.UTC(), Owner: b.cfg.Owner, Run: b.run, At: b.clock.Now().UTC(), Released: released}
		if err := b.st.Heartbeat(ctx, hb); err != nil {
			return err
		}
		last = hb.At
		return nil
	}
	if err := beat(ctx, false); err != nil {
		return nil, err
	}
	var mu sync.Mutex
	stopped := false
	var next func()
	next = func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped || ctx.Err() != nil {
			return
		}
		if hb, err := b.st.LastHeartbeat(ctx, cid); err == nil && hb.Run != b.run && hb.At.After(last) {
			b.log.Warn("batch: another batcher is working on this cut-off too", "cut_off", cid, "other", hb.Owner, "owner", b.cfg.Owner)
		}
		if err := beat(ctx, false); err != nil {
			b.log.Warn("batch: heartbeat not written", "cut_off", cid, "err", err)
		}
		b.clock.AfterFunc(b.cfg.HeartbeatInterval, next)
	}
	b.clock.AfterFunc(b.cfg.HeartbeatInterval, next)
	return func(release bool) {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		if !release {
			return
		}
		// ctx has ended: the last word gets a little time of its own.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		if hb, err := b.st.LastHeartbeat(rctx, cid); err == nil && hb.Run != b.run && hb.At.After(last) {
			return // another batcher took it over and works on it
		}
		if err := beat(rctx, true); err != nil {
			b.log.Warn("batch: could not release the cut-off; another batcher takes it over once it goes quiet", "cut_off", cid, "err", err)
			return
		}
		b.log.Info("batch: released the cut-off", "cut_off", cid)
	}, nil
}

// releaseTimeout bounds writing the released heartbeat on a stop.
const releaseTimeout = 10 * time.Second

// candidate is a ready envelope no batch has claimed: a first print, or
// reprint run of the print in batch reprintOf.
type candidate struct {
	id        string
	rec       envelopes.Record
	run       int
	reprintOf string
}

// readyKey is the index entry that lists run of envelope id for the
// batcher.
func readyKey(id string, run int) string {
	if run == 0 {
		return envelopes.ReadyKey(id)
	}
	return ledger.ReprintReadyKey(id, run)
}

// scan reads the ready index: envelopes claimed by a batch (grouped by
// batch, for finishing), and committed envelopes rendered by cut-off c that
// no batch has claimed; then the same for the reprints asked for by c
// (scanReprints). Reprints come first: their families have waited longest.
func (b *Batcher) scan(ctx context.Context, c time.Time) (claimed map[string][]string, cands []candidate, err error) {
	claimed, cands, err = b.scanReprints(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	firsts, more, err := b.scanFirst(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	for id, ids := range firsts {
		claimed[id] = append(claimed[id], ids...)
	}
	return claimed, append(cands, more...), nil
}

// scanReprints reads the index of requested reprints: those claimed by a
// batch, grouped by batch, and those asked for by cut-off c that no batch
// has claimed.
func (b *Batcher) scanReprints(ctx context.Context, c time.Time) (claimed map[string][]string, cands []candidate, err error) {
	var listed []ledger.Reprint
	for r, err := range b.st.ReadyReprints(ctx) {
		if err != nil {
			return nil, nil, err
		}
		listed = append(listed, r)
	}
	type found struct {
		claim *ledger.Claim
		cand  *candidate
	}
	results := make([]found, len(listed))
	err = each(ctx, b.cfg.Parallelism, len(listed), func(ctx context.Context, i int) error {
		id, run := listed[i].EnvelopeID, listed[i].Run
		cl, err := b.st.RunClaim(ctx, id, run)
		if err == nil {
			results[i].claim = &cl
			return nil
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		w, err := b.st.Reprint(ctx, id, run)
		if errors.Is(err, storage.ErrNotFound) {
			// The request is created before its index entry, so this is
			// an entry no Quire wrote: skip it rather than stop batching.
			b.log.Warn("batch: ignoring a reprint entry without its request", "envelope_id", id, "reprint", run)
			return nil
		} else if err != nil {
			return err
		}
		if w.RequestedAt.After(c) {
			return nil // for the next cut-off
		}
		rec, err := b.envs.Record(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			rec = envelopes.Record{} // assemble leaves it out as missing
		} else if err != nil {
			return err
		}
		results[i].cand = &candidate{id: id, rec: rec, run: run, reprintOf: w.BatchID}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	claimed = map[string][]string{}
	seen := map[string]bool{}
	for _, r := range results {
		switch {
		case r.claim != nil:
			claimed[r.claim.BatchID] = append(claimed[r.claim.BatchID], r.claim.EnvelopeID)
		case r.cand != nil && !seen[r.cand.id]:
			seen[r.cand.id] = true
			cands = append(cands, *r.cand)
		}
	}
	return claimed, cands, nil
}

// scanFirst reads the ready index of first prints.
func (b *Batcher) scanFirst(ctx context.Context, c time.Time) (claimed map[string][]string, cands []candidate, err error) {
	var ids []string
	for id, err := range b.envs.Ready(ctx) {
		if err != nil {
			return nil, nil, err
		}
		if envelopes.ValidID(id) != nil {
			b.log.Warn("batch: ignoring a ready entry that is not an envelope id")
			continue
		}
		ids = append(ids, id)
	}
	type found struct {
		claim *ledger.Claim
		rec   *envelopes.Record
	}
	results := make([]found, len(ids))
	err = each(ctx, b.cfg.Parallelism, len(ids), func(ctx context.Context, i int) error {
		cl, err := b.st.Claim(ctx, ids[i])
		if err == nil {
			results[i].claim = &cl
			return nil
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		rec, err := b.envs.Record(ctx, ids[i])
		if errors.Is(err, storage.ErrNotFound) {
			return nil // still being rendered, or abandoned: not committed
		} else if err != nil {
			return err
		}
		results[i].rec = &rec
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	claimed = map[string][]string{}
	for i, r := range results {
		switch {
		case r.claim != nil:
			claimed[r.claim.BatchID] = append(claimed[r.claim.BatchID], ids[i])
		case r.rec != nil && !r.rec.RenderedAt.After(c):
			cands = append(cands, candidate{id: ids[i], rec: *r.rec})
		}
	}
	return claimed, cands, nil
}

// build makes cut-off c's batches, after finishing any batch an earlier
// run left unfinished.
func (b *Batcher) build(ctx context.Context, c time.Time, res *Result) error {
	claimed, cands, err := b.scan(ctx, c)
	if err != nil {
		return err
	}
	cid := ledger.CutOffID(c)

	// Batches with claimed envelopes still in the ready index: sealed ones
	// whose clean-up did not finish, or unsealed ones a batcher stopped
	// building. Those of this cut-off are finished in the loop below.
	var others []string
	for id := range claimed {
		if !strings.HasPrefix(id, cid+"-") {
			others = append(others, id)
		}
	}
	slices.Sort(others)
	for _, id := range others {
		s, err := b.finish(ctx, id)
		if err != nil {
			return fmt.Errorf("batch: finishing batch %s: %w", id, err)
		}
		res.Resumed = append(res.Resumed, s)
	}

	byID := make(map[string]envelopes.Record, len(cands))
	runs := map[string]int{}
	var remaining []string
	for _, cd := range cands {
		if _, dup := byID[cd.id]; dup {
			continue // one print of an envelope per cut-off; the other waits
		}
		if cd.rec.EnvelopeID != "" {
			byID[cd.id] = cd.rec
		}
		if cd.run > 0 {
			runs[cd.id] = cd.run
		}
		remaining = append(remaining, cd.id)
	}
	for part := 1; ; part++ {
		id := ledger.ID(c, part)
		plan, err := b.st.Plan(ctx, id)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			if len(remaining) == 0 {
				return nil
			}
			n := min(len(remaining), b.cfg.MaxEnvelopes)
			var reprints map[string]int
			for _, e := range remaining[:n] {
				if r := runs[e]; r > 0 {
					if reprints == nil {
						reprints = map[string]int{}
					}
					reprints[e] = r
				}
			}
			plan, _, err = b.st.CreatePlan(ctx, ledger.Plan{BatchID: id, CutOff: c.UTC(), Supplier: b.cfg.Supplier.Name(),
				EnvelopeIDs: slices.Clone(remaining[:n]), Reprints: reprints, PlannedAt: b.clock.Now().UTC()})
			if err != nil {
				return err
			}
		case err != nil:
			return err
		}
		s, err := b.seal(ctx, plan, byID)
		if err != nil {
			return fmt.Errorf("batch: batch %s: %w", id, err)
		}
		res.Batches = append(res.Batches, s)
		planned := make(map[string]bool, len(plan.EnvelopeIDs))
		for _, e := range plan.EnvelopeIDs {
			planned[e] = true
		}
		remaining = slices.DeleteFunc(remaining, func(e string) bool { return planned[e] })
	}
}

// finish completes batch id from its plan: seals it if it is not sealed,
// and cleans up after the seal.
func (b *Batcher) finish(ctx context.Context, id string) (*ledger.Sealed, error) {
	plan, err := b.st.Plan(ctx, id)
	if err != nil {
		return nil, err
	}
	return b.seal(ctx, plan, nil)
}

// seal builds and seals the batch of plan, or finds it sealed, then
// announces its envelopes and takes them out of the ready index. recs
// holds render records already read, by envelope id.
func (b *Batcher) seal(ctx context.Context, plan ledger.Plan, recs map[string]envelopes.Record) (*ledger.Sealed, error) {
	id := plan.BatchID
	s, err := b.st.Sealed(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		s, err = b.assemble(ctx, plan, recs)
	}
	if err != nil {
		return nil, err
	}
	if err := b.afterSeal(ctx, s); err != nil {
		return nil, err
	}
	return s, nil
}

// assemble claims the plan's envelopes, checks each after claiming it,
// numbers the members in print order (first class, then second class,
// each in plan order: a print file holds one postage class), has the
// print files made, and creates the seal. If another batcher
// seals the batch first, its seal is returned and this attempt's files
// are deleted.
func (b *Batcher) assemble(ctx context.Context, plan ledger.Plan, recs map[string]envelopes.Record) (*ledger.Sealed, error) {
	id := plan.BatchID
	now := b.clock.Now().UTC()
	left := make([]string, len(plan.EnvelopeIDs)) // a ledger.Left code, or "" for a member
	records := make([]envelopes.Record, len(plan.EnvelopeIDs))
	ranks := make([]int, len(plan.EnvelopeIDs))        // printfile.PostageRank of each member's class
	reprintOf := make([]string, len(plan.EnvelopeIDs)) // for a reprint: the batch of the print it replaces
	sources := make([]string, len(plan.EnvelopeIDs))   // for a reprint: who asked for it

	// Claim first, then check: a cancellation stored before the check is
	// seen and wins; one stored after it finds the claim and waits for the
	// seal (ledger.Store.CheckCancel).
	err := each(ctx, b.cfg.Parallelism, len(plan.EnvelopeIDs), func(ctx context.Context, i int) error {
		eid, run := plan.EnvelopeIDs[i], plan.Run(plan.EnvelopeIDs[i])
		if run > 0 {
			w, err := b.st.Reprint(ctx, eid, run)
			if errors.Is(err, storage.ErrNotFound) {
				left[i] = ledger.LeftMissing // planned from a request that is gone; nothing to claim
				return nil
			} else if err != nil {
				return err
			}
			reprintOf[i], sources[i] = w.BatchID, w.Source
		}
		if held, _, err := b.st.CreateClaim(ctx, ledger.Claim{EnvelopeID: eid, BatchID: id, ClaimedAt: now, Run: run}); err != nil {
			return err
		} else if held.BatchID != id {
			left[i] = ledger.LeftClaimed
			return nil
		}
		if _, err := b.envs.Cancellation(ctx, eid); err == nil {
			left[i] = ledger.LeftCancelled
			return nil
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		rec, ok := recs[eid]
		if !ok {
			var err error
			if rec, err = b.envs.Record(ctx, eid); errors.Is(err, storage.ErrNotFound) {
				left[i] = ledger.LeftMissing
				return nil
			} else if err != nil {
				return err
			}
		}
		if err := b.envs.Verify(ctx, rec); errors.Is(err, storage.ErrChecksum) || errors.Is(err, storage.ErrNotFound) {
			b.log.Error("batch: envelope's stored files do not match its record; left out of the batch", "batch_id", id, "envelope_id", eid)
			left[i] = ledger.LeftDamaged
			return nil
		} else if err != nil {
			return err
		}
		// Each print file holds one postage class, first class first, and
		// sequence numbers follow print order: so each member's class is
		// read now, before any is numbered. The request is read again,
		// a few ahead, as the files are assembled (withRequests): one
		// more small read per envelope keeps memory flat.
		req, err := b.readRequest(ctx, printfile.Envelope{ID: eid, Record: rec})
		var refused *printfile.RefusedError
		if errors.As(err, &refused) {
			b.log.Error("batch: envelope cannot be printed as recorded; left out of the batch", "batch_id", id,
				"envelope_id", eid, "reason", refused.Reason)
			left[i] = ledger.LeftRefused
			return nil
		} else if err != nil {
			return err
		}
		records[i] = rec
		ranks[i] = printfile.PostageRank(req.Letter.Postage)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Print order: by postage class, and in plan order within a class.
	order := make([]int, len(plan.EnvelopeIDs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int { return cmp.Compare(ranks[x], ranks[y]) })

	attempt := randomHex(6)
	prefix := ledger.AttemptPrefix(id, attempt)
	var printed *printfile.Manifest
	for {
		var members []printfile.Envelope
		for _, i := range order {
			if left[i] == "" {
				eid := plan.EnvelopeIDs[i]
				members = append(members, printfile.Envelope{Sequence: len(members) + 1, ID: eid, Record: records[i],
					Reprint: plan.Run(eid), ReprintOf: reprintOf[i]})
			}
		}
		if len(members) == 0 {
			printed = nil
			break
		}
		printed, err = b.cfg.Assembler.Assemble(ctx, printfile.Batch{ID: id, CutOff: plan.CutOff, KeyPrefix: prefix},
			b.withRequests(ctx, members))
		var refused *printfile.RefusedError
		if errors.As(err, &refused) {
			i := slices.Index(plan.EnvelopeIDs, refused.EnvelopeID)
			if i < 0 || left[i] != "" {
				return nil, fmt.Errorf("batch: the assembler refused envelope %s, which is not in the batch: %w", refused.EnvelopeID, err)
			}
			b.log.Error("batch: envelope cannot be printed as recorded; left out of the batch", "batch_id", id,
				"envelope_id", refused.EnvelopeID, "reason", refused.Reason)
			left[i] = ledger.LeftRefused
			b.removeAttempt(ctx, prefix)
			continue
		}
		if err != nil {
			b.removeAttempt(ctx, prefix)
			return nil, err
		}
		break
	}

	s := &ledger.Sealed{BatchID: id, CutOff: plan.CutOff, Supplier: plan.Supplier,
		Attempt: attempt, Envelopes: []ledger.Member{}, Files: []ledger.File{}}
	for _, i := range order {
		if left[i] == "" {
			eid := plan.EnvelopeIDs[i]
			s.Envelopes = append(s.Envelopes, ledger.Member{Sequence: len(s.Envelopes) + 1, EnvelopeID: eid, Run: plan.Run(eid)})
		}
	}
	for i, eid := range plan.EnvelopeIDs {
		if left[i] != "" {
			s.Left = append(s.Left, ledger.Left{EnvelopeID: eid, Code: left[i], Run: plan.Run(eid)})
		}
	}
	if printed != nil {
		s.Pages, s.Sheets = printed.Totals.Pages, printed.Totals.Sheets
		for _, f := range printed.Files {
			s.Files = append(s.Files, ledger.File{Name: f.Name, Kind: ledger.FilePrint, Key: prefix + f.Name, SHA256: f.SHA256, Size: f.Size})
		}
		manifestJSON, err := printed.JSON()
		if err != nil {
			b.removeAttempt(ctx, prefix)
			return nil, err
		}
		manifestCSV, err := printed.CSV()
		if err != nil {
			b.removeAttempt(ctx, prefix)
			return nil, err
		}
		for _, m := range []struct {
			name, kind string
			data       []byte
		}{{ledger.ManifestJSON, ledger.FileManifestJSON, manifestJSON}, {ledger.ManifestCSV, ledger.FileManifestCSV, manifestCSV}} {
			info, err := b.store.Put(ctx, prefix+m.name, m.data)
			if err != nil {
				b.removeAttempt(ctx, prefix)
				return nil, err
			}
			s.Files = append(s.Files, ledger.File{Name: m.name, Kind: m.kind, Key: info.Key, SHA256: info.SHA256, Size: info.Size})
		}
	}

	// The index entries go first, so that no sealed batch is missing from
	// them; an entry for a batch that is not sealed is skipped by readers.
	if err := b.st.Index(ctx, id); err != nil {
		return nil, err
	}
	if len(s.Envelopes) > 0 {
		if err := b.st.AwaitHandOff(ctx, id); err != nil {
			return nil, err
		}
	}
	s.SealedAt = b.clock.Now().UTC()
	sealed, created, err := b.st.Seal(ctx, s)
	if err != nil {
		return nil, err
	}
	if !created {
		b.log.Info("batch: another batcher sealed the batch first; removing this attempt's files", "batch_id", id)
		b.removeAttempt(ctx, prefix)
		return sealed, nil
	}
	b.log.Info("batch: sealed", "batch_id", id, "envelopes", len(s.Envelopes), "left_out", len(s.Left),
		"files", len(s.Files), "pages", s.Pages, "sheets", s.Sheets)
	bySource := map[string]string{}
	for i, src := range sources {
		if src != "" {
			bySource[plan.EnvelopeIDs[i]] = src
		}
	}
	b.metrics.sealed(sealed, bySource)
	return sealed, nil
}

// withRequests yields members with their stored requests, read and
// decoded Parallelism at a time ahead of the reader, in order.
func (b *Batcher) withRequests(ctx context.Context, members []printfile.Envelope) iter.Seq2[printfile.Envelope, error] {
	return func(yield func(printfile.Envelope, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		type result struct {
			env *request.Envelope
			err error
		}
		ahead := make(chan chan result, b.cfg.Parallelism)
		go func() {
			defer close(ahead)
			for _, m := range members {
				ch := make(chan result, 1)
				select {
				case ahead <- ch:
				case <-ctx.Done():
					return
				}
				go func() {
					env, err := b.readRequest(ctx, m)
					ch <- result{env, err}
				}()
			}
		}()
		for _, m := range members {
			var r result
			select {
			case ch, ok := <-ahead:
				if !ok {
					yield(printfile.Envelope{}, ctx.Err())
					return
				}
				r = <-ch
			case <-ctx.Done():
				yield(printfile.Envelope{}, ctx.Err())
				return
			}
			if r.err != nil {
				yield(printfile.Envelope{}, r.err)
				return
			}
			m.Request = r.env
			if !yield(m, nil) {
				return
			}
		}
	}
}

func (b *Batcher) readRequest(ctx context.Context, m printfile.Envelope) (*request.Envelope, error) {
	rec := m.Record
	data, err := b.envs.Read(ctx, rec.Request)
	if errors.Is(err, storage.ErrChecksum) || errors.Is(err, storage.ErrNotFound) {
		return nil, &printfile.RefusedError{Sequence: m.Sequence, EnvelopeID: rec.EnvelopeID, Reason: "its stored request is missing or damaged"}
	}
	if err != nil {
		return nil, err
	}
	env, err := request.Decode(data)
	if err != nil || env.EnvelopeID != rec.EnvelopeID || env.ContentHash() != rec.RequestHash {
		// The decoder's error is not passed on: it can quote the request.
		return nil, &printfile.RefusedError{Sequence: m.Sequence, EnvelopeID: rec.EnvelopeID, Reason: "its stored request does not read back as the request it was rendered from"}
	}
	return env, nil
}

// removeAttempt deletes the files of an attempt that will not be the
// batch's. A failure is only logged: the files are unreferenced, and the
// retention sweep of old attempts removes them.
func (b *Batcher) removeAttempt(ctx context.Context, prefix string) {
	var errs []error
	for info, err := range b.store.List(ctx, prefix) {
		if err != nil {
			errs = append(errs, err)
			break
		}
		errs = append(errs, b.store.Delete(ctx, info.Key))
	}
	if err := errors.Join(errs...); err != nil {
		b.log.Warn("batch: could not remove the files of an abandoned attempt", "prefix", prefix, "err", err)
	}
}

// afterSeal announces a sealed batch's envelopes as batched and takes its
// envelopes (members and those it left out) out of the ready index. An
// envelope left out as cancelled will never be posted, so its deletion is
// scheduled first, from its cancellation's time. It is idempotent: an
// envelope still in the index is announced (or scheduled) again, and
// upstream deduplicates (as the retention entry does).
func (b *Batcher) afterSeal(ctx context.Context, s *ledger.Sealed) error {
	err := each(ctx, b.cfg.Parallelism, len(s.Envelopes), func(ctx context.Context, i int) error {
		m := s.Envelopes[i]
		key := readyKey(m.EnvelopeID, m.Run)
		if _, err := b.store.Stat(ctx, key); errors.Is(err, storage.ErrNotFound) {
			return nil // announced and cleaned up by an earlier run
		} else if err != nil {
			return err
		}
		e := events.Batched(events.InBatch{EnvelopeID: m.EnvelopeID, BatchID: s.BatchID, Sequence: m.Sequence, Supplier: s.Supplier,
			Reprint: m.Run}, s.SealedAt)
		if err := b.events.Publish(ctx, e); err != nil {
			return err
		}
		return b.store.Delete(ctx, key)
	})
	if err != nil {
		return err
	}
	return each(ctx, b.cfg.Parallelism, len(s.Left), func(ctx context.Context, i int) error {
		l := s.Left[i]
		switch l.Code {
		case ledger.LeftClaimed:
			return nil // the other batch's to clean up
		case ledger.LeftCancelled:
			if err := b.scheduleCancelled(ctx, l); err != nil {
				return err
			}
		}
		return b.store.Delete(ctx, readyKey(l.EnvelopeID, l.Run))
	})
}

// scheduleCancelled schedules the deletion of the personal data of
// envelope l.EnvelopeID, left out of a sealed batch as cancelled (its
// first print, or a reprint, l.Run), unless its ready entry is gone (an
// earlier run scheduled it, then removed the entry).
// The cancel handler schedules the same entry when the cancellation
// stands; this covers a cancel message that never got that far (dead-
// lettered after storing its marker, or handled by a worker without
// Retention), and is taken from the seal, the record of what will be
// printed, never from a check a losing attempt made.
func (b *Batcher) scheduleCancelled(ctx context.Context, l ledger.Left) error {
	if b.cfg.Retention == nil {
		return nil
	}
	id := l.EnvelopeID
	if _, err := b.store.Stat(ctx, readyKey(id, l.Run)); errors.Is(err, storage.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	c, err := b.envs.Cancellation(ctx, id)
	if err != nil {
		return fmt.Errorf("batch: envelope %s, left out as cancelled: %w", id, err)
	}
	return b.cfg.Retention.Cancelled(ctx, id, c.At)
}

// each runs f for 0 to n-1, at most p at a time, and returns the first
// error, after cancelling the context of the calls still running.
func each(ctx context.Context, p, n int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, p)
	var wg sync.WaitGroup
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := f(ctx, i); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}
