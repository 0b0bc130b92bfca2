// Package pdftest runs the PDF tools Quire's tests check their output
// with: Debian's poppler-utils (pdffonts, pdfinfo, pdftotext, pdftoppm) and
// qpdf.
//
// The tools are required: CI installs them (scripts/test-services.sh
// does), and a missing tool fails the test rather than skipping it, so
// that no run passes without the PDFs having been checked.
package pdftest

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// Run runs the tool name with args and returns its combined output. It
// fails t if the tool is not installed or exits with an error.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is not installed (apt-get install poppler-utils qpdf; scripts/test-services.sh does): the PDFs cannot be checked", name)
	}
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// fontLine is one row of pdffonts' table
// (name type encoding emb sub uni object ID), with the name a tagged
// subset (ABCDEF+Name).
var fontLine = regexp.MustCompile(`^([A-Z]{6})\+(\S+)\s+(.*?)\s+(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$`)

// CheckFonts reads out, pdffonts' table for the PDF called name in
// messages: it must list at least one font, and every font must be
// embedded as a tagged subset.
func CheckFonts(t testing.TB, name, out string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 3 {
		t.Errorf("%s: pdffonts lists no fonts:\n%s", name, out)
		return
	}
	for _, l := range lines[2:] {
		m := fontLine.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("%s: font not embedded as a tagged subset: %q", name, l)
			continue
		}
		if m[4] != "yes" || m[5] != "yes" {
			t.Errorf("%s: font %s emb=%s sub=%s, want yes/yes", name, m[2], m[4], m[5])
		}
	}
}
