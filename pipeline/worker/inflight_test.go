package worker

import (
	"context"
	"errors"
	"testing"
)

func TestInFlightLetsOneDeliveryOfAnEnvelopeIn(t *testing.T) {
	var f inFlight
	leave, err := f.enter(context.Background(), "E-1")
	if err != nil {
		t.Fatal(err)
	}
	done, cancel := context.WithCancel(context.Background())
	cancel()
	// A second delivery of E-1 waits; with its context done, it gives up.
	if _, err := f.enter(done, "E-1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("second enter of E-1 while the first is in = %v, want it held until its context ended", err)
	}
	// Another envelope is not held.
	other, err := f.enter(done, "E-2")
	if err != nil {
		t.Fatalf("enter of E-2 = %v, want in at once", err)
	}
	other()
	leave()
	again, err := f.enter(done, "E-1")
	if err != nil {
		t.Fatalf("enter of E-1 after the first left = %v", err)
	}
	again()
}
