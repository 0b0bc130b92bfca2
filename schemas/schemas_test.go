package schemas_test

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/unicode/norm"

	"github.com/quire-print/quire/internal/samples"
	"github.com/quire-print/quire/request"
	"github.com/quire-print/quire/schemas"
)

// compile compiles every schema in schemas.FS and returns them by file
// name. Compiling also checks each schema against the draft 2020-12
// metaschema.
func compile(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	files, err := fs.Glob(schemas.FS, "*.json")
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	ids := make(map[string]string)
	for _, name := range files {
		doc := readSchema(t, name)
		id, _ := doc["$id"].(string)
		if !strings.HasSuffix(id, "/"+name) {
			t.Fatalf("%s: $id %q does not end in the file name", name, id)
		}
		if err := c.AddResource(id, doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ids[name] = id
	}
	compiled := make(map[string]*jsonschema.Schema)
	for name, id := range ids {
		s, err := c.Compile(id)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		compiled[name] = s
	}
	return compiled
}

func readSchema(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := schemas.FS.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	m, ok := doc.(map[string]any)
	if !ok {
		t.Fatalf("%s is not a JSON object", name)
	}
	return m
}

// readInstance reads a sample as the schema validator sees it. ok is false
// when the file is not one JSON document, which no schema can accept.
func readInstance(t *testing.T, file string) (doc any, ok bool) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	doc, err = jsonschema.UnmarshalJSON(bytes.NewReader(data))
	return doc, err == nil
}

func TestSchemasCompile(t *testing.T) {
	got := compile(t)
	for _, name := range []string{"envelope-request.v1.schema.json", "certificate.v1.schema.json", "certificate-preview.v1.schema.json"} {
		if got[name] == nil {
			t.Errorf("%s is missing", name)
		}
	}
}

// TestEveryFieldDescribed checks that each schema has a title and a
// description, and that every property of every object is described.
func TestEveryFieldDescribed(t *testing.T) {
	files, _ := fs.Glob(schemas.FS, "*.json")
	for _, name := range files {
		doc := readSchema(t, name)
		for _, key := range []string{"title", "description"} {
			if s, _ := doc[key].(string); s == "" {
				t.Errorf("%s has no %s", name, key)
			}
		}
		walkProperties(doc, "", func(path string, prop map[string]any) {
			if s, _ := prop["description"].(string); s == "" {
				t.Errorf("%s: property %s has no description", name, path)
			}
		})
	}
}

// walkProperties calls fn for every schema under a "properties" keyword.
func walkProperties(v any, path string, fn func(path string, prop map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		for key, child := range v {
			if props, ok := child.(map[string]any); ok && key == "properties" {
				for name, p := range props {
					if pm, ok := p.(map[string]any); ok {
						fn(path+"/"+name, pm)
					}
					walkProperties(p, path+"/"+name, fn)
				}
				continue
			}
			walkProperties(child, path+"/"+key, fn)
		}
	case []any:
		for _, child := range v {
			walkProperties(child, path, fn)
		}
	}
}

func TestValidSamplesPassTheSchema(t *testing.T) {
	compiled := compile(t)
	envelope := compiled["envelope-request.v1.schema.json"]
	certificate := compiled["certificate.v1.schema.json"]
	preview := compiled["certificate-preview.v1.schema.json"]
	for _, file := range samples.Files(t, "valid") {
		doc, ok := readInstance(t, file)
		if !ok {
			t.Fatalf("%s is not JSON", file)
		}
		if err := envelope.Validate(doc); err != nil {
			t.Errorf("%s: %v", file, err)
		}
		for i, c := range doc.(map[string]any)["certificates"].([]any) {
			if err := certificate.Validate(c); err != nil {
				t.Errorf("%s certificate %d: %v", file, i, err)
			}
			if err := preview.Validate(c); err != nil {
				t.Errorf("%s certificate %d as a preview: %v", file, i, err)
			}
		}
	}
}

// goOnly lists the invalid samples that the envelope request schema
// accepts, and why: each breaks a rule that depends on a list, on the
// calendar, on the position of a line or on comparing two fields, which
// only package request checks. Every other invalid sample must be refused
// by the schema too. The test fails if a sample is listed here but the
// schema refuses it, so the list stays true when the schema tightens.
var goOnly = map[string]string{
	"bad-postcode.json":             "the postcode rule applies to the last address line only, wherever that falls",
	"unknown-postcode-area.json":    "the list of real postcode areas is kept in Go",
	"no-fixed-abode.json":           "a phrase in any letter case, as a whole line or inside one",
	"date-of-loss-after-issue.json": "compares two fields, at the precision of the date of loss",
	"impossible-date.json":          "30 February has the right shape; only a calendar knows it does not exist",
	"duplicate-references.json":     "uniqueness of one member across the items of a list",
	"marks-without-letters.json":    "whether a combining mark has a letter, and how many sit on one, depends on the characters around it; refusing them here would refuse messages version 1 has accepted",
}

