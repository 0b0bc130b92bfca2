// Package shape sets text with a real shaper: github.com/go-text/typesetting,
// a Go port of HarfBuzz. Every line of every script goes through it, Latin
// included, so ligatures, mark positioning (GPOS mark and mkmk), contextual
// substitutions (ccmp's dotless i under a mark), Arabic joining and Indic
// reordering come from the fonts themselves.
//
// A line is split into runs by direction (UAX #9, with isolates), by script
// and by face: each character is set in the first face of its family that
// has it (fonts.Fallback), chosen by the text, not by the request. Runs come
// back in the order they appear on the page, so backends draw the glyphs as
// they are, where layout measured them.
//
// Shaped lines are cached per family (the template's own words repeat in
// every document); a Family is safe for concurrent use.
package shape

import (
	"bytes"
	"fmt"
	"sync"
	"unicode"

	"github.com/go-text/typesetting/bidi"
	"github.com/go-text/typesetting/di"
	"github.com/go-text/typesetting/font"
	"github.com/go-text/typesetting/language"
	"github.com/go-text/typesetting/shaping"
	"golang.org/x/image/math/fixed"

	"github.com/quire-print/quire/fonts"
	"github.com/quire-print/quire/renderer/display"
)

// cacheLines bounds each of a family's two cache generations.
const cacheLines = 2048

// overhang is how far, in em, ink may reach past either end of a line
// without counting as outside it.
const overhang = 0.05

// Family is a face and the faces that stand in for it where it has no
// glyph, shaped together.
type Family struct {
	faces []*fonts.Face
	fonts []*font.Font

	mu       sync.Mutex
	cur, old map[string]*Line
}

// Faces returns the family's faces, the named one first.
func (f *Family) Faces() []*fonts.Face { return f.faces }

var (
	familiesMu sync.Mutex
	families   = map[string]*Family{}
	fallback   = fonts.Fallback
	parsed     sync.Map // *fonts.Face → *font.Font
)

// SetFallback replaces fonts.Fallback as the source of families, for tests
// that add system faces. Call it before the first Get.
func SetFallback(f func(name string) ([]*fonts.Face, error)) {
	familiesMu.Lock()
	defer familiesMu.Unlock()
	fallback = f
	families = map[string]*Family{}
}

// Get returns the family of the face called name. The first call parses
// its faces; later calls return the same *Family.
func Get(name string) (*Family, error) {
	familiesMu.Lock()
	defer familiesMu.Unlock()
	if f, ok := families[name]; ok {
		return f, nil
	}
	faces, err := fallback(name)
	if err != nil {
		return nil, err
	}
	f, err := NewFamily(faces)
	if err != nil {
		return nil, err
	}
	families[name] = f
	return f, nil
}

// NewFamily returns a family of faces, tried in order.
func NewFamily(faces []*fonts.Face) (*Family, error) {
	if len(faces) == 0 {
		return nil, fmt.Errorf("shape: a family needs a face")
	}
	f := &Family{faces: faces, cur: map[string]*Line{}}
	for _, face := range faces {
		ft, err := parseFont(face)
		if err != nil {
			return nil, err
		}
		f.fonts = append(f.fonts, ft)
	}
	return f, nil
}

func parseFont(face *fonts.Face) (*font.Font, error) {
	if v, ok := parsed.Load(face); ok {
		return v.(*font.Font), nil
	}
	ff, err := font.ParseTTF(bytes.NewReader(face.Data()))
	if err != nil {
		return nil, fmt.Errorf("shape: %s: %w", face.Name(), err)
	}
	v, _ := parsed.LoadOrStore(face, ff.Font)
	return v.(*font.Font), nil
}

// Line is text shaped as one line. It never changes once made.
type Line struct {
	Text string
	// Runs are the glyphs, left to right as on the page.
	Runs []display.Run
	// Plain is display.Text.Plain: one left-to-right run of the family's
	// first face, each glyph its character's nominal glyph and advance.
	Plain bool
	// Advance is the line's advance width in em (points at 1 pt).
	Advance float64
	// Ascent and Descent (em, positive) bound the line: the first face's
	// ascender and descender, or the ink where it reaches further, as
	// stacked marks and tall Indic or Arabic letters do.
	Ascent, Descent float64
	// InkAbove and InkBelow are how far the ink itself reaches above and
	// below the baseline, in em.
	InkAbove, InkBelow float64
	// InkLeft and InkRight are how far ink reaches past the line's start
	// (leftwards) and its advance (rightwards), in em; 0 when it does not.
	InkLeft, InkRight float64
	// Ink is each drawn glyph's ink box, left to right: where ink lies,
	// for checks that need more than the line's extremes (does a
	// descender of one line stand over an accent of the next?).
	Ink []InkBox
	// Missing lists characters no face of the family can draw.
	Missing []rune

	cum []float64 // cum[i]: advance of the clusters that start before byte i, em

	breaksOnce sync.Once
	breaks     []Break
}

