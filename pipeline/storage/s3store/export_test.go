package s3store

import (
	"context"
	"io"

	"github.com/quire-print/quire/pipeline/storage"
)

// PutUnchecked sends content in one PutObject without Quire's own checksum
// reader, so that tests can show the service refusing a wrong SHA-256.
func (s *Store) PutUnchecked(ctx context.Context, key string, r io.Reader, size int64, sha256 string) (storage.Info, error) {
	return s.put(ctx, "put", key, r, size, sha256, false, true)
}
