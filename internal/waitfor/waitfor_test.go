package waitfor

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeT records a failure and stops its goroutine, as t.Fatalf does.
type fakeT struct {
	testing.TB
	failure string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.failure = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func run(f func(t *fakeT)) *fakeT {
	t := &fakeT{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(t)
	}()
	<-done
	return t
}

func TestUntilReturnsOnceTheConditionHolds(t *testing.T) {
	var looks atomic.Int32
	ft := run(func(ft *fakeT) {
		Until(ft, time.Minute, func() error {
			if looks.Add(1) < 3 {
				return errors.New("not yet")
			}
			return nil
		})
	})
	if ft.failure != "" || looks.Load() != 3 {
		t.Errorf("Until failed %q after %d looks, want success after 3", ft.failure, looks.Load())
	}
}

func TestUntilFailsWithTheLastError(t *testing.T) {
	n := 0
	ft := run(func(ft *fakeT) {
		Until(ft, 20*time.Millisecond, func() error {
			n++
			return errors.New("depth 3, want 0")
		})
	})
	if !strings.Contains(ft.failure, "depth 3, want 0") || n < 2 {
		t.Errorf("Until failed with %q after %d looks, want the condition's last error after several", ft.failure, n)
	}
}

func TestTrueNamesTheCondition(t *testing.T) {
	ft := run(func(ft *fakeT) { True(ft, 10*time.Millisecond, "the batch to be sealed", func() bool { return false }) })
	if !strings.Contains(ft.failure, "the batch to be sealed") {
		t.Errorf("True failed with %q, want it to name the condition", ft.failure)
	}
	ft = run(func(ft *fakeT) { True(ft, time.Minute, "nothing", func() bool { return true }) })
	if ft.failure != "" {
		t.Errorf("True with a condition that holds failed: %q", ft.failure)
	}
}
