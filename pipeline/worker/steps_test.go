package worker_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/quire-print/quire/internal/waitfor"
	"github.com/quire-print/quire/pipeline"
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
