// Package syncbuf is a bytes.Buffer that many goroutines may write to: a
// test's log output, read back to check what was (and was not) logged.
package syncbuf

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quire-print/quire/internal/waitfor"
)

// Buffer is safe for concurrent use. The zero value is empty and ready.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// WaitFor polls until want has been written n times, and fails t if it
// has not within a minute.
func (b *Buffer) WaitFor(t testing.TB, want string, n int) {
	t.Helper()
	waitfor.Until(t, time.Minute, func() error {
		if strings.Count(b.String(), want) < n {
			return fmt.Errorf("the log did not say %q %d times:\n%s", want, n, b.String())
		}
		return nil
	})
}
