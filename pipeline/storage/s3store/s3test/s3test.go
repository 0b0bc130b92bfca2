// Package s3test connects tests to the S3 server that
// scripts/test-services.sh starts (MinIO on loopback), giving each test a
// bucket of its own so that tests run in parallel and repeatedly; and
// starts a private MinIO for a test that must stop its server.
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/quire-print/quire/pipeline/storage/s3store"
)

// Config returns an s3store.Config for the test server with a new bucket
// (created by s3store.New), removed with everything in it when t ends.
//
// The server is required: if the settings are missing, the test fails
// rather than skipping, so that a run with the integration tag cannot pass
// without having talked to S3.
func Config(t testing.TB) s3store.Config {
	t.Helper()
	cfg := s3store.Config{
		Endpoint:     os.Getenv("QUIRE_TEST_S3_ENDPOINT"),
		AccessKey:    os.Getenv("QUIRE_TEST_S3_ACCESS_KEY"),
		SecretKey:    os.Getenv("QUIRE_TEST_S3_SECRET_KEY"),
		DisableTLS:   true,
		CreateBucket: true,
		Bucket:       "quire-test-" + RandomHex(t, 6),
	}
	if cfg.Endpoint == "" || cfg.AccessKey == "" || cfg.SecretKey == "" {
		t.Fatal("integration tests need an S3 server: QUIRE_TEST_S3_ENDPOINT, QUIRE_TEST_S3_ACCESS_KEY and " +
			"QUIRE_TEST_S3_SECRET_KEY are not all set; run `./scripts/test-services.sh && . ./.test-env` first, or `make test`")
	}
	t.Cleanup(func() { removeBucket(t, cfg) })
	return cfg
}

// New returns a store on cfg, failing t if it cannot.
func New(t testing.TB, cfg s3store.Config) *s3store.Store {
	t.Helper()
	s, err := s3store.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Client talks to the test server directly, to look behind a store.
func Client(t testing.TB, cfg s3store.Config) *minio.Client {
	t.Helper()
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: !cfg.DisableTLS,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// RandomHex returns n random bytes in hex, for unique names.
func RandomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func removeBucket(t testing.TB, cfg s3store.Config) {
	c := Client(t, cfg)
	ctx := context.Background()
	if ok, err := c.BucketExists(ctx, cfg.Bucket); err != nil || !ok {
		return
	}
	// ForceDelete is MinIO's own; fine for the test server, and it also
	// drops any multipart upload a failed test left behind.
	if err := c.RemoveBucketWithOptions(ctx, cfg.Bucket, minio.RemoveBucketOptions{ForceDelete: true}); err != nil {
		t.Errorf("removing test bucket %s: %v", cfg.Bucket, err)
	}
}
