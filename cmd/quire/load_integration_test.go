//go:build integration

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quire-print/quire/pipeline/service/servicetest"
	"github.com/quire-print/quire/pipeline/storage/s3store"
	"github.com/quire-print/quire/pipeline/storage/s3store/s3test"
)

// TestLoadHarness runs "quire load" small, so the harness keeps working:
// it reports its figures, with the CPU of a watched process, and leaves
// nothing in the bucket.
func TestLoadHarness(t *testing.T) {
	s3 := s3test.Config(t)
	t.Setenv("QUIRE_S3_ACCESS_KEY", s3.AccessKey)
	t.Setenv("QUIRE_S3_SECRET_KEY", s3.SecretKey)
	var stdout, stderr bytes.Buffer
	code := runLoad(context.Background(), []string{
		"--amqp-url", servicetest.AMQPURL(t), "--s3-endpoint", s3.Endpoint, "--s3-bucket", s3.Bucket, "--s3-disable-tls",
		"--n", "30", "--rate", "50", "--raw-n", "10",
		"--sample", filepath.Join("..", "..", "testdata", "requests", "valid", "twins.json"),
		"--cpu-of", fmt.Sprintf("watched=%d", os.Getpid()),
	}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"end to end:  30 envelopes", "p50", "p99", "raw S3 PUT:  30 objects" /* a bundle, the ready entry and the record each */, "pipeline / raw PUT:",
		"transport only: 30 envelopes at ", "transport only / raw PUT:",
		"CPU per envelope: quire ", ", watched "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	st, err := s3store.New(t.Context(), s3)
	if err != nil {
		t.Fatal(err)
	}
	for info, err := range st.List(t.Context(), "") {
		if err != nil {
			t.Fatal(err)
		}
		t.Errorf("the run left %s in the bucket", info.Key)
	}
}
