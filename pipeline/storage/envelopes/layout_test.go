package envelopes_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/fsstore"
)

// storeFilesOfTheirOwn stores r as Quire stored envelopes before bundles
// (record schema version 1): the request and each document an object of
// its own under its SHA-256, the ready entry, then the record.
func storeFilesOfTheirOwn(t *testing.T, s storage.Store, r envelopes.Rendered) envelopes.Record {
	t.Helper()
	ctx := t.Context()
	put := func(name string, data []byte) envelopes.File {
		sum := hash(data)
		f := envelopes.File{Key: envelopes.EnvelopesPrefix + r.EnvelopeID + "/files/" + sum + "/" + name, SHA256: sum, Size: int64(len(data))}
		if _, err := s.Put(ctx, f.Key, data); err != nil {
			t.Fatal(err)
		}
		return f
	}
	rec := envelopes.Record{SchemaVersion: envelopes.SchemaVersion, EnvelopeID: r.EnvelopeID, RequestHash: r.RequestHash,
		Request: put("request.json", r.Request), Status: envelopes.StatusRendered, RenderedAt: r.RenderedAt.UTC()}
	for _, d := range r.Documents {
		rec.Documents = append(rec.Documents, envelopes.Document{Kind: d.Kind, Name: d.Name, TemplateID: d.TemplateID,
			TemplateVersion: d.TemplateVersion, Pages: d.Pages, Sheets: d.Sheets, File: put(d.Name, d.PDF)})
	}
	// The record as version 1 wrote it: no bundle, no offsets.
	data, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "bundle") || strings.Contains(string(data), "offset") {
		t.Fatalf("a version 1 record cannot hold %s", data)
	}
	if _, err := s.Put(ctx, envelopes.ReadyKey(r.EnvelopeID), []byte(`{"schemaVersion":1,"envelopeId":"`+r.EnvelopeID+`"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, envelopes.RecordKey(r.EnvelopeID), data); err != nil {
		t.Fatal(err)
	}
	return rec
}

// An envelope stored before bundles is still read, verified, read back
// file by file and answered as a duplicate on redelivery.
func testFilesOfTheirOwn(t *testing.T, s storage.Store) {
	ctx := t.Context()
	es := envelopes.New(s)
	r := renderedEnv("V1-1", "Alex Smith", 0, t0)
	stored := storeFilesOfTheirOwn(t, s, r)
	rec, err := es.Record(ctx, r.EnvelopeID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.SchemaVersion != envelopes.SchemaVersion || rec.Bundle != nil || !recordsEqual(rec, stored) {
		t.Fatalf("record %+v, want %+v", rec, stored)
	}
	if n := len(rec.Files()); n != 3 {
		t.Errorf("Files() = %d objects, want the request and two documents", n)
	}
	checkCommitted(t, s, rec)
	if got, err := es.Read(ctx, rec.Request); err != nil || string(got) != string(r.Request) {
		t.Errorf("request reads back as %q, %v", got, err)
	}
	for i, d := range rec.Documents {
		if got, err := es.Read(ctx, d.File); err != nil || string(got) != string(r.Documents[i].PDF) {
			t.Errorf("document %d reads back as %q, %v", i, got, err)
		}
	}
	before := keys(t, s, "")
	again, created, err := es.Commit(ctx, r)
	if err != nil || created || !recordsEqual(again, stored) {
		t.Errorf("redelivery = %+v, %v, %v; want the stored record", again, created, err)
	}
	if after := keys(t, s, ""); !slices.Equal(after, before) {
		t.Errorf("a redelivery changed the store: %q, was %q", after, before)
	}
}

// A record whose parts do not lie within its bundle, or that mixes the two
// layouts, is refused rather than read at the wrong place.
func testPartsOutsideTheBundle(t *testing.T, s storage.Store) {
	ctx := t.Context()
	es := envelopes.New(s)
	rec, _, err := es.Commit(ctx, renderedEnv("B-1", "Alex Smith", 0, t0))
	if err != nil {
		t.Fatal(err)
	}
	for i, spoil := range []func(r *envelopes.Record){
		func(r *envelopes.Record) { r.Documents[1].Offset = r.Bundle.Size },
		func(r *envelopes.Record) { r.Documents[0].Size = r.Bundle.Size },
		func(r *envelopes.Record) { r.Request.Key = envelopes.EnvelopesPrefix + "B-1/files/other/request.json" },
		func(r *envelopes.Record) { r.Bundle = nil },
		func(r *envelopes.Record) { r.SchemaVersion = envelopes.SchemaVersion },
	} {
		id := "B-" + string(rune('2'+i))
		r := rec
		r.EnvelopeID = id
		r.Documents = slices.Clone(rec.Documents)
		b := *rec.Bundle
		r.Bundle = &b
		spoil(&r)
		data, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Put(ctx, envelopes.RecordKey(id), data); err != nil {
			t.Fatal(err)
		}
		if got, err := es.Record(ctx, id); err == nil {
			t.Errorf("spoilt record %d read as %+v", i, got)
		}
	}
}

// misreportingStore answers every Put with a SHA-256 that is not one.
type misreportingStore struct{ storage.Store }

func (m misreportingStore) Put(ctx context.Context, key string, data []byte) (storage.Info, error) {
	info, err := m.Store.Put(ctx, key, data)
	info.SHA256 = ""
	return info, err
}

// The record takes the bundle's SHA-256 from the store's answer; a store
// that does not give one gets no record, rather than a record that Verify
// would later call damaged.
func TestCommitNeedsTheStoresSHA256(t *testing.T) {
	fs, err := fsstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	es := envelopes.New(misreportingStore{fs})
	if _, _, err := es.Commit(t.Context(), renderedEnv("M-1", "Alex Smith", 0, t0)); err == nil {
		t.Fatal("Commit succeeded without the bundle's SHA-256")
	}
	if _, err := envelopes.New(fs).Record(t.Context(), "M-1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Record after a refused commit = %v, want ErrNotFound", err)
	}
}

// A record this version cannot read in full (a later schema version, or a
// field it does not know) is refused with an error, never read in part
// and never taken for a missing one: a worker that meets it retries, and
// does not render the envelope again. docs/operations.md#upgrading counts
// on it, as an older Quire's reading of this version's records did.
func TestNewerRecordsAreRefused(t *testing.T) {
	ctx := t.Context()
	fs, err := fsstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	es := envelopes.New(fs)
	if _, _, err := es.Commit(ctx, renderedEnv("N-1", "Alex Smith", 0, t0)); err != nil {
		t.Fatal(err)
	}
	data, err := fs.Get(ctx, envelopes.RecordKey("N-1"))
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(map[string]any)
	}{
		{"a later version", func(r map[string]any) { r["schemaVersion"] = envelopes.RecordVersion + 1 }},
		{"an unknown field", func(r map[string]any) { r["printedTwiceAt"] = "2026-03-02T17:30:00Z" }},
	} {
		newer := map[string]any{}
		for k, v := range rec {
			newer[k] = v
		}
		tc.change(newer)
		b, err := json.Marshal(newer)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fs.Put(ctx, envelopes.RecordKey("N-1"), b); err != nil {
			t.Fatal(err)
		}
		if _, err := es.Record(ctx, "N-1"); err == nil || errors.Is(err, storage.ErrNotFound) {
			t.Errorf("%s: Record = %v, want an error other than not found", tc.name, err)
		}
		if _, err := es.Lookup(ctx, "N-1"); err == nil || errors.Is(err, storage.ErrNotFound) {
			t.Errorf("%s: Lookup = %v, want an error other than not found", tc.name, err)
		}
		if _, _, err := es.Commit(ctx, renderedEnv("N-1", "Alex Smith", 0, t0)); err == nil {
			t.Errorf("%s: Commit over it succeeded", tc.name)
		}
		if after, err := fs.Get(ctx, envelopes.RecordKey("N-1")); err != nil || string(after) != string(b) {
			t.Errorf("%s: the record changed: %s, %v", tc.name, after, err)
		}
	}
}
