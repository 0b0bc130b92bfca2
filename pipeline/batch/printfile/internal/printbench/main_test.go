package main

import (
	"testing"

	"github.com/quire-print/quire/request"
)

// TestSamplesAreValid keeps the benchmark's envelopes printable: every
// combination of names, places and optional boxes passes validation.
func TestSamplesAreValid(t *testing.T) {
	names := map[string]bool{}
	for i := 1; i <= 1000; i++ {
		env := sample(i)
		if errs := env.Validate(); len(errs) > 0 {
			t.Fatalf("sample %d: %v", i, errs)
		}
		if env.Letter.Postage != request.PostageFirst && env.Letter.Postage != request.PostageSecond {
			t.Fatalf("sample %d: postage %q", i, env.Letter.Postage)
		}
		names[env.Recipient.Name] = true
	}
	if len(names) < 100 {
		t.Errorf("only %d different names in 1000 samples", len(names))
	}
}
