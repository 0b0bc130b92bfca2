// Package samples finds the sample requests in testdata/requests, for
// tests in any package of this module.
package samples

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Dir is the absolute path of testdata/requests.
func Dir() string {
	_, file, _, _ := runtime.Caller(0) // this file, internal/samples/samples.go
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "requests")
}

// Files returns the sample requests in testdata/requests/<kind> (valid,
// invalid, unprintable), leaving out the .errors.json files beside them.
// It fails the test when there are none.
func Files(t testing.TB, kind string) []string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join(Dir(), kind, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, f := range all {
		if !strings.HasSuffix(f, ".errors.json") {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		t.Fatalf("no sample requests in %s", filepath.Join(Dir(), kind))
	}
	return files
}

// Request returns the sample request testdata/requests/<name> as it is or,
// where envelopeID or dateOfIssue is not empty, with the envelope id and
// every certificate's date of issue replaced.
func Request(t testing.TB, name, envelopeID, dateOfIssue string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(Dir(), name))
	if err != nil {
		t.Fatal(err)
	}
	if envelopeID == "" && dateOfIssue == "" {
		return data
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if envelopeID != "" {
		m["envelopeId"] = envelopeID
	}
	if dateOfIssue != "" {
		for _, c := range m["certificates"].([]any) {
			c.(map[string]any)["dateOfIssue"] = dateOfIssue
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
