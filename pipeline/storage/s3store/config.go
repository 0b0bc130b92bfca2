package s3store

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/quire-print/quire/pipeline/storage"
)

// Values of Config.Encryption.
const (
	// EncryptionNone asks for no server-side encryption; a bucket's default
	// encryption, if it has one, still applies.
	EncryptionNone = "none"
	// EncryptionS3 is SSE-S3: the service encrypts with keys it manages.
	EncryptionS3 = "SSE-S3"
	// EncryptionKMS is SSE-KMS: the service encrypts with the KMS key named
	// by Config.KMSKeyID.
	EncryptionKMS = "SSE-KMS"
)

// Defaults for the zero values in Config.
const (
	DefaultDialTimeout     = 5 * time.Second
	DefaultResponseTimeout = 30 * time.Second
	DefaultRequestTimeout  = 10 * time.Second
	DefaultMaxAttempts     = 3
	DefaultPartSize        = 16 << 20
	// MinPartSize is S3's smallest part of a multipart upload.
	MinPartSize = 5 << 20
)

// Config says how to reach the bucket. The zero value of each optional field
// means its default.
type Config struct {
	// Endpoint is the service's host and optional port, without a scheme:
	// "s3.eu-west-2.amazonaws.com", "rgw.example.internal:7480",
	// "127.0.0.1:9000". Required.
	Endpoint string

	// Region is the bucket's region, e.g. "eu-west-2". Default: empty, and
	// the client asks the service once per bucket (and creates buckets in
	// us-east-1). Set it for AWS.
	Region string

	// Bucket holds Quire's objects. Required.
	Bucket string

	// AccessKey and SecretKey are static credentials Quire signs requests
	// with: both or neither. Default (both empty): the usual chain, first
	// to answer wins — the AWS environment variables (AWS_ACCESS_KEY_ID,
	// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), then the shared
	// credentials file (AWS_SHARED_CREDENTIALS_FILE, ~/.aws/credentials),
	// then an IAM role: web identity (AWS_WEB_IDENTITY_TOKEN_FILE with
	// AWS_ROLE_ARN, as Kubernetes IRSA sets them), the ECS task role, or
	// the EC2 instance role. Temporary credentials are renewed before they
	// expire.
	AccessKey string
	SecretKey string

	// CAFile is a PEM file of the certificate authorities the service's
	// certificate is checked against, instead of the system's: an S3 with
	// a certificate from a private authority (Ceph RGW, MinIO in a
	// cluster). Default empty: the system's.
	CAFile string

	// DisableTLS talks plain HTTP instead of HTTPS. Default false (HTTPS).
	// Only for a server on loopback, as in tests: object content includes
	// personal data.
	DisableTLS bool

	// PathStyle addresses the bucket in the path (https://host/bucket/key)
	// rather than in the host name (https://bucket.host/key). Default false:
	// host-style for AWS endpoints and path-style for others, as minio-go
	// decides. Set it for Ceph RGW or another service without wildcard DNS.
	PathStyle bool

	// Encryption is the server-side encryption asked for on every write:
	// EncryptionNone, EncryptionS3 or EncryptionKMS. Default (empty): none.
	Encryption string

	// KMSKeyID names the KMS key for EncryptionKMS; it must be empty
	// otherwise. Default: empty.
	KMSKeyID string

	// Prefix is put before every key, so that Quire can share a bucket:
	// "quire/" stores "envelopes/…" as "quire/envelopes/…". It must be
	// empty or end in '/', and at most storage.MaxPrefixLen bytes long.
	// Default: empty.
	Prefix string

	// CreateBucket lets New create the bucket when it does not exist.
	// Default false: a missing bucket is an error, since production
	// buckets are made, with their lifecycle and access rules, by whoever
	// runs the service.
	CreateBucket bool

	// DialTimeout bounds connecting to the service. Default 5s.
	DialTimeout time.Duration

	// ResponseTimeout bounds the wait for the service to start answering a
	// request once it has been sent. It does not limit how long a large
	// upload or download takes; contexts do that. Default 30s.
	ResponseTimeout time.Duration

	// RequestTimeout bounds how long one request may wait on the service
	// without progress: for it to take the next bytes of what is sent, to
	// begin its answer, or to deliver the next bytes of it. A service that
	// takes connections and answers nothing (a stopped process, a hung
	// disk) then fails each call like a refused connection, after at most
	// MaxAttempts times RequestTimeout, rather than holding the caller
	// until the caller's own deadline. Time the caller spends producing or
	// consuming bytes does not count, so large objects and slow readers
	// are never cut off. Default 10s.
	RequestTimeout time.Duration

	// MaxAttempts is how many times minio-go sends one request that failed
	// on the network or with a 5xx, including the first time, backing off
	// briefly between them. 1 disables these retries. Streamed uploads are
	// never retried this way (their reader cannot be rewound). Longer
	// outages are the pipeline's to retry. Default 3.
	MaxAttempts int

	// PartSize is the size of the parts a streamed upload larger than it is
	// sent in, and so the memory one such upload holds. At least
	// MinPartSize. Default 16 MiB.
	PartSize int64
}

