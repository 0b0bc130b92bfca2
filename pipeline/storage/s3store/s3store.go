// Package s3store is a storage.Store in a bucket of any S3-compatible
// service (AWS S3, Ceph RGW, MinIO), through minio-go.
//
// It uses standard S3 requests only, so that production can point it at
// whatever S3 the service runs on: PutObject (with If-None-Match: * for
// Create, and x-amz-checksum-sha256), multipart uploads with per-part
// SHA-256 checksums, GetObject, HeadObject, ListObjectsV2, DeleteObject,
// HeadBucket and CreateBucket.
//
// Integrity: every object carries its SHA-256 in the x-amz-meta-sha256
// metadata, which Stat and Open report. A write of up to Config.PartSize
// bytes is one PutObject that sends the SHA-256 the caller expects in
// x-amz-checksum-sha256, so the service itself refuses content that does
// not match. A larger streamed write is a multipart upload: the service
// checks each part's SHA-256, and Quire checks the whole object's as it
// reads the last part, aborting the upload before completing it if they
// differ. Reads are checked against x-amz-meta-sha256 as they go.
package s3store

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"

	"github.com/quire-print/quire/internal/certfile"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/internal/checksum"
)

// metaSHA256 is the user metadata key holding an object's SHA-256 (sent as
// x-amz-meta-sha256).
const metaSHA256 = "Sha256"

// Store is a storage.Store in one bucket, under an optional key prefix. It
// is safe for concurrent use.
type Store struct {
	client   *minio.Client
	bucket   string
	prefix   string
	sse      encrypt.ServerSide // nil for none
	partSize int64
	// create and region are for EnsureBucket.
	create bool
	region string
}

var _ storage.Store = (*Store)(nil)

