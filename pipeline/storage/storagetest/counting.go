package storagetest

import (
	"context"
	"io"
	"iter"
	"maps"
	"sync"

	"github.com/quire-print/quire/pipeline/storage"
)

// Counting is a storage.Store that counts the requests made of the store
// under it, by operation ("get", "put", …), for tests that hold a path to
// a number of round trips. It is safe for concurrent use.
type Counting struct {
	storage.Store
	mu sync.Mutex
	n  map[string]int
}

// NewCounting returns a Counting store over s.
func NewCounting(s storage.Store) *Counting { return &Counting{Store: s} }

// Take returns the counts since the last Take, and starts again from zero.
func (c *Counting) Take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := maps.Clone(c.n)
	if n == nil {
		n = map[string]int{}
	}
	clear(c.n)
	return n
}

func (c *Counting) count(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[op]++
}

// Put counts "put".
func (c *Counting) Put(ctx context.Context, key string, data []byte) (storage.Info, error) {
	c.count("put")
	return c.Store.Put(ctx, key, data)
}

// Create counts "create".
func (c *Counting) Create(ctx context.Context, key string, data []byte) (storage.Info, error) {
	c.count("create")
	return c.Store.Create(ctx, key, data)
}

// PutStream counts "put-stream".
func (c *Counting) PutStream(ctx context.Context, key string, r io.Reader, size int64, sha256 string) (storage.Info, error) {
	c.count("put-stream")
	return c.Store.PutStream(ctx, key, r, size, sha256)
}

// Get counts "get".
func (c *Counting) Get(ctx context.Context, key string) ([]byte, error) {
	c.count("get")
	return c.Store.Get(ctx, key)
}

// Open counts "get".
func (c *Counting) Open(ctx context.Context, key string) (io.ReadCloser, storage.Info, error) {
	c.count("get")
	return c.Store.Open(ctx, key)
}

// GetRange counts "get-range".
func (c *Counting) GetRange(ctx context.Context, key string, offset, length int64) ([]byte, error) {
	c.count("get-range")
	return c.Store.GetRange(ctx, key, offset, length)
}

// Stat counts "stat".
func (c *Counting) Stat(ctx context.Context, key string) (storage.Info, error) {
	c.count("stat")
	return c.Store.Stat(ctx, key)
}

// List counts "list" once per listing (a page on S3 is a request of its
// own; a test of long listings should not count them here).
func (c *Counting) List(ctx context.Context, prefix string) iter.Seq2[storage.Info, error] {
	c.count("list")
	return c.Store.List(ctx, prefix)
}

// Delete counts "delete".
func (c *Counting) Delete(ctx context.Context, key string) error {
	c.count("delete")
	return c.Store.Delete(ctx, key)
}