// InkBox is the bounding box of one glyph's ink, in em: Left and Right
// from the line's start (before any InkLeft shift), Above and Below from
// the baseline, positive upwards and downwards.
type InkBox struct {
	Left, Right, Above, Below float64
}

// Width returns the advance of the clusters that start in text[start:end],
// in em. Measured on a line shaped whole, it is what that stretch adds to
// the line.
func (l *Line) Width(start, end int) float64 { return l.cum[end] - l.cum[start] }

// Shape shapes text as one line, or returns the cached result.
func (f *Family) Shape(text string) *Line {
	f.mu.Lock()
	l, ok := f.cur[text]
	if !ok {
		if l, ok = f.old[text]; ok {
			f.put(text, l)
		}
	}
	f.mu.Unlock()
	if ok {
		return l
	}
	st := states.Get().(*state)
	l = st.shape(f, text)
	states.Put(st)
	f.mu.Lock()
	f.put(text, l)
	f.mu.Unlock()
	return l
}

func (f *Family) put(text string, l *Line) {
	if len(f.cur) >= cacheLines {
		f.old, f.cur = f.cur, make(map[string]*Line, cacheLines)
	}
	f.cur[text] = l
}

// state is what one shaping needs and may keep between calls: go-text's
// faces and shaper are not safe for concurrent use.
type state struct {
	hb    shaping.HarfbuzzShaper
	faces map[*font.Font]*font.Face
	para  bidi.Paragraph
	runes []rune
	offs  []int32
	items []item
	ink   []shaping.Glyph
}

var states = sync.Pool{New: func() any { return &state{faces: map[*font.Font]*font.Face{}} }}

func (st *state) face(ft *font.Font) *font.Face {
	fc, ok := st.faces[ft]
	if !ok {
		fc = font.NewFace(ft)
		st.faces[ft] = fc
	}
	return fc
}

// item is a stretch of runes set in one face, script and direction.
type item struct {
	start, end int // rune indices
	face       int
	script     language.Script
	level      bidi.Level
}

func (st *state) shape(f *Family, text string) *Line {
	st.runes, st.offs = st.runes[:0], st.offs[:0]
	for i, r := range text {
		st.runes = append(st.runes, r)
		st.offs = append(st.offs, int32(i))
	}
	st.offs = append(st.offs, int32(len(text)))
	l := &Line{Text: text, cum: make([]float64, len(text)+1)}
	first := f.faces[0]
	l.Ascent, l.Descent = first.Ascent(), first.Descent()
	if len(st.runes) == 0 {
		l.Plain = true
		return l
	}
	st.itemize(f, l)

	// Visual order of items (UAX #9 rule L2): from the highest level down
	// to the lowest odd one, reverse every sequence at that level or above.
	order := make([]int, len(st.items))
	var top, lowOdd bidi.Level = 0, 127
	for i, it := range st.items {
		order[i] = i
		top = max(top, it.level)
		if it.level%2 == 1 {
			lowOdd = min(lowOdd, it.level)
		}
	}
	for lvl := top; lvl >= lowOdd && lvl > 0; lvl-- {
		for i := 0; i < len(order); {
			if st.items[order[i]].level < lvl {
				i++
				continue
			}
			j := i
			for j < len(order) && st.items[order[j]].level >= lvl {
				j++
			}
			for a, b := i, j-1; a < b; a, b = a+1, b-1 {
				order[a], order[b] = order[b], order[a]
			}
			i = j
		}
	}

	l.Plain = len(st.items) == 1 && st.items[0].face == 0 && st.items[0].level%2 == 0
	var advEm float64
	for _, idx := range order {
		it := st.items[idx]
		face := f.faces[it.face]
		upem := float64(face.UnitsPerEm())
		dir := di.DirectionLTR
		if it.level%2 == 1 {
			dir = di.DirectionRTL
		}
		out := st.hb.Shape(shaping.Input{
			Text: st.runes, RunStart: it.start, RunEnd: it.end,
			Direction: dir, Face: st.face(f.fonts[it.face]),
			Size: fixed.I(face.UnitsPerEm()), Script: it.script,
		})
		run := display.Run{Face: face, RTL: dir == di.DirectionRTL, Glyphs: make([]display.Glyph, 0, len(out.Glyphs))}
		ink := st.ink[:0]
		for _, g := range out.Glyphs {
			ci := g.TextIndex()
			if isBidiControl(st.runes[ci]) && g.RunesCount() == 1 {
				continue // isolates and marks steer ordering; nothing to draw
			}
			run.Glyphs = append(run.Glyphs, display.Glyph{
				ID:      uint16(g.GlyphID),
				Advance: int32(g.Advance) >> 6,
				XOffset: int32(g.XOffset) >> 6,
				YOffset: int32(g.YOffset) >> 6,
				Start:   st.offs[ci],
				End:     st.offs[min(ci+g.RunesCount(), len(st.runes))],
			})
			ink = append(ink, g)
		}
		scale := 1 / upem
		var pen int64 // font units from the run's start: summed whole, scaled once
		for i, dg := range run.Glyphs {
			g := ink[i]
			if g.Width != 0 || g.Height != 0 {
				x := advEm + float64(pen+int64(dg.XOffset)+int64(g.XBearing>>6))*scale
				top := float64(dg.YOffset+int32(g.YBearing>>6)) * scale
				bottom := -float64(dg.YOffset+int32((g.YBearing+g.Height)>>6)) * scale
				right := x + float64(g.Width>>6)*scale
				l.InkLeft = max(l.InkLeft, -x)
				l.InkRight = max(l.InkRight, right)
				l.InkAbove = max(l.InkAbove, top)
				l.InkBelow = max(l.InkBelow, bottom)
				l.Ink = append(l.Ink, InkBox{Left: min(x, right), Right: max(x, right), Above: top, Below: bottom})
			}
			pen += int64(dg.Advance)
			l.cum[dg.Start+1] += float64(dg.Advance) * scale
			if l.Plain {
				r := st.runes[g.TextIndex()]
				nominal, _ := f.fonts[0].NominalGlyph(r)
				l.Plain = g.RunesCount() == 1 && g.GlyphsCount() == 1 && uint16(nominal) == dg.ID &&
					dg.XOffset == 0 && dg.YOffset == 0 && float64(dg.Advance) == face.Advance(r)*upem
			}
		}
		st.ink = ink
		advEm += float64(pen) / upem
		l.Runs = append(l.Runs, run)
	}
	l.Advance = advEm
	l.Ascent, l.Descent = max(l.Ascent, l.InkAbove), max(l.Descent, l.InkBelow)
	l.InkRight = max(0, l.InkRight-advEm)
	// A letter's own overhang (the hook of a serif J) is the designer's
	// optical alignment and stays; only more than that, such as a mark with
	// no letter before it, counts.
	if l.InkLeft <= overhang {
		l.InkLeft = 0
	}
	if l.InkRight <= overhang {
		l.InkRight = 0
	}
	for i := 1; i < len(l.cum); i++ {
		l.cum[i] += l.cum[i-1]
	}
	return l
}

