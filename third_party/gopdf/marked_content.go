package gopdf

import (
	"io"
	"strconv"
	"unicode/utf16"
)

// Quire patch: marked content with /ActualText (PDF 32000-1 §14.9.4).
// Quire draws a combining mark that it moved onto a capital as a text
// object of its own; wrapped in a span with /ActualText, the run still
// extracts, copies and reads aloud as the characters it stands for.

// cacheContentRaw writes content-stream operators as they are.
type cacheContentRaw struct{ ops []byte }

func (c *cacheContentRaw) write(w io.Writer, _ *PDFProtection) error {
	_, err := w.Write(c.ops)
	return err
}

// BeginActualText starts a marked-content span whose glyphs stand for
// text. Every BeginActualText needs an EndActualText on the same page.
func (gp *GoPdf) BeginActualText(text string) {
	ops := []byte("/Span <</ActualText <FEFF")
	for _, u := range utf16.Encode([]rune(text)) {
		ops = append(ops, "0000"[len(strconv.FormatUint(uint64(u), 16)):]...)
		ops = strconv.AppendUint(ops, uint64(u), 16)
	}
	ops = append(ops, ">>> BDC\n"...)
	gp.getContent().listCache.append(&cacheContentRaw{ops: ops})
}

// EndActualText ends the span BeginActualText started.
func (gp *GoPdf) EndActualText() {
	gp.getContent().listCache.append(&cacheContentRaw{ops: []byte("EMC\n")})
}
