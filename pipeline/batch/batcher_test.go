package batch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/quire-print/quire/internal/syncbuf"
	"github.com/quire-print/quire/pipeline/batch"
	"github.com/quire-print/quire/pipeline/batch/batchtest"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/batch/schedule"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/memqueue"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/fsstore"
	"github.com/quire-print/quire/pipeline/supplier"
)

// Monday 2 March 2026, GMT: the cut-off is 17:30 UTC.
var (
	cutOff   = time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC)
	before   = cutOff.Add(-time.Hour)
	cutOffID = "20260302T173000Z"
)

type harness struct {
	t      *testing.T
	store  storage.Store
	clock  *memqueue.ManualClock
	asm    *batchtest.Assembler
	sup    *batchtest.Supplier
	ev     *batchtest.Events
	logs   *syncbuf.Buffer
	st     *ledger.Store
	envs   *envelopes.Store
	sched  *schedule.Schedule
	config batch.Config
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	s, err := fsstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return newHarnessOn(t, s)
}

func newHarnessOn(t *testing.T, s storage.Store) *harness {
	t.Helper()
	sched, err := schedule.New(schedule.Config{})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{
		t: t, store: s, clock: memqueue.NewManualClock(cutOff.Add(time.Second)),
		asm: &batchtest.Assembler{Store: s}, sup: &batchtest.Supplier{SupplierName: "northprint"},
		ev: &batchtest.Events{}, logs: &syncbuf.Buffer{}, st: ledger.NewStore(s), envs: envelopes.New(s), sched: sched,
	}
	h.config = batch.Config{
		Store: s, Schedule: sched, Assembler: h.asm, Supplier: h.sup, Events: h.ev, Clock: h.clock,
		Logger: slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Owner: "batcher-a",
		HeartbeatInterval: 10 * time.Second, StaleAfter: time.Minute,
	}
	t.Cleanup(func() { batchtest.CheckNoPersonalData(t, "the logs", h.logs.String()) })
	return h
}