// New checks cfg, connects, and makes sure the bucket exists, creating it
// if cfg.CreateBucket allows: NewUnchecked, then EnsureBucket.
func New(ctx context.Context, cfg Config) (*Store, error) {
	s, err := NewUnchecked(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.EnsureBucket(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// NewUnchecked checks cfg and builds the Store without sending a request:
// nothing is known about the service or the bucket until EnsureBucket. It
// is for a service that starts before its storage does and waits for it.
func NewUnchecked(cfg Config) (*Store, error) {
	cfg = cfg.withDefaults()
	client, err := NewClient(cfg)
	if err != nil {
		return nil, err
	}
	s := &Store{client: client, bucket: cfg.Bucket, prefix: cfg.Prefix, partSize: cfg.PartSize,
		create: cfg.CreateBucket, region: cfg.Region}
	switch cfg.Encryption {
	case EncryptionS3:
		s.sse = encrypt.NewSSE()
	case EncryptionKMS:
		if s.sse, err = encrypt.NewSSEKMS(cfg.KMSKeyID, nil); err != nil {
			return nil, fmt.Errorf("s3store: KMS key id: %w", err)
		}
	}
	return s, nil
}

// NewClient checks cfg and returns the minio-go client a Store uses, with
// the same timeouts, retries and connection pool, for the few bucket-level
// calls a Store does not make (the retention package's lifecycle rules).
// It sends no request.
func NewClient(cfg Config) (*minio.Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	tr, err := minio.DefaultTransport(!cfg.DisableTLS)
	if err != nil {
		return nil, fmt.Errorf("s3store: %w", err)
	}
	tr.DialContext = (&net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = cfg.ResponseTimeout
	// Quire talks to one endpoint, with a burst of parallel PUTs per
	// envelope and several envelopes at once: minio-go's 16 idle
	// connections per host closed and reopened a connection every ~30
	// requests under load (a TLS handshake each, in production). Keep as
	// many as the transport keeps in all.
	tr.MaxIdleConnsPerHost = tr.MaxIdleConns
	if cfg.CAFile != "" {
		pool, err := certfile.Pool(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("s3store: CA file: %w", err)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:        credentialsFor(cfg),
		Secure:       !cfg.DisableTLS,
		Region:       cfg.Region,
		BucketLookup: lookup,
		Transport:    dateRecorder{stallGuard{rt: tr, timeout: cfg.RequestTimeout}},
		// Needed for x-amz-checksum-* headers; v4 signatures only.
		TrailingHeaders: true,
		MaxRetries:      cfg.MaxAttempts,
	})
	if err != nil {
		return nil, fmt.Errorf("s3store: %w", err)
	}
	return client, nil
}

// credentialsFor returns cfg's static keys, or, without them, the chain
// described at Config.AccessKey.
func credentialsFor(cfg Config) *credentials.Credentials {
	if cfg.AccessKey != "" {
		return credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")
	}
	return credentials.NewChainCredentials([]credentials.Provider{
		&credentials.EnvAWS{},
		&credentials.FileAWSCredentials{},
		// Web identity (IRSA), the ECS task role and the EC2 instance
		// role, tried in that order by minio-go.
		&credentials.IAM{},
	})
}

// EnsureBucket makes sure the bucket exists, creating it if the Config
// allows. Safe to call again, and from several processes at once.
func (s *Store) EnsureBucket(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("s3store: checking bucket %q: %w", s.bucket, err)
	}
	if ok {
		return nil
	}
	if !s.create {
		return fmt.Errorf("s3store: bucket %q does not exist (create it, or set CreateBucket)", s.bucket)
	}
	err = s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: s.region})
	if err != nil {
		// Another Quire starting at the same time may have made it.
		var resp minio.ErrorResponse
		if !errors.As(err, &resp) || resp.Code != "BucketAlreadyOwnedByYou" {
			return fmt.Errorf("s3store: creating bucket %q: %w", s.bucket, err)
		}
	}
	return nil
}

// Put implements storage.Store.
func (s *Store) Put(ctx context.Context, key string, data []byte) (storage.Info, error) {
	return s.putBytes(ctx, "put", key, data, false)
}

// Create implements storage.Store, with a conditional PutObject
// (If-None-Match: *). A request that succeeded but whose answer was lost
// is retried by minio-go and then reports ErrExists: callers that get
// ErrExists compare what is stored with what they meant to write (the
// envelopes package does).
func (s *Store) Create(ctx context.Context, key string, data []byte) (storage.Info, error) {
	return s.putBytes(ctx, "create", key, data, true)
}

func (s *Store) putBytes(ctx context.Context, op, key string, data []byte, create bool) (storage.Info, error) {
	if err := storage.ValidKey(key); err != nil {
		return storage.Info{}, s.fail(op, key, err)
	}
	// Content in memory goes in one request whatever its size (S3 takes up
	// to 5 GiB), so that Create's condition applies to one PutObject. A
	// bytes.Reader can be rewound, so minio-go may retry it.
	sum := checksum.Sum(data)
	return s.put(ctx, op, key, bytes.NewReader(data), int64(len(data)), sum, create, true)
}

// PutStream implements storage.Store.
func (s *Store) PutStream(ctx context.Context, key string, r io.Reader, size int64, sha256 string) (storage.Info, error) {
	if err := storage.ValidKey(key); err != nil {
		return storage.Info{}, s.fail("put", key, err)
	}
	if err := checksum.Valid(sha256); err != nil {
		return storage.Info{}, s.fail("put", key, err)
	}
	if size < 0 {
		// minio-go would buffer an unknown size in memory; never let it.
		return storage.Info{}, s.fail("put", key, fmt.Errorf("size %d is negative", size))
	}
	// The checksum reader also hides r's ReaderAt, if it has one, which
	// would make minio-go upload parts in parallel, each with its own
	// buffer.
	cr := checksum.NewReader(r, size, sha256)
	return s.put(ctx, "put", key, cr, size, sha256, false, size <= s.partSize)
}

// put sends size bytes of r, whose SHA-256 is sum, to key: in one PutObject
// when single is set, else in parts. create adds If-None-Match: *.
func (s *Store) put(ctx context.Context, op, key string, r io.Reader, size int64, sum string, create, single bool) (storage.Info, error) {
	raw, err := hex.DecodeString(sum)
	if err != nil {
		return storage.Info{}, s.fail(op, key, err)
	}
	opts := minio.PutObjectOptions{
		ContentType:          contentType(key),
		UserMetadata:         map[string]string{metaSHA256: sum},
		ServerSideEncryption: s.sse,
		PartSize:             uint64(s.partSize),
	}
	if single {
		// The service checks the content against the SHA-256 the caller
		// expects, not against one computed from what arrived.
		opts.UserMetadata["x-amz-checksum-sha256"] = base64.StdEncoding.EncodeToString(raw)
		opts.DisableMultipart = true
		// That header is signed and the service holds the content to it,
		// so the payload is bound to the request already. Without this,
		// over plain HTTP minio-go would sign the payload chunk by chunk as
		// well (aws-chunked), hashing every byte once more on each side.
		opts.DisableContentSha256 = true
	} else {
		// Each part's SHA-256 is checked by the service; the whole object's
		// by the checksum reader before the last part is sent.
		opts.Checksum = minio.ChecksumSHA256
	}
	if create {
		opts.SetMatchETagExcept("*")
	}
	date := new(responseDate)
	ctx = context.WithValue(ctx, dateKey{}, date)
	if _, err := s.client.PutObject(ctx, s.bucket, s.prefix+key, r, size, opts); err != nil {
		return storage.Info{}, s.fail(op, key, err)
	}
	return storage.Info{Key: key, Size: size, SHA256: sum, Modified: date.get()}, nil
}

// contentType is what a supplier downloading the object through a
// presigned URL sees.
func contentType(key string) string {
	if t := mime.TypeByExtension(path.Ext(key)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Get implements storage.Store.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	rc, info, err := s.open(ctx, "get", key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data := make([]byte, info.Size)
	if _, err := io.ReadFull(rc, data); err != nil {
		return nil, s.fail("get", key, err)
	}
	// ReadFull stops at the last byte, which is where the checksum reader
	// compares; an empty object is compared at its first (EOF) read.
	if info.Size == 0 {
		if _, err := rc.Read(nil); err != io.EOF {
			return nil, s.fail("get", key, err)
		}
	}
	return data, nil
}

// Open implements storage.Store.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, storage.Info, error) {
	return s.open(ctx, "open", key)
}

func (s *Store) open(ctx context.Context, op, key string) (io.ReadCloser, storage.Info, error) {
	if err := storage.ValidKey(key); err != nil {
		return nil, storage.Info{}, s.fail(op, key, err)
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.prefix+key, minio.GetObjectOptions{})
	if err != nil {
		return nil, storage.Info{}, s.fail(op, key, err)
	}
	// Stat sends the GET and reads the response headers.
	oi, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, storage.Info{}, s.fail(op, key, err)
	}
	info := s.info(key, oi)
	r := &failReader{r: checksum.NewReader(obj, info.Size, info.SHA256), fail: func(err error) error { return s.fail(op, key, err) }}
	return readCloser{r, obj}, info, nil
}

// GetRange implements storage.Store.
func (s *Store) GetRange(ctx context.Context, key string, offset, length int64) ([]byte, error) {
	if err := storage.ValidKey(key); err != nil {
		return nil, s.fail("get", key, err)
	}
	if offset < 0 || length < 1 {
		return nil, s.fail("get", key, fmt.Errorf("range of %d bytes at %d: the length must be at least 1 and the offset at least 0", length, offset))
	}
	var opts minio.GetObjectOptions
	if err := opts.SetRange(offset, offset+length-1); err != nil {
		return nil, s.fail("get", key, err)
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.prefix+key, opts)
	if err != nil {
		return nil, s.fail("get", key, err)
	}
	defer obj.Close()
	data := make([]byte, length)
	_, err = io.ReadFull(obj, data)
	var resp minio.ErrorResponse
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF),
		errors.As(err, &resp) && (resp.Code == "InvalidRange" || resp.StatusCode == http.StatusRequestedRangeNotSatisfiable):
		// S3 answers a range that starts past the end with 416, and one
		// that ends past it with what there is.
		return nil, s.fail("get", key, fmt.Errorf("%w: the object ends before byte %d", storage.ErrChecksum, offset+length))
	case err != nil:
		return nil, s.fail("get", key, err)
	}
	return data, nil
}

