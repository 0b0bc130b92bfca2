//go:build integration

package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/lifecycle"

	"github.com/quire-print/quire/internal/syncbuf"
	"github.com/quire-print/quire/internal/waitfor"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/batch/retention"
	"github.com/quire-print/quire/pipeline/storage/s3store"
	"github.com/quire-print/quire/pipeline/storage/s3store/s3test"
)

// serveArgs are quire serve's flags for batching on the bucket of cfg,
// with S3 lifecycle rules, the embedded queue and the folder adapter.
func serveArgs(t *testing.T, cfg s3store.Config) []string {
	return []string{"--listen", "127.0.0.1:0", "--s3-endpoint", cfg.Endpoint, "--s3-bucket", cfg.Bucket, "--s3-disable-tls",
		"--s3-create-bucket", "--s3-access-key", cfg.AccessKey, "--s3-secret-key", cfg.SecretKey, "--retention-lifecycle",
		"--supplier", "local", "--supplier-adapter", "folder", "--supplier-folder", t.TempDir()}
}

// quire serve with batching, started before its MinIO: it logs no error
// while MinIO is down, and once MinIO is up it installs the lifecycle rules
// and makes the cut-off that has passed, by itself.
func TestServeBatchingStartsBeforeMinIO(t *testing.T) {
	m := s3test.StartMinIO(t)
	m.Kill()
	cfg := m.Config()
	var stdout bytes.Buffer
	var logs syncbuf.Buffer
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() { done <- runServe(ctx, serveArgs(t, cfg), &stdout, &logs) }()
	t.Cleanup(func() {
		stop()
		if code := <-done; code != 0 {
			t.Errorf("exit %d after a stop, want 0", code)
		}
		if out := logs.String(); strings.Contains(out, "level=ERROR") {
			t.Errorf("errors logged:\n%s", out)
		}
	})

	logs.WaitFor(t, "storage does not answer; waiting before consuming", 3)
	if out := logs.String(); strings.Contains(out, "level=ERROR") || strings.Contains(out, "lifecycle") {
		t.Fatalf("while MinIO is down:\n%s", out)
	}
	m.Start()
	logs.WaitFor(t, "quire serve: S3 lifecycle rules installed", 1)
	rules, err := s3test.Client(t, cfg).GetBucketLifecycle(t.Context(), cfg.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	if !hasRule(rules, retention.RuleID(retention.DefaultDays)) {
		t.Errorf("no rule %s in %+v", retention.RuleID(retention.DefaultDays), rules.Rules)
	}
	// The batcher made the last cut-off (there is always one on a
	// weekday in the last few days): its done.json is the last thing
	// written.
	store := s3test.New(t, cfg)
	waitfor.Until(t, time.Minute, func() error {
		if !cutOffDone(t, store) {
			return fmt.Errorf("no cut-off done since MinIO started:\n%s", logs.String())
		}
		return nil
	})
}

func hasRule(cfg *lifecycle.Configuration, id string) bool {
	for _, r := range cfg.Rules {
		if r.ID == id {
			return true
		}
	}
	return false
}

func cutOffDone(t *testing.T, s *s3store.Store) bool {
	for info, err := range s.List(t.Context(), ledger.CutOffsPrefix) {
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(info.Key, "/done.json") {
			return true
		}
	}
	return false
}

// A refusal of the lifecycle rules, met once storage answers, ends quire
// serve with exit code 1 and says why, rather than waiting for ever.
// S3 allows 1000 lifecycle rules a bucket: with 950 of someone else's, the
// 61 that retention needs are refused.
func TestServeStopsWhenLifecycleRulesRefused(t *testing.T) {
	cfg := s3test.Config(t)
	s3test.New(t, cfg) // makes the bucket
	theirs := lifecycle.NewConfiguration()
	for i := range 950 {
		theirs.Rules = append(theirs.Rules, lifecycle.Rule{ID: fmt.Sprintf("theirs-%d", i), Status: "Enabled",
			RuleFilter: lifecycle.Filter{Prefix: fmt.Sprintf("logs/%d/", i)}, Expiration: lifecycle.Expiration{Days: 7}})
	}
	if err := s3test.Client(t, cfg).SetBucketLifecycle(t.Context(), cfg.Bucket, theirs); err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	var logs syncbuf.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	code := runServe(ctx, serveArgs(t, cfg), &stdout, &logs)
	if ctx.Err() != nil {
		t.Fatalf("quire serve waited for a refusal to change:\n%s", logs.String())
	}
	if out := logs.String(); code != 1 || !strings.Contains(out, "stopped with an error") || !strings.Contains(out, "installing lifecycle rules") {
		t.Errorf("exit %d, want 1 and the refusal:\n%s", code, out)
	}
	if strings.Contains(logs.String(), "not installed yet") {
		t.Errorf("the refusal was waited on:\n%s", logs.String())
	}
}
