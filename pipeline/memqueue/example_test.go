package memqueue_test

import (
	"context"
	"fmt"

	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/memqueue"
)

// A worker loop on the in-process queue: publish, consume, settle each
// delivery exactly once, and stop by cancelling the context — Consume
// returns once running handlers have finished.
func Example() {
	q, err := memqueue.New(memqueue.Config{Concurrency: 1})
	if err != nil {
		panic(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	_ = q.Publish(ctx, pipeline.KindRender, []byte(`{"envelopeId":"e-1"}`))
	_ = q.Publish(ctx, "envelope.unknown", []byte(`{}`))

	handled := 0
	err = q.Consume(ctx, func(hctx context.Context, d pipeline.Delivery) {
		defer func() {
			if handled++; handled == 2 {
				stop() // soft stop: this handler still finishes and settles
			}
		}()
		if d.Kind() != pipeline.KindRender {
			_ = d.Reject(hctx, pipeline.Reason{Code: "unknown-kind", Detail: d.Kind()})
			return
		}
		// ... render, store durably, then:
		_ = d.Ack(hctx)
	})
	fmt.Println("Consume returned:", err)
	fmt.Printf("stats: %+v\n", q.Stats())
	for _, dl := range q.DeadLetters() {
		fmt.Println("dead letter:", dl.Kind, dl.Reason.Code)
	}
	// Output:
	// Consume returned: <nil>
	// stats: {Published:2 Events:0 Consumed:2 Redelivered:0 Acked:1 Retried:0 DeadLettered:1 DeadDropped:0 HandlerPanics:0 Reconnects:0}
	// dead letter: envelope.unknown unknown-kind
}