// Stat implements storage.Store.
func (s *Store) Stat(ctx context.Context, key string) (storage.Info, error) {
	if err := storage.ValidKey(key); err != nil {
		return storage.Info{}, s.fail("stat", key, err)
	}
	oi, err := s.client.StatObject(ctx, s.bucket, s.prefix+key, minio.StatObjectOptions{})
	if err != nil {
		return storage.Info{}, s.fail("stat", key, err)
	}
	return s.info(key, oi), nil
}

// info describes the object at key from a HEAD or GET response.
func (s *Store) info(key string, oi minio.ObjectInfo) storage.Info {
	sum := oi.UserMetadata[metaSHA256]
	if checksum.Valid(sum) != nil {
		// Not written by Quire: use the service's own full-object SHA-256,
		// if it has one (multipart objects have a checksum of checksums,
		// ending "-N").
		sum = ""
		if raw, err := base64.StdEncoding.DecodeString(oi.ChecksumSHA256); err == nil && len(raw) == 32 {
			sum = hex.EncodeToString(raw)
		}
	}
	return storage.Info{Key: key, Size: oi.Size, SHA256: sum, Modified: oi.LastModified}
}

// List implements storage.Store with ListObjectsV2, 1000 keys a page.
func (s *Store) List(ctx context.Context, prefix string) iter.Seq2[storage.Info, error] {
	return func(yield func(storage.Info, error) bool) {
		if err := storage.ValidPrefix(prefix); err != nil {
			yield(storage.Info{}, s.fail("list", prefix, err))
			return
		}
		if err := ctx.Err(); err != nil {
			yield(storage.Info{}, s.fail("list", prefix, err))
			return
		}
		// Cancelling stops minio-go's lister when the caller stops early.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		opts := minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}
		for oi := range s.client.ListObjectsIter(ctx, s.bucket, opts) {
			if oi.Err != nil {
				yield(storage.Info{}, s.fail("list", prefix, oi.Err))
				return
			}
			info := storage.Info{Key: strings.TrimPrefix(oi.Key, s.prefix), Size: oi.Size, Modified: oi.LastModified}
			if !yield(info, nil) {
				return
			}
		}
		// minio-go ends the listing quietly when ctx is done.
		if err := ctx.Err(); err != nil {
			yield(storage.Info{}, s.fail("list", prefix, err))
		}
	}
}

