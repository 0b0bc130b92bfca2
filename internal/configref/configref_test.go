package configref_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quire-print/quire/internal/clihelp"
	"github.com/quire-print/quire/internal/configref"
)

// TestReferenceIsCurrent fails when docs/configuration.md is not what the
// binary's flags give now.
func TestReferenceIsCurrent(t *testing.T) {
	ctx := context.Background()
	bin, err := configref.Build(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	want, err := configref.Generate(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	root, err := clihelp.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, configref.Path))
	if err != nil {
		t.Fatalf("%v: run go generate ./internal/configref", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date with the flags: run go generate ./internal/configref\nfirst difference near: %q",
			configref.Path, firstDiff(string(got), string(want)))
	}
	// Every serve flag is in it, with its variable.
	serve, err := clihelp.Read(ctx, bin, "serve")
	if err != nil {
		t.Fatal(err)
	}
	if len(serve.Flags) < 10 {
		t.Fatalf("quire serve -help gave %d flags; the help format may have changed", len(serve.Flags))
	}
	for _, f := range serve.Flags {
		if !strings.Contains(string(want), "`--"+f.Name) || (f.Env != "" && !strings.Contains(string(want), "`"+f.Env+"`")) {
			t.Errorf("--%s (%s) missing from the reference", f.Name, f.Env)
		}
	}
}

func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return la[i] + " ≠ " + lb[i]
		}
	}
	return "(one ends early)"
}
