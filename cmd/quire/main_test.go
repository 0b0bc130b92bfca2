package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Every command answers --help with exit 0, and "quire help" lists it.
func TestEveryCommandHasHelp(t *testing.T) {
	var help bytes.Buffer
	if code := run([]string{"help"}, &help, &help); code != 0 {
		t.Fatalf("quire help: exit %d", code)
	}
	for _, c := range commands() {
		if !strings.Contains(help.String(), "\n  "+c.name+" ") {
			t.Errorf("quire help does not list %s:\n%s", c.name, help.String())
		}
		for _, args := range [][]string{{c.name, "--help"}, {c.name, "-h"}, {"help", c.name}} {
			var stdout, stderr bytes.Buffer
			if code := run(args, &stdout, &stderr); code != 0 {
				t.Errorf("quire %s: exit %d, want 0\n%s", strings.Join(args, " "), code, stderr.String())
			}
			if !strings.Contains(stdout.String()+stderr.String(), "Usage") {
				t.Errorf("quire %s shows no usage:\n%s%s", strings.Join(args, " "), stdout.String(), stderr.String())
			}
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"frobnicate"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), `unknown command "frobnicate"`) {
		t.Errorf("an unknown command: exit %d, %q", code, stderr.String())
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 0 {
			t.Errorf("%v: exit %d", args, code)
		}
		out := stdout.String()
		if !strings.HasPrefix(out, "quire ") || !strings.Contains(out, "revision ") || !strings.Contains(out, runtime.Version()) {
			t.Errorf("%v: %q, want the version, revision and %s", args, out, runtime.Version())
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"version", "extra"}, &stdout, &stderr); code != 2 {
		t.Errorf("version with an argument: exit %d, want 2", code)
	}
}

// "quire render a.json -o out" writes to out: flags may follow the files.
func TestRenderFlagsAfterFiles(t *testing.T) {
	sample, err := filepath.Abs(filepath.Join("..", "..", "testdata", "requests", "valid", "bfpo.json"))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cwd := t.TempDir()
	t.Chdir(cwd) // where a stray ./out would land
	var stdout, stderr bytes.Buffer
	if code := run([]string{"render", sample, "-o", out, "--png-width", "400"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if matches, _ := filepath.Glob(filepath.Join(out, "*", "letter.pdf")); len(matches) != 1 {
		t.Errorf("no letter.pdf under -o %s: %v\n%s", out, matches, stdout.String())
	}
	if _, err := os.Stat(filepath.Join(cwd, "out")); err == nil {
		t.Error("-o after the file was ignored: ./out exists")
	}
	if strings.Contains(stderr.String(), "-o") {
		t.Errorf("-o was taken for a file: %s", stderr.String())
	}
}
