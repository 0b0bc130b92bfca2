package printfile_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/quire-print/quire/pipeline/batch/printfile"
	"github.com/quire-print/quire/pipeline/batch/printfile/printfiletest"
)

// TestReprintKeepsDocumentsAndChangesCodes prints an envelope in one batch
// and again, as a reprint, in the next: the documents are the same bytes
// (the hashes of the render record, which Assemble checks each drawing
// against), the manifest marks the reprint in JSON and CSV, and every 2D
// code read back from both print files is different, because a code
// names its batch and sequence.
func TestReprintKeepsDocumentsAndChangesCodes(t *testing.T) {
	st := newStore(t)
	envs := makeBatchIn(t, st, 3)
	a := newAssembler(t, st, 0)
	first, err := a.Assemble(t.Context(), batch("B-1"), list(envs))
	if err != nil {
		t.Fatal(err)
	}
	again := envs[1]
	again.Sequence, again.Reprint, again.ReprintOf = 1, 1, "B-1"
	fresh := envs[2]
	fresh.Sequence = 2
	second, err := a.Assemble(t.Context(), batch("B-2"), list([]printfile.Envelope{again, fresh}))
	if err != nil {
		t.Fatal(err)
	}

	e := second.Envelopes[0]
	if e.EnvelopeID != again.ID || e.Reprint != 1 || e.ReprintOf != "B-1" {
		t.Errorf("the reprint's entry says %s reprint %d of %q, want %s reprint 1 of B-1", e.EnvelopeID, e.Reprint, e.ReprintOf, again.ID)
	}
	if f := second.Envelopes[1]; f.Reprint != 0 || f.ReprintOf != "" {
		t.Errorf("a first print is marked as reprint %d of %q", f.Reprint, f.ReprintOf)
	}
	orig := first.Envelopes[1]
	if !slices.Equal(docHashes(orig), docHashes(e)) || len(e.Pages) != len(orig.Pages) {
		t.Errorf("the reprint's documents %v differ from the first print's %v", docHashes(e), docHashes(orig))
	}
	for i, d := range e.Documents {
		if d.SHA256 != again.Record.Documents[i].SHA256 {
			t.Errorf("document %d: %s, the render record says %s", i+1, d.SHA256, again.Record.Documents[i].SHA256)
		}
	}

	// Read the codes off the printed pages of both runs.
	r := mustRenderer(t)
	seen := map[string]string{}
	for _, run := range []struct {
		id string
		m  *printfile.Manifest
	}{{"B-1", first}, {"B-2", second}} {
		var codes []string
		for _, f := range run.m.Files {
			codes = append(codes, printfiletest.ReadCodes(t, fetch(t, st, "batches/"+run.id+"/"+f.Name), r.Templates())...)
		}
		if err := printfile.Verify(run.m, codes); err != nil {
			t.Errorf("batch %s: %v", run.id, err)
		}
		for _, c := range codes {
			if other, dup := seen[c]; dup {
				t.Errorf("code %q is printed in batch %s and in batch %s", c, other, run.id)
			}
			seen[c] = run.id
		}
	}
	if want := len(first.Envelopes[0].Pages) + len(orig.Pages) + len(first.Envelopes[2].Pages) + len(e.Pages) + len(second.Envelopes[1].Pages); len(seen) != want {
		t.Errorf("%d distinct codes, want one a page: %d", len(seen), want)
	}

	// JSON: parses strictly, passes the schema; CSV: the two columns.
	data, err := second.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := printfile.ParseManifest(data); err != nil {
		t.Errorf("the reprint's manifest does not read back: %v", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := manifestSchema(t).Validate(doc); err != nil {
		t.Errorf("the reprint's manifest breaks the schema: %v", err)
	}
	rows := csvRows(t, second)
	col := func(name string) int { return slices.Index(printfile.CSVHeader, name) }
	if got := []string{rows[1][col("reprint")], rows[1][col("reprint_of")], rows[2][col("reprint")], rows[2][col("reprint_of")]}; !slices.Equal(got, []string{"1", "B-1", "", ""}) {
		t.Errorf("CSV reprint columns %q, want 1, B-1 for the reprint and empty for the first print", got)
	}
	if !slices.Equal(printfile.CSVHeader[:13], []string{"batch_id", "sequence", "envelope_id", "postcode_district", "postage",
		"file", "first_page", "last_page", "pages", "sheets", "page_kinds", "document_sha256", "document_languages"}) {
		t.Errorf("the CSV's first columns moved: %q; new columns go at the end", printfile.CSVHeader)
	}
}

func docHashes(e printfile.Entry) []string {
	var hs []string
	for _, d := range e.Documents {
		hs = append(hs, d.SHA256)
	}
	return hs
}

func TestReprintNeedsNumberAndBatch(t *testing.T) {
	st := newStore(t)
	envs := makeBatchIn(t, st, 1)
	a := newAssembler(t, st, 0)
	for name, edit := range map[string]func(e *printfile.Envelope){
		"number without batch": func(e *printfile.Envelope) { e.Reprint = 1 },
		"batch without number": func(e *printfile.Envelope) { e.ReprintOf = "B-1" },
		"negative":             func(e *printfile.Envelope) { e.Reprint, e.ReprintOf = -1, "B-1" },
		"bad batch id":         func(e *printfile.Envelope) { e.Reprint, e.ReprintOf = 1, "B|1" },
	} {
		e := envs[0]
		edit(&e)
		_, err := a.Assemble(t.Context(), batch("B-2"), list([]printfile.Envelope{e}))
		if err == nil || errors.Is(err, printfile.ErrRefused) {
			t.Errorf("%s: Assemble = %v, want an error about the input", name, err)
		}
	}

	// And a manifest that says so is refused, by the reader and the schema.
	m, err := a.Assemble(t.Context(), batch("B-3"), list(envs))
	if err != nil {
		t.Fatal(err)
	}
	m.Envelopes[0].Reprint = 2
	data, _ := json.Marshal(m)
	if _, err := printfile.ParseManifest(data); err == nil || !strings.Contains(err.Error(), "reprint") {
		t.Errorf("a manifest with a reprint number and no batch: %v, want refused", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if manifestSchema(t).Validate(doc) == nil {
		t.Error("the schema accepts a reprint number without the batch it reprints")
	}
}
