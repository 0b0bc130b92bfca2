package loadtest

import (
	"bytes"
	"regexp"
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
