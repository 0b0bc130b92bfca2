package envelopes_test

import (
	"errors"
	"maps"
	"sync"
	"testing"

	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/storagetest"
)

func testLookup(t *testing.T, s storage.Store) {
	ctx := t.Context()
	es := envelopes.New(s)
	if found, err := es.Lookup(ctx, "L-1"); err != nil || found.Record != nil || found.Cancellation != nil {
		t.Fatalf("Lookup of an envelope never seen = %+v, %v; want nothing", found, err)
	}
	r := renderedEnv("L-1", "Alex Smith", 0, t0)
	committed, _, err := es.Commit(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	found, err := es.Lookup(ctx, "L-1")
	if err != nil || found.Record == nil || found.Record.RequestHash != committed.RequestHash || found.Cancellation != nil {
		t.Fatalf("Lookup of a committed envelope = %+v, %v", found, err)
	}
	// Cancelled after the commit: both, and the record stays the record.
	if _, _, err := es.Cancel(ctx, envelopes.Cancellation{EnvelopeID: "L-1", Code: "requested-by-parent", At: t0}); err != nil {
		t.Fatal(err)
	}
	found, err = es.Lookup(ctx, "L-1")
	if err != nil || found.Record == nil || found.Cancellation == nil || found.Cancellation.Code != "requested-by-parent" {
		t.Fatalf("Lookup of an envelope cancelled after its commit = %+v, %v", found, err)
	}
	if rec, err := es.Record(ctx, "L-1"); err != nil || rec.RequestHash != committed.RequestHash {
		t.Errorf("Record after a late cancellation = %+v, %v", rec, err)
	}
}

// testCancelFirst: a cancellation that reaches the store before the commit
// wins the record's key, so that the render loses at the commit point and
// leaves nothing behind: no files, no ready entry.
func testCancelFirst(t *testing.T, s storage.Store) {
	ctx := t.Context()
	es := envelopes.New(s)
	c := envelopes.Cancellation{EnvelopeID: "L-2", Code: "requested-by-parent", Reason: "Parent asked by phone", At: t0}
	if _, _, err := es.Cancel(ctx, c); err != nil {
		t.Fatal(err)
	}
	found, err := es.Lookup(ctx, "L-2")
	if err != nil || found.Record != nil || found.Cancellation == nil || found.Cancellation.Code != c.Code || !found.Cancellation.At.Equal(t0) {
		t.Fatalf("Lookup of an envelope cancelled first = %+v, %v", found, err)
	}
	if _, err := es.Record(ctx, "L-2"); !errors.Is(err, envelopes.ErrNotFound) {
		t.Errorf("Record of an envelope cancelled first = %v, want ErrNotFound", err)
	}
	for _, skip := range []bool{true, false} { // a render that looked too early, and one that did not
		r := renderedEnv("L-2", "Alex Smith", 0, t0)
		r.SkipLookup = skip
		if _, _, err := es.Commit(ctx, r); !errors.Is(err, envelopes.ErrCancelled) {
			t.Errorf("Commit (skip look-up %v) of an envelope cancelled first = %v, want ErrCancelled", skip, err)
		}
	}
	if got := keys(t, s, envelopes.EnvelopesPrefix+"L-2/files/"); len(got) != 0 {
		t.Errorf("files left by renders that lost to a cancellation: %v", got)
	}
	if got := keys(t, s, envelopes.ReadyKey("L-2")); len(got) != 0 {
		t.Errorf("ready entry left by renders that lost to a cancellation: %v", got)
	}
	// A second cancellation keeps the first, at both keys.
	if got, won, err := es.Cancel(ctx, envelopes.Cancellation{EnvelopeID: "L-2", Code: "duplicate", At: t0}); err != nil || won || got.Code != c.Code {
		t.Errorf("second Cancel = %+v, %v, %v; want the first, not won", got, won, err)
	}
	if found, err := es.Lookup(ctx, "L-2"); err != nil || found.Cancellation == nil || found.Cancellation.Code != c.Code {
		t.Errorf("Lookup after a second cancellation = %+v, %v", found, err)
	}
}

// testCancelRacesCommit: a cancellation and renders of one envelope at
// once. Either the envelope is committed once and the cancellation is a
// marker beside it, or nothing is committed and every render is told so.
func testCancelRacesCommit(t *testing.T, s storage.Store) {
	es := envelopes.New(s)
	const renders = 4
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, renders)
	created := make([]bool, renders)
	for i := range renders {
		wg.Go(func() {
			<-start
			r := renderedEnv("L-3", "Alex Smith", 0, t0)
			r.SkipLookup = true
			_, created[i], errs[i] = es.Commit(t.Context(), r)
		})
	}
	wg.Go(func() {
		<-start
		if _, _, err := es.Cancel(t.Context(), envelopes.Cancellation{EnvelopeID: "L-3", Code: "requested-by-parent", At: t0}); err != nil {
			t.Error(err)
		}
	})
	close(start)
	wg.Wait()
	found, err := es.Lookup(t.Context(), "L-3")
	if err != nil || found.Cancellation == nil {
		t.Fatalf("Lookup = %+v, %v; want the cancellation", found, err)
	}
	commits := 0
	for i := range renders {
		switch {
		case created[i]:
			commits++
		case found.Record == nil && !errors.Is(errs[i], envelopes.ErrCancelled):
			t.Errorf("render %d: %v, want ErrCancelled: the cancellation took the record", i, errs[i])
		case found.Record != nil && errs[i] != nil:
			t.Errorf("render %d: %v, want a duplicate", i, errs[i])
		}
	}
	if want := map[bool]int{true: 1, false: 0}[found.Record != nil]; commits != want {
		t.Errorf("%d commits, want %d (record %v)", commits, want, found.Record != nil)
	}
	if found.Record == nil {
		if got := keys(t, s, envelopes.EnvelopesPrefix+"L-3/files/"); len(got) != 0 {
			t.Errorf("files left though nothing was committed: %v", got)
		}
	}
}

// testRequestsPerEnvelope counts what a worker's path costs the store: a
// look-up, then a commit of an envelope of two documents; and a
// redelivery of it.
func testRequestsPerEnvelope(t *testing.T, s storage.Store) {
	ctx := t.Context()
	cs := storagetest.NewCounting(s)
	es := envelopes.New(cs)
	r := renderedEnv("L-4", "Alex Smith", 0, t0)
	if found, err := es.Lookup(ctx, r.EnvelopeID); err != nil || found.Record != nil {
		t.Fatal(found, err)
	}
	r.SkipLookup = true
	if _, created, err := es.Commit(ctx, r); err != nil || !created {
		t.Fatal(created, err)
	}
	// One read, the request and two PDFs, the ready entry, the record.
	if got, want := cs.Take(), map[string]int{"get": 1, "put": 4, "create": 1}; !maps.Equal(got, want) {
		t.Errorf("a new envelope cost %v, want %v", got, want)
	}
	if found, err := es.Lookup(ctx, r.EnvelopeID); err != nil || found.Record == nil {
		t.Fatal(found, err)
	}
	// The record, and the cancellation marker beside it: nothing written.
	if got, want := cs.Take(), map[string]int{"get": 2}; !maps.Equal(got, want) {
		t.Errorf("a redelivery cost %v, want %v", got, want)
	}
}
