package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quire-print/quire/pipeline/batch/batchtest"
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

// TestServeExposesBatchingMetrics: quire serve --supplier registers the
// batcher's, the sweep's and the pull API's metrics on its /metrics.
func TestServeExposesBatchingMetrics(t *testing.T) {
	_, hash := pull.NewToken()
	addr := startServe(t, "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0",
		"--supplier", "northprint", "--supplier-tokens", "northprint:"+hash)

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
