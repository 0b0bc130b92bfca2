package s3store

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/quire-print/quire/internal/tlstest"
)

// Without static keys, credentials come from the chain: here the AWS
// environment variables, as a platform sets them.
func TestCredentialsChain(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIA-FROM-ENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-from-env")
	t.Setenv("AWS_SESSION_TOKEN", "session-from-env")
	c := validConfig()
	c.AccessKey, c.SecretKey = "", ""
	if err := c.withDefaults().validate(); err != nil {
		t.Fatalf("a config without static keys: %v", err)
	}
	v, err := credentialsFor(c).GetWithContext(&credentials.CredContext{Client: http.DefaultClient})
	if err != nil {
		t.Fatal(err)
	}
	if v.AccessKeyID != "AKIA-FROM-ENV" || v.SecretAccessKey != "secret-from-env" || v.SessionToken != "session-from-env" {
		t.Errorf("chain gave %+v", v)
	}
	// Static keys win over the environment.
	v, err = credentialsFor(validConfig()).GetWithContext(&credentials.CredContext{Client: http.DefaultClient})
	if err != nil || v.AccessKeyID != "AK" {
		t.Errorf("static keys: %+v, %v", v, err)
	}
}

// With CAFile, the client trusts an S3 whose certificate comes from a
// private authority; without it, the same server is refused.
func TestCAFile(t *testing.T) {
	ca := tlstest.NewCA(t)
	c, k := ca.Issue(t, "s3")
	cert, err := tls.X509KeyPair(c, k)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK) // HEAD bucket: it exists
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	defer srv.Close()

	cfg := Config{Endpoint: strings.TrimPrefix(srv.URL, "https://"), Bucket: "quire-outputs", Region: "eu-west-2",
		AccessKey: "AK", SecretKey: "SK", PathStyle: true, MaxAttempts: 1}
	client, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.BucketExists(t.Context(), cfg.Bucket); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without the CA file: %v, want a certificate error", err)
	}
	cfg.CAFile = ca.WriteCA(t, t.TempDir())
	if client, err = NewClient(cfg); err != nil {
		t.Fatal(err)
	}
	if ok, err := client.BucketExists(t.Context(), cfg.Bucket); err != nil || !ok {
		t.Errorf("with the CA file: %v, %v", ok, err)
	}
	cfg.CAFile = filepath.Join(t.TempDir(), "missing.pem")
	if _, err := NewClient(cfg); err == nil || !strings.Contains(err.Error(), "CA file") {
		t.Errorf("a missing CA file: %v", err)
	}
}