func TestInvalidSamplesAgainstTheSchema(t *testing.T) {
	envelope := compile(t)["envelope-request.v1.schema.json"]
	var seen []string
	for _, file := range samples.Files(t, "invalid") {
		name := filepath.Base(file)
		seen = append(seen, name)
		doc, ok := readInstance(t, file)
		var err error
		if ok {
			err = envelope.Validate(doc)
		}
		refused := !ok || err != nil
		if reason, listed := goOnly[name]; listed {
			if refused {
				t.Errorf("%s is listed as caught only in Go (%s), but the schema refuses it too: take it off the list", name, reason)
			}
			continue
		}
		if !refused {
			t.Errorf("%s: the schema accepts a request Quire refuses; tighten the schema or list it in goOnly", name)
		}
	}
	for name := range goOnly {
		if !slices.Contains(seen, name) {
			t.Errorf("goOnly lists %s, which is not an invalid sample", name)
		}
	}
}

// TestSchemaAgreesWithGoOnEdges checks single fields at the edges of the
// rules, where a schema and the Go code are most likely to disagree.
func TestSchemaAgreesWithGoOnEdges(t *testing.T) {
	compiled := compile(t)
	certificate := compiled["certificate.v1.schema.json"]
	preview := compiled["certificate-preview.v1.schema.json"]
	base := func() map[string]any {
		return map[string]any{"reference": "BLC-1", "dateOfIssue": "2025-03-03", "parentName": "Jo Bloggs"}
	}
	tests := []struct {
		name   string
		field  string
		value  any
		accept bool
	}{
		{"reference of 32", "reference", strings.Repeat("A", 32), true},
		{"reference of 33", "reference", strings.Repeat("A", 33), false},
		{"reference lower case", "reference", "blc-1", false},
		{"reference null", "reference", nil, false},
		{"blank parent name", "parentName", "   ", false},
		{"parent name of 100", "parentName", strings.Repeat("é", 100), true},
		{"parent name of 101", "parentName", strings.Repeat("é", 101), false},
		{"non-Latin parent name", "parentName", "Олена Шевченко", true},
		{"emoji in baby name", "babyName", "Robin 😀", false},
		{"zero-width space in baby name", "babyName", "Ro\u200bbin", false},
		{"private use in baby name", "babyName", "Robin\ue000", false},
		{"control character in place", "placeOfLoss", "Kent\u0007", false},
		{"null baby name", "babyName", nil, true},
		{"empty sex", "sex", "", true},
		{"sex unknown", "sex", "unknown", true},
		{"sex in capitals", "sex", "Male", false},
		{"loss month", "dateOfLoss", "2019-06", true},
		{"loss year", "dateOfLoss", "2016", true},
		{"loss in 1899", "dateOfLoss", "1899", false},
		{"loss month 13", "dateOfLoss", "2019-13", false},
		{"issue partial", "dateOfIssue", "2025-03", false},
		{"template pinned", "template", "baby-loss-certificate@2", true},
		{"template version 0", "template", "baby-loss-certificate@0", false},
		{"unknown field", "colour", "blue", false},
		{"number for text", "babyName", 5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			c[tt.field] = tt.value
			if err := certificate.Validate(c); (err == nil) != tt.accept {
				t.Errorf("accepted %v, want %v: %v", err == nil, tt.accept, err)
			}
		})
	}

	if err := certificate.Validate(map[string]any{}); err == nil {
		t.Error("an empty certificate is accepted")
	}
	if err := preview.Validate(map[string]any{"reference": "", "dateOfIssue": nil}); err != nil {
		t.Errorf("an empty preview is refused: %v", err)
	}
}

