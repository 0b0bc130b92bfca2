package cancel_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/quire-print/quire/pipeline/cancel"
	"github.com/quire-print/quire/request"
	"github.com/quire-print/quire/schemas"
)

func schema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	data, err := fs.ReadFile(schemas.FS, "envelope-cancel.v1.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("cancel.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("cancel.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	fs, err := filepath.Glob(filepath.Join("..", "..", "testdata", "cancels", dir, "*.json"))
	if err != nil || len(fs) == 0 {
		t.Fatalf("no samples in %s: %v", dir, err)
	}
	return fs
}

// TestSamplesAgreeWithTheSchema checks that Go and the schema accept and
// refuse the same cancel messages.
func TestSamplesAgreeWithTheSchema(t *testing.T) {
	s := schema(t)
	for _, valid := range []bool{true, false} {
		dir := map[bool]string{true: "valid", false: "invalid"}[valid]
		for _, file := range files(t, dir) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			_, decodeErr := cancel.Decode(data)
			doc, jsonErr := jsonschema.UnmarshalJSON(bytes.NewReader(data))
			schemaOK := jsonErr == nil && s.Validate(doc) == nil
			if (decodeErr == nil) != valid || schemaOK != valid {
				t.Errorf("%s: Go accepts %v (%v), schema accepts %v; want %v", file, decodeErr == nil, decodeErr, schemaOK, valid)
			}
			var fe request.Errors
			if decodeErr != nil && !errors.As(decodeErr, &fe) {
				t.Errorf("%s: error %T is not request.Errors", file, decodeErr)
			}
		}
	}
}

func TestProblemsNeverRepeatTheValue(t *testing.T) {
	for _, body := range []string{
		`{"schemaVersion":1,"envelopeId":"Mrs Priya Raman","code":"x"}`,
		`{"schemaVersion":1,"envelopeId":"E-1","code":"x","Mrs Priya Raman":1}`,
		`{"schemaVersion":1,"envelopeId":"E-1","code":"x"} "Mrs Priya Raman"`,
		`"Mrs Priya Raman"`,
	} {
		_, err := cancel.Decode([]byte(body))
		if err == nil {
			t.Errorf("%s: accepted", body)
			continue
		}
		if strings.Contains(err.Error(), "Priya") {
			t.Errorf("%s: problem %q repeats the value", body, err)
		}
	}
}

func TestEncodeRoundTrips(t *testing.T) {
	body, err := cancel.Encode(cancel.Request{EnvelopeID: "E-1", Code: "requested-by-parent", Reason: "by phone"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := cancel.Decode(body)
	if err != nil || r.EnvelopeID != "E-1" || r.Code != "requested-by-parent" || r.Reason != "by phone" || r.SchemaVersion != 1 {
		t.Errorf("round trip: %+v, %v", r, err)
	}
	if _, err := cancel.Encode(cancel.Request{EnvelopeID: "E-1"}); err == nil {
		t.Error("Encode accepted a cancel without a code")
	}
	if _, err := cancel.Decode(make([]byte, cancel.MaxSize+1)); err == nil {
		t.Error("an oversized body was accepted")
	}
}