// withDefaults returns c with its zero optional fields set to their
// defaults.
func (c Config) withDefaults() Config {
	if c.Encryption == "" {
		c.Encryption = EncryptionNone
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.ResponseTimeout == 0 {
		c.ResponseTimeout = DefaultResponseTimeout
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.PartSize == 0 {
		c.PartSize = DefaultPartSize
	}
	return c
}

// validate reports every problem with c (after defaults) at once.
func (c Config) validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	switch {
	case c.Endpoint == "":
		add("endpoint cannot be empty")
	case strings.Contains(c.Endpoint, "://"):
		add("endpoint must be a host and optional port, without a scheme (use DisableTLS for http)")
	case strings.ContainsAny(c.Endpoint, "/?# "):
		add("endpoint must be a host and optional port, without a path")
	}
	if c.Bucket == "" {
		add("bucket cannot be empty")
	} else if err := s3utils.CheckValidBucketNameStrict(c.Bucket); err != nil {
		add("bucket %q is not a valid bucket name: %v", c.Bucket, err)
	}
	if (c.AccessKey == "") != (c.SecretKey == "") {
		add("access key and secret key go together: set both, or neither for the credentials chain")
	}
	if c.CAFile != "" && c.DisableTLS {
		add("a CA file is set but TLS is disabled")
	}
	switch c.Encryption {
	case EncryptionNone, EncryptionS3:
		if c.KMSKeyID != "" {
			add("KMS key id must be empty unless encryption is %s", EncryptionKMS)
		}
	case EncryptionKMS:
		if c.KMSKeyID == "" {
			add("KMS key id cannot be empty with encryption %s", EncryptionKMS)
		}
	default:
		add("encryption must be %q, %q or %q, not %q", EncryptionNone, EncryptionS3, EncryptionKMS, c.Encryption)
	}
	if c.Prefix != "" {
		if !strings.HasSuffix(c.Prefix, "/") {
			add("prefix must end with /")
		} else if err := storage.ValidKey(strings.TrimSuffix(c.Prefix, "/")); err != nil {
			add("prefix: %v", err)
		} else if len(c.Prefix) > storage.MaxPrefixLen {
			add("prefix cannot be longer than %d bytes", storage.MaxPrefixLen)
		}
	}
	if c.DialTimeout < 0 {
		add("dial timeout cannot be negative")
	}
	if c.ResponseTimeout < 0 {
		add("response timeout cannot be negative")
	}
	if c.RequestTimeout < 0 {
		add("request timeout cannot be negative")
	}
	if c.MaxAttempts < 1 {
		add("max attempts cannot be less than 1")
	}
	if c.PartSize < MinPartSize {
		add("part size cannot be less than %d MiB", MinPartSize>>20)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("s3store: invalid config: %w", err)
	}
	return nil
}
