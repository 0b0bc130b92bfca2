package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quire-print/quire/internal/syncbuf"
	"github.com/quire-print/quire/pipeline/batch/batchtest"
	"github.com/quire-print/quire/pipeline/service"
	"github.com/quire-print/quire/pipeline/storage/fsstore"
	"github.com/quire-print/quire/pipeline/supplier/pull"
)

var batchCutOff = time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC)

func runBatchesCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runBatches(t.Context(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestBatchesListShowResend(t *testing.T) {
	dir := t.TempDir()
	s, err := fsstore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	sealed := batchtest.Seal(t, s, "northprint", batchCutOff, 3)

	code, out, errOut := runBatchesCmd(t, "--data-dir", dir, "list")
	if code != 0 || !strings.Contains(out, sealed.BatchID+"  2026-03-02 17:30 GMT  northprint  3") ||
		!strings.Contains(out, "sealed, waiting for hand-over") {
		t.Errorf("list: %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runBatchesCmd(t, "--data-dir", dir, "show", sealed.BatchID)
	if code != 0 || !strings.Contains(out, sealed.Files[0].SHA256) || !strings.Contains(out, "posted    0 of 3") {
		t.Errorf("show: %d\n%s%s", code, out, errOut)
	}
	batchtest.CheckNoPersonalData(t, "quire batches show", out)

	folder := t.TempDir()
	code, out, errOut = runBatchesCmd(t, "--data-dir", dir, "--supplier", "northprint", "--supplier-adapter", "folder",
		"--supplier-folder", folder, "resend", sealed.BatchID)
	if code != 0 {
		t.Fatalf("resend: %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(folder, sealed.BatchID, sealed.Files[0].Name)); err != nil {
		t.Errorf("the re-sent batch is not in the folder: %v", err)
	}
	if _, out, _ = runBatchesCmd(t, "--data-dir", dir, "list"); !strings.Contains(out, "handed over 2026-") {
		t.Errorf("after the re-send, list says\n%s", out)
	}

	code, _, errOut = runBatchesCmd(t, "--data-dir", dir, "show", "20991231T000000Z-001")
	if code != 1 || !strings.Contains(errOut, "not found") {
		t.Errorf("show of an unknown batch: %d %s", code, errOut)
	}
}

func TestBatchesUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"list", "extra"}, {"show"}, {"frobnicate"}} {
		if code, _, _ := runBatchesCmd(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	code, out, _ := runBatchesCmd(t, "token")
	var token, hash string
	for line := range strings.SplitSeq(out, "\n") {
		f := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "token"):
			token = f[len(f)-1]
		case strings.HasPrefix(line, "sha256"):
			hash = f[len(f)-1]
		}
	}
	if code != 0 || pull.HashToken(token) != hash {
		t.Errorf("token: %d %q", code, out)
	}
}

// TestServeMountsThePullAPI: with --supplier and the pull adapter, serve's
// mux answers /supplier/v1/... with its own authentication.
func TestServeMountsThePullAPI(t *testing.T) {
	dir := t.TempDir()
	cfg := service.Config{DataDir: dir, Listen: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)}
	r, err := newRenderer()
	if err != nil {
		t.Fatal(err)
	}
	s, err := service.New(cfg, r)
	if err != nil {
		t.Fatal(err)
	}
	token, hash := pull.NewToken()
	bs := &batchSettings{supplier: "northprint", adapter: "pull", tokens: "northprint:" + hash, cutOff: "17:30",
		zone: "Europe/London", weekdays: "mon,tue,wed,thu,fri", maxEnvelopes: 10, retentionDays: 30}
	stop, err := startBatching(t.Context(), s, cfg, bs, r.r, slog.New(slog.DiscardHandler), func(err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	for _, tt := range []struct {
		token string
		want  int
	}{{"", http.StatusUnauthorized}, {"qs_wrong", http.StatusUnauthorized}, {token, http.StatusOK}} {
		req, _ := http.NewRequest("GET", "http://"+s.Addr()+pull.BasePath+"/batches", nil)
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("token %q: %d %s, want %d", tt.token, resp.StatusCode, body, tt.want)
		}
	}

	// Without tokens, the pull adapter is refused before anything starts.
	bs.tokens = ""
	if _, err := startBatching(t.Context(), s, cfg, bs, r.r, slog.New(slog.DiscardHandler), nil); err == nil ||
		!strings.Contains(err.Error(), "needs --supplier-tokens") {
		t.Errorf("no tokens: %v", err)
	}
}

// TestServeExposesBatchingMetrics: quire serve --supplier registers the
// batcher's, the sweep's and the pull API's metrics on its /metrics.
func TestServeExposesBatchingMetrics(t *testing.T) {
	_, hash := pull.NewToken()
	args := []string{"--data-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--log-level", "error",
		"--supplier", "northprint", "--supplier-tokens", "northprint:" + hash}
	stdout, w := io.Pipe()
	var logs syncbuf.Buffer
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() {
		code := runServe(ctx, args, w, &logs)
		w.Close()
		done <- code
	}()
	defer func() {
		stop()
		if code := <-done; code != 0 {
			t.Errorf("exit %d after a stop, want 0:\n%s", code, logs.String())
		}
	}()
	// The embedded serve names its address before it serves; its listener
	// is open by then, so requests wait for it.
	line, err := bufio.NewReader(stdout).ReadString('\n')
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	_, rest, ok := strings.Cut(line, "intake at http://")
	addr, _, _ := strings.Cut(rest, "/")
	if err != nil || !ok {
		t.Fatalf("quire serve did not say where it listens: %q, %v\n%s", line, err, logs.String())
	}

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, _ := get(pull.BasePath + "/batches"); code != http.StatusUnauthorized {
		t.Errorf("the pull API without a token: %d", code)
	}
	code, metrics := get("/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`quire_batch_cutoffs_total{outcome="completed"} `,
		`quire_batch_cutoffs_total{outcome="failed"} `,
		"quire_batch_last_cutoff_done_timestamp_seconds ",
		"quire_batch_last_cutoff_due_timestamp_seconds ",
		"quire_batch_envelopes_batched_total ",
		`quire_batch_envelopes_left_out_total{reason="damaged"} `,
		`quire_batch_handoffs_total{adapter="pull",outcome="needs-operator"} 0`,
		`quire_retention_sweeps_total{outcome="failed"} `,
		`quire_retention_swept_total{what="envelope"} `,
		"quire_retention_objects_deleted_total ",
		`quire_pull_requests_total{code="401",route="GET /supplier/v1/batches"} 1`,
		"quire_pull_lockouts_total 0",
	} {
		if !strings.Contains(metrics, "\n"+want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
