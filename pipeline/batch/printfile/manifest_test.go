package printfile_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/quire-print/quire/pipeline/batch/printfile"
	"github.com/quire-print/quire/schemas"
)

const schemaName = "batch-manifest.v1.schema.json"

func manifestSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	data, err := schemas.FS.ReadFile(schemaName)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(schemaName, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(schemaName)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func assembled(t *testing.T, n, perFile int) (*printfile.Manifest, []byte) {
	t.Helper()
	m, err := newAssembler(t, newStore(t), perFile).Assemble(t.Context(), batch("B-20260302-1"), list(makeBatch(t, n)))
	if err != nil {
		t.Fatal(err)
	}
	data, err := m.JSON()
	if err != nil {
		t.Fatal(err)
	}
	return m, data
}

// TestManifestMatchesSchema validates a real manifest against the
// published schema, and checks the schema is not a pushover.
func TestManifestMatchesSchema(t *testing.T) {
	s := manifestSchema(t)
	_, data := assembled(t, 9, 4)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(doc); err != nil {
		t.Fatalf("an assembled manifest breaks the schema: %v", err)
	}
	for name, change := range map[string]func(m map[string]any){
		"a name":            func(m map[string]any) { envelope(m)["recipient"] = "Mrs A Smith" },
		"a full postcode":   func(m map[string]any) { envelope(m)["postcodeDistrict"] = "SW1A 1AA" },
		"an unknown class":  func(m map[string]any) { envelope(m)["postage"] = "express" },
		"a malformed code":  func(m map[string]any) { page(m)["code"] = "Q1|B-20260302-1|1|1" },
		"an unknown kind":   func(m map[string]any) { page(m)["kind"] = "leaflet" },
		"a bad file name":   func(m map[string]any) { envelope(m)["file"] = "../x.pdf" },
		"no schema version": func(m map[string]any) { delete(m, "schemaVersion") },
	} {
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		change(m)
		if err := s.Validate(roundTrip(t, m)); err == nil {
			t.Errorf("the schema accepts a manifest with %s", name)
		}
	}
}

func envelope(m map[string]any) map[string]any {
	return m["envelopes"].([]any)[0].(map[string]any)
}

func page(m map[string]any) map[string]any {
	return envelope(m)["pages"].([]any)[0].(map[string]any)
}

// roundTrip turns m into the generic form the validator reads.
func roundTrip(t *testing.T, m map[string]any) any {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestParseManifestRefusesInconsistency: a manifest whose parts do not
// add up is refused, since a supplier would check envelopes against it.
func TestParseManifestRefusesInconsistency(t *testing.T) {
	m0, data := assembled(t, 5, 2)
	// Two first-class envelopes, then three second-class ones: files of
	// 2, 2 and 1, each of one class.
	for i, want := range []string{"first", "second", "second"} {
		if f := m0.Files[i]; f.Postage != want {
			t.Fatalf("%s is for %q envelopes, want %q", f.Name, f.Postage, want)
		}
	}
	cases := map[string]struct {
		change func(m *printfile.Manifest)
		want   string
	}{
		"totals":          {func(m *printfile.Manifest) { m.Totals.Pages++ }, "totals"},
		"postage totals":  {func(m *printfile.Manifest) { m.Totals.ByPostage["first"] = printfile.Count{} }, "totals"},
		"mixed classes":   {func(m *printfile.Manifest) { m.Envelopes[1].Postage = "second" }, "print-0001.pdf is for first-class envelopes; envelope 2 is second class"},
		"mixed, no class": {func(m *printfile.Manifest) { m.Files[0].Postage = ""; m.Envelopes[1].Postage = "second" }, "print-0001.pdf holds first- and second-class envelopes"},
		"file's class":    {func(m *printfile.Manifest) { m.Files[1].Postage = "first" }, "print-0002.pdf is for first-class envelopes; envelope 3 is second class"},
		"class order": {func(m *printfile.Manifest) {
			m.Files[0].Postage, m.Files[1].Postage = "second", "first"
			for i := range 4 {
				m.Envelopes[i].Postage = m.Files[i/2].Postage
			}
		}, "print-0002.pdf of first-class envelopes comes after a file of second class"},
		"file page count":  {func(m *printfile.Manifest) { m.Files[0].Pages++ }, "file print-0001.pdf says"},
		"page range":       {func(m *printfile.Manifest) { m.Envelopes[1].FirstPage++ }, "pages"},
		"code":             {func(m *printfile.Manifest) { m.Envelopes[1].Pages[0].Code = "Q1|B-20260302-1|2|2|3" }, "code"},
		"page kind":        {func(m *printfile.Manifest) { m.Envelopes[0].Pages[0].Kind = "certificate" }, "code"},
		"order":            {func(m *printfile.Manifest) { m.Envelopes[1].Sequence = 1 }, "comes after"},
		"duplicate id":     {func(m *printfile.Manifest) { m.Envelopes[1].EnvelopeID = m.Envelopes[0].EnvelopeID }, "listed twice"},
		"envelope moved":   {func(m *printfile.Manifest) { m.Envelopes[4].File = "print-0001.pdf" }, "print-0003.pdf holds no envelopes"},
		"file missing":     {func(m *printfile.Manifest) { m.Files = m.Files[:2] }, "not the next file"},
		"schema version":   {func(m *printfile.Manifest) { m.SchemaVersion = 2 }, "schema version 2"},
		"empty file":       {func(m *printfile.Manifest) { m.Files = append(m.Files, printfile.File{Name: "print-0009.pdf"}) }, "no envelopes"},
		"documents vs pgs": {func(m *printfile.Manifest) { m.Envelopes[0].Documents[0].Pages++ }, "documents add up"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			m, err := printfile.ParseManifest(data)
			if err != nil {
				t.Fatal(err)
			}
			c.change(m)
			bad, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := printfile.ParseManifest(bad); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error saying %q", err, c.want)
			}
		})
	}
	unknown := bytes.Replace(data, []byte(`"batchId"`), []byte(`"colour": "blue", "batchId"`), 1)
	if _, err := printfile.ParseManifest(unknown); err == nil {
		t.Error("a manifest with an unknown field was read")
	}
}

