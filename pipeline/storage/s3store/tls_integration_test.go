//go:build integration

package s3store_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/quire-print/quire/pipeline/storage/s3store"
	"github.com/quire-print/quire/pipeline/storage/s3store/s3test"
)

// TestMinIOOverTLSWithCAFile: a MinIO speaking HTTPS with a certificate
// from a private authority is reached with CAFile, and refused without
// it; the credentials come from the AWS environment variables, not static
// keys.
func TestMinIOOverTLSWithCAFile(t *testing.T) {
	m := s3test.StartMinIOTLS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", s3test.MinIOUser)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3test.MinIOPassword)
	cfg := m.Config()
	cfg.DisableTLS, cfg.AccessKey, cfg.SecretKey, cfg.MaxAttempts = false, "", "", 1

	if _, err := s3store.New(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without the CA file: %v, want a certificate error", err)
	}
	cfg.CAFile = m.CAFile
	st, err := s3store.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("over TLS")
	if _, err := st.Put(t.Context(), "tls/check", body); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Get(t.Context(), "tls/check"); err != nil || !bytes.Equal(got, body) {
		t.Errorf("read back %q, %v", got, err)
	}
}