func (h *harness) batcher(edit ...func(*batch.Config)) *batch.Batcher {
	h.t.Helper()
	c := h.config
	for _, e := range edit {
		e(&c)
	}
	b, err := batch.New(c)
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

func (h *harness) cutOff(b *batch.Batcher) batch.Result {
	h.t.Helper()
	res, err := b.CutOff(h.t.Context(), cutOff)
	if err != nil {
		h.t.Fatal(err)
	}
	return res
}

func (h *harness) ready() []string {
	var ids []string
	for id, err := range h.envs.Ready(h.t.Context()) {
		if err != nil {
			h.t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func (h *harness) cancel(id string) {
	h.t.Helper()
	if _, _, err := h.envs.Cancel(h.t.Context(), envelopes.Cancellation{EnvelopeID: id, Code: "requested-by-parent", At: h.clock.Now()}); err != nil {
		h.t.Fatal(err)
	}
}

func members(s *ledger.Sealed) []string {
	var ids []string
	for i, m := range s.Envelopes {
		if m.Sequence != i+1 {
			panic(fmt.Sprintf("member %d has sequence %d", i, m.Sequence))
		}
		ids = append(ids, m.EnvelopeID)
	}
	return ids
}

// checkOnce checks that every id is a member of exactly one of the
// batches sealed in the store, and that its claim names that batch.
func (h *harness) checkOnce(ids []string) map[string]string {
	h.t.Helper()
	in := map[string]string{}
	for bid, err := range h.st.Batches(h.t.Context()) {
		if err != nil {
			h.t.Fatal(err)
		}
		s, err := h.st.Sealed(h.t.Context(), bid)
		if err != nil {
			h.t.Fatalf("batch %s is indexed but not sealed: %v", bid, err)
		}
		for _, m := range s.Envelopes {
			if other, dup := in[m.EnvelopeID]; dup {
				h.t.Errorf("envelope %s is in batches %s and %s", m.EnvelopeID, other, bid)
			}
			in[m.EnvelopeID] = bid
		}
	}
	for _, id := range ids {
		c, err := h.st.Claim(h.t.Context(), id)
		switch {
		case in[id] == "":
			h.t.Errorf("envelope %s is in no batch", id)
		case err != nil:
			h.t.Errorf("envelope %s: %v", id, err)
		case c.BatchID != in[id]:
			h.t.Errorf("envelope %s is in batch %s but its claim names %s", id, in[id], c.BatchID)
		}
	}
	return in
}

func TestCutOffMakesABatch(t *testing.T) {
	h := newHarness(t)
	ids := batchtest.CommitN(t, h.store, "E", 3, before)
	late := batchtest.Commit(t, h.store, "L-late", cutOff.Add(time.Minute)) // rendered after the cut-off
	b := h.batcher()

	res := h.cutOff(b)
	if len(res.Batches) != 1 || res.AlreadyDone {
		t.Fatalf("result %+v, want one batch", res)
	}
	s := res.Batches[0]
	if s.BatchID != cutOffID+"-001" || !s.CutOff.Equal(cutOff) || s.Supplier != "northprint" {
		t.Errorf("batch %s, cut-off %s, supplier %q", s.BatchID, s.CutOff, s.Supplier)
	}
	if got := members(s); !slices.Equal(got, ids) {
		t.Errorf("members %v, want %v in id order", got, ids)
	}
	if s.Pages != 12 || s.Sheets != 9 {
		t.Errorf("pages %d, sheets %d; want 12 and 9", s.Pages, s.Sheets)
	}
	var kinds []string
	for _, f := range s.Files {
		kinds = append(kinds, f.Kind)
		info, err := h.store.Stat(t.Context(), f.Key)
		if err != nil || info.SHA256 != f.SHA256 || info.Size != f.Size {
			t.Errorf("file %s: stored %+v, %v; sealed says %s %d", f.Key, info, err, f.SHA256, f.Size)
		}
		if !strings.HasPrefix(f.Key, ledger.AttemptPrefix(s.BatchID, s.Attempt)) {
			t.Errorf("file %s is outside its attempt", f.Key)
		}
	}
	if !slices.Equal(kinds, []string{ledger.FilePrint, ledger.FileManifestJSON, ledger.FileManifestCSV}) {
		t.Errorf("file kinds %v", kinds)
	}
	stored, err := h.st.Sealed(t.Context(), s.BatchID)
	if err != nil || !slices.Equal(members(stored), ids) {
		t.Errorf("stored seal %+v, %v", stored, err)
	}
	if got := h.ready(); !slices.Equal(got, []string{late.EnvelopeID}) {
		t.Errorf("ready index %v, want only the late envelope", got)
	}
	if got := h.ev.Of(events.TypeBatched); !slices.Equal(got, sorted(ids)) && len(got) != 3 {
		t.Errorf("batched events for %v", got)
	}
	for _, id := range ids {
		f, err := h.st.Fate(t.Context(), id)
		if err != nil || f.State != ledger.InBatch || f.BatchID != s.BatchID || f.Sequence == 0 {
			t.Errorf("fate of %s: %+v, %v", id, f, err)
		}
	}
	if f, _ := h.st.Fate(t.Context(), late.EnvelopeID); f.State != ledger.NotBatched {
		t.Errorf("late envelope's fate %v", f.State)
	}
	for _, f := range s.Files {
		if f.Kind != ledger.FilePrint {
			batchtest.CheckNoPersonalData(t, f.Name, string(batchtest.ReadAll(t, h.store, f.Key)))
		}
	}
	batchtest.CheckNoPersonalData(t, "the seal", string(batchtest.ReadAll(t, h.store, ledger.SealKey(s.BatchID))))

	// The cut-off is done: running it again changes nothing.
	again := h.cutOff(b)
	if !again.AlreadyDone || len(again.Batches) != 0 || h.asm.Calls() != 1 {
		t.Errorf("second run %+v after %d assemblies", again, h.asm.Calls())
	}
	h.checkOnce(ids)

	// The next cut-off takes the late envelope.
	next, _ := h.sched.Next(cutOff)
	res2, err := b.CutOff(t.Context(), next)
	if err != nil || len(res2.Batches) != 1 || !slices.Equal(members(res2.Batches[0]), []string{late.EnvelopeID}) {
		t.Errorf("next cut-off: %+v, %v", res2, err)
	}
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func TestEmptyCutOff(t *testing.T) {
	h := newHarness(t)
	res := h.cutOff(h.batcher())
	if len(res.Batches) != 0 || h.asm.Calls() != 0 {
		t.Errorf("an empty cut-off made %+v", res)
	}
	if n := 0; true {
		for range h.st.Batches(t.Context()) {
			n++
		}
		if n != 0 {
			t.Errorf("%d batches indexed", n)
		}
	}
}

func TestSizeCapSplitsTheCutOff(t *testing.T) {
	h := newHarness(t)
	ids := batchtest.CommitN(t, h.store, "E", 5, before)
	res := h.cutOff(h.batcher(func(c *batch.Config) { c.MaxEnvelopes = 2 }))
	var got [][]string
	for i, s := range res.Batches {
		if want := fmt.Sprintf("%s-%03d", cutOffID, i+1); s.BatchID != want {
			t.Errorf("batch %d is %s, want %s", i, s.BatchID, want)
		}
		got = append(got, members(s))
	}
	want := [][]string{ids[:2], ids[2:4], ids[4:]}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("batches %v, want %v", got, want)
	}
	h.checkOnce(ids)
}

// TestCancelBeforeCutOffWins: an envelope cancelled before the cut-off is
// claimed, found cancelled, and left out; the cancellation stands.
func TestCancelBeforeCutOffWins(t *testing.T) {
	h := newHarness(t)
	ids := batchtest.CommitN(t, h.store, "E", 3, before)
	h.cancel(ids[1])
	res := h.cutOff(h.batcher())
	s := res.Batches[0]
	if got := members(s); !slices.Equal(got, []string{ids[0], ids[2]}) {
		t.Errorf("members %v", got)
	}
	if len(s.Left) != 1 || s.Left[0] != (ledger.Left{EnvelopeID: ids[1], Code: ledger.LeftCancelled}) {
		t.Errorf("left out %+v", s.Left)
	}
	if slices.Contains(h.ev.Of(events.TypeBatched), ids[1]) {
		t.Error("the cancelled envelope was announced as batched")
	}
	if len(h.ready()) != 0 {
		t.Errorf("ready index still holds %v", h.ready())
	}
	refused, err := h.st.CheckCancel(t.Context(), ids[1], h.clock.Now())
	if err != nil || refused != nil {
		t.Errorf("CheckCancel = %+v, %v; the cancellation should stand", refused, err)
	}
	f, _ := h.st.Fate(t.Context(), ids[1])
	if f.State != ledger.LeftOut || f.LeftCode != ledger.LeftCancelled {
		t.Errorf("fate %+v", f)
	}
}

// TestCancelAfterSealIsRefused: once the batch is sealed the cancellation
// is refused, saying where the envelope is and when it was handed over.
func TestCancelAfterSealIsRefused(t *testing.T) {
	h := newHarness(t)
	ids := batchtest.CommitN(t, h.store, "E", 2, before)
	b := h.batcher()
	s := h.cutOff(b).Batches[0]

	h.clock.Advance(time.Minute)
	h.cancel(ids[0])
	refused, err := h.st.CheckCancel(t.Context(), ids[0], h.clock.Now())
	if err != nil || refused == nil {
		t.Fatalf("CheckCancel = %v, %v; want a refusal", refused, err)
	}
	if refused.Type != events.TypeCancelRefused || refused.BatchID != s.BatchID || refused.Sequence != 1 ||
		!strings.Contains(refused.Reason.Detail, "waiting to be handed to the supplier") {
		t.Errorf("refusal before hand-over: %+v %+v", refused, refused.Reason)
	}

	h.clock.Advance(time.Minute)
	handedAt := h.clock.Now()
	if n, err := b.HandOffPending(t.Context()); err != nil || n != 0 {
		t.Fatalf("HandOffPending = %d, %v", n, err)
	}
	refused, _ = h.st.CheckCancel(t.Context(), ids[0], h.clock.Now())
	want := fmt.Sprintf("too late: in batch %s, handed to the supplier at %s", s.BatchID, handedAt.UTC().Format(time.RFC3339))
	if refused == nil || refused.Reason.Detail != want {
		t.Errorf("refusal after hand-over: %+v, want %q", refused, want)
	}
}

// hookStore runs a function after a chosen Create succeeds, to stage a
// race at exactly that point.
type hookStore struct {
	storage.Store
	mu    sync.Mutex
	after map[string]func()
}

func (s *hookStore) on(key string, f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.after == nil {
		s.after = map[string]func(){}
	}
	s.after[key] = f
}

func (s *hookStore) Create(ctx context.Context, key string, data []byte) (storage.Info, error) {
	info, err := s.Store.Create(ctx, key, data)
	s.mu.Lock()
	f := s.after[key]
	delete(s.after, key)
	s.mu.Unlock()
	if err == nil && f != nil {
		f()
	}
	return info, err
}

// TestCancelRacingTheClaim stages both orders of the race between a cancel
// and the batcher's claim, at the exact points where they interleave.
func TestCancelRacingTheClaim(t *testing.T) {
	fs, err := fsstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	hs := &hookStore{Store: fs}
	h := newHarnessOn(t, hs)
	ids := batchtest.CommitN(t, h.store, "E", 3, before)
	ret := &fakeRetention{}

	// Order 1: the cancel's marker lands just after the claim, before the
	// batcher's check: the batcher sees it and leaves the envelope out,
	// and the cancel handler, finding a claim, must wait for the seal.
	var during *events.PrintEvent
	var duringErr error
	hs.on(ledger.ClaimKey(ids[0]), func() {
		h.cancel(ids[0])
		during, duringErr = h.st.CheckCancel(context.Background(), ids[0], h.clock.Now())
	})

	// Order 2: the marker lands after the batcher's check (here: while
	// the print files are assembled): the envelope is printed, and the
	// cancel, told to wait until the seal, is then refused.
	h.asm.Block = make(chan struct{})
	b := h.batcher(func(c *batch.Config) { c.Retention = ret })
	done := make(chan batch.Result)
	go func() {
		res, err := b.CutOff(context.Background(), cutOff)
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	h.asm.Block <- struct{}{} // the assembler is on its first envelope: every check is done
	h.cancel(ids[1])
	if _, err := h.st.CheckCancel(t.Context(), ids[1], h.clock.Now()); !errors.Is(err, ledger.ErrSealing) {
		t.Errorf("cancel while sealing: %v, want ErrSealing", err)
	}
	h.asm.Block <- struct{}{}
	res := <-done

	if during != nil || !errors.Is(duringErr, ledger.ErrSealing) {
		t.Errorf("cancel between claim and check: %v, %v; want ErrSealing", during, duringErr)
	}
	s := res.Batches[0]
	if got := members(s); !slices.Equal(got, ids[1:]) {
		t.Errorf("members %v, want %v", got, ids[1:])
	}
	if r, err := h.st.CheckCancel(t.Context(), ids[0], h.clock.Now()); r != nil || err != nil {
		t.Errorf("after the seal, the first cancel: %v, %v; want it to stand", r, err)
	}
	if r, err := h.st.CheckCancel(t.Context(), ids[1], h.clock.Now()); r == nil || err != nil || r.Sequence != 1 {
		t.Errorf("after the seal, the second cancel: %+v, %v; want refused, envelope 1", r, err)
	}
	// The envelope cancelled while its batch was being sealed, and left
	// out, is scheduled for deletion; the one printed is not (its posting
	// will schedule it).
	if got := ret.scheduled(); len(got) != 1 || !got[ids[0]].Equal(h.clock.Now()) {
		t.Errorf("scheduled %v, want only %s, from its cancellation", got, ids[0])
	}
}

// TestTwoBatchersRacing: two batchers at one cut-off. One builds, the
// other is told the cut-off is busy, then finds it done.
func TestTwoBatchersRacing(t *testing.T) {
	h := newHarness(t)
	ids := batchtest.CommitN(t, h.store, "E", 20, before)
	a := h.batcher(func(c *batch.Config) { c.MaxEnvelopes = 7 })
	b := h.batcher(func(c *batch.Config) { c.MaxEnvelopes = 7; c.Owner = "batcher-b" })
	var wg sync.WaitGroup
	results := make([]error, 2)
	for i, x := range []*batch.Batcher{a, b} {
		wg.Go(func() { _, results[i] = x.CutOff(t.Context(), cutOff) })
	}
	wg.Wait()
	busy := 0
	for _, err := range results {
		switch {
		case errors.Is(err, batch.ErrBusy):
			busy++
		case err != nil:
			t.Fatal(err)
		}
	}
	in := h.checkOnce(ids)
	if n := len(slices.Compact(sorted(mapValues(in)))); n != 3 {
		t.Errorf("%d batches, want 3", n)
	}
	if busy == 1 {
		if res, err := b.CutOff(t.Context(), cutOff); err == nil && !res.AlreadyDone {
			t.Errorf("after the race, the cut-off is not done: %+v", res)
		}
	}
	if n := len(h.ev.Of(events.TypeBatched)); n != 20 {
		t.Errorf("%d batched events, want 20", n)
	}
}

func mapValues(m map[string]string) []string {
	var v []string
	for _, x := range m {
		v = append(v, x)
	}
	return v
}

// TestTakeOverAZombie: batcher A stalls half way through a batch without
// heart-beating (a pause, a partition); B takes the cut-off over and
// builds the same batch; then A wakes and finishes too. Each envelope
// ends in exactly one sealed batch, and the losing attempt's files are
// removed.
func TestTakeOverAZombie(t *testing.T) {
	h := newHarness(t)
	ids := batchtest.CommitN(t, h.store, "E", 4, before)
	blockA := &batchtest.Assembler{Store: h.store, Block: make(chan struct{})}
	clockA := memqueue.NewManualClock(h.clock.Now()) // A's timers never fire: it sends no heartbeat
	a := h.batcher(func(c *batch.Config) { c.Assembler = blockA; c.Clock = clockA })
	b := h.batcher(func(c *batch.Config) { c.Owner = "batcher-b" })

	doneA := make(chan error)
	go func() { _, err := a.CutOff(context.Background(), cutOff); doneA <- err }()
	blockA.Block <- struct{}{} // A has planned, claimed and checked, and is assembling

	if _, err := b.CutOff(t.Context(), cutOff); !errors.Is(err, batch.ErrBusy) {
		t.Fatalf("B while A is fresh: %v, want ErrBusy", err)
	}
	h.clock.Advance(2 * time.Minute) // A has been quiet for longer than StaleAfter
	resB, err := b.CutOff(t.Context(), cutOff)
	if err != nil {
		t.Fatalf("B taking over: %v", err)
	}
	for range len(ids) - 1 {
		blockA.Block <- struct{}{}
	}
	if err := <-doneA; err != nil {
		t.Fatalf("A: %v", err)
	}
	in := h.checkOnce(ids)
	sealed, _ := h.st.Sealed(t.Context(), cutOffID+"-001")
	if len(resB.Batches) != 1 || resB.Batches[0].Attempt != sealed.Attempt || len(in) != 4 {
		t.Errorf("B sealed %+v; stored seal attempt %s", resB.Batches, sealed.Attempt)
	}
	// Only the sealed attempt's files remain.
	for info, err := range h.store.List(t.Context(), ledger.BatchesPrefix+sealed.BatchID+"/attempts/") {
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(info.Key, ledger.AttemptPrefix(sealed.BatchID, sealed.Attempt)) {
			t.Errorf("a losing attempt's file remains: %s", info.Key)
		}
	}
}

// TestResumeAfterAFailedAssembly: the batcher stops after claiming (the
// assembler fails); the next run finishes the same batch, with the same
// envelopes, even if more have been rendered since.
func TestResumeAfterAFailedAssembly(t *testing.T) {
	h := newHarness(t)
	ids := batchtest.CommitN(t, h.store, "E", 3, before)
	h.asm.FailWith(errors.New("disk full"))
	b := h.batcher()
	if _, err := b.CutOff(t.Context(), cutOff); err == nil {
		t.Fatal("no error from a failed assembly")
	}
	if f, _ := h.st.Fate(t.Context(), ids[0]); f.State != ledger.Sealing {
		t.Errorf("after the failure, fate %v; want being sealed", f.State)
	}
	batchtest.Commit(t, h.store, "E-0000", before) // rendered before the cut-off, stored after the failure
	h.asm.FailWith(nil)
	res := h.cutOff(b)
	if len(res.Batches) != 2 || !slices.Equal(members(res.Batches[0]), ids) || !slices.Equal(members(res.Batches[1]), []string{"E-0000"}) {
		t.Errorf("resumed batches: %+v", res.Batches)
	}
	h.checkOnce(append(ids, "E-0000"))
}

// TestResumeAnEarlierCutOff: a batch of an earlier cut-off left half
// built is finished by the next cut-off's run, before its own batches.
func TestResumeAnEarlierCutOff(t *testing.T) {
	h := newHarness(t)
	ids := batchtest.CommitN(t, h.store, "E", 2, before)
	h.asm.FailWith(errors.New("disk full"))
	b := h.batcher()
	if _, err := b.CutOff(t.Context(), cutOff); err == nil {
		t.Fatal("no error from a failed assembly")
	}
	h.asm.FailWith(nil)
	next, _ := h.sched.Next(cutOff)
	more := batchtest.CommitN(t, h.store, "F", 2, next.Add(-time.Hour))
	res, err := b.CutOff(t.Context(), next)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Resumed) != 1 || res.Resumed[0].BatchID != cutOffID+"-001" || !slices.Equal(members(res.Resumed[0]), ids) {
		t.Errorf("resumed %+v", res.Resumed)
	}
	if len(res.Batches) != 1 || !slices.Equal(members(res.Batches[0]), more) {
		t.Errorf("batches %+v", res.Batches)
	}
	h.checkOnce(append(ids, more...))
}

// TestEventsNotConfirmed: a batched event not confirmed fails the run
// after the seal; the next run announces what was not announced and
// changes nothing else.
func TestEventsNotConfirmed(t *testing.T) {
	h := newHarness(t)
	ids := batchtest.CommitN(t, h.store, "E", 3, before)
	h.ev.FailNext(events.TypeBatched, 1)
	b := h.batcher(func(c *batch.Config) { c.Parallelism = 1 })
	if _, err := b.CutOff(t.Context(), cutOff); err == nil {
		t.Fatal("no error when an event was not confirmed")
	}
	res := h.cutOff(b)
	if len(res.Batches) != 1 || h.asm.Calls() != 1 {
		t.Errorf("second run %+v after %d assemblies", res, h.asm.Calls())
	}
	if got := sorted(h.ev.Of(events.TypeBatched)); !slices.Equal(slices.Compact(got), ids) {
		t.Errorf("batched events for %v, want each of %v", got, ids)
	}
	if len(h.ready()) != 0 {
		t.Errorf("ready index %v", h.ready())
	}
}

// TestFirstClassIsNumberedFirst: each print file holds one postage
// class, first class first, so the batch numbers its first-class
// envelopes first, each class in plan (id) order, and hands them to the
// assembler in that order; the seal agrees.
func TestFirstClassIsNumberedFirst(t *testing.T) {
	h := newHarness(t)
	classes := map[string]string{"E-0001": "second", "E-0002": "first", "E-0003": "second", "E-0004": "first", "E-0005": ""}
	for id, class := range classes {
		batchtest.CommitPostage(t, h.store, id, before, class)
	}
	s := h.cutOff(h.batcher()).Batches[0]
	want := []string{"E-0002", "E-0004", "E-0001", "E-0003", "E-0005"}
	if got := members(s); !slices.Equal(got, want) {
		t.Errorf("members %v, want %v", got, want)
	}
	var key string
	for _, f := range s.Files {
		if f.Kind == ledger.FileManifestJSON {
			key = f.Key
		}
	}
	var m struct {
		Envelopes []struct {
			Sequence   int    `json:"sequence"`
			EnvelopeID string `json:"envelopeId"`
		} `json:"envelopes"`
	}
	if err := json.Unmarshal(batchtest.ReadAll(t, h.store, key), &m); err != nil {
		t.Fatal(err)
	}
	for i, e := range m.Envelopes {
		if e.Sequence != i+1 || e.EnvelopeID != want[i] {
			t.Errorf("the assembler had envelope %d as %s, want %s", e.Sequence, e.EnvelopeID, want[i])
		}
	}
	if len(m.Envelopes) != len(want) {
		t.Errorf("the assembler had %d envelopes, want %d", len(m.Envelopes), len(want))
	}
}

func TestRefusedAndDamagedEnvelopesAreLeftOut(t *testing.T) {
	h := newHarness(t)
	ids := batchtest.CommitN(t, h.store, "E", 4, before)
	h.asm.Refuse(ids[1])
	rec, err := h.envs.Record(t.Context(), ids[2])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.Put(t.Context(), rec.Documents[0].Key, []byte("%PDF-1.7 not the letter that was rendered\n")); err != nil {
		t.Fatal(err)
	}
	s := h.cutOff(h.batcher()).Batches[0]
	if got := members(s); !slices.Equal(got, []string{ids[0], ids[3]}) {
		t.Errorf("members %v", got)
	}
	want := []ledger.Left{{EnvelopeID: ids[1], Code: ledger.LeftRefused}, {EnvelopeID: ids[2], Code: ledger.LeftDamaged}}
	if !slices.Equal(s.Left, want) {
		t.Errorf("left out %+v, want %+v", s.Left, want)
	}
	if !strings.Contains(h.logs.String(), "cannot be printed as recorded") {
		t.Error("a refused envelope was not logged as an error")
	}
}

func TestHandOff(t *testing.T) {
	h := newHarness(t)
	batchtest.CommitN(t, h.store, "E", 2, before)
	b := h.batcher()
	s := h.cutOff(b).Batches[0]

	h.sup.FailNext(errors.New("supplier unreachable"))
	if n, err := b.HandOffPending(t.Context()); err == nil || n != 1 {
		t.Fatalf("HandOffPending with a failing supplier = %d, %v", n, err)
	}
	if _, err := h.st.Handover(t.Context(), s.BatchID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a failed hand-off was recorded as done: %v", err)
	}
	if n, err := b.HandOffPending(t.Context()); err != nil || n != 0 {
		t.Fatalf("HandOffPending = %d, %v", n, err)
	}
	ho, err := h.st.Handover(t.Context(), s.BatchID)
	if err != nil || ho.Supplier != "northprint" || ho.Adapter != "stand-in" || !ho.At.Equal(h.clock.Now()) {
		t.Errorf("hand-over record %+v, %v", ho, err)
	}
	if got := h.ev.Of(events.TypeHandedOver); len(got) != 2 {
		t.Errorf("handed-over events for %v", got)
	}
	if n, err := b.HandOffPending(t.Context()); err != nil || n != 0 || len(h.sup.Sent()) != 1 {
		t.Errorf("a second pass sent again: %d, %v, sent %v", n, err, h.sup.Sent())
	}

	// A re-send sends the same batch again without announcing it again.
	if err := b.Resend(t.Context(), s.BatchID); err != nil {
		t.Fatal(err)
	}
	if got := h.sup.Sent(); !slices.Equal(got, []string{s.BatchID, s.BatchID}) {
		t.Errorf("sent %v", got)
	}
	if got := h.ev.Of(events.TypeHandedOver); len(got) != 2 {
		t.Errorf("a re-send announced again: %v", got)
	}
	if again, _ := h.st.Handover(t.Context(), s.BatchID); !again.At.Equal(ho.At) {
		t.Errorf("the re-send replaced the first hand-over time")
	}
}

func TestHandOffThatCannotBeRetried(t *testing.T) {
	h := newHarness(t)
	batchtest.CommitN(t, h.store, "E", 1, before)
	b := h.batcher()
	s := h.cutOff(b).Batches[0]
	h.sup.FailNext(fmt.Errorf("folder is not writable: %w", supplier.ErrNotRetryable))
	if _, err := b.HandOffPending(t.Context()); !errors.Is(err, supplier.ErrNotRetryable) {
		t.Fatalf("HandOffPending = %v, want ErrNotRetryable", err)
	}
	f, err := h.st.HandOffFailure(t.Context(), s.BatchID)
	if err != nil || !strings.Contains(f.Error, "folder is not writable") {
		t.Errorf("failure record %+v, %v", f, err)
	}
	// Left for an operator: later passes do not try again.
	if n, err := b.HandOffPending(t.Context()); err != nil || n != 0 || len(h.sup.Sent()) != 0 {
		t.Errorf("a later pass: %d, %v, sent %v", n, err, h.sup.Sent())
	}
	if err := b.Resend(t.Context(), s.BatchID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.HandOffFailure(t.Context(), s.BatchID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the failure record outlived the re-send: %v", err)
	}
	if got := h.ev.Of(events.TypeHandedOver); len(got) != 1 {
		t.Errorf("handed-over events %v", got)
	}
}

// sleepClock reports each wait longer than a heartbeat: the batcher
// going to sleep until its next cut-off or poll.
type sleepClock struct {
	*memqueue.ManualClock
	heartbeat time.Duration
	sleeps    chan time.Duration
}

func (c sleepClock) AfterFunc(d time.Duration, f func()) {
	c.ManualClock.AfterFunc(d, f)
	if d != c.heartbeat {
		c.sleeps <- d
	}
}

// TestRunAtTheCutOff runs the batcher on a manual clock from just before a
// cut-off: nothing happens until the clock reaches it, then the batch is
// made and handed over.
func TestRunAtTheCutOff(t *testing.T) {
	h := newHarness(t)
	clock := sleepClock{memqueue.NewManualClock(time.Date(2026, 3, 3, 17, 0, 0, 0, time.UTC)), // Tuesday, 30 minutes before
		h.config.HeartbeatInterval, make(chan time.Duration, 10)}
	ids := batchtest.CommitN(t, h.store, "E", 2, time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC))
	h.ev.Notify = make(chan batchtest.Event)
	b := h.batcher(func(c *batch.Config) { c.Clock = clock })
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error)
	// Monday's cut-off has passed, and is made first (the batcher was not
	// running then): it is empty. Then the batcher sleeps until Tuesday's.
	go func() { done <- b.Run(ctx) }()
	if d := <-clock.sleeps; d != 30*time.Minute {
		t.Errorf("the batcher sleeps for %v, want 30m", d)
	}
	if len(h.sup.Sent()) != 0 || len(h.ready()) != 2 {
		t.Fatalf("before the cut-off: sent %v, ready %v", h.sup.Sent(), h.ready())
	}
	if res, _ := b.CutOff(t.Context(), time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC)); !res.AlreadyDone {
		t.Error("Monday's cut-off was not made at start")
	}

	clock.Advance(30 * time.Minute)
	var got []string
	for len(got) < 4 {
		e := <-h.ev.Notify
		got = append(got, e.Kind)
	}
	if d := <-clock.sleeps; d != 24*time.Hour {
		t.Errorf("after the cut-off the batcher sleeps for %v, want until Wednesday's (24h)", d)
	}
	stop()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	want := []string{events.TypeBatched, events.TypeBatched, events.TypeHandedOver, events.TypeHandedOver}
	if !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	if sent := h.sup.Sent(); !slices.Equal(sent, []string{"20260303T173000Z-001"}) {
		t.Errorf("sent %v", sent)
	}
	h.checkOnce(ids)
}

func TestConfigErrors(t *testing.T) {
	_, err := batch.New(batch.Config{MaxEnvelopes: -1, HeartbeatInterval: time.Minute, StaleAfter: 2 * time.Minute, PollInterval: -time.Second})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"Store is required", "Schedule is required", "Assembler is required", "Supplier is required",
		"Events is required", "MaxEnvelopes cannot be negative", "PollInterval cannot be negative",
		"StaleAfter (2m0s) cannot be shorter than three HeartbeatIntervals (3m0s)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestRecordsAreStrict(t *testing.T) {
	h := newHarness(t)
	batchtest.CommitN(t, h.store, "E", 1, before)
	s := h.cutOff(h.batcher()).Batches[0]
	data := batchtest.ReadAll(t, h.store, ledger.SealKey(s.BatchID))
	var m map[string]any
	_ = json.Unmarshal(data, &m)
	m["fromTheFuture"] = true
	data, _ = json.Marshal(m)
	if _, err := h.store.Put(t.Context(), ledger.SealKey(s.BatchID), data); err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.Sealed(t.Context(), s.BatchID); err == nil {
		t.Error("a seal with an unknown field was read")
	}
}

// fakeRetention records what the batcher schedules: batches by hand-over
// time, envelopes by cancellation time. fail, when above 0, fails that
// many Cancelled calls first.
type fakeRetention struct {
	mu        sync.Mutex
	got       map[string]time.Time
	cancelled map[string]time.Time
	calls     int
	fail      int
}

func (r *fakeRetention) HandedOver(ctx context.Context, id string, at time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.got == nil {
		r.got = map[string]time.Time{}
	}
	r.got[id] = at
	return nil
}

func (r *fakeRetention) Cancelled(ctx context.Context, id string, at time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail > 0 {
		r.fail--
		return errors.New("retention: store down")
	}
	if r.cancelled == nil {
		r.cancelled = map[string]time.Time{}
	}
	r.cancelled[id] = at
	return nil
}

func (r *fakeRetention) scheduled() map[string]time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]time.Time{}
	for k, v := range r.cancelled {
		out[k] = v
	}
	return out
}