// TestSchemaNeverRefusesWhatQuireAccepts checks the length limits and the
// characters allowed against request's decoder, which counts length after
// composing text to NFC and collapsing spaces: every value Quire accepts
// must pass the schema too, however it was composed or spaced.
func TestSchemaNeverRefusesWhatQuireAccepts(t *testing.T) {
	compiled := compile(t)
	certificate := compiled["certificate.v1.schema.json"]
	envelope := compiled["envelope-request.v1.schema.json"]
	decomposed := func(s string) string { return norm.NFD.String(s) }
	values := []struct {
		name, field, value string
		quire              bool // whether Quire accepts it
	}{
		{"100 é sent decomposed", "parentName", strings.Repeat("e\u0301", 100), true},
		{"101 é sent decomposed", "parentName", strings.Repeat("e\u0301", 101), false},
		{"Vietnamese sent decomposed", "babyName", decomposed(strings.Repeat("Nguyễn Thị Ánh ", 6) + "Tuyết"), true},
		{"Korean sent as jamo", "babyName", decomposed(strings.Repeat("김민지", 33)), true},
		{"50 Yoruba dotted letters with tone marks", "babyName", strings.Repeat("ọ̀", 50), true},
		{"51 Yoruba dotted letters with tone marks", "babyName", strings.Repeat("ọ̀", 51), false},
		{"120 characters of place with doubled spaces", "placeOfLoss", strings.Repeat("ab  ", 39) + "abc", true},
		{"padded with spaces", "babyName", "   " + strings.Repeat("a", 100) + "\t\u00a0", true},
		{"a line break inside", "placeOfLoss", "St Mary's Hospital\r\nLondon", true},
		{"Persian name with a zero-width non-joiner", "parentName", "علی\u200cرضا حسینی", true},
		{"Sinhala conjunct with a zero-width joiner", "parentName", "ප්\u200dරියන්ත බණ්ඩාර", true},
		{"mixed directions with a right-to-left mark", "babyName", "Aisha \u200fعائشہ", true},
		{"zero-width space", "babyName", "Ro\u200bbin", false},
	}
	for _, v := range values {
		t.Run(v.name, func(t *testing.T) {
			c := map[string]any{"reference": "BLC-1", "dateOfIssue": "2025-03-03", "parentName": "Jo Bloggs"}
			c[v.field] = v.value
			body, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			_, err = request.DecodeCertificate(body, request.CertificateOptions{})
			if (err == nil) != v.quire {
				t.Fatalf("Quire accepts it: %v, want %v (%v)", err == nil, v.quire, err)
			}
			if err := certificate.Validate(c); v.quire && err != nil {
				t.Errorf("Quire accepts it, the schema refuses it: %v", err)
			}
			if !v.quire && certificate.Validate(c) == nil {
				t.Logf("the schema lets through a value Quire refuses, as it may")
			}
		})
	}

	// Every name and place in the corpus, as sent composed or decomposed,
	// in the envelope as well as on its own.
	data, err := os.ReadFile(filepath.Join("..", "testdata", "names", "corpus.json"))
	if err != nil {
		t.Fatal(err)
	}
	var corpus []struct{ Field, Value string }
	if err := json.Unmarshal(data, &corpus); err != nil {
		t.Fatal(err)
	}
	for _, e := range corpus {
		for _, value := range []string{e.Value, decomposed(e.Value)} {
			c := map[string]any{"reference": "BLC-1", "dateOfIssue": "2025-03-03", "parentName": "Jo Bloggs", e.Field: value}
			if err := certificate.Validate(c); err != nil {
				t.Errorf("%+q: %v", value, err)
			}
			env := map[string]any{"schemaVersion": 1, "envelopeId": "env-1",
				"recipient":    map[string]any{"name": "Ms Jo Bloggs", "address": []any{"1 Station Road", "SY8 1AA"}},
				"certificates": []any{c}}
			if err := envelope.Validate(env); err != nil {
				t.Errorf("%+q in an envelope: %v", value, err)
			}
		}
	}
}

