package loadtest

import (
	"bytes"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestPreviewLoadReportsAShortRun(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := RunPreview(t.Context(), []string{"-clients", "4", "-n", "60", "-miss", "0.5", "-hot", "3", "-width", "300", "-rate", "2000", "-renders", "1"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, stderr.String(), stdout.String())
	}
	out := stdout.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`2000 requests/s on a schedule, 50% new certificates`),
		regexp.MustCompile(`60 requests in [0-9.]+s: [0-9]+ previews/s`),
		regexp.MustCompile(`latency p50 \S+, p90 \S+, p99 \S+, max \S+`),
		regexp.MustCompile(`statuses: 60×200`),
		regexp.MustCompile(`server: \d+ hits, \d+ misses`),
	} {
		if !want.MatchString(out) {
			t.Errorf("the report does not match %s:\n%s", want, out)
		}
	}
}

// With --complex, names in other scripts come from the corpus, and the
// report gives their latency and the Latin names' apart.
func TestPreviewLoadWithNamesInOtherScripts(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := RunPreview(t.Context(), []string{"-clients", "4", "-n", "40", "-miss", "0.5", "-hot", "4", "-complex", "0.5",
		"-names", "../../../../testdata/names/corpus.json", "-width", "300", "-rate", "2000", "-renders", "1"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, stderr.String(), stdout.String())
	}
	out := stdout.String()
	latin := regexp.MustCompile(`Latin names: (\d+) requests, latency p50 \S+, p90 \S+, p99 \S+`).FindStringSubmatch(out)
	other := regexp.MustCompile(`other scripts: (\d+) requests, latency p50 \S+, p90 \S+, p99 \S+`).FindStringSubmatch(out)
	if latin == nil || other == nil || !strings.Contains(out, "statuses: 40×200") {
		t.Fatalf("the report lacks a line per kind of name, or a request failed:\n%s", out)
	}
	if n, _ := strconv.Atoi(latin[1]); n == 0 || n == 40 {
		t.Errorf("%d of 40 requests had Latin names, want some but not all:\n%s", n, out)
	}
	if a, _ := strconv.Atoi(latin[1]); func() int { b, _ := strconv.Atoi(other[1]); return a + b }() != 40 {
		t.Errorf("the two kinds do not add up to 40 requests:\n%s", out)
	}

	c, err := readCorpus("../../../../testdata/names/corpus.json")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := range 2000 {
		body := c.certificate("Miss", i)
		if seen[body] {
			t.Fatalf("certificate %d repeats an earlier one: %s", i, body)
		}
		seen[body] = true
		if i < len(c.scripts) && !strings.ContainsFunc(body, func(r rune) bool { return r > 0x24F }) {
			t.Errorf("certificate %d has no letter beyond Latin: %s", i, body)
		}
	}
	for _, s := range []string{"Arab", "Beng", "Deva", "Hans"} {
		if !slices.Contains(c.scripts, s) {
			t.Errorf("no %s names in the mix %v", s, c.scripts)
		}
	}
}

func TestPreviewLoadStaysOnLoopback(t *testing.T) {
	for _, args := range [][]string{
		{"-url", "http://192.0.2.1:8080"},
		{"-url", "http://example.com"},
		{"-clients", "1000"},
		{"-duration", "1h"},
		{"-miss", "2"},
		{"-format", "svg"},
		{"-url", "http://127.0.0.1:8080", "-renders", "1"},
		{"-rate", "-1"},
		{"-complex", "1.5"},
	} {
		var stdout, stderr bytes.Buffer
		if code := RunPreview(t.Context(), args, &stdout, &stderr); code != 2 {
			t.Errorf("%s: exit %d, want 2 (usage)", strings.Join(args, " "), code)
		}
	}
	if err := checkLoopback("http://[::1]:8080"); err != nil {
		t.Errorf("::1: %v", err)
	}
}
