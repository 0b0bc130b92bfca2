// Package fonts holds the typefaces Quire prints with, embedded into the
// binary, and measures text set in them.
//
// The faces are Noto fonts (SIL Open Font License 1.1, see OFL.txt) prepared
// by build/build.py: cut to the Latin, Greek and Cyrillic alphabets, with
// hinting and layout tables dropped and every composite glyph flattened
// (README.md says why). Each face is parsed once per process, on first use.
// Faces are safe for concurrent use.
package fonts

import (
	"embed"
	"fmt"
	"slices"
	"strings"
	"sync"

	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// The shipped faces.
const (
	SansRegular  = "NotoSans-Regular"        // letter body, certificate footer
	SansBold     = "NotoSans-Bold"           // headings, certificate box labels
	SerifRegular = "NotoSerif-Regular"       // certificate values
	SerifBold    = "NotoSerif-Bold"          // emphasis on certificates
	Display      = "NotoSerifDisplay-Medium" // the certificate's header
)

//go:embed *.ttf
var files embed.FS

// denseLimit bounds the table of advances indexed directly by rune: every
// character Quire prints except a few letterlike symbols is below it.
const denseLimit = 0x2200

// Face is one typeface at no particular size. Measurements are in em:
// multiply by the font size in points.
type Face struct {
	name  string
	data  []byte
	font  *sfnt.Font
	dense []float64 // advance per rune below denseLimit; < 0 when missing
	rest  map[rune]float64
	asc   float64
	desc  float64
	capH  float64
	xH    float64
}

var faces = sync.OnceValues(load)

func load() (map[string]*Face, error) {
	entries, err := files.ReadDir(".")
	if err != nil {
		return nil, err
	}
	m := map[string]*Face{}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".ttf")
		data, err := files.ReadFile(e.Name())
		if err != nil {
			return nil, err
		}
		f, err := parse(name, data)
		if err != nil {
			return nil, err
		}
		m[name] = f
	}
	return m, nil
}

func parse(name string, data []byte) (*Face, error) {
	font, err := sfnt.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("fonts: %s: %w", name, err)
	}
	var buf sfnt.Buffer
	upem := fixed.Int26_6(font.UnitsPerEm()) << 6 // measure at 1 em = upem units
	em := float64(upem)
	f := &Face{name: name, data: data, font: font, dense: make([]float64, denseLimit), rest: map[rune]float64{}}
	for i := range f.dense {
		f.dense[i] = -1
	}
	// Walk the cmap through GlyphIndex: sfnt has no iterator over it.
	for r := rune(0); r <= 0x2FFF; r++ {
		gi, err := font.GlyphIndex(&buf, r)
		if err != nil || gi == 0 {
			continue
		}
		adv, err := font.GlyphAdvance(&buf, gi, upem, 0)
		if err != nil {
			return nil, fmt.Errorf("fonts: %s: advance of %U: %w", name, r, err)
		}
		a := float64(adv) / em
		if r < denseLimit {
			f.dense[r] = a
		} else {
			f.rest[r] = a
		}
	}
	m, err := font.Metrics(&buf, upem, 0)
	if err != nil {
		return nil, fmt.Errorf("fonts: %s: %w", name, err)
	}
	// sfnt reports the hhea ascender and descender: the same vertical
	// extent the PDF font descriptor and the raster backend use.
	f.asc, f.desc = float64(m.Ascent)/em, float64(m.Descent)/em
	f.capH, f.xH = float64(m.CapHeight)/em, float64(m.XHeight)/em
	return f, nil
}

// Get returns the face called name.
func Get(name string) (*Face, error) {
	m, err := faces()
	if err != nil {
		return nil, err
	}
	f, ok := m[name]
	if !ok {
		return nil, fmt.Errorf("no font face %q (faces: %s)", name, strings.Join(Names(), ", "))
	}
	return f, nil
}

// Names lists the faces, sorted.
func Names() []string {
	m, err := faces()
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Name is the face's PostScript name, e.g. "NotoSans-Regular".
func (f *Face) Name() string { return f.name }

// Data is the face's TrueType file. Callers must not modify it.
func (f *Face) Data() []byte { return f.data }

// SFNT is the parsed face, for the raster backend.
func (f *Face) SFNT() *sfnt.Font { return f.font }

func (f *Face) advance(r rune) (float64, bool) {
	if r >= 0 && r < denseLimit {
		a := f.dense[r]
		return a, a >= 0
	}
	a, ok := f.rest[r]
	return a, ok
}

// Has reports whether the face has a glyph for r.
func (f *Face) Has(r rune) bool {
	_, ok := f.advance(r)
	return ok
}

// Advance is r's advance width in em, or 0 when the face lacks r.
func (f *Face) Advance(r rune) float64 {
	a, ok := f.advance(r)
	if !ok {
		return 0
	}
	return a
}

// Width is the advance width of s at size points, in points: the sum of
// its characters' advances, with no kerning, exactly as the PDF backend
// places them.
func (f *Face) Width(s string, size float64) float64 {
	var w float64
	for _, r := range s {
		if a, ok := f.advance(r); ok {
			w += a
		}
	}
	return w * size
}

// Missing returns the first character of s the face cannot draw; ok is
// false when it can draw them all.
func (f *Face) Missing(s string) (r rune, ok bool) {
	for _, r := range s {
		if !f.Has(r) {
			return r, true
		}
	}
	return 0, false
}

// Ascent is the distance from the baseline to the top of the tallest
// glyphs (accented capitals), in em.
func (f *Face) Ascent() float64 { return f.asc }

// Descent is the distance from the baseline to the bottom of the lowest
// glyphs, in em, as a positive number.
func (f *Face) Descent() float64 { return f.desc }

// CapHeight is the height of capital letters, in em.
func (f *Face) CapHeight() float64 { return f.capH }

// XHeight is the height of lower-case letters such as x, in em.
func (f *Face) XHeight() float64 { return f.xH }