// itemize splits the runes into items by direction, face and script, and
// notes characters no face has.
func (st *state) itemize(f *Family, l *Line) {
	st.items = st.items[:0]
	runs := st.para.Segment(st.runes, bidi.Neutral)
	start := 0
	for i := 0; i < runs.NumRuns(); i++ {
		run := runs.Run(i)
		st.split(f, l, start, run.End, run.Level)
		start = run.End
	}
	if runs.NumRuns() == 0 {
		st.split(f, l, 0, len(st.runes), 0)
	}
}

func (st *state) split(f *Family, l *Line, start, end int, level bidi.Level) {
	cur := item{start: start, face: -1, script: language.Common, level: level}
	for i := start; i < end; i++ {
		r := st.runes[i]
		sc := language.LookupScript(r)
		strong := sc != language.Common && sc != language.Inherited && sc != language.Unknown
		// A letter takes the first face that has it; marks, spaces and
		// punctuation stay in the face of what they follow when it can.
		face := cur.face
		if face < 0 || strong || !(f.faces[face].Has(r) || sticky(r)) {
			face = -1
			for k, fc := range f.faces {
				if fc.Has(r) {
					face = k
					break
				}
			}
			if face < 0 {
				if !ignorable(r) {
					l.Missing = append(l.Missing, r)
				}
				face = max(cur.face, 0)
			}
		}
		switch {
		case cur.face < 0:
			cur.face = face
			if strong {
				cur.script = sc
			}
		case face != cur.face || (strong && cur.script != language.Common && sc != cur.script):
			cur.end = i
			st.items = append(st.items, cur)
			cur = item{start: i, face: face, script: language.Common, level: level}
			if strong {
				cur.script = sc
			}
		case strong && cur.script == language.Common:
			cur.script = sc
		}
	}
	cur.end = end
	if cur.face < 0 {
		cur.face = 0
	}
	if cur.start < cur.end {
		st.items = append(st.items, cur)
	}
}

// sticky reports characters that stay in the face of what they follow:
// marks, joiners and selectors belong to their base.
func sticky(r rune) bool {
	return unicode.In(r, unicode.Mn, unicode.Me) || ignorable(r)
}

// ignorable reports default-ignorable characters the shaper hides (joiners,
// variation selectors, bidi controls): no face needs a glyph for them.
func ignorable(r rune) bool {
	switch {
	case r == 0x034F, r == 0x061C, r >= 0x200B && r <= 0x200F, r >= 0x202A && r <= 0x202E,
		r >= 0x2060 && r <= 0x2064, r >= 0x2066 && r <= 0x2069, r >= 0xFE00 && r <= 0xFE0F,
		r >= 0xE0100 && r <= 0xE01EF, r >= 0x180B && r <= 0x180F:
		return true
	}
	return false
}

func isBidiControl(r rune) bool {
	return r == 0x061C || r == 0x200E || r == 0x200F || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}
