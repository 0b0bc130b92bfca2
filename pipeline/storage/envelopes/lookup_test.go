package envelopes_test

import (
	"maps"
	"testing"

	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/storagetest"
)

func testLookup(t *testing.T, s storage.Store) {
	ctx := t.Context()
	es := envelopes.New(s)
	// A neighbour whose id starts with this one's, and the files of an
	// attempt that never committed, are not this envelope's record.
	if _, _, err := es.Commit(ctx, renderedEnv("L-10", "Alex Smith", 0, t0)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, envelopes.EnvelopesPrefix+"L-1/files/"+hash([]byte("x"))+"/"+envelopes.BundleName, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if found, err := es.Lookup(ctx, "L-1"); err != nil || found.Record != nil || found.Cancellation != nil {
		t.Fatalf("Lookup of an envelope never committed = %+v, %v; want nothing", found, err)
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

// testCancelFirst: a cancellation for an envelope not seen yet is found by
// the look-up before it is rendered.
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
	// The listing that finds neither record nor marker; the bundle (the
	// request and two PDFs) and the ready entry; the record.
	if got, want := cs.Take(), map[string]int{"list": 1, "put": 2, "create": 1}; !maps.Equal(got, want) {
		t.Errorf("a new envelope cost %v, want %v", got, want)
	}
	if found, err := es.Lookup(ctx, r.EnvelopeID); err != nil || found.Record == nil {
		t.Fatal(found, err)
	}
	// The listing, then the record it found: nothing written.
	if got, want := cs.Take(), map[string]int{"list": 1, "get": 1}; !maps.Equal(got, want) {
		t.Errorf("a redelivery cost %v, want %v", got, want)
	}
}
