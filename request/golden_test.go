package request_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/quire-print/quire/internal/samples"
	"github.com/quire-print/quire/request"
)

// Run "go test ./request/ -run Samples -update" to rewrite the expected
// problems of the invalid samples from what Decode returns now. Read the
// diff before committing it: the golden files are the review copy of every
// message a caseworker will see.
var update = flag.Bool("update", false, "rewrite testdata/requests/invalid/*.errors.json")

func TestValidSamples(t *testing.T) {
	for _, file := range samples.Files(t, "valid") {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			e, err := request.Decode(data)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if errs := e.Validate(); errs != nil {
				t.Errorf("Validate after Decode: %v", errs)
			}
			// The normalised envelope, sent again, is the same request.
			again, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			e2, err := request.Decode(again)
			if err != nil {
				t.Fatalf("Decode of the normalised envelope: %v", err)
			}
			if !reflect.DeepEqual(e, e2) {
				t.Errorf("normalising twice changed the envelope:\n%+v\n%+v", e, e2)
			}
			if e.ContentHash() != e2.ContentHash() {
				t.Error("the normalised envelope has a different content hash")
			}
		})
	}
}

func TestInvalidSamples(t *testing.T) {
	for _, file := range samples.Files(t, "invalid") {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			_, err = request.Decode(data)
			var got request.Errors
			if !errors.As(err, &got) {
				t.Fatalf("Decode returned %v (%T), want request.Errors", err, err)
			}
			golden := strings.TrimSuffix(file, ".json") + ".errors.json"
			if *update {
				writeGolden(t, golden, got)
				return
			}
			want := readGolden(t, golden)
			if !reflect.DeepEqual(words(got), want) {
				t.Errorf("problems differ from %s\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

// TestGoldenFilesHaveSamples catches an expected-problems file left behind
// when its sample was renamed or removed.
func TestGoldenFilesHaveSamples(t *testing.T) {
	golden, err := filepath.Glob(filepath.Join(samples.Dir(), "invalid", "*.errors.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range golden {
		sample := strings.TrimSuffix(g, ".errors.json") + ".json"
		if _, err := os.Stat(sample); err != nil {
			t.Errorf("%s has no sample: %v", g, err)
		}
	}
}

// TestProblemsNeverRepeatValues checks the promise that field errors carry
// no personal data: no text value sent in an invalid sample appears in any
// problem Decode reports for it.
func TestProblemsNeverRepeatValues(t *testing.T) {
	for _, file := range samples.Files(t, "invalid") {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if json.Unmarshal(data, &doc) != nil {
			continue // not JSON: nothing was read as a value
		}
		_, err = request.Decode(data)
		var errs request.Errors
		if !errors.As(err, &errs) {
			t.Fatalf("%s: Decode returned %v, want request.Errors", file, err)
		}
		for _, value := range textValues(doc) {
			for _, e := range errs {
				if strings.Contains(e.Problem, value) {
					t.Errorf("%s: %s repeats the value %q", file, e, value)
				}
			}
		}
	}
}

// textValues returns the trimmed strings in a decoded JSON document that
// are long enough to be recognised if repeated.
func textValues(v any) []string {
	var out []string
	switch v := v.(type) {
	case string:
		if s := strings.TrimSpace(v); len([]rune(s)) >= 3 {
			out = append(out, s)
		}
	case []any:
		for _, item := range v {
			out = append(out, textValues(item)...)
		}
	case map[string]any:
		for _, item := range v {
			out = append(out, textValues(item)...)
		}
	}
	return out
}

func writeGolden(t *testing.T, path string, errs request.Errors) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep quotes and dashes readable in review
	enc.SetIndent("", "  ")
	if err := enc.Encode(errs); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readGolden(t *testing.T, path string) request.Errors {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	var errs request.Errors
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&errs); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return errs
}

// words returns errs as they are encoded, without the character details
// kept for other wordings.
func words(errs request.Errors) request.Errors {
	out := make(request.Errors, len(errs))
	for i, e := range errs {
		out[i] = request.FieldError{Field: e.Field, Problem: e.Problem}
	}
	return out
}
