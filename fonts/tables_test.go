package fonts

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// loadAll returns every shipped face with its tables.
func loadAll(t *testing.T) map[*Face]*tables {
	t.Helper()
	all := map[*Face]*tables{}
	for _, name := range All() {
		f, err := Get(name)
		if err != nil {
			t.Fatal(err)
		}
		tt, err := readTables(f.Data())
		if err != nil {
			t.Fatal(err)
		}
		all[f] = tt
	}
	return all
}

func TestEmbeddedFilesAreTheFaces(t *testing.T) {
	matches, err := filepath.Glob("*.ttf")
	if err != nil {
		t.Fatal(err)
	}
	var onDisk []string
	for _, m := range matches {
		onDisk = append(onDisk, strings.TrimSuffix(m, ".ttf"))
	}
	if want := slices.Sorted(maps.Keys(faces)); !slices.Equal(onDisk, want) {
		t.Errorf("files %v, faces %v", onDisk, want)
	}
	if got := slices.Sorted(maps.Keys(embedded)); !slices.Equal(got, onDisk) {
		t.Errorf("embed.go embeds %v, files are %v", got, onDisk)
	}
	for _, name := range onDisk {
		data, err := os.ReadFile(name + ".ttf")
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != embedded[name] {
			t.Errorf("%s: embedded bytes differ from the file", name)
		}
	}
}

// minGlyphs is the fewest glyphs (or characters) a face may have: the
// template faces hold some 1,950 characters; the Tamil faces, the
// smallest script faces, 83.
func minGlyphs(f *Face) int {
	if slices.Contains(Names(), f.Name()) {
		return 1900
	}
	return 80
}

// TestNoCompositeGlyphs guards against gopdf's subsetter (v0.33.0), which
// follows only one level of composite glyphs and so prints composites of
// composites with parts missing. The build flattens every composite.
func TestNoCompositeGlyphs(t *testing.T) {
	for f, tt := range loadAll(t) {
		glyphs, err := glyphData(tt)
		if err != nil {
			t.Fatalf("%s: %v", f.Name(), err)
		}
		if len(glyphs) < minGlyphs(f) {
			t.Errorf("%s: only %d glyphs", f.Name(), len(glyphs))
		}
		for g, data := range glyphs {
			if len(data) == 0 {
				continue // no outline (a space)
			}
			if len(data) < 10 {
				t.Fatalf("%s: glyph %d is %d bytes", f.Name(), g, len(data))
			}
			contours := int16(be.Uint16(data))
			if contours < 0 {
				t.Errorf("%s: glyph %d is a composite", f.Name(), g)
				continue
			}
			// After the header and the contour end points comes the
			// length of the glyph's hinting instructions: none are kept.
			at := 10 + 2*int(contours)
			if len(data) < at+2 || be.Uint16(data[at:]) != 0 {
				t.Errorf("%s: glyph %d has hinting instructions", f.Name(), g)
			}
		}
	}
}

// glyphData splits the glyf table into glyphs, using loca.
func glyphData(tt *tables) ([][]byte, error) {
	head, _ := tt.table("head", 54)
	loca, err := tt.table("loca", 0)
	if err != nil {
		return nil, err
	}
	glyf, err := tt.table("glyf", 0)
	if err != nil {
		return nil, err
	}
	n := len(tt.advances)
	long := be.Uint16(head[50:]) == 1
	offset := func(i int) int {
		if long {
			return int(be.Uint32(loca[4*i:]))
		}
		return 2 * int(be.Uint16(loca[2*i:]))
	}
	if (long && len(loca) < 4*(n+1)) || (!long && len(loca) < 2*(n+1)) {
		return nil, errors.New("loca table too short")
	}
	glyphs := make([][]byte, n)
	for i := range glyphs {
		start, end := offset(i), offset(i+1)
		if start > end || end > len(glyf) {
			return nil, errors.New("glyph runs past the glyf table")
		}
		glyphs[i] = glyf[start:end]
	}
	return glyphs, nil
}

