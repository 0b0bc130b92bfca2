package memqueue_test

import (
	"context"
	"testing"
	"time"

	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/memqueue"
)

func TestReplayAndDiscardDeadLetters(t *testing.T) {
	clock := memqueue.NewManualClock(epoch)
	q, err := memqueue.New(memqueue.Config{Clock: clock, RetryDelays: []time.Duration{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, id := range []string{"M-1", "M-2", "M-3"} {
		if err := q.PublishMessage(ctx, memqueue.Message{Kind: pipeline.KindRender, Body: []byte(id), MessageID: id}); err != nil {
			t.Fatal(err)
		}
	}
	ds, _, _ := consume(t, q)
	for range 3 {
		if err := next(t, ds).Reject(ctx, pipeline.Reason{Code: "template-not-released"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(q.DeadLetters()); n != 3 {
		t.Fatalf("%d dead letters, want 3", n)
	}

	byID := func(id string) func(memqueue.DeadLetter) bool {
		return func(d memqueue.DeadLetter) bool { return d.MessageID == id }
	}
	replayed := q.ReplayDeadLetters(byID("M-2"))
	if len(replayed) != 1 || replayed[0].MessageID != "M-2" || replayed[0].Reason.Code != "template-not-released" {
		t.Fatalf("replayed %+v, want M-2 with its reason", replayed)
	}
	d := next(t, ds)
	if d.MessageID() != "M-2" || string(d.Body()) != "M-2" || d.Kind() != pipeline.KindRender || d.Attempt() != 1 {
		t.Errorf("replayed delivery %s %q %s attempt %d, want M-2 as a first attempt", d.MessageID(), d.Body(), d.Kind(), d.Attempt())
	}
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	left := q.DeadLetters()
	if len(left) != 2 || left[0].MessageID == "M-2" || left[1].MessageID == "M-2" {
		t.Errorf("left %+v, want M-1 and M-3", left)
	}

	if got := q.ReplayDeadLetters(byID("nope")); len(got) != 0 {
		t.Errorf("replayed %+v for an id that is not there", got)
	}
	discarded := q.DiscardDeadLetters(nil)
	if len(discarded) != 2 || len(q.DeadLetters()) != 0 {
		t.Errorf("discarded %+v, left %+v; want both gone", discarded, q.DeadLetters())
	}
	if dep, _ := q.Depths(ctx); dep.Dead != 0 || dep.Render != 0 {
		t.Errorf("Depths %+v: discarded letters must not come back", dep)
	}
	if s := q.Stats(); s.Published != 4 || s.Acked != 1 {
		t.Errorf("Stats %+v, want the replay counted as a publish", s)
	}
}
