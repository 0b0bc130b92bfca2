package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"

	"github.com/quire-print/quire/internal/syncbuf"
)

// With storage that does not answer, quire serve with batching waits
// quietly: the storage wait is logged, but no cut-off, sweep or lifecycle
// rule is tried (each would log an error), and a stop exits 0.
func TestServeBatchingWaitsForStorage(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close() // nothing listens here now
	args := []string{"--listen", "127.0.0.1:0", "--s3-endpoint", dead, "--s3-bucket", "quire-outputs", "--s3-disable-tls",
		"--s3-access-key", "AK", "--s3-secret-key", "SK", "--retention-lifecycle",
		"--supplier", "local", "--supplier-adapter", "folder", "--supplier-folder", t.TempDir()}
	var stdout bytes.Buffer
	var logs syncbuf.Buffer
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() { done <- runServe(ctx, args, &stdout, &logs) }()

	// Three waits: the batcher and the sweep would have started (and
	// failed) at once, had they not waited.
	logs.WaitFor(t, "storage does not answer; waiting before consuming", 3)
	stop()
	if code := <-done; code != 0 {
		t.Errorf("exit %d after a stop, want 0", code)
	}
	out := logs.String()
	if !strings.Contains(out, "quire serve: batching, once storage answers") {
		t.Errorf("batching did not say it waits for storage:\n%s", out)
	}
	for _, bad := range []string{"level=ERROR", "lifecycle", "batch:", "retention:"} {
		if strings.Contains(out, bad) {
			t.Errorf("the log says %q while storage does not answer:\n%s", bad, out)
		}
	}
}
