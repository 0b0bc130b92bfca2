package events_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/request"
	"github.com/quire-print/quire/schemas"
)

var update = flag.Bool("update", false, "rewrite testdata/events from the code")

// schema compiles one schema from schemas.FS.
func schema(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	files, _ := fs.Glob(schemas.FS, "*.json")
	var want string
	for _, f := range files {
		data, _ := schemas.FS.ReadFile(f)
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		id := doc.(map[string]any)["$id"].(string)
		if err := c.AddResource(id, doc); err != nil {
			t.Fatal(err)
		}
		if f == name {
			want = id
		}
	}
	s, err := c.Compile(want)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var at = time.Date(2026, 3, 2, 17, 4, 5, 0, time.UTC)

func record() envelopes.Record {
	return envelopes.Record{
		SchemaVersion: 1, EnvelopeID: "env-2025-03-05-000201", RequestHash: strings.Repeat("9f", 32),
		Documents: []envelopes.Document{
			{Kind: "letter", Name: "letter.pdf", TemplateID: "carriage-letter", TemplateVersion: 1, Pages: 2, Sheets: 1,
				File: envelopes.File{SHA256: strings.Repeat("0c", 32), Size: 48213}},
			{Kind: "certificate", Name: "certificate-1.pdf", TemplateID: "baby-loss-certificate", TemplateVersion: 3, Pages: 1, Sheets: 1,
				File: envelopes.File{SHA256: strings.Repeat("b1", 32), Size: 51022}},
		},
		Status: envelopes.StatusRendered, RenderedAt: at,
	}
}

// examples are the events documented in docs/events.md and kept in
// testdata/events, made by the code that publishes them.
func examples() map[string]events.Event {
	return map[string]events.Event{
		"accepted": events.Accepted("env-2025-03-05-000201", at.In(time.FixedZone("BST", 3600))),
		"rejected": events.Rejected("env-2025-03-05-000207", "env-2025-03-05-000207", pipeline.Reason{
			Code: "invalid-request", Detail: "1 problem",
			Fields: []request.FieldError{{Field: "recipient.address[3]", Problem: "must be a UK postcode like \"SW1A 1AA\" or a BFPO number like \"BFPO 1234\", because it is the last line of the address"}},
		}, at),
		"rejected-malformed": events.Rejected("", "not a valid id because of spaces", pipeline.Reason{
			Code: "malformed", Detail: "not a JSON object",
			Fields: []request.FieldError{{Field: "", Problem: "is not valid JSON"}},
		}, at),
		"rendered":  events.Rendered(record()),
		"cancelled": events.Cancelled(envelopes.Cancellation{SchemaVersion: 1, EnvelopeID: "env-2025-03-05-000201", Code: "requested-by-parent", Reason: "asked by phone", At: at}),
	}
}

func TestExamplesMatchTheCodeAndTheSchema(t *testing.T) {
	s := schema(t, "envelope-event.v1.schema.json")
	for name, e := range examples() {
		t.Run(name, func(t *testing.T) { checkExample(t, s, name+".json", e) })
	}
}

// checkExample compares e, as JSON, with testdata/events/<file> (rewritten
// with -update) and validates it against the schema s.
func checkExample(t *testing.T, s *jsonschema.Schema, file string, e any) {
	t.Helper()
	got, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	file = filepath.Join("..", "..", "testdata", "events", file)
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the code's event (go test -update to rewrite):\n%s", file, got)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(got))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(doc); err != nil {
		t.Errorf("schema refuses %s: %v", file, err)
	}
}

func TestRejectedLeavesOutIdsThatAreNotIds(t *testing.T) {
	e := events.Rejected("Mrs Priya Raman", "../../etc", pipeline.Reason{Code: "invalid-request"}, at)
	if e.EnvelopeID != "" || e.MessageID != "" {
		t.Errorf("event %+v carries an id that breaks the id rules", e)
	}
}

func TestSchemaRefusesWrongEvents(t *testing.T) {
	s := schema(t, "envelope-event.v1.schema.json")
	bad := map[string]string{
		"rendered without documents": `{"schemaVersion":1,"type":"envelope.rendered","envelopeId":"E-1","occurredAt":"2026-03-02T17:04:05Z"}`,
		"accepted without id":        `{"schemaVersion":1,"type":"envelope.accepted","occurredAt":"2026-03-02T17:04:05Z"}`,
		"cancelled with fields":      `{"schemaVersion":1,"type":"envelope.cancelled","envelopeId":"E-1","occurredAt":"2026-03-02T17:04:05Z","reason":{"code":"x","fields":[]}}`,
		"rejected without reason":    `{"schemaVersion":1,"type":"envelope.rejected","envelopeId":"E-1","occurredAt":"2026-03-02T17:04:05Z"}`,
		"unknown field":              `{"schemaVersion":1,"type":"envelope.accepted","envelopeId":"E-1","occurredAt":"2026-03-02T17:04:05Z","name":"x"}`,
		"bad time":                   `{"schemaVersion":1,"type":"envelope.accepted","envelopeId":"E-1","occurredAt":"yesterday"}`,
	}
	for name, js := range bad {
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(js))
		if err != nil {
			t.Fatal(err)
		}
		if s.Validate(doc) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
