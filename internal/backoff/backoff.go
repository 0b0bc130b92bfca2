// Package backoff says how long to wait before trying again after
// failures, and waits: the broker's reconnects, the worker's storage
// probes, the service's wait for storage at start and quire serve's
// install of S3 lifecycle rules.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Delay is the wait before attempt failures+1: exponential from minD,
// capped at maxD, with equal jitter (half fixed, half random) so that
// workers restarted together do not retry in lockstep.
func Delay(minD, maxD time.Duration, failures int) time.Duration {
	d := minD
	for i := 1; i < failures && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	return d/2 + rand.N(d/2+1)
}

// Retry calls try until it succeeds, fails with an error retryable says
// waiting would not change, or ctx ends. Before each wait it calls
// waiting with the failure and the wait, Delay(minD, maxD, failures).
// It returns nil once try succeeds, the refusal, or ctx's error.
func Retry(ctx context.Context, minD, maxD time.Duration, try func(context.Context) error,
	retryable func(error) bool, waiting func(err error, d time.Duration)) error {
	for failures := 1; ; failures++ {
		err := try(ctx)
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case !retryable(err):
			return err
		}
		d := Delay(minD, maxD, failures)
		waiting(err, d)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
