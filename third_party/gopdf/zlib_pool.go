package gopdf

// Quire patch: every deflate stream used to allocate a new zlib writer
// (compress/flate keeps ~800 KB of state in each). Writers are now pooled
// and reset, per compression level, and come from klauspost/compress,
// which writes the same format faster.

import (
	"github.com/klauspost/compress/zlib"
	"io"
	"sync"
)

var zlibPools sync.Map // level → *sync.Pool of *zlib.Writer

// FontCompressLevel is the zlib level of embedded font streams.
// Quire patch: upstream always used zlib.DefaultCompression.
var FontCompressLevel = zlib.DefaultCompression

func getZlibWriter(w io.Writer, level int) (*zlib.Writer, error) {
	p, _ := zlibPools.LoadOrStore(level, &sync.Pool{})
	if zw, ok := p.(*sync.Pool).Get().(*zlib.Writer); ok {
		zw.Reset(w)
		return zw, nil
	}
	return zlib.NewWriterLevel(w, level)
}

func putZlibWriter(zw *zlib.Writer, level int) {
	p, _ := zlibPools.LoadOrStore(level, &sync.Pool{})
	zw.Reset(io.Discard) // drop the reference to the caller's buffer
	p.(*sync.Pool).Put(zw)
}
