package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/quire-print/quire/internal/waitfor"
	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/events"
)

// TestDuplicateWhileRenderingIsNotRenderedAgain: a second delivery of an
// envelope this process is rendering waits for the first, then finds its
// record, instead of rendering and uploading it again.
func TestDuplicateWhileRenderingIsNotRenderedAgain(t *testing.T) {
	r := &fakeRenderer{block: make(chan struct{}), started: make(chan string)}
	h := newHarness(t, r)
	h.start()
	body := sample(t, "valid/twins.json", "E-20")
	h.publish(pipeline.KindRender, body)
	<-r.started
	h.publish(pipeline.KindRender, body) // re-published while the first renders
	waitfor.True(t, 10*time.Second, "both deliveries in hand", func() bool { return testutil.ToFloat64(h.m.InFlight) == 2 })
	close(r.block) // a second render would now block on started, which nobody reads
	h.waitSettled(2)

	if n := r.calls.Load(); n != 1 {
		t.Errorf("rendered %d times, want 1", n)
	}
	if s := h.q.Stats(); s.Acked != 2 {
		t.Errorf("stats %+v, want both acked", s)
	}
	if r, d := testutil.ToFloat64(h.m.Rendered), testutil.ToFloat64(h.m.Duplicates); r != 1 || d != 1 {
		t.Errorf("rendered %v, duplicates %v; want 1 and 1", r, d)
	}
}

// TestCancelWhileRenderingWinsAtTheCommit: a cancellation stored while the
// envelope renders takes the record's key; the render loses at the commit
// point, stores nothing, and is announced cancelled.
func TestCancelWhileRenderingWinsAtTheCommit(t *testing.T) {
	r := &fakeRenderer{block: make(chan struct{}), started: make(chan string, 1)}
	h := newHarness(t, r)
	h.start()
	h.publish(pipeline.KindRender, sample(t, "valid/twins.json", "E-21"))
	<-r.started
	h.publish(pipeline.KindCancel, []byte(`{"schemaVersion":1,"envelopeId":"E-21","code":"requested-by-parent"}`))
	h.waitSettled(1) // the cancel
	close(r.block)
	h.waitSettled(2)

	if _, ok := h.record("E-21"); ok {
		t.Error("an envelope cancelled while it rendered was committed")
	}
	if files := keysUnder(t, h, "envelopes/E-21/files/"); len(files) != 0 {
		t.Errorf("files left behind: %v", files)
	}
	if files := keysUnder(t, h, "ready/E-21"); len(files) != 0 {
		t.Errorf("ready entry left behind: %v", files)
	}
	if n := len(h.eventsOf(events.TypeRendered)); n != 0 {
		t.Errorf("%d rendered events, want none", n)
	}
	c := h.eventsOf(events.TypeCancelled)
	if len(c) != 2 || !c[0].OccurredAt.Equal(c[1].OccurredAt) {
		t.Errorf("cancelled events %+v, want the same cancellation twice", c)
	}
	if s := h.q.Stats(); s.Acked != 2 || s.DeadLettered != 0 {
		t.Errorf("stats %+v, want both acked", s)
	}
}

func keysUnder(t *testing.T, h *harness, prefix string) []string {
	t.Helper()
	var keys []string
	for info, err := range h.fs.List(context.Background(), prefix) {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, info.Key)
	}
	return keys
}
