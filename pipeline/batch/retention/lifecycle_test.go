package retention_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/quire-print/quire/pipeline/batch/retention"
	"github.com/quire-print/quire/pipeline/storage/s3store"
)

// TestLifecycleUsesTheStoresTimeouts installs rules on an S3 endpoint
// that takes connections and never answers: the store's ResponseTimeout
// ends the attempt, and the error is one to wait out, rather than the
// install hanging for as long as its context allows.
func TestLifecycleUsesTheStoresTimeouts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var held []net.Conn // open, never answered
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	l, err := retention.NewLifecycleUnchecked(retention.LifecycleConfig{S3: s3store.Config{
		Endpoint: ln.Addr().String(), Bucket: "quire-test", AccessKey: "k", SecretKey: "secret-key", DisableTLS: true,
		ResponseTimeout: 100 * time.Millisecond, MaxAttempts: 1,
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err = l.Install(ctx)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("Install = %v, context %v: want the response timeout, well before the context's 10 s", err, ctx.Err())
	}
	if !s3store.Retryable(err) {
		t.Errorf("Install's timeout %v is not one to wait out", err)
	}
}
