//go:build integration

package s3store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/internal/checksum"
	"github.com/quire-print/quire/pipeline/storage/storagetest"
)

// testConfig returns a Config for the test MinIO server, with a bucket of
// the test's own, removed when the test ends. With the integration tag set
// the server is required: a missing setting fails the test rather than
// skipping it, so that CI cannot pass without having run it.
func testConfig(t *testing.T) Config {
	t.Helper()
	cfg := Config{
		Endpoint:     os.Getenv("QUIRE_TEST_S3_ENDPOINT"),
		AccessKey:    os.Getenv("QUIRE_TEST_S3_ACCESS_KEY"),
		SecretKey:    os.Getenv("QUIRE_TEST_S3_SECRET_KEY"),
		DisableTLS:   true,
		CreateBucket: true,
		Bucket:       "quire-test-" + randomHex(t, 6),
	}
	if cfg.Endpoint == "" || cfg.AccessKey == "" || cfg.SecretKey == "" {
		t.Fatal("integration tests need a MinIO server: QUIRE_TEST_S3_ENDPOINT, QUIRE_TEST_S3_ACCESS_KEY and " +
			"QUIRE_TEST_S3_SECRET_KEY are not all set; run `./scripts/test-services.sh && . ./.test-env` first, or `make test`")
	}
	t.Cleanup(func() { removeBucket(t, cfg) })
	return cfg
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// rawClient talks to the test server directly, to look behind the store.
func rawClient(t *testing.T, cfg Config) *minio.Client {
	t.Helper()
	c, err := minio.New(cfg.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func removeBucket(t *testing.T, cfg Config) {
	c := rawClient(t, cfg)
	ctx := context.Background()
	if ok, err := c.BucketExists(ctx, cfg.Bucket); err != nil || !ok {
		return
	}
	// ForceDelete is MinIO's; fine for tests, and it also drops any
	// multipart upload a failed test left behind.
	if err := c.RemoveBucketWithOptions(ctx, cfg.Bucket, minio.RemoveBucketOptions{ForceDelete: true}); err != nil {
		t.Errorf("removing bucket %s: %v", cfg.Bucket, err)
	}
}

func newTestStore(t *testing.T, cfg Config) *Store {
	t.Helper()
	s, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return newTestStore(t, testConfig(t)) })
}

// Stores with different prefixes share a bucket without seeing each other.
func TestConformanceWithPrefix(t *testing.T) {
	shared := testConfig(t)
	newTestStore(t, shared)
	storagetest.Run(t, func(t *testing.T) storage.Store {
		cfg := shared
		cfg.Prefix = "tenant-" + randomHex(t, 4) + "/quire/"
		return newTestStore(t, cfg)
	})
}

func TestConformanceSSES3(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		cfg := testConfig(t)
		cfg.Encryption = EncryptionS3
		return newTestStore(t, cfg)
	})
}

// The service really encrypts what the store writes, whichever way it is
// written.
func TestEncryptionApplied(t *testing.T) {
	for _, tc := range []struct {
		encryption, kmsKey, header string
	}{
		{EncryptionNone, "", ""},
		{EncryptionS3, "", "AES256"},
		{EncryptionKMS, "quire-test-key", "aws:kms"},
	} {
		t.Run(tc.encryption, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			cfg.Encryption, cfg.KMSKeyID = tc.encryption, tc.kmsKey
			s := newTestStore(t, cfg)
			ctx := t.Context()
			if _, err := s.Put(ctx, "small", []byte("personal data")); err != nil {
				t.Fatal(err)
			}
			big := bytes.Repeat([]byte("p"), int(cfg.withDefaults().PartSize)+1)
			if _, err := s.PutStream(ctx, "multipart", bytes.NewReader(big), int64(len(big)), checksum.Sum(big)); err != nil {
				t.Fatal(err)
			}
			raw := rawClient(t, cfg)
			for _, key := range []string{"small", "multipart"} {
				oi, err := raw.StatObject(ctx, cfg.Bucket, key, minio.StatObjectOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if got := oi.Metadata.Get("X-Amz-Server-Side-Encryption"); got != tc.header {
					t.Errorf("%s: x-amz-server-side-encryption = %q, want %q", key, got, tc.header)
				}
			}
			if got, err := s.Get(ctx, "multipart"); err != nil || !bytes.Equal(got, big) {
				t.Errorf("reading back the encrypted multipart object: %v", err)
			}
		})
	}
}

// The service, not only Quire, refuses a single PutObject whose content
// does not match the SHA-256 sent with it.
func TestServiceRefusesWrongChecksum(t *testing.T) {
	s := newTestStore(t, testConfig(t))
	ctx := t.Context()
	data := []byte("content that was damaged on the way")
	wrong := checksum.Sum([]byte("content as it was meant to be"))
	// put without the checksum reader: only the service can notice.
	_, err := s.put(ctx, "put", "damaged", bytes.NewReader(data), int64(len(data)), wrong, false, true)
	if !errors.Is(err, storage.ErrChecksum) {
		t.Fatalf("put = %v, want ErrChecksum from the service", err)
	}
	if _, err := s.Stat(ctx, "damaged"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat after a refused write = %v, want ErrNotFound", err)
	}
}

// What is stored is what the store says: the object carries its SHA-256 in
// metadata, and the service's own checksum agrees for single-part objects.
func TestChecksumsStored(t *testing.T) {
	cfg := testConfig(t)
	s := newTestStore(t, cfg)
	ctx := t.Context()
	data := []byte("%PDF certificate")
	if _, err := s.Put(ctx, "envelopes/e/c.pdf", data); err != nil {
		t.Fatal(err)
	}
	oi, err := rawClient(t, cfg).StatObject(ctx, cfg.Bucket, "envelopes/e/c.pdf", minio.StatObjectOptions{Checksum: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := oi.UserMetadata[metaSHA256]; got != checksum.Sum(data) {
		t.Errorf("x-amz-meta-sha256 = %q, want %s", got, checksum.Sum(data))
	}
	if oi.ChecksumSHA256 == "" {
		t.Error("the service holds no SHA-256 checksum for the object")
	}
	if got := oi.ContentType; got != "application/pdf" {
		t.Errorf("content type %q, want application/pdf", got)
	}
}

func TestNewBucketMissing(t *testing.T) {
	cfg := testConfig(t)
	cfg.CreateBucket = false
	_, err := New(t.Context(), cfg)
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("New with a missing bucket = %v, want an error saying it does not exist", err)
	}
	cfg.CreateBucket = true
	newTestStore(t, cfg)
	// Once it exists, New accepts it without being allowed to create it.
	cfg.CreateBucket = false
	s := newTestStore(t, cfg)
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestPingBucketGone(t *testing.T) {
	cfg := testConfig(t)
	s := newTestStore(t, cfg)
	if err := rawClient(t, cfg).RemoveBucket(t.Context(), cfg.Bucket); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err == nil || !strings.Contains(err.Error(), cfg.Bucket) {
		t.Errorf("Ping after the bucket went = %v, want an error naming it", err)
	}
}

func TestWrongCredentials(t *testing.T) {
	cfg := testConfig(t)
	cfg.SecretKey = "not-the-secret"
	if _, err := New(t.Context(), cfg); err == nil {
		t.Error("New with a wrong secret key succeeded")
	}
}
