// Package backoff says how long to wait before trying again after
// failures: the broker's reconnects, the worker's storage probes and the
// service's wait for storage at start.
package backoff

import (
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