// TestLeftOutCancelledIsScheduled: an envelope a batch leaves out as
// cancelled is never posted, so the batcher schedules its personal data
// from its cancellation's time, before taking it out of the ready index;
// if that fails, the cut-off fails and the next run finishes it.
func TestLeftOutCancelledIsScheduled(t *testing.T) {
	h := newHarness(t)
	ids := batchtest.CommitN(t, h.store, "E", 3, before)
	cancelledAt := h.clock.Now()
	h.cancel(ids[1])
	h.clock.Advance(time.Minute)
	ret := &fakeRetention{fail: 1}
	b := h.batcher(func(c *batch.Config) { c.Retention = ret })
	if _, err := b.CutOff(t.Context(), cutOff); err == nil {
		t.Fatal("the cut-off succeeded although the deletion could not be scheduled")
	}
	if !slices.Contains(h.ready(), ids[1]) {
		t.Fatal("the cancelled envelope left the ready index unscheduled: nothing would find it again")
	}
	res := h.cutOff(b)
	if len(res.Batches) != 1 || len(res.Batches[0].Left) != 1 {
		t.Fatalf("second run: %+v", res)
	}
	if got := ret.scheduled(); len(got) != 1 || !got[ids[1]].Equal(cancelledAt) {
		t.Errorf("scheduled %v, want %s from its cancellation at %v", got, ids[1], cancelledAt)
	}
	if len(h.ready()) != 0 {
		t.Errorf("ready index still holds %v", h.ready())
	}
	// Done: a later cut-off does not schedule it again.
	calls := ret.calls
	next, _ := h.sched.Next(cutOff)
	if _, err := b.CutOff(t.Context(), next); err != nil {
		t.Fatal(err)
	}
	if ret.calls != calls {
		t.Errorf("%d more calls after the envelope was done", ret.calls-calls)
	}
}

