package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// personalInSample is every personal value in two-parents-all-boxes.json.
var personalInSample = []string{"Daniel", "Okafor", "Grace", "Wellington", "St Leonards", "Exeter", "Devon", "EX2 4LP",
	"BLC-2025-000118", "Ada", "female", "2024-11-19", "Royal Devon"}

func TestRedactBody(t *testing.T) {
	body, err := os.ReadFile("../../testdata/requests/valid/two-parents-all-boxes.json")
	if err != nil {
		t.Fatal(err)
	}
	got := redactBody(body)
	for _, p := range personalInSample {
		if strings.Contains(got, p) {
			t.Errorf("redacted body shows %q:\n%s", p, got)
		}
	}
	for _, keep := range []string{`"envelopeId": "env-2025-03-04-000118"`, `"template": "carriage-letter@1"`, `"format": "standard"`,
		`"parentName": "[redacted]"`, `"dateOfIssue": "[redacted]"`, `"schemaVersion": 1`} {
		if !strings.Contains(got, keep) {
			t.Errorf("redacted body lacks %s:\n%s", keep, got)
		}
	}
	if n := strings.Count(got, "[redacted]"); n != 14 { // name, 5 address lines, 8 certificate boxes
		t.Errorf("%d values redacted, want 14:\n%s", n, got)
	}

	for _, tc := range []struct{ body, leak string }{
		{`{"envelopeId": "Mrs Jane Example", "recipient": {}}`, "Jane"}, // a name where an id goes
		{`{"Jane Example": "x"}`, "Jane"},                               // a name as a key
		{`not json: Jane Example, 1 High St`, "Jane"},                   // not JSON at all
		{`{"reason": "Mrs Jane Example rang", "code": "requested-by-parent"}`, "Jane"},
		{`{"envelopeId": "E-1"} {"parentName": "Jane"}`, "Jane"}, // two documents
	} {
		if got := redactBody([]byte(tc.body)); strings.Contains(got, tc.leak) {
			t.Errorf("redactBody(%s) = %s", tc.body, got)
		}
	}
	if got := redactBody([]byte(`{"code": "requested-by-parent", "reason": "x"}`)); !strings.Contains(got, "requested-by-parent") {
		t.Errorf("a cancellation's code is hidden: %s", got)
	}
}

// The commands refuse what they cannot do safely before connecting.
func TestDeadLettersUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"deadletters", "--amqp-url", "amqp://x", "show"}, "say which dead letters"},
		{[]string{"deadletters", "--amqp-url", "amqp://x", "replay"}, "say which dead letters"},
		{[]string{"deadletters", "--amqp-url", "amqp://x", "discard", "--all"}, "add --yes"},
		{[]string{"deadletters", "--amqp-url", "amqp://x", "--all", "--envelope", "E-1", "replay"}, "give one of"},
		{[]string{"deadletters", "--amqp-url", "amqp://x", "--all", "--show-personal-data", "replay"}, "goes with show"},
		{[]string{"deadletters", "--amqp-url", "", "list"}, "embedded queue"},
		{[]string{"deadletters", "--amqp-url", "amqp://x", "frob"}, "Usage"},
	} {
		t.Setenv("QUIRE_AMQP_URL", "")
		var stdout, stderr bytes.Buffer
		if code := run(tc.args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.says) {
			t.Errorf("%v: exit %d, %q; want 2 saying %q", tc.args, code, stderr.String(), tc.says)
		}
	}
}
