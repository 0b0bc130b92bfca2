package batch_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quire-print/quire/pipeline/batch"
	"github.com/quire-print/quire/pipeline/batch/batchtest"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/batch/printfile"
	"github.com/quire-print/quire/pipeline/batch/reprint"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/storage"
)

// day returns the cut-off n working days after Monday's (no bank holidays
// in that week of March 2026).
func day(n int) time.Time { return cutOff.AddDate(0, 0, n) }

func (h *harness) reprinter(max int) *reprint.Reprinter {
	h.t.Helper()
	r, err := reprint.New(reprint.Config{Store: h.store, Events: h.ev, MaxAutomatic: max, Clock: h.clock, Logger: h.config.Logger})
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

// cutOffAt advances the clock past cut-off c and makes its batches.
func (h *harness) cutOffAt(b *batch.Batcher, c time.Time) batch.Result {
	h.t.Helper()
	if d := c.Add(time.Second).Sub(h.clock.Now()); d > 0 {
		h.clock.Advance(d)
	}
	res, err := b.CutOff(h.t.Context(), c)
	if err != nil {
		h.t.Fatal(err)
	}
	return res
}

// manifest reads a sealed batch's manifest.
func (h *harness) manifest(s *ledger.Sealed) *printfile.Manifest {
	h.t.Helper()
	f, ok := s.File(ledger.ManifestJSON)
	if !ok {
		h.t.Fatalf("batch %s has no manifest", s.BatchID)
	}
	var m printfile.Manifest
	if err := json.Unmarshal(batchtest.ReadAll(h.t, h.store, f.Key), &m); err != nil {
		h.t.Fatal(err)
	}
	return &m
}

func printEventsOf(t *testing.T, ev *batchtest.Events, typ string) []events.PrintEvent {
	t.Helper()
	var out []events.PrintEvent
	for _, e := range ev.All() {
		if e.Kind != typ {
			continue
		}
		var p events.PrintEvent
		if err := json.Unmarshal(e.Body, &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// TestSpoiledIsReprintedAtTheNextCutOff follows one envelope the supplier
// spoils three times: reprinted once per report, in the next cut-off's
// batch, marked as a reprint, up to the limit; then held for an operator,
// whose reprint goes through.
func TestSpoiledIsReprintedAtTheNextCutOff(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	ids := batchtest.CommitN(t, h.store, "E", 3, before)
	b := h.batcher()
	rp := h.reprinter(2)
	first := h.cutOffAt(b, day(0)).Batches[0]
	if _, err := b.HandOffPending(ctx); err != nil {
		t.Fatal(err)
	}

	// Reported spoiled, twice: one reprint.
	for range 2 {
		if err := rp.Spoiled(ctx, first, ids[1]); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := h.st.Reprints(ctx, ids[1])
	if err != nil || len(rs) != 1 {
		t.Fatalf("reprints %+v, %v; want one", rs, err)
	}
	if r := rs[0]; r.Run != 1 || r.Source != ledger.SourceSupplier || r.Reason != ledger.ReasonSpoiled || r.BatchID != first.BatchID || r.Sequence != 2 {
		t.Errorf("reprint request %+v", r)
	}
	if f, err := h.st.Fate(ctx, ids[1]); err != nil || f.State != ledger.NotBatched || f.Run != 1 {
		t.Errorf("fate before the next cut-off: %+v, %v", f, err)
	}
	if f, err := h.st.Fate(ctx, ids[0]); err != nil || f.State != ledger.InBatch || f.Run != 0 || f.BatchID != first.BatchID {
		t.Errorf("an envelope never reprinted: fate %+v, %v", f, err)
	}
	req := printEventsOf(t, h.ev, events.TypeReprintRequested)
	if len(req) == 0 || req[0].Reprint != 1 || req[0].BatchID != first.BatchID || req[0].Reason == nil || req[0].Reason.Code != "spoiled" {
		t.Errorf("reprint-requested events %+v", req)
	}

	// The next cut-off prints it again, once, with a new envelope.
	late := batchtest.CommitN(t, h.store, "F", 1, day(0).Add(time.Hour))
	second := h.cutOffAt(b, day(1)).Batches[0]
	if got, want := members(second), []string{ids[1], late[0]}; !slices.Equal(got, want) {
		t.Fatalf("the next batch holds %v, want the reprint first, then the new envelope: %v", got, want)
	}
	if second.Envelopes[0].Run != 1 || second.Envelopes[1].Run != 0 {
		t.Errorf("members %+v: the reprint is run 1, the new envelope run 0", second.Envelopes)
	}
	m := h.manifest(second)
	if e := m.Envelopes[0]; e.Reprint != 1 || e.ReprintOf != first.BatchID {
		t.Errorf("manifest entry %+v: want reprint 1 of %s", e, first.BatchID)
	}
	if e := m.Envelopes[1]; e.Reprint != 0 || e.ReprintOf != "" {
		t.Errorf("a first print is marked as a reprint: %+v", e)
	}
	if c, err := h.st.Claim(ctx, ids[1]); err != nil || c.BatchID != first.BatchID {
		t.Errorf("the first print's claim changed: %+v, %v", c, err)
	}
	if c, err := h.st.RunClaim(ctx, ids[1], 1); err != nil || c.BatchID != second.BatchID || c.Run != 1 {
		t.Errorf("the reprint's claim: %+v, %v", c, err)
	}
	if f, err := h.st.Fate(ctx, ids[1]); err != nil || f.State != ledger.InBatch || f.Run != 1 || f.BatchID != second.BatchID || f.Sequence != 1 {
		t.Errorf("fate after the reprint is batched: %+v, %v", f, err)
	}
	var batched []events.PrintEvent
	for _, e := range printEventsOf(t, h.ev, events.TypeBatched) {
		if e.EnvelopeID == ids[1] {
			batched = append(batched, e)
		}
	}
	if len(batched) != 2 || batched[0].Reprint != 0 || batched[1].Reprint != 1 || batched[1].BatchID != second.BatchID {
		t.Errorf("batched events of %s: %+v", ids[1], batched)
	}
	if _, err := b.HandOffPending(ctx); err != nil {
		t.Fatal(err)
	}
	var handed []int
	for _, e := range printEventsOf(t, h.ev, events.TypeHandedOver) {
		if e.EnvelopeID == ids[1] {
			handed = append(handed, e.Reprint)
		}
	}
	if !slices.Equal(handed, []int{0, 1}) {
		t.Errorf("handed-over events of %s carry runs %v, want 0 then 1", ids[1], handed)
	}
	// A later cut-off does not print it again.
	if res := h.cutOffAt(b, day(2)); len(res.Batches) != 0 {
		t.Errorf("a third cut-off made %d batches: %v", len(res.Batches), members(res.Batches[0]))
	}
	// Nor does a repeated report of the first spoiling.
	if err := rp.Spoiled(ctx, first, ids[1]); err != nil {
		t.Fatal(err)
	}
	if rs, _ := h.st.Reprints(ctx, ids[1]); len(rs) != 1 {
		t.Errorf("a repeated report about the first print made reprint %d", len(rs))
	}

	// Spoiled again: the second automatic reprint. And again: held.
	if err := rp.Spoiled(ctx, second, ids[1]); err != nil {
		t.Fatal(err)
	}
	third := h.cutOffAt(b, day(3)).Batches[0]
	if third.Envelopes[0].EnvelopeID != ids[1] || third.Envelopes[0].Run != 2 || h.manifest(third).Envelopes[0].ReprintOf != second.BatchID {
		t.Fatalf("the fourth cut-off holds %+v", third.Envelopes)
	}
	if err := rp.Spoiled(ctx, third, ids[1]); err != nil {
		t.Fatal(err)
	}
	if rs, _ := h.st.Reprints(ctx, ids[1]); len(rs) != 2 {
		t.Errorf("%d reprints past a limit of 2", len(rs))
	}
	hold, err := h.st.Hold(ctx, ids[1], 3)
	if err != nil || hold.Code != ledger.HoldLimit || hold.BatchID != third.BatchID {
		t.Errorf("hold %+v, %v", hold, err)
	}
	var held []string
	for id, err := range h.st.Held(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, id)
	}
	if !slices.Equal(held, []string{ids[1]}) {
		t.Errorf("held %v", held)
	}
	heldEvents := printEventsOf(t, h.ev, events.TypeReprintHeld)
	if len(heldEvents) != 1 || heldEvents[0].Reprint != 3 || heldEvents[0].Reason.Code != ledger.HoldLimit {
		t.Errorf("reprint-held events %+v", heldEvents)
	}
	if res := h.cutOffAt(b, day(4)); len(res.Batches) != 0 {
		t.Errorf("a held envelope was batched: %v", members(res.Batches[0]))
	}
	checkHeld(t, b, "after the hold", 1, ledger.HoldLimit)

	// An operator decides to print it once more.
	w, err := rp.Operator(ctx, ids[1], ledger.ReasonDamaged)
	if err != nil || w.Run != 3 || w.Source != ledger.SourceOperator || w.BatchID != third.BatchID {
		t.Fatalf("operator reprint %+v, %v", w, err)
	}
	for id := range h.st.Held(ctx) {
		t.Errorf("still held after the operator's reprint: %s", id)
	}
	checkHeld(t, b, "after the operator's reprint", 0, "")
	fourth := h.cutOffAt(b, day(7)).Batches[0] // Monday 9 March
	if got := fourth.Envelopes; len(got) != 1 || got[0].EnvelopeID != ids[1] || got[0].Run != 3 {
		t.Errorf("the operator's reprint: batch holds %+v", got)
	}
	// Each print run of each envelope is in exactly one batch.
	runs := map[string]string{}
	for bid, err := range h.st.Batches(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		s, err := h.st.Sealed(ctx, bid)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range s.Envelopes {
			key := m.EnvelopeID + "/" + strconv.Itoa(m.Run)
			if other, dup := runs[key]; dup {
				t.Errorf("run %s is in batches %s and %s", key, other, bid)
			}
			runs[key] = bid
		}
	}
	if len(runs) != len(ids)+1+3 {
		t.Errorf("%d runs printed, want 3 first prints, the new envelope and 3 reprints: %v", len(runs), runs)
	}
	for src, want := range map[string]float64{ledger.SourceSupplier: 2, ledger.SourceOperator: 1} {
		if got := batchtest.Metric(t, b.Collector(), "quire_reprints_batched_total", "source", src); got != want {
			t.Errorf("reprints batched asked for by the %s: %v, want %v", src, got, want)
		}
	}
	for _, e := range h.ev.All() {
		batchtest.CheckNoPersonalData(t, "event "+e.Kind, string(e.Body))
	}
}

// TestReprintAfterACrashIsPrintedOnce: an assembly that fails after the
// reprint is claimed is finished by the next attempt, and the envelope is
// in the batch once.
func TestReprintAfterACrashIsPrintedOnce(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	ids := batchtest.CommitN(t, h.store, "E", 2, before)
	b := h.batcher()
	first := h.cutOffAt(b, day(0)).Batches[0]
	if err := h.reprinter(2).Spoiled(ctx, first, ids[0]); err != nil {
		t.Fatal(err)
	}
	h.asm.FailWith(errors.New("disk full"))
	h.clock.Advance(day(1).Sub(h.clock.Now()) + time.Second)
	if _, err := b.CutOff(ctx, day(1)); err == nil {
		t.Fatal("a failing assembly made a batch")
	}
	if c, err := h.st.RunClaim(ctx, ids[0], 1); err != nil || c.BatchID != ledger.ID(day(1), 1) {
		t.Fatalf("the reprint was not claimed before assembly: %+v, %v", c, err)
	}
	h.asm.FailWith(nil)
	other := h.batcher(func(c *batch.Config) { c.Owner = "batcher-b" })
	h.clock.Advance(2 * time.Minute) // batcher-a has gone quiet
	res, err := other.CutOff(ctx, day(1))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Batches) != 1 || !slices.Equal(members(res.Batches[0]), []string{ids[0]}) {
		t.Fatalf("batches %+v", res.Batches)
	}
	if _, err := b.CutOff(ctx, day(1)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for bid, err := range h.st.Batches(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		s, _ := h.st.Sealed(ctx, bid)
		if m, ok := s.Member(ids[0]); ok && m.Run == 1 {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the reprint is in %d batches", n)
	}
	if _, err := h.store.Stat(ctx, ledger.ReprintReadyKey(ids[0], 1)); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the reprint is still listed for the batcher: %v", err)
	}
}

// TestCancelledReprintIsLeftOut: a cancellation that comes after the
// reprint was asked for stands for the reprint.
func TestCancelledReprintIsLeftOut(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	ids := batchtest.CommitN(t, h.store, "E", 1, before)
	b := h.batcher()
	first := h.cutOffAt(b, day(0)).Batches[0]
	if _, err := h.reprinter(2).Operator(ctx, ids[0], ledger.ReasonLostInPost); err != nil {
		t.Fatal(err)
	}
	h.cancel(ids[0])
	if e, err := h.st.CheckCancel(ctx, ids[0], h.clock.Now()); err != nil || e != nil {
		t.Errorf("CheckCancel with the reprint waiting = %+v, %v; want the cancellation to stand", e, err)
	}
	s := h.cutOffAt(b, day(1)).Batches[0]
	if len(s.Envelopes) != 0 || !slices.Equal(s.Left, []ledger.Left{{EnvelopeID: ids[0], Code: ledger.LeftCancelled, Run: 1}}) {
		t.Errorf("batch %+v, want the reprint left out as cancelled", s)
	}
	if _, err := h.store.Stat(ctx, ledger.ReprintReadyKey(ids[0], 1)); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the cancelled reprint is still listed: %v", err)
	}
	if c, err := h.st.Claim(ctx, ids[0]); err != nil || c.BatchID != first.BatchID {
		t.Errorf("first claim %+v, %v", c, err)
	}
}

// TestStrayReprintEntryIsIgnored: an index entry without its request
// (no Quire writes one) does not stop the cut-off.
func TestStrayReprintEntryIsIgnored(t *testing.T) {
	h := newHarness(t)
	ids := batchtest.CommitN(t, h.store, "E", 1, before)
	if _, err := h.store.Put(t.Context(), ledger.ReprintReadyKey(ids[0], 1), []byte(ids[0])); err != nil {
		t.Fatal(err)
	}
	res := h.cutOffAt(h.batcher(), day(0))
	if len(res.Batches) != 1 || !slices.Equal(members(res.Batches[0]), ids) || res.Batches[0].Envelopes[0].Run != 0 {
		t.Errorf("batches %+v", res.Batches)
	}
	if !strings.Contains(h.logs.String(), "ignoring a reprint entry without its request") {
		t.Error("the stray entry was not logged")
	}
}

// checkHeld counts the held envelopes (RefreshHeld) and checks the count
// and the gauge: want under code, none under any other.
func checkHeld(t *testing.T, b *batch.Batcher, when string, want int, code string) {
	t.Helper()
	n, err := b.RefreshHeld(t.Context())
	if err != nil || n != want {
		t.Errorf("%s: %d held, %v; want %d", when, n, err, want)
	}
	for _, c := range append(slices.Clone(ledger.HoldCodes), "other") {
		w := 0.0
		if c == code {
			w = float64(want)
		}
		if got := batchtest.Metric(t, b.Collector(), "quire_reprints_held", "code", c); got != w {
			t.Errorf("%s: quire_reprints_held{code=%q} = %v, want %v", when, c, got, w)
		}
	}
}

// TestHeldGauge: the gauge counts what quire envelopes held lists, by the
// hold's code: a stray index entry (an operator's reprint that stopped
// before taking the envelope off the list, or a name this Quire does not
// write) is not counted; WatchHeld refreshes it every poll, so a hold made
// by another process shows within one.
func TestHeldGauge(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	ids := batchtest.CommitN(t, h.store, "E", 3, before)
	clock := sleepClock{h.clock, h.config.HeartbeatInterval, make(chan time.Duration, 10)}
	b := h.batcher(func(c *batch.Config) { c.Clock = clock })
	first := h.cutOffAt(b, day(0)).Batches[0]
	checkHeld(t, b, "before any hold", 0, "")

	// One held at the limit (none may be made automatically), one whose
	// documents are gone.
	rp := h.reprinter(0)
	if err := rp.Spoiled(ctx, first, ids[0]); err != nil {
		t.Fatal(err)
	}
	checkHeld(t, b, "after one hold", 1, ledger.HoldLimit)
	if _, _, err := h.st.RecordHold(ctx, ledger.Hold{EnvelopeID: ids[1], Run: 1, BatchID: first.BatchID, Sequence: 2,
		Code: ledger.HoldDeleted, HeldAt: day(0).Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if n, err := b.RefreshHeld(ctx); err != nil || n != 2 {
		t.Errorf("two holds: %d, %v", n, err)
	}
	for code, want := range map[string]float64{ledger.HoldLimit: 1, ledger.HoldDeleted: 1, ledger.HoldCancelled: 0} {
		if got := batchtest.Metric(t, b.Collector(), "quire_reprints_held", "code", code); got != want {
			t.Errorf("quire_reprints_held{code=%q} = %v, want %v", code, got, want)
		}
	}
	// An operator dismisses the second: it is no longer counted.
	if _, err := rp.Dismiss(ctx, ids[1], ledger.DismissUpstreamResend); err != nil {
		t.Fatal(err)
	}
	checkHeld(t, b, "one dismissed", 1, ledger.HoldLimit)

	// Stray entries: one for an envelope that has no hold, one for an
	// envelope reprinted since (its entry left behind).
	for _, key := range []string{ledger.ReprintHeldPrefix + ids[2], ledger.ReprintHeldPrefix + "E~1"} {
		if _, err := h.store.Put(ctx, key, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	checkHeld(t, b, "with stray entries", 1, ledger.HoldLimit)
	if _, _, err := h.st.CreateReprint(ctx, ledger.Reprint{EnvelopeID: ids[0], Run: 1, Reason: ledger.ReasonSpoiled,
		Source: ledger.SourceOperator, BatchID: first.BatchID, Sequence: 1, RequestedAt: day(0).Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	checkHeld(t, b, "reprinted, its entry left behind", 0, "")

	// WatchHeld counts at once, then every poll. (The operator's reprint
	// is batched first: a cut-off moves the clock.)
	second := h.cutOffAt(b, day(1)).Batches[0]
	watch, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); b.WatchHeld(watch) }()
	defer func() { stop(); <-done }()
	if d := <-clock.sleeps; d != batch.DefaultPollInterval {
		t.Fatalf("WatchHeld sleeps for %v, want a poll (%v)", d, batch.DefaultPollInterval)
	}
	if got := batchtest.Metric(t, b.Collector(), "quire_reprints_held", "code", ledger.HoldLimit); got != 0 {
		t.Errorf("gauge %v, want 0", got)
	}
	if err := rp.Spoiled(ctx, second, ids[0]); err != nil {
		t.Fatal(err)
	}
	clock.Advance(batch.DefaultPollInterval)
	if d := <-clock.sleeps; d != batch.DefaultPollInterval {
		t.Fatalf("WatchHeld sleeps for %v, want a poll (%v)", d, batch.DefaultPollInterval)
	}
	if got := batchtest.Metric(t, b.Collector(), "quire_reprints_held", "code", ledger.HoldLimit); got != 1 {
		t.Errorf("a poll after a hold made elsewhere: gauge %v, want 1", got)
	}

	// Cancelled while held: an operator's reprint would be refused, so
	// nothing waits for a decision; it counts as cancelled.
	h.cancel(ids[0])
	checkHeld(t, b, "cancelled while held", 1, ledger.HoldCancelled)
	// Once the cancel handler has found the cancellation stands
	// (CheckCancel), it is off the list.
	if e, err := h.st.CheckCancel(ctx, ids[0], day(1)); e != nil || err != nil {
		t.Fatalf("CheckCancel of a held envelope = %+v, %v; want it to stand", e, err)
	}
	checkHeld(t, b, "cancellation stood", 0, "")
}
