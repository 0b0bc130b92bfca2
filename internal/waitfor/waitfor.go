// Package waitfor is how tests wait for something that happens in the
// background: a condition is asked again and again, a little less often
// each time, until it holds or a deadline passes. Tests wait on channels
// where they can; this is for state that can only be looked at (a queue's
// depth, a metric, a log), and it is the one place tests pause between
// looks.
package waitfor

import (
	"errors"
	"testing"
	"time"
)

// Pauses between looks grow from minPause to maxPause, so a condition that
// holds at once is seen at once and a slow one is not asked too often.
const (
	minPause = time.Millisecond
	maxPause = 50 * time.Millisecond
)

// Until asks cond until it returns nil, and fails t with cond's last
// error if within passes first. cond runs in the calling goroutine, so it
// may call t.Fatal.
func Until(t testing.TB, within time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	pause := minPause
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", within, err)
		}
		time.Sleep(pause) // between looks, bounded by the deadline
		pause = min(2*pause, maxPause)
	}
}

// True is Until for a condition with nothing to say while it does not
// hold: what names it in the failure.
func True(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	notYet := errors.New("still waiting for " + what)
	Until(t, within, func() error {
		if cond() {
			return nil
		}
		return notYet
	})
}
