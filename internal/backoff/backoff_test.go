package backoff

import (
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
