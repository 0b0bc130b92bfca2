package envelopes_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/fsstore"
)

// A worker's use of the store: skip cancelled envelopes, commit, and count
// only what this call committed.
func Example() {
	dir, err := os.MkdirTemp("", "quire-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	fs, err := fsstore.New(dir)
	if err != nil {
		log.Fatal(err)
	}
	es := envelopes.New(fs)
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 17, 4, 5, 0, time.UTC) // the worker's clock

	r := renderedEnv("E-42", "Alex Smith", 0, now)
	for attempt := 1; attempt <= 2; attempt++ { // the second is a redelivery
		// Before rendering: most redeliveries stop here.
		found, err := es.Lookup(ctx, r.EnvelopeID)
		switch {
		case err != nil:
			log.Fatal(err) // transient: retry the message
		case found.Cancellation != nil:
			fmt.Println("cancelled: ack without rendering")
			continue
		case found.Record != nil:
			fmt.Printf("attempt %d: already committed at %s; ack\n", attempt, found.Record.RenderedAt.Format(time.RFC3339))
			continue
		}
		r.SkipLookup = true // just looked
		rec, created, err := es.Commit(ctx, r)
		switch {
		case errors.Is(err, envelopes.ErrConflict), errors.Is(err, envelopes.ErrInvalid):
			fmt.Println("reject:", err)
		case err != nil:
			log.Fatal(err) // transient: retry the message
		case created:
			fmt.Printf("attempt %d: committed %s with %d documents; ack\n", attempt, rec.EnvelopeID, len(rec.Documents))
		default:
			fmt.Printf("attempt %d: committed by another worker at %s; ack\n", attempt, rec.RenderedAt.Format(time.RFC3339))
		}
	}

	// A cancellation for an envelope not seen yet is kept for when it comes,
	// and the look-up finds it.
	_, first, err := es.Cancel(ctx, envelopes.Cancellation{EnvelopeID: "E-43", Code: "requested-by-parent", At: now})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("E-43 cancelled first time:", first)
	if found, err := es.Lookup(ctx, "E-43"); err == nil && found.Cancellation != nil {
		fmt.Println("E-43 arrives: cancelled, not rendered")
	}

	// Output:
	// attempt 1: committed E-42 with 2 documents; ack
	// attempt 2: already committed at 2026-03-02T17:04:05Z; ack
	// E-43 cancelled first time: true
	// E-43 arrives: cancelled, not rendered
}
