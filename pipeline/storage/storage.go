// Package storage defines the object store that Quire keeps its durable
// outputs in: rendered documents and their records, cancellation markers and,
// later, batches for the print supplier.
//
// Store is consumed by three parts of Quire: the pipeline worker (which
// commits rendered envelopes), the batcher (which assembles batch files from
// them) and the supplier API (which streams batch files out). It is defined
// here, once, rather than in each consumer, because all three must agree on
// the same semantics and one conformance suite (package storagetest) holds
// every implementation to them. Two implementations exist: s3store, for any
// S3-compatible service, and fsstore, a directory tree for one-machine runs.
//
// The semantics are S3's, narrowed to what Quire relies on:
//   - Writes are atomic: a reader sees the whole old object or the whole new
//     one, never a mixture or a prefix.
//   - Create writes only if the key is absent, and exactly one of any number
//     of concurrent Creates of one key succeeds. It is the commit point that
//     idempotency rests on.
//   - Every write carries the SHA-256 of its content; the store rejects
//     content that does not match it, and Info reports it back.
//   - Reads after a successful write see that write (S3 has been strongly
//     consistent since December 2020; Ceph RGW always was).
//   - List is in lexical (byte) order of keys and uses bounded memory however
//     many keys match.
package storage

import (
	"context"
	"errors"
	"io"
	"iter"
	"time"
)

// Sentinel errors. Implementations wrap them with the operation and key, so
// test with errors.Is.
var (
	// ErrNotFound: no object has the key.
	ErrNotFound = errors.New("object not found")
	// ErrExists: Create found an object already at the key.
	ErrExists = errors.New("object already exists")
	// ErrChecksum: content does not match its SHA-256, either on the way in
	// (the write was refused and nothing was stored) or on the way out (what
	// the store holds no longer matches what was written).
	ErrChecksum = errors.New("content does not match its SHA-256")
	// ErrInvalidKey: the key breaks the rules of ValidKey.
	ErrInvalidKey = errors.New("invalid object key")
)

// Info describes one stored object.
type Info struct {
	// Key is the object's key, without any prefix the store adds.
	Key string
	// Size is the content length in bytes.
	Size int64
	// SHA256 is the lowercase hex SHA-256 of the content, as verified when
	// the object was written. List leaves it empty: S3 listings do not carry
	// it, so ask Stat.
	SHA256 string
	// Modified is when the object was last written, by the store's clock.
	// In the Info an S3 write returns it is when the service answered,
	// to the second (S3 does not report Last-Modified on PutObject).
	Modified time.Time
}

// Store holds objects by key. Implementations are safe for concurrent use by
// many goroutines and, for the same bucket or directory, by many processes.
//
// Every method honours ctx: once it is done, calls return an error that
// wraps ctx.Err() and writes that had not completed leave nothing behind.
type Store interface {
	// Put stores data at key, replacing any object there.
	Put(ctx context.Context, key string, data []byte) (Info, error)

	// Create stores data at key only if no object is there; otherwise it
	// returns an error wrapping ErrExists and leaves the existing object
	// alone. Of any number of concurrent Creates of one key, exactly one
	// succeeds.
	Create(ctx context.Context, key string, data []byte) (Info, error)

	// PutStream stores the next size bytes read from r at key, replacing
	// any object there, without holding the content in memory (beyond one
	// S3 part, 16 MiB by default). sha256 is the lowercase hex SHA-256 they
	// must have: if they do not, or r ends before size bytes, nothing is
	// stored and the error wraps ErrChecksum (or the reader's error). Bytes
	// beyond size are not read.
	PutStream(ctx context.Context, key string, r io.Reader, size int64, sha256 string) (Info, error)

	// Get returns the whole content of the object at key, after checking it
	// against the SHA-256 recorded when it was written.
	Get(ctx context.Context, key string) ([]byte, error)

	// Open returns a reader for the object at key, for objects too large to
	// hold in memory. The reader checks the content as it goes: a read that
	// reaches the end returns an error wrapping ErrChecksum, instead of
	// io.EOF, if the content does not match Info.SHA256. The caller closes
	// it.
	Open(ctx context.Context, key string) (io.ReadCloser, Info, error)

	// GetRange returns length bytes of the object at key, starting offset
	// bytes in (S3's GetObject with a Range header). The object's SHA-256
	// covers all of it, so the range is not checked against it: the caller
	// checks it against a SHA-256 of its own. An object that ends before
	// offset+length is not the object the caller expects, and the error
	// wraps ErrChecksum. length must be at least 1 and offset at least 0.
	GetRange(ctx context.Context, key string, offset, length int64) ([]byte, error)

	// Stat describes the object at key without reading it.
	Stat(ctx context.Context, key string) (Info, error)

	// List yields every object whose key starts with prefix, in lexical
	// order, fetching them in pages. Info.SHA256 is empty. A failure is
	// yielded once, with a zero Info, and ends the sequence. Stopping early
	// is fine.
	List(ctx context.Context, prefix string) iter.Seq2[Info, error]

	// Delete removes the object at key. Deleting a missing object is not an
	// error, so a sweep that is interrupted can simply run again.
	Delete(ctx context.Context, key string) error

	// Ping checks that the store answers and the bucket or directory is
	// there, for readiness checks.
	Ping(ctx context.Context) error
}
