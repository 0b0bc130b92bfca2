// Package checksum checks content against its SHA-256 as it streams past,
// for the Store implementations.
package checksum

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"

	"github.com/quire-print/quire/pipeline/storage"
)

// Valid reports whether s is a lowercase hex SHA-256.
func Valid(s string) error {
	if len(s) != 2*sha256.Size {
		return fmt.Errorf("SHA-256 must be %d hex digits, got %d characters", 2*sha256.Size, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return fmt.Errorf("SHA-256 must be lowercase hex")
		}
	}
	return nil
}

// Sum returns the lowercase hex SHA-256 of data.
func Sum(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// Reader reads exactly size bytes from an underlying reader, hashing them.
// When the last byte has been read it compares the hash with the one it was
// given and, if they differ, returns an error wrapping storage.ErrChecksum
// instead of that last chunk. A consumer that commits only after reading to
// io.EOF therefore never commits wrong content. Bytes beyond size are not
// read.
type Reader struct {
	r    io.Reader
	h    hash.Hash
	want string // lowercase hex; empty checks the length only
	size int64
	n    int64
	err  error // sticky
}

// NewReader returns a Reader over size bytes of r that must hash to want
// (lowercase hex). An empty want checks only that r holds size bytes.
func NewReader(r io.Reader, size int64, want string) *Reader {
	return &Reader{r: r, h: sha256.New(), want: want, size: size}
}

// Read implements io.Reader.
func (cr *Reader) Read(p []byte) (int, error) {
	if cr.err != nil {
		return 0, cr.err
	}
	remaining := cr.size - cr.n
	if remaining == 0 {
		cr.err = cr.check()
		if cr.err == nil {
			cr.err = io.EOF
		}
		return 0, cr.err
	}
	if int64(len(p)) > remaining {
		p = p[:remaining]
	}
	m, err := cr.r.Read(p)
	cr.h.Write(p[:m])
	cr.n += int64(m)
	if cr.n == cr.size {
		if cerr := cr.check(); cerr != nil {
			// Withhold the last chunk: the consumer sees an error before it
			// has the whole content, so it cannot commit it.
			cr.err = cerr
			return 0, cerr
		}
		return m, nil
	}
	if err == io.EOF {
		cr.err = fmt.Errorf("%w: content ended after %d of %d bytes", storage.ErrChecksum, cr.n, cr.size)
		return m, cr.err
	}
	if err != nil {
		cr.err = err
	}
	return m, err
}

// Sum returns the lowercase hex SHA-256 of what has been read so far.
func (cr *Reader) Sum() string { return hex.EncodeToString(cr.h.Sum(nil)) }

func (cr *Reader) check() error {
	if cr.want == "" {
		return nil
	}
	if got := cr.Sum(); got != cr.want {
		return fmt.Errorf("%w: got %s, want %s", storage.ErrChecksum, got, cr.want)
	}
	return nil
}
