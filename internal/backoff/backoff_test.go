package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestDelay(t *testing.T) {
	minD, maxD := 100*time.Millisecond, 2*time.Second
	for failures, ceiling := range map[int]time.Duration{0: minD, 1: minD, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: 1600 * time.Millisecond, 6: maxD, 60: maxD} {
		for range 50 {
			d := Delay(minD, maxD, failures)
			if d < ceiling/2 || d > ceiling {
				t.Fatalf("Delay(%d failures) = %v, want within [%v, %v]", failures, d, ceiling/2, ceiling)
			}
		}
	}
}

func TestRetry(t *testing.T) {
	errBusy, errNo := errors.New("busy"), errors.New("no")
	retryable := func(err error) bool { return err == errBusy }

	// Two failures worth waiting out, then success: two waits, each
	// told the failure.
	calls, waits := 0, 0
	err := Retry(t.Context(), time.Millisecond, time.Millisecond, func(context.Context) error {
		if calls++; calls < 3 {
			return errBusy
		}
		return nil
	}, retryable, func(err error, d time.Duration) {
		if err != errBusy || d > time.Millisecond {
			t.Errorf("waiting(%v, %v)", err, d)
		}
		waits++
	})
	if err != nil || calls != 3 || waits != 2 {
		t.Errorf("Retry = %v after %d calls and %d waits, want nil after 3 and 2", err, calls, waits)
	}

	// A refusal ends it at once.
	calls = 0
	err = Retry(t.Context(), time.Millisecond, time.Millisecond, func(context.Context) error { calls++; return errNo }, retryable,
		func(error, time.Duration) { t.Error("waited after a refusal") })
	if err != errNo || calls != 1 {
		t.Errorf("Retry = %v after %d calls, want the refusal after 1", err, calls)
	}

	// Ending ctx while it waits ends it with ctx's error.
	ctx, cancel := context.WithCancel(t.Context())
	err = Retry(ctx, time.Hour, time.Hour, func(context.Context) error { return errBusy }, retryable,
		func(error, time.Duration) { cancel() })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Retry after ctx ended = %v, want context.Canceled", err)
	}
}