// Delete implements storage.Store. S3 answers a delete of a missing key
// with success.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := storage.ValidKey(key); err != nil {
		return s.fail("delete", key, err)
	}
	if err := s.client.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{}); err != nil {
		return s.fail("delete", key, err)
	}
	return nil
}

// Ping implements storage.Store with a HeadBucket.
func (s *Store) Ping(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("s3store: ping bucket %q: %w", s.bucket, err)
	}
	if !ok {
		return fmt.Errorf("s3store: ping: bucket %q does not exist", s.bucket)
	}
	return nil
}

// Retryable reports whether err, from EnsureBucket or any other call, means
// the service did not answer or answered that it cannot serve now (a 5xx,
// or 429 Too Many Requests), so that trying again later may succeed. A
// refusal (wrong keys, a missing bucket, a name the service will not take,
// 501 for a request the service does not implement, such as lifecycle
// rules) is not: waiting would not change it.
func Retryable(err error) bool {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		if resp.StatusCode == http.StatusNotImplemented {
			return false
		}
		return resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
	}
	// minio-go returns the HTTP client's error when no answer came:
	// refused, reset, timed out, unresolvable.
	var uerr *url.Error
	return errors.As(err, &uerr)
}

// fail names the operation and key in err and adds the storage sentinel the
// service's answer means. It never includes object content.
func (s *Store) fail(op, key string, err error) error {
	if err == nil {
		return nil
	}
	var sentinel error
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch {
		case resp.Code == "NoSuchKey":
			sentinel = storage.ErrNotFound
		case resp.Code == "PreconditionFailed" || resp.StatusCode == http.StatusPreconditionFailed:
			sentinel = storage.ErrExists
		case resp.Code == "BadDigest" || resp.Code == "XAmzContentChecksumMismatch" || resp.Code == "InvalidDigest":
			sentinel = storage.ErrChecksum
		}
	}
	if sentinel != nil && !errors.Is(err, sentinel) {
		return fmt.Errorf("s3store: %s %q: %w: %w", op, key, sentinel, err)
	}
	return fmt.Errorf("s3store: %s %q: %w", op, key, err)
}

// failReader wraps errors from reading an object like the other errors.
type failReader struct {
	r    io.Reader
	fail func(error) error
}

func (f *failReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err != nil && err != io.EOF {
		err = f.fail(err)
	}
	return n, err
}

type readCloser struct {
	io.Reader
	io.Closer
}

// dateRecorder notes the Date of the response to a request whose context
// carries a *responseDate: S3 does not return Last-Modified on PutObject,
// and its Date is the same clock to the second.
type dateRecorder struct{ rt http.RoundTripper }

type dateKey struct{}

type responseDate struct {
	mu sync.Mutex
	t  time.Time
}

func (d *responseDate) get() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.t
}

func (d dateRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := d.rt.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if rd, ok := req.Context().Value(dateKey{}).(*responseDate); ok {
		if t, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
			rd.mu.Lock()
			rd.t = t
			rd.mu.Unlock()
		}
	}
	return resp, nil
}
