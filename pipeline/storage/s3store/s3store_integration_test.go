//go:build integration

package s3store_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/internal/checksum"
	"github.com/quire-print/quire/pipeline/storage/s3store"
	"github.com/quire-print/quire/pipeline/storage/s3store/s3test"
	"github.com/quire-print/quire/pipeline/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return s3test.New(t, s3test.Config(t)) })
}

// Stores with different prefixes share a bucket without seeing each other.
func TestConformanceWithPrefix(t *testing.T) {
	shared := s3test.Config(t)
	s3test.New(t, shared)
	storagetest.Run(t, func(t *testing.T) storage.Store {
		cfg := shared
		cfg.Prefix = "tenant-" + s3test.RandomHex(t, 4) + "/quire/"
		return s3test.New(t, cfg)
	})
}

func TestConformanceSSES3(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		cfg := s3test.Config(t)
		cfg.Encryption = s3store.EncryptionS3
		return s3test.New(t, cfg)
	})
}

// The service really encrypts what the store writes, whichever way it is
// written.
func TestEncryptionApplied(t *testing.T) {
	for _, tc := range []struct {
		encryption, kmsKey, header string
	}{
		{s3store.EncryptionNone, "", ""},
		{s3store.EncryptionS3, "", "AES256"},
		{s3store.EncryptionKMS, "quire-test-key", "aws:kms"},
	} {
		t.Run(tc.encryption, func(t *testing.T) {
			t.Parallel()
			cfg := s3test.Config(t)
			cfg.Encryption, cfg.KMSKeyID = tc.encryption, tc.kmsKey
			s := s3test.New(t, cfg)
			ctx := t.Context()
			if _, err := s.Put(ctx, "small", []byte("personal data")); err != nil {
				t.Fatal(err)
			}
			big := bytes.Repeat([]byte("p"), s3store.DefaultPartSize+1)
			if _, err := s.PutStream(ctx, "multipart", bytes.NewReader(big), int64(len(big)), checksum.Sum(big)); err != nil {
				t.Fatal(err)
			}
			raw := s3test.Client(t, cfg)
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
	s := s3test.New(t, s3test.Config(t))
	ctx := t.Context()
	data := []byte("content that was damaged on the way")
	wrong := checksum.Sum([]byte("content as it was meant to be"))
	// put without the checksum reader: only the service can notice.
	_, err := s.PutUnchecked(ctx, "damaged", bytes.NewReader(data), int64(len(data)), wrong)
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
	cfg := s3test.Config(t)
	s := s3test.New(t, cfg)
	ctx := t.Context()
	data := []byte("%PDF certificate")
	if _, err := s.Put(ctx, "envelopes/e/c.pdf", data); err != nil {
		t.Fatal(err)
	}
	oi, err := s3test.Client(t, cfg).StatObject(ctx, cfg.Bucket, "envelopes/e/c.pdf", minio.StatObjectOptions{Checksum: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := oi.UserMetadata["Sha256"]; got != checksum.Sum(data) {
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
	cfg := s3test.Config(t)
	cfg.CreateBucket = false
	_, err := s3store.New(t.Context(), cfg)
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("New with a missing bucket = %v, want an error saying it does not exist", err)
	}
	if s3store.Retryable(err) {
		t.Errorf("a missing bucket is Retryable: waiting would not make it")
	}
	cfg.CreateBucket = true
	s3test.New(t, cfg)
	// Once it exists, New accepts it without being allowed to create it.
	cfg.CreateBucket = false
	s := s3test.New(t, cfg)
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestPingBucketGone(t *testing.T) {
	cfg := s3test.Config(t)
	s := s3test.New(t, cfg)
	if err := s3test.Client(t, cfg).RemoveBucket(t.Context(), cfg.Bucket); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err == nil || !strings.Contains(err.Error(), cfg.Bucket) {
		t.Errorf("Ping after the bucket went = %v, want an error naming it", err)
	}
}

func TestWrongCredentials(t *testing.T) {
	cfg := s3test.Config(t)
	cfg.SecretKey = "not-the-secret"
	_, err := s3store.New(t.Context(), cfg)
	if err == nil {
		t.Fatal("New with a wrong secret key succeeded")
	}
	if s3store.Retryable(err) {
		t.Errorf("wrong keys are Retryable: %v", err)
	}
}

// A Store made before its service is up works once the service is.
func TestNewUncheckedBeforeTheService(t *testing.T) {
	m := s3test.StartMinIO(t)
	m.Kill()
	cfg := m.Config()
	cfg.MaxAttempts = 1
	s, err := s3store.NewUnchecked(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = s.EnsureBucket(t.Context())
	if err == nil || !s3store.Retryable(err) {
		t.Fatalf("EnsureBucket with the service down = %v, want a Retryable error", err)
	}
	m.Start()
	if err := s.EnsureBucket(t.Context()); err != nil {
		t.Fatalf("EnsureBucket once the service is up: %v", err)
	}
	if _, err := s.Put(t.Context(), "envelopes/E1/record.json", []byte("{}")); err != nil {
		t.Errorf("Put after EnsureBucket: %v", err)
	}
}
