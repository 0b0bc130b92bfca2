//go:build integration

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quire-print/quire/internal/waitfor"
	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/broker"
	"github.com/quire-print/quire/pipeline/service/servicetest"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/s3store/s3test"
)

// buildQuire builds this command into a temporary directory.
func buildQuire(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "quire")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestSIGKILLWhileHoldingUnackedEnvelopes kills a quire serve process
// with SIGKILL while it holds unacked envelopes, starts another, and
// checks that every envelope is stored exactly once and announced.
func TestSIGKILLWhileHoldingUnackedEnvelopes(t *testing.T) {
	bin := buildQuire(t)
	prefix := servicetest.Prefix(t, nil)
	up := servicetest.NewUpstream(t, prefix, nil)
	s3 := s3test.Config(t)
	logDir := t.TempDir()
	serve := func(n int) *exec.Cmd {
		logf, err := os.Create(filepath.Join(logDir, fmt.Sprintf("serve-%d.log", n)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { logf.Close() })
		cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--concurrency", "4", "--prefetch", "32", "--s3-disable-tls", "--s3-create-bucket")
		cmd.Env = append(os.Environ(),
			"QUIRE_AMQP_URL="+servicetest.AMQPURL(t), "QUIRE_AMQP_PREFIX="+prefix,
			"QUIRE_S3_ENDPOINT="+s3.Endpoint, "QUIRE_S3_BUCKET="+s3.Bucket,
			"QUIRE_S3_ACCESS_KEY="+s3.AccessKey, "QUIRE_S3_SECRET_KEY="+s3.SecretKey,
		)
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}

	sample, err := os.ReadFile(filepath.Join("..", "..", "testdata", "requests", "valid", "twins.json"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	ids := make([]string, n)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i := range ids {
		ids[i] = fmt.Sprintf("kill-%04d", i)
		var m map[string]any
		_ = json.Unmarshal(sample, &m)
		m["envelopeId"] = ids[i]
		body, _ := json.Marshal(m)
		if err := up.Broker.PublishMessage(ctx, broker.Message{Kind: pipeline.KindRender, MessageID: ids[i], Body: body}); err != nil {
			t.Fatal(err)
		}
	}

	first := serve(1)
	waitfor.True(t, time.Minute, "the first serve to render 30 envelopes", func() bool {
		up.Drain()
		return len(up.Settled()) >= 30
	})
	depths, err := up.Broker.Depths(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	up.Drain()
	held := n - depths.Render - len(up.Settled())
	t.Logf("killed with %d settled, %d ready, so about %d held unacked", len(up.Settled()), depths.Render, held)
	if held <= 0 {
		t.Errorf("the process held no unacked envelopes when killed (%d ready, %d settled)", depths.Render, len(up.Settled()))
	}

	second := serve(2)
	t.Cleanup(func() {
		_ = second.Process.Signal(syscall.SIGTERM)
		_ = second.Wait()
	})
	up.WaitSettled(ids, 3*time.Minute)
	up.CheckRenderedOnce(ids)

	store := s3test.New(t, s3)
	records := 0
	for info, err := range store.List(ctx, envelopes.EnvelopesPrefix) {
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(info.Key, "/record.json") {
			records++
		}
	}
	if records != n {
		t.Errorf("%d records, want %d: every envelope stored exactly once", records, n)
	}
	envs := envelopes.New(store)
	for _, id := range ids {
		rec, err := envs.Record(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := envs.Verify(ctx, rec); err != nil {
			t.Error(err)
		}
	}
	if d := up.DeadLetters(); d != 0 {
		t.Errorf("%d dead letters, want 0", d)
	}
	rendered := 0
	for _, r := range up.Events() {
		if r.Event.Type == "envelope.rendered" {
			rendered++
		}
	}
	t.Logf("%d rendered events for %d envelopes (repeats are re-announcements of the same record)", rendered, n)

	// SIGTERM: the second process drains and exits 0.
	if err := second.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := second.Wait(); err != nil {
		t.Errorf("quire serve after SIGTERM: %v, want exit 0", err)
	}
	for _, f := range []string{"serve-1.log", "serve-2.log"} {
		logs, _ := os.ReadFile(filepath.Join(logDir, f))
		for _, p := range []string{"Priya", "Raman", "Canterbury", "CT1 2HX", "2025-01-12"} {
			if strings.Contains(string(logs), p) {
				t.Errorf("%s contains personal data %q", f, p)
			}
		}
	}
}
