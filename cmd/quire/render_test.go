package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRenderWritesEveryDocumentAndPage(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{"render", "-o", out, "--png", "--png-width", "400",
		"../../testdata/requests/valid/twins.json", "../../testdata/requests/valid/large-print.json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, f := range []string{
		"env-2025-03-05-000201/letter.pdf", "env-2025-03-05-000201/certificate-1.pdf", "env-2025-03-05-000201/certificate-2.pdf",
		"env-2025-03-05-000201/letter-page1.png", "env-2025-03-05-000201/certificate-2-page1.png",
		"env-2025-03-05-000230/letter-page2.png",
	} {
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if data, _ := os.ReadFile(filepath.Join(out, "env-2025-03-05-000201/letter.pdf")); !bytes.HasPrefix(data, []byte("%PDF-")) {
		t.Error("letter.pdf is not a PDF")
	}
}

func TestRenderRefusesWithEveryProblem(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"render", "-o", t.TempDir(),
		"../../testdata/requests/invalid/multiple-problems.json",
		"../../testdata/requests/unprintable/tibetan-baby-name.json",
		"../../testdata/requests/valid/bfpo.json"}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	errs := stderr.String()
	for _, want := range []string{"multiple-problems.json: refused", "tibetan-baby-name.json: refused", "certificates[0].babyName: contains \"བ\" (U+0F56)"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if !strings.Contains(stdout.String(), "bfpo.json: wrote") {
		t.Errorf("a valid file among invalid ones was not rendered: %s", stdout.String())
	}
}

func TestRenderUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"render"}, &stdout, &stderr); code != 2 {
		t.Errorf("no files: exit %d, want 2", code)
	}
	if code := run([]string{"render", "--png", "--png-width", "5", "x.json"}, &stdout, &stderr); code != 2 {
		t.Errorf("bad width: exit %d, want 2", code)
	}
}
