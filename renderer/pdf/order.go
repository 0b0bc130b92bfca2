package pdf

import (
	"golang.org/x/text/unicode/bidi"

	"github.com/quire-print/quire/renderer/display"
)

// Text extraction reads a page's glyphs left to right and turns
// right-to-left text back into reading order itself. Poppler (pdftotext,
// and the viewers built on it: Evince, Okular) treats the text of an
// /ActualText span the same way, as the span's glyphs seen left to right,
// and then reverses each stretch it takes for right-to-left: from a
// right-to-left letter up to the next left-to-right letter or number
// (TextOutputDev's reorderText). A logical-order /ActualText therefore
// comes back reversed, vowel marks before their letters. So a line with
// right-to-left text is written in the order that reading gives back as
// logical: each right-to-left stretch reversed, with a direction mark
// where poppler's stretches would otherwise start or end in the wrong
// place. docs/pdf-library.md, "Shaped text", has the cases.

const (
	lrm = '\u200E' // LEFT-TO-RIGHT MARK: ends a right-to-left stretch
	rlm = '\u200F' // RIGHT-TO-LEFT MARK: starts one
)

// readingOrderText returns the /ActualText of a line with right-to-left
// runs: its characters (without bidi controls), each maximal stretch of
// right-to-left text reversed. A character counts as right-to-left when a
// right-to-left run draws it and it is not a letter or number that
// extraction takes as left-to-right: the Arabic comma is a number
// separator to poppler and stays outside a reversed stretch, as it would
// be outside the stretch it reverses.
func readingOrderText(t *display.Text) string {
	// Which bytes of the line right-to-left runs draw.
	rtl := make([]bool, len(t.Text))
	for _, run := range t.Runs {
		if !run.RTL || len(run.Glyphs) == 0 {
			continue
		}
		lo, hi := run.Glyphs[0].Start, run.Glyphs[0].End
		for _, g := range run.Glyphs {
			lo, hi = min(lo, g.Start), max(hi, g.End)
		}
		for i := lo; i < hi; i++ {
			rtl[i] = true
		}
	}
	out := make([]rune, 0, len(t.Text)+4)
	var stretch []rune // right-to-left characters not yet written, in logical order
	flush := func() {
		if len(stretch) == 0 {
			return
		}
		// Reversed, the stretch's last character comes first; a mark
		// there would not start a right-to-left stretch, so an RLM does.
		if class(stretch[len(stretch)-1]) != rightToLeft {
			out = append(out, rlm)
		}
		for i := len(stretch) - 1; i >= 0; i-- {
			out = append(out, stretch[i])
		}
		stretch = stretch[:0]
	}
	for i, r := range t.Text {
		if dropBidiControls(r) < 0 {
			continue
		}
		c := class(r)
		if rtl[i] && c != leftToRight && c != number {
			stretch = append(stretch, r)
			continue
		}
		if len(stretch) > 0 {
			flush()
			// A space or mark after the stretch would join it: an LRM
			// ends it first.
			if c != leftToRight && c != number {
				out = append(out, lrm)
			}
		}
		out = append(out, r)
	}
	flush()
	return string(out)
}

// extraction classes: how poppler's text extraction sees a character
// (UnicodeTypeTable: right-to-left letters, left-to-right letters,
// numbers and their separators, everything else).
const (
	neutral = iota
	leftToRight
	rightToLeft
	number
)

func class(r rune) int {
	p, _ := bidi.LookupRune(r)
	switch p.Class() {
	case bidi.R, bidi.AL:
		return rightToLeft
	case bidi.L:
		return leftToRight
	case bidi.EN, bidi.ES, bidi.ET, bidi.CS, bidi.AN:
		return number
	}
	return neutral
}
