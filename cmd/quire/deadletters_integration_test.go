//go:build integration

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quire-print/quire/internal/samples"
	"github.com/quire-print/quire/internal/waitfor"

	"github.com/quire-print/quire/pipeline/broker"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/memqueue"
	"github.com/quire-print/quire/pipeline/service"
	"github.com/quire-print/quire/pipeline/service/servicetest"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/fsstore"
	"github.com/quire-print/quire/pipeline/worker"
)

// TestDeadLettersListShowReplayDiscard: a request refused for a date of
// issue in the future is dead-lettered, listed and shown (redacted, then
// not), replayed once its date has come and rendered; another dead letter
// is discarded.
func TestDeadLettersListShowReplayDiscard(t *testing.T) {
	url := servicetest.AMQPURL(t)
	delays := []time.Duration{}
	prefix := servicetest.Prefix(t, delays)
	up := servicetest.NewUpstream(t, prefix, delays)

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := broker.New(broker.Config{URL: url, Prefix: prefix, RetryDelays: delays, ConnectionName: "quire test worker", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	fs, err := fsstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	envs := envelopes.New(fs)
	r, err := service.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	clock := memqueue.NewManualClock(time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC))
	w, err := worker.New(worker.Config{Source: b, Store: envs, Ping: fs.Ping, Renderer: r, Events: b.Events(), Clock: clock, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done })

	pub := func(id string, body []byte) {
		t.Helper()
		pctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.PublishMessage(pctx, broker.Message{Kind: "envelope.render", MessageID: id, Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	// Dated three days ahead by mistake upstream; and a bad postcode.
	pub("E-DL-1", samples.Request(t, "valid/two-parents-all-boxes.json", "E-DL-1", "2026-03-05"))
	pub("E-DL-2", samples.Request(t, "invalid/bad-postcode.json", "E-DL-2", ""))
	up.WaitSettled([]string{"E-DL-1", "E-DL-2"}, 30*time.Second)
	if n := up.DeadLetters(); n != 2 {
		t.Fatalf("%d dead letters, want 2", n)
	}

	quire := func(args ...string) (code int, stdout, stderr string) {
		t.Helper()
		var o, e bytes.Buffer
		start := time.Now()
		code = run(append([]string{"deadletters", "--amqp-url", url, "--amqp-prefix", prefix}, args...), &o, &e)
		t.Logf("$ quire deadletters %s  (%v)\n%s%s", strings.Join(args, " "), time.Since(start), o.String(), e.String())
		return code, o.String(), e.String()
	}
	noPersonalData := func(what, text string) {
		t.Helper()
		for _, p := range append(personalInSample, "Mill Lane") {
			if strings.Contains(text, p) {
				t.Errorf("%s shows personal data %q:\n%s", what, p, text)
			}
		}
	}

	// Looking changes nothing, however often: more walks than RabbitMQ
	// 4's default delivery limit of 20 would allow if looking counted.
	for range 25 {
		code, out, errs := quire("list")
		if code != 0 || !strings.Contains(out, "2 of 2 dead letters shown") {
			t.Fatalf("list: exit %d\n%s%s", code, out, errs)
		}
	}
	code, out, errs := quire("list")
	for _, want := range []string{"E-DL-1", "E-DL-2", "invalid-request", "MESSAGE ID"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	noPersonalData("list", out+errs)
	if n := up.DeadLetters(); code != 0 || n != 2 {
		t.Fatalf("after listing: exit %d, %d dead letters, want 2", code, n)
	}

	code, out, errs = quire("show", "--envelope", "E-DL-1")
	if code != 0 || !strings.Contains(out, "certificates[0].dateOfIssue: is later than tomorrow") ||
		!strings.Contains(out, `"parentName": "[redacted]"`) || strings.Contains(out, "E-DL-2") {
		t.Errorf("show: exit %d\n%s%s", code, out, errs)
	}
	noPersonalData("show", out+errs)
	code, out, _ = quire("show", "--envelope", "E-DL-1", "--show-personal-data")
	if code != 0 || !strings.Contains(out, "Daniel Okafor") || !strings.Contains(out, `"dateOfIssue":"2026-03-05"`) {
		t.Errorf("show --show-personal-data: exit %d\n%s", code, out)
	}

	// The fix: the date of issue has come. Replay renders the envelope.
	clock.Advance(2 * 24 * time.Hour)
	code, out, errs = quire("replay", "--message-id", "E-DL-1")
	if code != 0 || !strings.Contains(out, "1 replayed to the intake; 1 left in the dead-letter queue") ||
		!strings.Contains(errs, "message_id=E-DL-1") || !strings.Contains(errs, "reason=invalid-request") {
		t.Fatalf("replay: exit %d\n%s%s", code, out, errs)
	}
	noPersonalData("replay", out+errs)
	waitRendered(t, up, "E-DL-1")
	rec, err := envs.Record(context.Background(), "E-DL-1")
	if err != nil || len(rec.Documents) != 2 {
		t.Fatalf("record of the replayed envelope: %+v, %v", rec, err)
	}
	if err := envs.Verify(context.Background(), rec); err != nil {
		t.Error(err)
	}
	if n := up.DeadLetters(); n != 1 {
		t.Errorf("%d dead letters after the replay, want 1", n)
	}

	if code, _, errs = quire("discard", "--all"); code != 2 || up.DeadLetters() != 1 {
		t.Errorf("discard without --yes: exit %d, %q", code, errs)
	}
	code, out, errs = quire("discard", "--all", "--yes")
	if code != 0 || !strings.Contains(out, "1 discarded; 0 left") || !strings.Contains(errs, "message_id=E-DL-2") {
		t.Errorf("discard: exit %d\n%s%s", code, out, errs)
	}
	noPersonalData("discard", out+errs)
	if n := up.DeadLetters(); n != 0 {
		t.Errorf("%d dead letters after discarding, want 0", n)
	}
	if code, _, errs = quire("replay", "--all"); code != 1 || !strings.Contains(errs, "no dead letter matched") {
		t.Errorf("replay of nothing: exit %d, %q", code, errs)
	}
}

// waitRendered drains upstream's events until id's rendered event arrives.
func waitRendered(t *testing.T, up *servicetest.Upstream, id string) {
	t.Helper()
	waitfor.Until(t, 30*time.Second, func() error {
		up.Drain()
		if !slices.Contains(up.Settled()[id], events.TypeRendered) {
			return fmt.Errorf("%s was not rendered: events %v", id, up.Settled()[id])
		}
		return nil
	})
}
