package gopdf

// Quire patch: building and deflating a font subset was half the cost of
// a document, although most documents of a service draw the same glyphs
// from the same font (the template's own text, and names in the common
// letters). The compressed subset is a pure function of the font's bytes,
// the glyph set and the compression level, so it is cached process-wide,
// keyed by exactly those: output stays byte-for-byte what it was without
// the cache. The cache is bounded in bytes and forgets the oldest entry
// first.

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
)

// DefaultSubsetCacheBytes is the subset cache's bound until
// SetSubsetCacheBytes changes it.
const DefaultSubsetCacheBytes = 8 << 20

var subsetCacheLimit atomic.Int64

func init() { subsetCacheLimit.Store(DefaultSubsetCacheBytes) }

// SetSubsetCacheBytes bounds the compressed font subsets kept for reuse,
// in bytes, and returns the previous bound; 0 turns the cache off. Entries
// beyond a lower bound go as new ones arrive.
func SetSubsetCacheBytes(n int) int { return int(subsetCacheLimit.Swap(int64(n))) }

type subsetKey struct {
	font   *byte // the font's data: fonts are parsed once and shared
	size   int
	level  int
	glyphs string // sorted glyph ids, two bytes each
}

type subsetEntry struct {
	compressed []byte
	length1    int // the uncompressed subset's length
}

var subsetCache = struct {
	sync.Mutex
	entries map[subsetKey]subsetEntry
	order   []subsetKey // oldest first
	bytes   int
}{entries: map[subsetKey]subsetEntry{}}

func newSubsetKey(fontData []byte, level int, glyphs []int) (subsetKey, bool) {
	if len(fontData) == 0 || subsetCacheLimit.Load() <= 0 {
		return subsetKey{}, false
	}
	b := make([]byte, 2*len(glyphs))
	for i, g := range glyphs {
		binary.BigEndian.PutUint16(b[2*i:], uint16(g))
	}
	return subsetKey{font: &fontData[0], size: len(fontData), level: level, glyphs: string(b)}, true
}

func cachedSubset(k subsetKey) (subsetEntry, bool) {
	subsetCache.Lock()
	defer subsetCache.Unlock()
	e, ok := subsetCache.entries[k]
	return e, ok
}

// cacheSubset keeps a copy of compressed under k.
func cacheSubset(k subsetKey, compressed []byte, length1 int) {
	limit := int(subsetCacheLimit.Load())
	if len(compressed) > limit/4 {
		return // one entry may not crowd out the rest
	}
	subsetCache.Lock()
	defer subsetCache.Unlock()
	if _, ok := subsetCache.entries[k]; ok {
		return
	}
	for subsetCache.bytes+len(compressed) > limit && len(subsetCache.order) > 0 {
		old := subsetCache.order[0]
		subsetCache.order = subsetCache.order[1:]
		subsetCache.bytes -= len(subsetCache.entries[old].compressed)
		delete(subsetCache.entries, old)
	}
	subsetCache.entries[k] = subsetEntry{compressed: append([]byte(nil), compressed...), length1: length1}
	subsetCache.order = append(subsetCache.order, k)
	subsetCache.bytes += len(compressed)
}

// SubsetCacheSize reports how many compressed subsets are cached and
// their bytes.
func SubsetCacheSize() (entries, bytes int) {
	subsetCache.Lock()
	defer subsetCache.Unlock()
	return len(subsetCache.entries), subsetCache.bytes
}
