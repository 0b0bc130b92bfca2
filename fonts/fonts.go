// Package fonts holds the typefaces Quire prints with, embedded into the
// binary, and measures text set in them.
//
// The faces are Noto fonts (SIL Open Font License 1.1, see OFL.txt)
// prepared by build/build.py from Debian's Noto packages: each cut to the
// characters of its script, with hinting dropped, every composite glyph
// flattened into a simple one and the CJK faces' outlines converted to
// TrueType ones. They keep the OpenType layout tables (GSUB, GPOS, GDEF) a
// shaper needs; README.md says why each change was made.
//
// The templates name five Latin, Greek and Cyrillic faces (Names). Text in
// other scripts is set in the script faces Fallback lists after each of
// them.
//
// Each face is parsed once per process, on first use. A Face never changes
// after that and is safe for concurrent use.
package fonts

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/image/font/sfnt"
)

// The shipped faces, by PostScript name. Pass them to Get.
const (
	// SansRegular sets the carriage letter's body and the certificate's footer.
	SansRegular = "NotoSans-Regular"
	// SansBold sets headings and the labels of the certificate's boxes.
	SansBold = "NotoSans-Bold"
	// SerifRegular sets the values in the certificate's boxes.
	SerifRegular = "NotoSerif-Regular"
	// SerifBold sets emphasis on certificates.
	SerifBold = "NotoSerif-Bold"
	// Display sets the certificate's header, "Certificate of baby loss".
	Display = "NotoSerifDisplay-Medium"
)

// primary are the faces templates name.
var primary = []string{SansRegular, SansBold, SerifRegular, SerifBold, Display}

// faces loads each shipped face on first use: the primary faces and every
// face of scripts. A test checks that it names exactly the embedded files.
var faces = func() map[string]func() (*Face, error) {
	m := map[string]func() (*Face, error){}
	for _, name := range primary {
		m[name] = lazy(name)
	}
	for _, s := range scripts {
		for _, name := range []string{s.serif, s.serifBold, s.sans, s.sansBold} {
			if _, ok := m[name]; !ok {
				m[name] = lazy(name)
			}
		}
	}
	return m
}()

func lazy(name string) func() (*Face, error) {
	return sync.OnceValues(func() (*Face, error) {
		file, ok := embedded[name]
		if !ok {
			return nil, fmt.Errorf("fonts: %s: no such file embedded", name)
		}
		// The file's bytes, in place: the binary's read-only data, paged
		// in only where read, and shared by every process running the
		// binary. Copying them (embed.FS.ReadFile does) would put every
		// face used, 6 MB for a CJK one, on each process's heap.
		data := unsafe.Slice(unsafe.StringData(file), len(file))
		return parse(name, data)
	})
}

// Get returns the face called name: one of the constants above, or a
// script face from All. The first call for a face parses it; later calls
// return the same *Face.
func Get(name string) (*Face, error) {
	load, ok := faces[name]
	if !ok {
		return nil, fmt.Errorf("fonts: no face %q (the faces templates may name are %s)", name, strings.Join(Names(), ", "))
	}
	return load()
}

// Names returns the names of the faces templates may name (the constants
// above), sorted. It parses nothing.
func Names() []string {
	return slices.Sorted(slices.Values(primary))
}

// All returns the names of every shipped face, the script faces included,
// sorted. It parses nothing.
func All() []string {
	return slices.Sorted(maps.Keys(faces))
}

// denseLimit bounds the rune-indexed glyph table: one past the last block
// the Latin faces keep (Letterlike Symbols ends at U+214F), so every
// character they print is found by indexing a slice. The rest, such as a
// script face's letters, are found by binary search.
const denseLimit = 0x2150

// Face is one typeface at no particular size. Its measurements are in em
// (multiply by the size in points), except Width's, which takes the size
// and returns points.
type Face struct {
	name string
	data []byte
	font *sfnt.Font

	unitsPerEm float64
	glyphs     []uint16 // glyph index by rune below denseLimit; 0 when the face has none
	highRunes  []rune   // the runes at or above denseLimit the face maps, sorted
	highGlyphs []uint16 // their glyph indices
	advances   []uint16 // advance width by glyph index, in font units

	ascent, descent, capHeight, xHeight float64 // em

}