func TestManifestCSV(t *testing.T) {
	m, _ := assembled(t, 4, 0)
	rows := csvRows(t, m)
	if len(rows) != 1+len(m.Envelopes) || strings.Join(rows[0], ",") != strings.Join(printfile.CSVHeader, ",") {
		t.Fatalf("%d rows with header %q", len(rows), rows[0])
	}
	for i, e := range m.Envelopes {
		row := rows[i+1]
		want := []string{"B-20260302-1", strconv.Itoa(e.Sequence), e.EnvelopeID, e.PostcodeDistrict, e.Postage, e.File,
			strconv.Itoa(e.FirstPage), strconv.Itoa(e.LastPage), strconv.Itoa(len(e.Pages)), strconv.Itoa(e.Sheets)}
		if strings.Join(row[:len(want)], ",") != strings.Join(want, ",") {
			t.Errorf("row %d: %q, want %q", i+1, row[:len(want)], want)
		}
		kinds := strings.Split(row[10], ";")
		if len(kinds) != len(e.Pages) || kinds[0] != "letter" || kinds[len(kinds)-1] != "certificate" {
			t.Errorf("row %d: page kinds %q", i+1, row[10])
		}
		if sums := strings.Split(row[11], ";"); len(sums) != len(e.Documents) || sums[0] != e.Documents[0].SHA256 {
			t.Errorf("row %d: document hashes %q", i+1, row[11])
		}
		f := file(t, m, e.File)
		if got, want := strings.Join(row[13:16], ","), fmt.Sprintf("%d,%d,%d", f.Envelopes, f.Pages, f.Sheets); got != want || f.Postage != e.Postage {
			t.Errorf("row %d: file totals %s, want %s (%s, a %s-class file, for a %s-class envelope)", i+1, got, want, f.Name, f.Postage, e.Postage)
		}
	}
	// Four envelopes, two of them first class: two files of two.
	if len(m.Files) != 2 || rows[1][13] != "2" || rows[2][4] != "first" || rows[3][4] != "second" || rows[3][5] != "print-0002.pdf" {
		t.Errorf("files %+v; rows %q", m.Files, rows[1:])
	}
}

func file(t *testing.T, m *printfile.Manifest, name string) printfile.File {
	t.Helper()
	for _, f := range m.Files {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("no file %s", name)
	return printfile.File{}
}

// TestManifestSaysEachDocumentsLanguage checks that the manifest, in JSON
// and CSV, gives every document the language of its envelope's request:
// Welsh, bilingual or English, so a supplier can check its inserts.
func TestManifestSaysEachDocumentsLanguage(t *testing.T) {
	envs := samples(t)
	m, _ := assembled(t, len(envs), 0)
	rows := csvRows(t, m)
	seen := map[string]bool{}
	for i, e := range m.Envelopes {
		want := envs[i].DocumentLanguage()
		var langs []string
		for _, d := range e.Documents {
			langs = append(langs, d.Language)
			if d.Language != want {
				t.Errorf("envelope %d: a %s from %s is in %q, want %q", e.Sequence, d.Kind, d.Template, d.Language, want)
			}
		}
		seen[want] = true
		if got := rows[i+1][12]; got != strings.Join(langs, ";") {
			t.Errorf("envelope %d: CSV languages %q, want %q", e.Sequence, got, strings.Join(langs, ";"))
		}
	}
	if !seen["en"] || !seen["cy"] || !seen["cy,en"] {
		t.Errorf("the samples cover only %v", seen)
	}
}

// csvRows is m's CSV form, read back row by row.
func csvRows(t *testing.T, m *printfile.Manifest) [][]string {
	t.Helper()
	data, err := m.CSV()
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
