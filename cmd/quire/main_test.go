package main

import (
	"bytes"
	"io"
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

// Every flag defined through envflag has a usage, and every environment
// variable is QUIRE_<FLAG NAME> and names one flag of its command, so the
// configuration reference and deployment files can be made from the
// definitions.
func TestFlagDefinitions(t *testing.T) {
	walked := 0
	for _, c := range commands() {
		if c.flags == nil {
			continue
		}
		s := c.flags(io.Discard)
		envs := map[string]string{}
		for _, d := range s.Defs() {
			walked++
			if d.Usage == "" {
				t.Errorf("quire %s --%s has no usage", c.name, d.Name)
			}
			if s.FlagSet().Lookup(d.Name) == nil {
				t.Errorf("quire %s: --%s is defined but not in the flag set", c.name, d.Name)
			}
			if d.Env == "" {
				continue
			}
			if prev, ok := envs[d.Env]; ok {
				t.Errorf("quire %s: %s sets both --%s and --%s", c.name, d.Env, prev, d.Name)
			}
			envs[d.Env] = d.Name
			if want := "QUIRE_" + strings.ToUpper(strings.ReplaceAll(d.Name, "-", "_")); d.Env != want && !knownEnvNames[d.Env] {
				t.Errorf("quire %s --%s: environment variable %s, want %s", c.name, d.Name, d.Env, want)
			}
		}
	}
	if walked < 50 {
		t.Errorf("only %d flag definitions walked", walked)
	}
}

// knownEnvNames are environment variables whose names do not follow the
// flag's, kept for compatibility.
var knownEnvNames = map[string]bool{
	"QUIRE_SUBMIT_TIMEOUT": true, // quire submit --timeout
}

// The operators' tools reach quire serve's broker and store with its
// flags, but render nothing: their help lists no worker setting, and
// still every store and queue flag.
func TestToolsListOnlyFlagsTheyUse(t *testing.T) {
	for _, name := range []string{"batches", "envelopes"} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{name, "--help"}, &stdout, &stderr); code != 0 {
			t.Fatalf("quire %s --help: exit %d", name, code)
		}
		help := stdout.String() + stderr.String()
		for _, unused := range []string{"-concurrency", "-prefetch", "-shutdown-timeout", "-listen", "-memory-limit"} {
			if strings.Contains(help, "\n  "+unused+" ") || strings.Contains(help, "\n  "+unused+"\n") {
				t.Errorf("quire %s --help lists %s, which it does not use", name, unused)
			}
		}
		for _, used := range []string{"-amqp-url", "-amqp-prefix", "-s3-endpoint", "-s3-bucket", "-data-dir"} {
			if !strings.Contains(help, "\n  "+used+" ") {
				t.Errorf("quire %s --help does not list %s", name, used)
			}
		}
	}
}