func parse(name string, data []byte) (*Face, error) {
	font, err := sfnt.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("fonts: %s: %w", name, err)
	}
	t, err := readTables(data)
	if err != nil {
		return nil, fmt.Errorf("fonts: %s: %w", name, err)
	}
	f := &Face{
		name:       name,
		data:       data,
		font:       font,
		unitsPerEm: float64(t.unitsPerEm),
		glyphs:     make([]uint16, denseLimit),
		advances:   t.advances,
		// hhea's ascender and descender: the numbers golang.org/x/image's
		// sfnt gives the raster backend. gopdf uses OS/2's typographic
		// ones; a test keeps the two equal in every shipped face.
		ascent:    float64(t.ascender) / float64(t.unitsPerEm),
		descent:   -float64(t.descender) / float64(t.unitsPerEm),
		capHeight: float64(t.capHeight) / float64(t.unitsPerEm),
		xHeight:   float64(t.xHeight) / float64(t.unitsPerEm),
	}
	var bad error
	err = t.eachMapping(func(r rune, g uint16) {
		switch {
		case g == 0: // mapped to .notdef: the face cannot draw it
		case int(g) >= len(f.advances):
			bad = fmt.Errorf("cmap maps %U to glyph %d, past the last (%d)", r, g, len(f.advances)-1)
		case r < denseLimit:
			f.glyphs[r] = g
		default:
			f.highRunes = append(f.highRunes, r)
			f.highGlyphs = append(f.highGlyphs, g)
		}
	})
	if bad == nil && !slices.IsSorted(f.highRunes) {
		bad = errors.New("cmap is not in character order")
	}
	if err == nil {
		err = bad
	}
	if err != nil {
		return nil, fmt.Errorf("fonts: %s: %w", name, err)
	}
	return f, nil
}

// Name returns the face's PostScript name, e.g. "NotoSans-Regular".
func (f *Face) Name() string { return f.name }

// Data returns the face's TrueType file, for the PDF backend to embed and
// for a shaper to parse (it keeps GSUB, GPOS and GDEF). It is the
// binary's read-only data: writing to it crashes the program.
func (f *Face) Data() []byte { return f.data }

// SFNT returns the parsed face, for the raster backend (opentype.NewFace).
// Its methods are safe for concurrent use when each goroutine passes its
// own sfnt.Buffer; an opentype.Face made from it is not, so make one per
// goroutine.
func (f *Face) SFNT() *sfnt.Font { return f.font }

// glyph returns r's glyph index, 0 when the face has none.
func (f *Face) glyph(r rune) uint16 {
	if r >= 0 && r < denseLimit {
		return f.glyphs[r]
	}
	if i, ok := slices.BinarySearch(f.highRunes, r); ok {
		return f.highGlyphs[i]
	}
	return 0
}

// Has reports whether the face can draw r.
func (f *Face) Has(r rune) bool {
	return f.glyph(r) != 0
}

// Advance returns r's advance width in em, or 0 when the face cannot draw
// r. Combining marks have an advance of 0 too: use Has to tell them apart.
func (f *Face) Advance(r rune) float64 {
	g := f.glyph(r)
	if g == 0 {
		return 0
	}
	return float64(f.advances[g]) / f.unitsPerEm
}

// Width returns the width of s set at size points, in points: the sum of
// its characters' advances, with no kerning, exactly as the PDF backend
// places them. Characters the face cannot draw add nothing; check Missing
// first. It does not allocate.
func (f *Face) Width(s string, size float64) float64 {
	// Sum whole font units and scale once, so that a width is exact and
	// does not depend on how a string is split into runs.
	var units int
	for _, r := range s {
		if g := f.glyph(r); g != 0 {
			units += int(f.advances[g])
		}
	}
	return float64(units) * size / f.unitsPerEm
}

// Missing returns the first character of s the face cannot draw, with ok
// true; ok is false when the face can draw all of s. Spaces are characters
// like any other (every shipped face has U+0020 and U+00A0). Control
// characters such as '\n' are missing, and so is invalid UTF-8, reported
// as U+FFFD.
func (f *Face) Missing(s string) (r rune, ok bool) {
	for _, r := range s {
		if !f.Has(r) {
			return r, true
		}
	}
	return 0, false
}

// Ascent returns the distance from the baseline to the top of the line,
// in em: the font's hhea ascender, which clears accented capitals.
func (f *Face) Ascent() float64 { return f.ascent }

// Descent returns the distance from the baseline to the bottom of the
// line, in em, as a positive number: the font's hhea descender.
func (f *Face) Descent() float64 { return f.descent }

// CapHeight returns the height of flat capital letters such as H, in em.
func (f *Face) CapHeight() float64 { return f.capHeight }

// XHeight returns the height of flat lower-case letters such as x, in em.
func (f *Face) XHeight() float64 { return f.xHeight }
