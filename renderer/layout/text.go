package layout

import (
	"strings"
	"unicode/utf8"

	"github.com/quire-print/quire/fonts"
)

// sizeStep is how finely fitted text shrinks, in points: fine enough that
// a name is never much smaller than it needs to be.
const sizeStep = 0.25

// measurer measures words for one face. Widths are for a 1 pt font, so
// one measurement serves every candidate size.
type measurer struct {
	face  *fonts.Face
	space float64
}

func newMeasurer(face *fonts.Face) measurer {
	return measurer{face: face, space: face.Advance(' ')}
}

// piece is an unbreakable run of a line: a word, or the part of a
// hyphenated word up to and including a hyphen.
type piece struct {
	text  string
	width float64 // at 1 pt
	// glue is true when the piece follows the previous one directly (the
	// line may break between them only after a hyphen, without a space).
	glue bool
}

// pieces splits text into break opportunities: at spaces, and after
// hyphens inside words, so "Wróblewska-Szczepańska" can wrap after the
// hyphen when it must. Text is already normalised (single spaces).
func (m measurer) pieces(text string) []piece {
	var out []piece
	for _, word := range strings.Fields(text) {
		first := true
		for word != "" {
			i := strings.IndexAny(word, "-‐")
			part := word
			if i >= 0 && i < len(word)-1 {
				_, n := utf8.DecodeRuneInString(word[i:])
				part = word[:i+n]
			}
			out = append(out, piece{text: part, width: m.face.Width(part, 1), glue: !first})
			word = word[len(part):]
			first = false
		}
	}
	return out
}

// wrap breaks pieces into lines no wider than width at size. A hyphenated
// word breaks after a hyphen only when the whole word is wider than the
// line, so references and short double-barrelled names stay whole. ok is
// false when a piece alone is wider than the line.
func (m measurer) wrap(ps []piece, size, width float64) (lines []string, widths []float64, ok bool) {
	const eps = 1e-9
	var b strings.Builder
	lineW := 0.0
	flush := func() {
		lines = append(lines, b.String())
		widths = append(widths, lineW*size)
		b.Reset()
		lineW = 0
	}
	// place adds a unit (a whole word, or part of one) to the line.
	place := func(text string, w float64, space bool) {
		add := w
		if space && b.Len() > 0 {
			add += m.space
		}
		if b.Len() > 0 && (lineW+add)*size > width+eps {
			flush()
			add, space = w, false
		}
		if space && b.Len() > 0 {
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
			var word strings.Builder
			for _, p := range ps[i:j] {
				word.WriteString(p.text)
			}
			place(word.String(), w, true)
		} else {
			for k, p := range ps[i:j] {
				if p.width*size > width+eps {
					return nil, nil, false
				}
				place(p.text, p.width, k == 0)
			}
		}
		i = j
	}
	if b.Len() > 0 {
		flush()
	}
	return lines, widths, true
}

// fitted is text fitted into a box.
type fitted struct {
	size   float64
	lines  []string
	widths []float64
}

// fit finds how to set text in a w×h area: the largest size from maxSize
// down to minSize at which it fits on one line, then on two, and so on up
// to maxLines. ok is false when it does not fit at all.
func (m measurer) fit(text string, w, h, maxSize, minSize, leading float64, maxLines int) (fitted, bool) {
	if minSize <= 0 {
		minSize = maxSize
	}
	ps := m.pieces(text)
	vertical := m.face.Ascent() + m.face.Descent()
	for n := 1; n <= maxLines; n++ {
		for size := maxSize; size >= minSize-1e-9; size -= sizeStep {
			if (float64(n-1)*leading+vertical)*size > h+1e-9 {
				continue
			}
			lines, widths, ok := m.wrap(ps, size, w)
			if ok && len(lines) <= n {
				return fitted{size: size, lines: lines, widths: widths}, true
			}
		}
	}
	return fitted{}, false
}

// capacity estimates how many characters like those in text would fit on
// maxLines lines of width w at size: the figure an error message offers.
func (m measurer) capacity(text string, w, size float64, maxLines int) int {
	n := len([]rune(text))
	if n == 0 {
		return 0
	}
	avg := m.face.Width(text, size) / float64(n)
	if avg <= 0 {
		return n
	}
	return int(float64(maxLines) * w / avg)
}
