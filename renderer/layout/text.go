package layout

import (
	"strings"

	"github.com/quire-print/quire/renderer/shape"
)

// sizeStep is how finely fitted text shrinks, in points: fine enough that
// a name is never much smaller than it needs to be.
const sizeStep = 0.25

// oneLineFloor is the sizing rule for values that may take more than one
// line: a value stays on one line only if it fits there at this share of
// the box's size or more; otherwise it takes more lines at the largest
// size they allow. So a long name prints on two lines at the size of its
// neighbours rather than on one line far smaller than them, and the names
// on one certificate look like one family.
const oneLineFloor = 0.9

// lineGap is the least space, in em, left between the ink of one line and
// the next, so stacked marks never touch the line above.
const lineGap = 0.02

// measurer measures text set in one family. Widths are for a 1 pt font,
// so one measurement serves every candidate size.
type measurer struct {
	fam *shape.Family
}

// piece is an unbreakable run of a line: a word, or a part of a word that
// UAX #14 lets a line end after (a hyphen, an ideograph).
type piece struct {
	text  string
	width float64 // at 1 pt, without the spaces before it
	space float64 // the spaces before it, at 1 pt
	// glue is true when the piece follows the previous one directly (the
	// line may break between them only without a space).
	glue bool
}

// pieces splits text at its line-break opportunities (shape.Line.Breaks),
// measured on the text shaped as one line. Text is already normalised
// (single spaces).
func (m measurer) pieces(text string) []piece {
	line := m.fam.Shape(text)
	brs := line.Breaks()
	out := make([]piece, 0, len(brs))
	start, glue := 0, false
	prevSpace := 0.0
	for _, br := range brs {
		if br.WordEnd > start {
			out = append(out, piece{text: text[start:br.WordEnd], width: line.Width(start, br.WordEnd), space: prevSpace, glue: glue && len(out) > 0})
		}
		prevSpace = line.Width(br.WordEnd, br.End)
		glue = br.WordEnd == br.End
		start = br.End
	}
	return out
}

// wrap breaks pieces into lines no wider than width at size. A word breaks
// inside (after a hyphen, between ideographs) only when the whole word is
// wider than the line, so references, short double-barrelled names and
// short CJK names stay whole. ok is false when a piece alone is wider than
// the line.
func (m measurer) wrap(ps []piece, size, width float64) (lines []string, ok bool) {
	const eps = 1e-9
	var b strings.Builder
	lineW := 0.0
	flush := func() {
		lines = append(lines, b.String())
		b.Reset()
		lineW = 0
	}
	// place adds a unit (a whole word, or part of one) to the line.
	place := func(text string, w, space float64, spaced bool) {
		add := w
		if spaced && b.Len() > 0 {
			add += space
		}
		if b.Len() > 0 && (lineW+add)*size > width+eps {
			flush()
			add, spaced = w, false
		}
		if spaced && b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(text)
		lineW += add
	}
	for i := 0; i < len(ps); {
		j, w := i+1, ps[i].width
		for j < len(ps) && ps[j].glue {
			w += ps[j].width
			j++
		}
		if w*size <= width+eps {
			if j == i+1 {
				place(ps[i].text, w, ps[i].space, true)
			} else {
				var word strings.Builder
				for _, p := range ps[i:j] {
					word.WriteString(p.text)
				}
				place(word.String(), w, ps[i].space, true)
			}
		} else {
			for k, p := range ps[i:j] {
				if p.width*size > width+eps {
					return nil, false
				}
				place(p.text, p.width, p.space, k == 0)
			}
		}
		i = j
	}
	if b.Len() > 0 {
		flush()
	}
	return lines, true
}

// set shapes wrapped lines and checks them against the area: each line's
// ink within the width, the block within the height, and no line's ink
// touching the next's. leading is in em.
func (m measurer) set(lines []string, size, w, h, leading float64) ([]*shape.Line, bool) {
	const eps = 1e-9
	out := make([]*shape.Line, len(lines))
	for i, s := range lines {
		l := m.fam.Shape(s)
		if (l.InkLeft+l.Advance+l.InkRight)*size > w+eps {
			return nil, false
		}
		if i > 0 && out[i-1].InkBelow+l.InkAbove > leading-lineGap {
			return nil, false
		}
		out[i] = l
	}
	if len(out) > 0 && (out[0].Ascent+float64(len(out)-1)*leading+out[len(out)-1].Descent)*size > h+eps {
		return nil, false
	}
	return out, true
}

// inkLeading returns the least leading, in em, at which no ink of upper
// comes within lineGap of ink of lower that stands beside it: glyph boxes
// that overlap horizontally, widened by lineGap. shiftUpper and
// shiftLower move each line's ink right, in em, as text places them.
// Lines with no ink side by side need no leading at all (0).
func inkLeading(upper, lower *shape.Line, shiftUpper, shiftLower float64) float64 {
	need := 0.0
	for _, a := range upper.Ink {
		for _, b := range lower.Ink {
			if a.Left+shiftUpper < b.Right+shiftLower+lineGap && b.Left+shiftLower < a.Right+shiftUpper+lineGap {
				need = max(need, a.Below+b.Above+lineGap)
			}
		}
	}
	return need
}

// fitted is text fitted into a box.
type fitted struct {
	size  float64
	lines []*shape.Line
}

// misfit says why text does not fit.
type misfit int

const (
	fitsNot  misfit = iota // too long for the lines the box has
	wordWide               // one word is wider than the line at the smallest size
	inkTall                // even one line is taller than the box
)

// fit finds how to set text in a w×h area, by the rule of oneLineFloor:
// one line from maxSize down to oneLineFloor of it; then the largest size
// down to minSize at which it fits on as few lines as maxLines allows.
func (m measurer) fit(text string, w, h, maxSize, minSize, leading float64, maxLines int) (fitted, misfit, bool) {
	if minSize <= 0 {
		minSize = maxSize
	}
	ps := m.pieces(text)
	try := func(size float64, n int) (fitted, bool) {
		lines, ok := m.wrap(ps, size, w)
		if !ok || len(lines) > n {
			return fitted{}, false
		}
		set, ok := m.set(lines, size, w, h, leading)
		return fitted{size: size, lines: set}, ok
	}
	if maxLines > 1 {
		for size := maxSize; size >= max(minSize, maxSize*oneLineFloor)-1e-9; size -= sizeStep {
			if f, ok := try(size, 1); ok {
				return f, 0, true
			}
		}
	}
	for size := maxSize; size >= minSize-1e-9; size -= sizeStep {
		for n := 1; n <= maxLines; n++ {
			if f, ok := try(size, n); ok {
				return f, 0, true
			}
		}
	}
	for _, p := range ps {
		if p.width*minSize > w {
			// Wider even alone: is it one word, or part of one?
			return fitted{}, wordWide, false
		}
	}
	one := m.fam.Shape(text)
	if (one.Ascent+one.Descent)*minSize > h {
		return fitted{}, inkTall, false
	}
	return fitted{}, fitsNot, false
}

// capacity estimates how many characters like those in text would fit on
// maxLines lines of width w at size: the figure an error message offers.
func (m measurer) capacity(text string, w, size float64, maxLines int) int {
	n := len([]rune(text))
	if n == 0 {
		return 0
	}
	avg := m.fam.Shape(text).Advance * size / float64(n)
	if avg <= 0 {
		return n
	}
	return int(float64(maxLines) * w / avg)
}