// TestOnlyTheTablesBackendsAndShapersRead checks that hinting and glyph
// names were dropped, and that the layout tables a shaper needs were kept.
func TestOnlyTheTablesBackendsAndShapersRead(t *testing.T) {
	for f, tt := range loadAll(t) {
		want := []string{"GDEF", "GPOS", "GSUB", "OS/2", "cmap", "glyf", "head", "hhea", "hmtx", "loca", "maxp", "name", "post"}
		if strings.Contains(f.Name(), "CJK") {
			// Noto CJK's GDEF classes four glyphs, none of them kept.
			want = want[1:]
		}
		if got := slices.Sorted(maps.Keys(tt.dir)); !slices.Equal(got, want) {
			t.Errorf("%s: tables %v, want %v", f.Name(), got, want)
		}
		if post, _ := tt.table("post", 4); be.Uint32(post) != 0x00030000 {
			t.Errorf("%s: post version %#x, want 3.0 (no glyph names)", f.Name(), be.Uint32(post))
		}
	}
}

// TestBackendsAgreeOnVerticalMetrics: Ascent and Descent report hhea's
// values, which golang.org/x/image's sfnt uses; gopdf places text with
// OS/2's typographic ones. They must be the same numbers.
func TestBackendsAgreeOnVerticalMetrics(t *testing.T) {
	for f, tt := range loadAll(t) {
		if tt.ascender != tt.typoAscender || tt.descender != tt.typoDescender {
			t.Errorf("%s: hhea ascender/descender %d/%d, OS/2 typo %d/%d",
				f.Name(), tt.ascender, tt.descender, tt.typoAscender, tt.typoDescender)
		}
		upem := fixed.Int26_6(tt.unitsPerEm) << 6
		m, err := f.SFNT().Metrics(nil, upem, font.HintingNone)
		if err != nil {
			t.Fatal(err)
		}
		if m.Ascent != fixed.I(int(tt.ascender)) || m.Descent != fixed.I(-int(tt.descender)) ||
			m.CapHeight != fixed.I(int(tt.capHeight)) || m.XHeight != fixed.I(int(tt.xHeight)) {
			t.Errorf("%s: sfnt metrics %+v, tables %+v", f.Name(), m, tt)
		}
	}
}

// TestMeasurementsMatchSFNT checks the rune tables, built from this
// package's own cmap and hmtx reader, against golang.org/x/image's sfnt,
// which the raster backend draws with.
func TestMeasurementsMatchSFNT(t *testing.T) {
	for f, tt := range loadAll(t) {
		var buf sfnt.Buffer
		upem := fixed.Int26_6(tt.unitsPerEm) << 6 // 1 pixel per font unit
		runes := 0
		for r := rune(0); r <= 0x2FFFF; r++ {
			g, err := f.SFNT().GlyphIndex(&buf, r)
			if err != nil {
				t.Fatalf("%s: %U: %v", f.Name(), r, err)
			}
			if f.Has(r) != (g != 0) {
				t.Fatalf("%s: Has(%U) = %v, sfnt's glyph index %d", f.Name(), r, f.Has(r), g)
			}
			if g == 0 {
				continue
			}
			runes++
			adv, err := f.SFNT().GlyphAdvance(&buf, g, upem, font.HintingNone)
			if err != nil {
				t.Fatal(err)
			}
			if want := float64(adv) / 64 / float64(tt.unitsPerEm); f.Advance(r) != want {
				t.Fatalf("%s: Advance(%U) = %v, sfnt says %v", f.Name(), r, f.Advance(r), want)
			}
		}
		if runes < minGlyphs(f) {
			t.Errorf("%s: only %d characters", f.Name(), runes)
		}
	}
}

// TestEveryFaceCanBeShaped: the shaper places marks, joins and reorders
// from a face's own layout tables, and Quire keeps no tables of its own
// to fall back on, so a face without them would print marks where they
// fall.
func TestEveryFaceCanBeShaped(t *testing.T) {
	for _, name := range All() {
		f, err := Get(name)
		if err != nil {
			t.Fatal(err)
		}
		tt, err := readTables(f.Data())
		if err != nil {
			t.Fatal(err)
		}
		for _, tag := range []string{"GSUB", "GPOS"} {
			if _, err := tt.table(tag, 4); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
}
