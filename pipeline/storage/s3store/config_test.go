package s3store

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

func validConfig() Config {
	return Config{Endpoint: "s3.eu-west-2.amazonaws.com", Bucket: "quire-outputs", AccessKey: "AK", SecretKey: "SK"}
}

func TestDefaults(t *testing.T) {
	c := validConfig().withDefaults()
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	if c.Encryption != EncryptionNone || c.DialTimeout != 5*time.Second || c.ResponseTimeout != 30*time.Second ||
		c.MaxAttempts != 3 || c.PartSize != 16<<20 || c.DisableTLS || c.PathStyle || c.CreateBucket {
		t.Errorf("defaults = %+v", c)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no endpoint", func(c *Config) { c.Endpoint = "" }, "endpoint cannot be empty"},
		{"scheme", func(c *Config) { c.Endpoint = "https://s3.amazonaws.com" }, "without a scheme"},
		{"path", func(c *Config) { c.Endpoint = "s3.amazonaws.com/bucket" }, "without a path"},
		{"no bucket", func(c *Config) { c.Bucket = "" }, "bucket cannot be empty"},
		{"bad bucket", func(c *Config) { c.Bucket = "Quire_Outputs" }, "not a valid bucket name"},
		{"no access key", func(c *Config) { c.AccessKey = "" }, "access key and secret key go together"},
		{"no secret key", func(c *Config) { c.SecretKey = "" }, "access key and secret key go together"},
		{"CA without TLS", func(c *Config) { c.CAFile = "ca.pem"; c.DisableTLS = true }, "a CA file is set but TLS is disabled"},
		{"unknown encryption", func(c *Config) { c.Encryption = "AES" }, `encryption must be "none", "SSE-S3" or "SSE-KMS"`},
		{"KMS without key", func(c *Config) { c.Encryption = EncryptionKMS }, "KMS key id cannot be empty"},
		{"key without KMS", func(c *Config) { c.Encryption = EncryptionS3; c.KMSKeyID = "k" }, "KMS key id must be empty"},
		{"prefix without slash", func(c *Config) { c.Prefix = "quire" }, "prefix must end with /"},
		{"bad prefix", func(c *Config) { c.Prefix = "a//" }, "prefix:"},
		{"long prefix", func(c *Config) { c.Prefix = strings.Repeat("p/", 200) }, "prefix cannot be longer than 256 bytes"},
		{"negative dial", func(c *Config) { c.DialTimeout = -1 }, "dial timeout cannot be negative"},
		{"negative response", func(c *Config) { c.ResponseTimeout = -1 }, "response timeout cannot be negative"},
		{"attempts", func(c *Config) { c.MaxAttempts = -1 }, "max attempts cannot be less than 1"},
		{"small parts", func(c *Config) { c.PartSize = 1 << 20 }, "part size cannot be less than 5 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.change(&c)
			err := c.withDefaults().validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// Every problem is reported at once.
func TestValidateJoins(t *testing.T) {
	err := Config{}.withDefaults().validate()
	if err == nil {
		t.Fatal("empty config accepted")
	}
	for _, want := range []string{"endpoint cannot be empty", "bucket cannot be empty"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v\ndoes not say %q", err, want)
		}
	}
}

func TestRetryable(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"not initialised", minio.ErrorResponse{Code: "XMinioServerNotInitialized", StatusCode: 503}, true},
		{"internal error", fmt.Errorf("s3store: x: %w", minio.ErrorResponse{Code: "InternalError", StatusCode: 500}), true},
		{"slow down", minio.ErrorResponse{Code: "SlowDown", StatusCode: 429}, true},
		{"not implemented", minio.ErrorResponse{Code: "NotImplemented", StatusCode: 501}, false},
		{"access denied", minio.ErrorResponse{Code: "AccessDenied", StatusCode: 403}, false},
		{"no such bucket", minio.ErrorResponse{Code: "NoSuchBucket", StatusCode: 404}, false},
		{"plain error", errors.New("s3store: bucket does not exist"), false},
		{"no answer", &url.Error{Op: "Head", URL: "http://127.0.0.1:1/b/", Err: errors.New("connection refused")}, true},
	} {
		if got := Retryable(tc.err); got != tc.want {
			t.Errorf("%s: Retryable = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// With nothing listening, EnsureBucket's error is one to wait out, and
// NewUnchecked has sent nothing before it.
func TestEnsureBucketNoAnswer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s, err := NewUnchecked(Config{Endpoint: addr, Bucket: "quire-outputs", AccessKey: "AK", SecretKey: "SK", DisableTLS: true, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	err = s.EnsureBucket(t.Context())
	if err == nil || !Retryable(err) {
		t.Errorf("EnsureBucket with nothing listening = %v, want a Retryable error", err)
	}
}

func TestNewRefusesInvalidConfig(t *testing.T) {
	_, err := New(t.Context(), Config{Endpoint: "localhost:1"})
	if err == nil || !strings.Contains(err.Error(), "bucket cannot be empty") {
		t.Errorf("New = %v", err)
	}
}