// TestManifestFilePostage: a print file may say its postage class, one of
// first or second; a manifest written before files were split by class,
// whose files say none, still validates, so the change is compatible.
func TestManifestFilePostage(t *testing.T) {
	s := compile(t)["batch-manifest.v1.schema.json"]
	sum := strings.Repeat("ab", 32)
	manifest := func(file map[string]any) map[string]any {
		return map[string]any{
			"schemaVersion": json.Number("1"), "batchId": "B-1", "cutOff": "2026-03-02T17:30:00Z", "createdAt": "2026-03-02T17:31:05Z",
			"files": []any{file},
			"envelopes": []any{map[string]any{
				"sequence": json.Number("1"), "envelopeId": "E-1", "postcodeDistrict": "SW1A", "postage": "first",
				"file": "print-0001.pdf", "firstPage": json.Number("1"), "lastPage": json.Number("2"), "sheets": json.Number("2"),
				"documents": []any{
					map[string]any{"kind": "letter", "template": "carriage-letter@1", "pages": json.Number("1"), "sheets": json.Number("1"), "sha256": sum},
					map[string]any{"kind": "certificate", "template": "baby-loss-certificate@1", "pages": json.Number("1"), "sheets": json.Number("1"), "sha256": sum},
				},
				"pages": []any{
					map[string]any{"code": "Q1|B-1|1|1|2", "kind": "letter", "sheet": json.Number("1")},
					map[string]any{"code": "Q1|B-1|1|2|2", "kind": "certificate", "sheet": json.Number("2")},
				},
			}},
			"totals": map[string]any{"envelopes": json.Number("1"), "pages": json.Number("2"), "sheets": json.Number("2"),
				"byPostage": map[string]any{"first": map[string]any{"envelopes": json.Number("1"), "pages": json.Number("2"), "sheets": json.Number("2")}},
				"byKind":    map[string]any{}},
		}
	}
	file := func(postage string) map[string]any {
		f := map[string]any{"name": "print-0001.pdf", "size": json.Number("100"), "sha256": sum, "pages": json.Number("2"),
			"sheets": json.Number("2"), "envelopes": json.Number("1"), "firstSequence": json.Number("1"), "lastSequence": json.Number("1")}
		if postage != "" {
			f["postage"] = postage
		}
		return f
	}
	for postage, valid := range map[string]bool{"first": true, "second": true, "": true, "express": false, "First": false} {
		err := s.Validate(manifest(file(postage)))
		if (err == nil) != valid {
			t.Errorf("a file with postage %q: %v; want valid %v", postage, err, valid)
		}
	}
}

// TestReprintFieldsAreCompatible checks the fields reprints added to
// version 1 of the print event and the manifest: every event example
// (those written before reprints among them) passes, a reprint's number
// comes with the batch it reprints, and the reprint events carry only the
// fixed codes.
func TestReprintFieldsAreCompatible(t *testing.T) {
	compiled := compile(t)
	event := compiled["envelope-print-event.v1.schema.json"]
	files, err := filepath.Glob(filepath.Join("..", "testdata", "events", "print-*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no print event examples: %v", err)
	}
	var reprints int
	for _, f := range files {
		doc, ok := readInstance(t, f)
		if !ok {
			t.Fatalf("%s is not JSON", f)
		}
		if err := event.Validate(doc); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if _, ok := doc.(map[string]any)["reprint"]; ok {
			reprints++
		}
	}
	if reprints < 4 {
		t.Errorf("%d examples carry a reprint number; the requested, held, batched and posted reprint examples should", reprints)
	}

	manifest := compiled["batch-manifest.v1.schema.json"]
	entry := func(extra string) string {
		return `{"schemaVersion":1,"batchId":"20260303T173000Z-001","cutOff":"2026-03-03T17:30:00Z","createdAt":"2026-03-03T17:31:00Z",
		"files":[{"name":"print-0001.pdf","size":10,"sha256":"` + strings.Repeat("a", 64) + `","pages":2,"sheets":2,"envelopes":1,"firstSequence":1,"lastSequence":1}],
		"envelopes":[{"sequence":1,"envelopeId":"E-1","postcodeDistrict":"CT1","postage":"second","file":"print-0001.pdf","firstPage":1,"lastPage":2,"sheets":2,
		"documents":[{"kind":"letter","template":"carriage-letter@1","pages":1,"sheets":1,"sha256":"` + strings.Repeat("b", 64) + `"},
		{"kind":"certificate","template":"baby-loss-certificate@1","pages":1,"sheets":1,"sha256":"` + strings.Repeat("c", 64) + `"}],
		"pages":[{"code":"Q1|20260303T173000Z-001|1|1|2","kind":"letter","sheet":1},{"code":"Q1|20260303T173000Z-001|1|2|2","kind":"certificate","sheet":2}]` + extra + `}],
		"totals":{"envelopes":1,"pages":2,"sheets":2,"byPostage":{"second":{"envelopes":1,"pages":2,"sheets":2}},"byKind":{}}}`
	}
	for extra, accept := range map[string]bool{
		``: true,
		`,"reprint":1,"reprintOf":"20260302T173000Z-001"`: true,
		`,"reprint":1`:                                    false,
		`,"reprintOf":"20260302T173000Z-001"`:             false,
		`,"reprint":0,"reprintOf":"20260302T173000Z-001"`: false,
		`,"reprint":1,"reprintOf":"not a batch"`:          false,
	} {
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(entry(extra)))
		if err != nil {
			t.Fatal(err)
		}
		if err := manifest.Validate(doc); (err == nil) != accept {
			t.Errorf("manifest entry with %q: accepted %v, want %v (%v)", extra, err == nil, accept, err)
		}
	}
}
