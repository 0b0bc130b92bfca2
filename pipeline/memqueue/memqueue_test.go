package memqueue_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/memqueue"
	"github.com/quire-print/quire/pipeline/queuetest"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestConformance(t *testing.T) {
	queuetest.Run(t, func(t *testing.T, o queuetest.Options) queuetest.Harness {
		clock := memqueue.NewManualClock(epoch)
		q, err := memqueue.New(memqueue.Config{
			Concurrency:   o.Concurrency,
			RetryDelays:   o.RetryDelays,
			DeliveryLimit: o.DeliveryLimit,
			Clock:         clock,
		})
		if err != nil {
			t.Fatal(err)
		}
		return queuetest.Harness{
			Source:    q,
			Publisher: q,
			DeadLetters: func(context.Context) ([]queuetest.DeadLetter, error) {
				var out []queuetest.DeadLetter
				for _, d := range q.DeadLetters() {
					out = append(out, queuetest.DeadLetter{Kind: d.Kind, Body: d.Body, MessageID: d.MessageID, Reason: d.Reason})
				}
				return out, nil
			},
			Elapse: clock.Advance,
		}
	})
}

func TestConfigValidation(t *testing.T) {
	_, err := memqueue.New(memqueue.Config{Concurrency: -1, DeliveryLimit: -2, RetryDelays: []time.Duration{time.Second, 0}})
	if err == nil {
		t.Fatal("New accepted a negative Concurrency")
	}
	for _, want := range []string{"Concurrency cannot be negative (got -1)", "DeliveryLimit cannot be negative (got -2)", "RetryDelays[1] must be positive (got 0s)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// consume runs Consume until the test ends, sending each delivery to the
// returned channel; the test settles them.
func consume(t *testing.T, q *memqueue.Queue) (<-chan pipeline.Delivery, context.CancelFunc, <-chan struct{}) {
	t.Helper()
	ds := make(chan pipeline.Delivery, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = q.Consume(ctx, func(ctx context.Context, d pipeline.Delivery) { ds <- d })
	}()
	t.Cleanup(func() { cancel(); <-done })
	return ds, cancel, done
}

func next(t *testing.T, ds <-chan pipeline.Delivery) pipeline.Delivery {
	t.Helper()
	select {
	case d := <-ds:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery")
		return nil
	}
}

func TestRetryWaitsForTheClock(t *testing.T) {
	clock := memqueue.NewManualClock(epoch)
	q, err := memqueue.New(memqueue.Config{Clock: clock, RetryDelays: []time.Duration{time.Second, time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := q.Publish(ctx, pipeline.KindRender, []byte("x")); err != nil {
		t.Fatal(err)
	}
	ds, _, _ := consume(t, q)
	if err := next(t, ds).Retry(ctx, "down"); err != nil {
		t.Fatal(err)
	}
	if d, _ := q.Depths(ctx); d.Retry != 1 || d.Render != 0 {
		t.Errorf("Depths after Retry = %+v, want one waiting in Retry", d)
	}
	clock.Advance(999 * time.Millisecond)
	if d, _ := q.Depths(ctx); d.Retry != 1 {
		t.Errorf("retry came back before its delay: Depths = %+v", d)
	}
	clock.Advance(time.Millisecond)
	d := next(t, ds)
	if d.Attempt() != 2 {
		t.Errorf("Attempt = %d, want 2", d.Attempt())
	}
	if err := d.Retry(ctx, "down"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	d = next(t, ds)
	if err := d.Retry(ctx, "still down"); err != nil {
		t.Fatal(err)
	}
	dl := q.DeadLetters()
	if len(dl) != 1 || dl[0].Reason.Code != "retries-exhausted" || dl[0].Reason.Detail != "still down" || dl[0].Attempt != 3 {
		t.Errorf("DeadLetters = %+v, want one retries-exhausted on attempt 3", dl)
	}
	if !dl[0].At.Equal(epoch.Add(time.Second + time.Minute)) {
		t.Errorf("dead-lettered At = %v, want the injected clock's time", dl[0].At)
	}
	if s := q.Stats(); s.Retried != 2 || s.DeadLettered != 1 || s.Consumed != 3 || s.Published != 1 {
		t.Errorf("Stats = %+v", s)
	}
}

func TestNoRetriesConfigured(t *testing.T) {
	q, _ := memqueue.New(memqueue.Config{RetryDelays: []time.Duration{}})
	ctx := context.Background()
	_ = q.Publish(ctx, pipeline.KindRender, []byte("x"))
	ds, _, _ := consume(t, q)
	if err := next(t, ds).Retry(ctx, "down"); err != nil {
		t.Fatal(err)
	}
	if dl := q.DeadLetters(); len(dl) != 1 || dl[0].Reason.Code != "retries-exhausted" {
		t.Errorf("DeadLetters = %+v, want retries-exhausted at once", dl)
	}
}

func TestStaleAfterStop(t *testing.T) {
	q, _ := memqueue.New(memqueue.Config{})
	ctx := context.Background()
	_ = q.Publish(ctx, pipeline.KindRender, []byte("x"))
	ds, cancel, done := consume(t, q)
	d := next(t, ds)
	cancel()
	<-done
	if err := d.Ack(ctx); !errors.Is(err, memqueue.ErrStale) {
		t.Errorf("Ack after the consumer stopped = %v, want ErrStale", err)
	}
	ds2, _, _ := consume(t, q)
	d2 := next(t, ds2)
	if r, ok := d2.(interface{ Redelivered() bool }); !ok || !r.Redelivered() {
		t.Error("second delivery does not report Redelivered")
	}
	if err := d2.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	if s := q.Stats(); s.Redelivered != 1 || s.Acked != 1 {
		t.Errorf("Stats = %+v, want one redelivery and one ack", s)
	}
}

func TestCancelsServedFirst(t *testing.T) {
	q, _ := memqueue.New(memqueue.Config{Concurrency: 1})
	ctx := context.Background()
	for i := range 3 {
		_ = q.Publish(ctx, pipeline.KindRender, fmt.Appendf(nil, "r%d", i))
	}
	_ = q.Publish(ctx, pipeline.KindCancel, []byte("c"))
	if d, _ := q.Depths(ctx); d.Render != 3 || d.Cancel != 1 {
		t.Errorf("Depths = %+v, want 3 render and 1 cancel", d)
	}
	ds, _, _ := consume(t, q)
	d := next(t, ds)
	if d.Kind() != pipeline.KindCancel {
		t.Errorf("first delivery is %q, want the cancel ahead of the render backlog", d.Kind())
	}
	_ = d.Ack(ctx)
}

func TestEvents(t *testing.T) {
	var seen []string
	q, _ := memqueue.New(memqueue.Config{
		EventLogSize: 2,
		Clock:        memqueue.NewManualClock(epoch),
		NewID:        func() string { return "id" },
		OnEvent:      func(m memqueue.Message) { seen = append(seen, m.Kind) },
	})
	ev := q.Events()
	ctx := context.Background()
	for _, k := range []string{"envelope.accepted", "envelope.rendered", "envelope.batched"} {
		if err := ev.Publish(ctx, k, []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	got := ev.Messages()
	if len(got) != 2 || got[0].Kind != "envelope.rendered" || got[1].Kind != "envelope.batched" {
		t.Errorf("Messages = %+v, want the newest two", got)
	}
	if got[0].MessageID != "id" || !got[0].Timestamp.Equal(epoch) {
		t.Errorf("event not stamped from the injected id and clock: %+v", got[0])
	}
	if len(seen) != 3 {
		t.Errorf("OnEvent saw %v, want all three", seen)
	}
	if s := q.Stats(); s.Published != 0 || s.Events != 3 {
		t.Errorf("Stats = %+v, want 3 events and no intake publishes", s)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := ev.Publish(cctx, "envelope.x", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Publish with a cancelled context = %v", err)
	}
}

func TestManualClockOrder(t *testing.T) {
	c := memqueue.NewManualClock(epoch)
	var got []string
	c.AfterFunc(2*time.Second, func() { got = append(got, "b") })
	c.AfterFunc(time.Second, func() {
		got = append(got, "a")
		c.AfterFunc(500*time.Millisecond, func() { got = append(got, "a2") })
	})
	c.AfterFunc(2*time.Second, func() { got = append(got, "c") })
	c.AfterFunc(0, func() { got = append(got, "now") })
	if len(got) != 0 {
		t.Fatalf("AfterFunc ran %v before Advance", got)
	}
	c.Advance(2 * time.Second)
	if want := "now a a2 b c"; strings.Join(got, " ") != want {
		t.Errorf("ran %q, want %q", strings.Join(got, " "), want)
	}
	if !c.Now().Equal(epoch.Add(2*time.Second)) || c.Pending() != 0 {
		t.Errorf("Now = %v, Pending = %d", c.Now(), c.Pending())
	}
}

// The dead-letter list keeps at most DeadLetterLimit messages and
// DeadLetterBytes of bodies, dropping the oldest first; a body too large
// on its own is not kept, though its dead letter is.
func TestDeadLettersBounded(t *testing.T) {
	q, err := memqueue.New(memqueue.Config{Concurrency: 1, RetryDelays: []time.Duration{}, DeadLetterLimit: 3, DeadLetterBytes: 10})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	bodies := []string{"aaaa", "bbbb", "cccc", "dddd", "this body is too large to keep", "ee"}
	for _, b := range bodies {
		_ = q.Publish(ctx, pipeline.KindRender, []byte(b))
	}
	ds, _, _ := consume(t, q)
	for range bodies {
		if err := next(t, ds).Reject(ctx, pipeline.Reason{Code: "invalid-request"}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, d := range q.DeadLetters() {
		got = append(got, fmt.Sprintf("%s/%d", d.Body, d.Size))
	}
	// "aaaa" and "bbbb" go for bytes, "cccc" for the count; the large
	// body is kept as a size only.
	if want := "[dddd/4 /30 ee/2]"; fmt.Sprint(got) != want {
		t.Errorf("dead letters %v, want %s", got, want)
	}
	s := q.Stats()
	if s.DeadLettered != uint64(len(bodies)) || int(s.DeadDropped)+len(got) != len(bodies) {
		t.Errorf("Stats = %+v with %d kept", s, len(got))
	}
	if d, _ := q.Depths(ctx); d.Dead != len(got) {
		t.Errorf("Depths.Dead = %d, want %d", d.Dead, len(got))
	}
}
