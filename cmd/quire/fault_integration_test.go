//go:build integration

package main

import (
	"context"
	"encoding/json"
	"errors"
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
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/broker"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/service/servicetest"
	"github.com/quire-print/quire/pipeline/storage"
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
// checks that every envelope is stored exactly once and announced. The
// second is SIGKILLed in turn while it holds a cut-off, and restarted
// under the same instance name: the restart must hand the batch over
// promptly, not after the 5 minutes a stranger waits, and every event
// announced more than once must carry the same id each time.
func TestSIGKILLWhileHoldingUnackedEnvelopes(t *testing.T) {
	bin := buildQuire(t)
	prefix := servicetest.Prefix(t, nil)
	up := servicetest.NewUpstream(t, prefix, nil)
	s3 := s3test.Config(t)
	logDir := t.TempDir()
	noHolidays := filepath.Join(t.TempDir(), "holidays")
	if err := os.WriteFile(noHolidays, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	serve := func(n int, args ...string) *exec.Cmd {
		logf, err := os.Create(filepath.Join(logDir, fmt.Sprintf("serve-%d.log", n)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { logf.Close() })
		args = append([]string{"serve", "--listen", "127.0.0.1:0", "--concurrency", "4", "--prefetch", "32", "--s3-disable-tls", "--s3-create-bucket"}, args...)
		cmd := exec.Command(bin, args...)
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
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
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

	// The second batches, with a cut-off at the start of a minute at
	// least 5s away (a cut-off is HH:MM), so that envelopes are rendered
	// by then; it is killed as soon as it has claimed the cut-off.
	now := time.Now().UTC()
	cutOff := now.Truncate(time.Minute).Add(time.Minute)
	if cutOff.Sub(now) < 5*time.Second {
		cutOff = cutOff.Add(time.Minute)
	}
	batching := []string{"--supplier", "local", "--supplier-adapter", "folder", "--supplier-folder", t.TempDir(),
		"--cutoff", cutOff.Format("15:04"), "--cutoff-zone", "UTC", "--cutoff-days", "sun,mon,tue,wed,thu,fri,sat",
		"--bank-holidays", noHolidays, "--instance", "quire-fault-test"}
	store := s3test.New(t, s3)
	exists := func(key string) bool {
		_, err := store.Stat(ctx, key)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	cid, batchID := ledger.CutOffID(cutOff), ledger.ID(cutOff, 1)
	second := serve(2, batching...)
	waitfor.True(t, 2*time.Minute, "the second serve to claim the cut-off", func() bool {
		return exists(ledger.CutOffsPrefix + cid + "/claim.json")
	})
	if err := second.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = second.Wait()
	killed := time.Now()
	if exists(ledger.CutOffsPrefix+cid+"/done.json") || exists(ledger.HandoverKey(batchID)) {
		t.Fatal("the cut-off was done before the kill: the second serve was not killed holding it")
	}

	// The same instance again: it resumes the cut-off at once.
	third := serve(3, batching...)
	started := time.Now()
	t.Cleanup(func() {
		_ = third.Process.Signal(syscall.SIGTERM)
		_ = third.Wait()
	})
	waitfor.True(t, 2*time.Minute, "the restarted serve to hand the batch over", func() bool { return exists(ledger.HandoverKey(batchID)) })
	handedOver := time.Since(started)
	t.Logf("batch %s handed over %v after the restart (%v after the kill)", batchID, handedOver.Round(time.Millisecond), time.Since(killed).Round(time.Millisecond))
	// A stranger would wait for the killed holder's heartbeat to be 5
	// minutes old.
	if handedOver > time.Minute {
		t.Errorf("the restarted serve took %v to hand the batch over, want well under the 5m a stranger waits", handedOver)
	}

	up.WaitSettled(ids, 3*time.Minute)
	up.CheckRenderedOnce(ids)
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

	// Every member of the batch is announced handed over, and every
	// event announced more than once has one id, which no other event
	// has.
	sealed, err := ledger.NewStore(store).Sealed(ctx, batchID)
	if err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, time.Minute, "a handed-over event for each of the batch's envelopes", func() bool {
		up.Drain()
		got := map[string]bool{}
		for _, r := range up.Events() {
			if r.Event.Type == events.TypeHandedOver {
				got[r.Event.EnvelopeID] = true
			}
		}
		return len(got) == len(sealed.Envelopes)
	})
	type about struct{ typ, envelope, batch string }
	idsOf, whose := map[about]map[string]bool{}, map[string]about{}
	repeats := map[string]int{}
	for _, r := range up.Events() {
		var b struct {
			BatchID string `json:"batchId"`
		}
		_ = json.Unmarshal(r.Body, &b)
		a := about{r.Event.Type, r.Event.EnvelopeID, b.BatchID}
		if idsOf[a] == nil {
			idsOf[a] = map[string]bool{}
		} else {
			repeats[a.typ]++
		}
		idsOf[a][r.ID] = true
		if other, ok := whose[r.ID]; ok && other != a {
			t.Errorf("%+v and %+v have the same id %s", a, other, r.ID)
		}
		whose[r.ID] = a
	}
	for a, set := range idsOf {
		if len(set) != 1 || set[""] {
			t.Errorf("%+v published with ids %v, want one, the same each time", a, set)
		}
	}
	t.Logf("%d envelopes in batch %s; repeated events by type: %v", len(sealed.Envelopes), batchID, repeats)

	// SIGTERM: the third process drains and exits 0.
	if err := third.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := third.Wait(); err != nil {
		t.Errorf("quire serve after SIGTERM: %v, want exit 0", err)
	}
	for _, f := range []string{"serve-1.log", "serve-2.log", "serve-3.log"} {
		logs, _ := os.ReadFile(filepath.Join(logDir, f))
		for _, p := range []string{"Priya", "Raman", "Canterbury", "CT1 2HX", "2025-01-12"} {
			if strings.Contains(string(logs), p) {
				t.Errorf("%s contains personal data %q", f, p)
			}
		}
	}
}
