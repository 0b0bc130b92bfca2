package clock

import (
	"context"
	"errors"
	"testing"
	"time"
)

// stepped runs every function scheduled on it when told to.
type stepped struct {
	now time.Time
	due chan func()
}

func (s *stepped) Now() time.Time                      { return s.now }
func (s *stepped) AfterFunc(d time.Duration, f func()) { s.due <- f }

func TestSleep(t *testing.T) {
	c := &stepped{due: make(chan func(), 1)}
	done := make(chan error, 1)
	go func() { done <- Sleep(t.Context(), c, time.Hour) }()
	(<-c.due)() // the hour passes
	if err := <-done; err != nil {
		t.Errorf("Sleep after the wait passed = %v, want nil", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	go func() { done <- Sleep(ctx, c, time.Hour) }()
	<-c.due // scheduled, and never run
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep after ctx ended = %v, want context.Canceled", err)
	}
}

func TestSystem(t *testing.T) {
	before := time.Now()
	if now := System.Now(); now.Before(before) {
		t.Errorf("System.Now() = %v, before %v", now, before)
	}
	fired := make(chan struct{})
	System.AfterFunc(0, func() { close(fired) })
	<-fired
}