// TestHandOffSchedulesRetention: the print files of a handed-over batch
// are scheduled for deletion, from the hand-over time.
func TestHandOffSchedulesRetention(t *testing.T) {
	h := newHarness(t)
	batchtest.CommitN(t, h.store, "E", 1, before)
	ret := &fakeRetention{}
	b := h.batcher(func(c *batch.Config) { c.Retention = ret })
	s := h.cutOff(b).Batches[0]
	if _, err := b.HandOffPending(t.Context()); err != nil {
		t.Fatal(err)
	}
	if at, ok := ret.got[s.BatchID]; !ok || !at.Equal(h.clock.Now()) {
		t.Errorf("retention told %v", ret.got)
	}
}

// TestEnvelopesStoredBeforeBundlesAreBatched: an envelope whose files are
// objects of their own (render record schema version 1) is batched beside
// one stored as a bundle: its request read back, its documents verified,
// and a damaged one left out.
func TestEnvelopesStoredBeforeBundlesAreBatched(t *testing.T) {
	h := newHarness(t)
	old := batchtest.CommitFilesOfTheirOwn(t, h.store, "E-0001", before)
	damaged := batchtest.CommitFilesOfTheirOwn(t, h.store, "E-0002", before)
	bundled := batchtest.Commit(t, h.store, "E-0003", before)
	if old.Bundle != nil || len(old.Files()) != 4 || bundled.Bundle == nil {
		t.Fatalf("layouts: %+v and %+v", old, bundled)
	}
	if _, err := h.store.Put(t.Context(), damaged.Documents[2].Key, []byte("%PDF-1.7 not the certificate that was rendered\n")); err != nil {
		t.Fatal(err)
	}
	s := h.cutOff(h.batcher()).Batches[0]
	if got := members(s); !slices.Equal(got, []string{old.EnvelopeID, bundled.EnvelopeID}) {
		t.Errorf("members %v", got)
	}
	if want := []ledger.Left{{EnvelopeID: damaged.EnvelopeID, Code: ledger.LeftDamaged}}; !slices.Equal(s.Left, want) {
		t.Errorf("left out %+v, want %+v", s.Left, want)
	}
	// The stand-in assembler copies each member's documents into the print
	// file, read back through the record.
	print := string(batchtest.ReadAll(t, h.store, s.Files[0].Key))
	for _, want := range []string{"certificate 2 for " + old.EnvelopeID, "certificate 2 for " + bundled.EnvelopeID} {
		if !strings.Contains(print, want) {
			t.Errorf("the print file lacks %q", want)
		}
	}
}
