package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/quire-print/quire/internal/syncbuf"
)

func TestServeRefusesBadConfiguration(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--concurrency", "8", "--prefetch", "2"}, nil, "prefetch (2) cannot be smaller than concurrency (8)"},
		{[]string{"--amqp-url", "http://broker"}, nil, "AMQP URL must look like amqp://"},
		{[]string{"--s3-endpoint", "127.0.0.1:9000"}, nil, "S3 bucket is required"},
		{[]string{"--listen", "8080"}, nil, `HTTP listen address "8080" must be host:port`},
		{nil, map[string]string{"QUIRE_CONCURRENCY": "four"}, "QUIRE_CONCURRENCY must be a whole number"},
		{nil, map[string]string{"QUIRE_SHUTDOWN_TIMEOUT": "soon"}, "QUIRE_SHUTDOWN_TIMEOUT must be a duration"},
		{[]string{"--log-level", "loud"}, nil, "--log-level must be debug, info, warn or error"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v) // restored when the subtest ends
			}
			var stdout, stderr bytes.Buffer
			code := runServe(context.Background(), tt.args, &stdout, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("%v %v: exit %d, %q; want 2 and %q", tt.args, tt.env, code, stderr.String(), tt.want)
			}
		})
	}
}

func TestServeHelpNeverShowsSecrets(t *testing.T) {
	t.Setenv("QUIRE_S3_SECRET_KEY", "s3cr3t-from-env")
	t.Setenv("QUIRE_S3_ACCESS_KEY", "access-from-env")
	var stdout, stderr bytes.Buffer
	runServe(context.Background(), []string{"--help"}, &stdout, &stderr)
	if strings.Contains(stderr.String(), "s3cr3t") || strings.Contains(stderr.String(), "access-from-env") {
		t.Errorf("--help shows a secret from the environment:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "QUIRE_S3_SECRET_KEY") {
		t.Error("--help does not name the environment variable")
	}
}

func TestSubmitRefusesBadCancels(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := runSubmit(context.Background(), []string{"--cancel", "E-1", "--reason", "Not A Code"}, &stdout, &stderr); code != 2 ||
		!strings.Contains(stderr.String(), "code: must be") {
		t.Errorf("exit %d, %q", code, stderr.String())
	}
	stderr.Reset()
	if code := runSubmit(context.Background(), []string{"--cancel", "E-1", "--reason", "x", "a.json"}, &stdout, &stderr); code != 2 {
		t.Errorf("--cancel with files: exit %d, want 2", code)
	}
	stderr.Reset()
	// Nothing listens on this port: the message is not submitted, and says so.
	code := runSubmit(context.Background(), []string{"--server", "http://127.0.0.1:1", filepath.Join("..", "..", "testdata", "requests", "valid", "twins.json")}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "is quire serve running") {
		t.Errorf("exit %d, %q", code, stderr.String())
	}
}

// TestDemo runs "quire demo" as a newcomer would, with the real renderer:
// every sample is rendered, the invalid one rejected with its field, and a
// second run finds everything already stored.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	valid := filepath.Join("..", "..", "testdata", "requests", "valid")
	samples, err := filepath.Glob(filepath.Join(valid, "*.json"))
	if err != nil || len(samples) < 9 {
		t.Fatalf("samples: %d, %v", len(samples), err)
	}
	args := []string{"--data-dir", dir, "--samples", valid,
		"--invalid", filepath.Join("..", "..", "testdata", "requests", "invalid", "bad-postcode.json")}
	for run := 1; run <= 2; run++ {
		var stdout, stderr bytes.Buffer
		if code := runDemo(context.Background(), args, &stdout, &stderr); code != 0 {
			t.Fatalf("run %d: exit %d\n%s\n%s", run, code, stdout.String(), stderr.String())
		}
		out := stdout.String()
		if n := strings.Count(out, ": rendered ("); n != len(samples) {
			t.Errorf("run %d: %d envelopes rendered, want %d:\n%s", run, n, len(samples), out)
		}
		if !strings.Contains(out, "env-2025-04-01-000900: rejected, invalid-request") || !strings.Contains(out, "recipient.address[3]: must be a UK postcode") {
			t.Errorf("run %d: the rejection is not shown:\n%s", run, out)
		}
		letter := filepath.Join(dir, "documents", "env-2025-03-05-000201", "letter.pdf")
		if !strings.Contains(out, letter) {
			t.Errorf("run %d: file paths under the data dir are not shown", run)
		}
		if data, err := os.ReadFile(letter); err != nil || !bytes.HasPrefix(data, []byte("%PDF-")) {
			t.Errorf("run %d: %s is not a PDF: %v", run, letter, err)
		}
		if strings.Contains(out+stderr.String(), "Priya") {
			t.Errorf("run %d: the demo printed a name from a request", run)
		}
	}
}

// startServe runs quire serve with args until the test ends, and returns
// the address of its shared listener, as its start line names it.
func startServe(t *testing.T, args ...string) string {
	t.Helper()
	var logs syncbuf.Buffer
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() { done <- runServe(ctx, args, io.Discard, &logs) }()
	t.Cleanup(func() {
		stop()
		if code := <-done; code != 0 {
			t.Errorf("exit %d after a stop, want 0:\n%s", code, logs.String())
		}
	})
	// The listeners are open before the start line, so requests made
	// after it wait for them.
	logs.WaitFor(t, "quire serve: running", 1)
	_, rest, _ := strings.Cut(logs.String(), " http_admin+public")
	_, rest, ok := strings.Cut(rest, "=http://")
	addr, _, _ := strings.Cut(rest, " ")
	if !ok {
		t.Fatalf("quire serve did not say where it listens:\n%s", logs.String())
	}
	return addr
}

// TestServeExposesPreviewMetrics: serve's /metrics carries the preview's
// metrics and the build beside the pipeline's, and the start line names
// the build and the preview's address.
func TestServeExposesPreviewMetrics(t *testing.T) {
	addr := startServe(t, "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0")
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		return string(body)
	}
	get("/api/v1/templates/baby-loss-certificate/sample.png?width=400")
	metrics := get("/metrics")
	for _, want := range []string{
		`quire_preview_request_duration_seconds_count{code="200",route="GET /api/v1/templates/{template}/sample.png"} 1`,
		"quire_preview_cache_misses_total 1",
		"quire_envelopes_in_flight 0",
		`quire_build_info{goversion="` + runtime.Version() + `",`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if page := get("/preview"); !strings.Contains(page, "<html") {
		t.Errorf("/preview is not the page: %.200s", page)
	}
}
