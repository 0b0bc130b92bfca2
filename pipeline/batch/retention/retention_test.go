package retention_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/quire-print/quire/pipeline/batch/batchtest"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/batch/retention"
	"github.com/quire-print/quire/pipeline/memqueue"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/fsstore"
	"github.com/quire-print/quire/pipeline/storage/refindex"
)

var cutOff = time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC)

func keys(t *testing.T, s storage.Store, prefix string) []string {
	t.Helper()
	var ks []string
	for info, err := range s.List(t.Context(), prefix) {
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, info.Key)
	}
	return ks
}

func newKeeper(t *testing.T, s storage.Store, clock *memqueue.ManualClock) *retention.Keeper {
	t.Helper()
	k, err := retention.New(retention.Config{Store: s, Days: 30, Clock: clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestPersonalDataGoesDaysAfterPosting: only the files go, only once due,
// and what holds no personal data stays.
func TestPersonalDataGoesDaysAfterPosting(t *testing.T) {
	s, err := fsstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sealed := batchtest.Seal(t, s, "northprint", cutOff, 2)
	posted := cutOff.Add(26 * time.Hour)
	clock := memqueue.NewManualClock(posted)
	k := newKeeper(t, s, clock)
	a, b := sealed.Envelopes[0].EnvelopeID, sealed.Envelopes[1].EnvelopeID
	x, _ := refindex.New([]byte(strings.Repeat("k", refindex.MinKeyLen)))
	for _, key := range append(x.Keys(a, []string{"A-1", "A-2"}), x.Keys(b, []string{"B-1"})...) {
		if _, err := s.Put(t.Context(), key, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := k.Posted(t.Context(), a, posted); err != nil {
		t.Fatal(err)
	}
	if err := k.Posted(t.Context(), a, posted); err != nil { // a repeated report
		t.Fatal(err)
	}
	if err := k.HandedOver(t.Context(), sealed.BatchID, cutOff.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := len(keys(t, s, retention.DuePrefix)); n != 2 {
		t.Errorf("%d due entries, want 2", n)
	}

	clock.Advance(29 * 24 * time.Hour)
	if n, err := k.Sweep(t.Context()); err != nil || n != 1 {
		t.Errorf("after 29 days: swept %d, %v; want only the batch's print files (handed over a day earlier)", n, err)
	}
	if got := keys(t, s, ledger.BatchesPrefix+sealed.BatchID+"/attempts/"); len(got) != 0 {
		t.Errorf("print files left: %v", got)
	}
	if len(keys(t, s, "envelopes/"+a+"/files/")) == 0 {
		t.Fatal("the envelope's files went before their time")
	}
	clock.Advance(24*time.Hour - time.Second)
	if n, _ := k.Sweep(t.Context()); n != 0 {
		t.Errorf("a second before the 30 days: swept %d", n)
	}
	clock.Advance(time.Second)
	if n, err := k.Sweep(t.Context()); err != nil || n != 1 {
		t.Errorf("at 30 days: swept %d, %v", n, err)
	}
	if got := keys(t, s, "envelopes/"+a+"/"); !slices.Equal(got, []string{"envelopes/" + a + "/batch.json", "envelopes/" + a + "/deleted.json", "envelopes/" + a + "/record.json"}) {
		t.Errorf("left of the posted envelope: %v; want its claim, record and deletion record only", got)
	}
	if d, err := envelopes.New(s).Deletion(t.Context(), a); err != nil || !d.At.Equal(clock.Now()) {
		t.Errorf("deletion record: %+v, %v; want the sweep's time", d, err)
	}
	if got, want := keys(t, s, refindex.Prefix), x.Keys(b, []string{"B-1"}); !slices.Equal(got, want) {
		t.Errorf("reference index after the sweep: %v; want only the envelope not yet posted, %v", got, want)
	}
	if len(keys(t, s, "envelopes/"+b+"/files/")) != 1 {
		t.Error("an envelope not yet posted lost its bundle")
	}
	for _, key := range []string{ledger.SealKey(sealed.BatchID), ledger.PlanKey(sealed.BatchID)} {
		if _, err := s.Stat(t.Context(), key); err != nil {
			t.Errorf("%s: %v", key, err)
		}
	}
	if n, err := k.Sweep(t.Context()); n != 0 || err != nil || len(keys(t, s, retention.DuePrefix)) != 0 {
		t.Errorf("a sweep with nothing due: %d, %v", n, err)
	}
}

// TestFilesOfTheirOwnGoToo: an envelope stored before bundles, its request
// and each document an object of their own, loses every one of them.
func TestFilesOfTheirOwnGoToo(t *testing.T) {
	s, err := fsstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rec := batchtest.CommitFilesOfTheirOwn(t, s, "E-1", cutOff)
	if n := len(keys(t, s, "envelopes/E-1/files/")); n != 4 {
		t.Fatalf("%d files stored, want the request and three documents", n)
	}
	clock := memqueue.NewManualClock(cutOff)
	k := newKeeper(t, s, clock)
	if err := k.Posted(t.Context(), rec.EnvelopeID, cutOff); err != nil {
		t.Fatal(err)
	}
	clock.Advance(30 * 24 * time.Hour)
	if n, err := k.Sweep(t.Context()); n != 1 || err != nil {
		t.Fatalf("swept %d, %v", n, err)
	}
	if got := keys(t, s, "envelopes/E-1/"); !slices.Equal(got, []string{envelopes.DeletedKey("E-1"), envelopes.RecordKey("E-1")}) {
		t.Errorf("left of the posted envelope: %v; want its record and the deletion's marker only", got)
	}
}

// failingDeletes fails Delete calls while fail is set.
type failingDeletes struct {
	storage.Store
	fail atomic.Bool
}

func (f *failingDeletes) Delete(ctx context.Context, key string) error {
	if f.fail.Load() {
		return errors.New("storage unavailable")
	}
	return f.Store.Delete(ctx, key)
}

func TestAnInterruptedSweepCarriesOn(t *testing.T) {
	fs, err := fsstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := &failingDeletes{Store: fs}
	batchtest.Commit(t, s, "E-1", cutOff)
	clock := memqueue.NewManualClock(cutOff)
	k := newKeeper(t, s, clock)
	if err := k.Posted(t.Context(), "E-1", cutOff); err != nil {
		t.Fatal(err)
	}
	clock.Advance(31 * 24 * time.Hour)
	s.fail.Store(true)
	if _, err := k.Sweep(t.Context()); err == nil {
		t.Fatal("no error from a failing sweep")
	}
	if len(keys(t, s, retention.DuePrefix)) != 1 {
		t.Fatal("the entry went although its files did not")
	}
	s.fail.Store(false)
	if n, err := k.Sweep(t.Context()); n != 1 || err != nil {
		t.Errorf("the second sweep: %d, %v", n, err)
	}
	if got := keys(t, s, "envelopes/E-1/files/"); len(got) != 0 {
		t.Errorf("files left: %v", got)
	}
}

func TestConfig(t *testing.T) {
	_, err := retention.New(retention.Config{Days: -1, SweepInterval: -time.Second})
	for _, want := range []string{"Store is required", "Days cannot be negative", "SweepInterval cannot be negative"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
	k, err := retention.New(retention.Config{Store: &failingDeletes{}})
	if err != nil || k.Days() != 30 {
		t.Errorf("default days: %v, %v", k, err)
	}
}

// TestMetrics: the sweep counts what it deleted, and a failed sweep.
func TestMetrics(t *testing.T) {
	fs, err := fsstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := &failingDeletes{Store: fs}
	sealed := batchtest.Seal(t, s, "northprint", cutOff, 2)
	a := sealed.Envelopes[0].EnvelopeID
	clock := memqueue.NewManualClock(cutOff.Add(time.Hour))
	k := newKeeper(t, s, clock)
	c := k.Collector()
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
	if err := k.HandedOver(t.Context(), sealed.BatchID, clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := k.Posted(t.Context(), a, clock.Now()); err != nil {
		t.Fatal(err)
	}
	objects := len(keys(t, s, "envelopes/"+a+"/files/")) + len(keys(t, s, ledger.BatchesPrefix+sealed.BatchID+"/attempts/"))
	clock.Advance(31 * 24 * time.Hour)

	s.fail.Store(true)
	if _, err := k.Sweep(t.Context()); err == nil {
		t.Fatal("no error from a failing sweep")
	}
	s.fail.Store(false)
	if n, err := k.Sweep(t.Context()); n != 2 || err != nil {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"quire_retention_sweeps_total", []string{"outcome", "failed"}, 1},
		{"quire_retention_sweeps_total", []string{"outcome", "completed"}, 1},
		{"quire_retention_swept_total", []string{"what", "envelope"}, 1},
		{"quire_retention_swept_total", []string{"what", "batch"}, 1},
		{"quire_retention_objects_deleted_total", nil, float64(objects)},
	} {
		if got := batchtest.Metric(t, c, tt.name, tt.labels...); got != tt.want {
			t.Errorf("%s%q = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	if objects < 4 {
		t.Errorf("only %d objects were due: the test deletes too little", objects)
	}

	// A sweep stopped by its context is not a failure.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := k.Posted(t.Context(), sealed.Envelopes[1].EnvelopeID, cutOff); err != nil {
		t.Fatal(err)
	}
	_, _ = k.Sweep(ctx)
	if got := batchtest.Metric(t, c, "quire_retention_sweeps_total", "outcome", "failed"); got != 1 {
		t.Errorf("failed sweeps after a stop: %v, want 1", got)
	}
}

// TestCancellationReasonGoesWithTheFiles: an envelope whose cancellation
// came too late (it was in a sealed batch and was posted) keeps its
// marker, without the free-text reason, once its files go.
func TestCancellationReasonGoesWithTheFiles(t *testing.T) {
	s, err := fsstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sealed := batchtest.Seal(t, s, "northprint", cutOff, 1)
	id := sealed.Envelopes[0].EnvelopeID
	es := envelopes.New(s)
	note := "Parent Ms Example rang from 0161 496 0000"
	if _, _, err := es.Cancel(t.Context(), envelopes.Cancellation{EnvelopeID: id, Code: "requested-by-parent", Reason: note, At: cutOff.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	posted := cutOff.Add(26 * time.Hour)
	clock := memqueue.NewManualClock(posted)
	k := newKeeper(t, s, clock)
	if err := k.Posted(t.Context(), id, posted); err != nil {
		t.Fatal(err)
	}
	clock.Advance(29 * 24 * time.Hour)
	if _, err := k.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	if c, err := es.Cancellation(t.Context(), id); err != nil || c.Reason != note {
		t.Fatalf("before the 30 days: %+v, %v; want the reason kept", c, err)
	}
	clock.Advance(24 * time.Hour)
	if n, err := k.Sweep(t.Context()); err != nil || n != 1 {
		t.Fatalf("at 30 days: swept %d, %v", n, err)
	}
	c, err := es.Cancellation(t.Context(), id)
	if err != nil || c.Reason != "" || c.Code != "requested-by-parent" {
		t.Errorf("after retention: %+v, %v; want the marker kept without its reason", c, err)
	}
	if len(keys(t, s, "envelopes/"+id+"/files/")) != 0 {
		t.Error("the files are still there")
	}
}

// TestCancelledEnvelopeGoesDaysAfterItsCancellation: an envelope whose
// cancellation stands is never posted; its files, if it was rendered, and
// its cancellation's reason go Days after the cancellation, once however
// often it is scheduled, and its record and marker stay as tombstones.
func TestCancelledEnvelopeGoesDaysAfterItsCancellation(t *testing.T) {
	s, err := fsstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	es := envelopes.New(s)
	rendered := batchtest.Commit(t, s, "E-rendered", cutOff.Add(-time.Hour)).EnvelopeID
	never := "E-never-rendered" // cancelled before its request arrived
	kept := batchtest.Commit(t, s, "E-kept", cutOff.Add(-time.Hour)).EnvelopeID
	note := "Parent Ms Example rang from 0161 496 0000"
	cancelledAt := cutOff.Add(-30 * time.Minute)
	for _, id := range []string{rendered, never} {
		if _, _, err := es.Cancel(t.Context(), envelopes.Cancellation{EnvelopeID: id, Code: "requested-by-parent", Reason: note, At: cancelledAt}); err != nil {
			t.Fatal(err)
		}
	}
	// Scheduled by the cancel handler, then again by its redelivery and
	// by the batcher leaving the envelope out, later, with the same time.
	clock := memqueue.NewManualClock(cancelledAt.Add(time.Minute))
	k := newKeeper(t, s, clock)
	for range 2 {
		for _, id := range []string{rendered, never} {
			if err := k.Cancelled(t.Context(), id, cancelledAt); err != nil {
				t.Fatal(err)
			}
		}
		clock.Advance(time.Hour)
	}
	if got := keys(t, s, retention.DuePrefix); len(got) != 2 {
		t.Fatalf("due entries %q, want one per envelope", got)
	}
	if err := k.Cancelled(t.Context(), "../x", cancelledAt); err == nil {
		t.Error("an invalid envelope id was scheduled")
	}

	// Not before 30 days from the cancellation.
	clock.Advance(cancelledAt.AddDate(0, 0, 30).Add(-time.Second).Sub(clock.Now()))
	if n, err := k.Sweep(t.Context()); err != nil || n != 0 {
		t.Fatalf("a second early: swept %d, %v", n, err)
	}
	if len(keys(t, s, "envelopes/"+rendered+"/files/")) == 0 {
		t.Fatal("the files went early")
	}
	clock.Advance(time.Second)
	if n, err := k.Sweep(t.Context()); err != nil || n != 2 {
		t.Fatalf("at 30 days: swept %d, %v; want both envelopes", n, err)
	}
	for _, id := range []string{rendered, never} {
		if got := keys(t, s, "envelopes/"+id+"/files/"); len(got) != 0 {
			t.Errorf("%s: left %q", id, got)
		}
		c, err := es.Cancellation(t.Context(), id)
		if err != nil || c.Reason != "" || c.Code != "requested-by-parent" || !c.At.Equal(cancelledAt) {
			t.Errorf("%s after retention: %+v, %v; want the marker kept without its reason", id, c, err)
		}
	}
	if _, err := es.Record(t.Context(), rendered); err != nil {
		t.Errorf("the cancelled envelope's record: %v", err)
	}
	if len(keys(t, s, "envelopes/"+kept+"/files/")) == 0 {
		t.Error("an envelope that was not cancelled lost its files")
	}
	if got := keys(t, s, retention.DuePrefix); len(got) != 0 {
		t.Errorf("due entries left: %q", got)
	}
}
