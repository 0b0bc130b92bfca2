//go:build fontbuild

// These tests rebuild the fonts from Debian's packages, so they need
// /usr/bin/python3 with fontTools, fonts-noto-core, fonts-noto-extra (for
// Noto Serif Display Medium) and fonts-noto-cjk installed:
//
//	apt-get install python3-fonttools fonts-noto-core fonts-noto-extra fonts-noto-cjk
//	go test -tags fontbuild -timeout 30m ./fonts/
//
// The build takes a quarter of an hour on two cores, most of it converting
// the CJK faces.
//
// They fail, rather than skip, when those are missing: a build tag already
// says you asked for them.

package fonts

import (
	"bytes"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

const (
	python    = "/usr/bin/python3"
	sourceDir = "/usr/share/fonts/truetype/noto"
	cjkDir    = "/usr/share/fonts/opentype/noto"
)

// cjkSources are the collections the CJK faces come from.
var cjkSources = map[string]string{
	"NotoSerifCJK-Regular": "NotoSerifCJK-Regular.ttc",
	"NotoSansCJK-Regular":  "NotoSansCJK-Regular.ttc",
}

// sourcePath returns the Debian file face name is made from.
func sourcePath(name string) string {
	if ttc, ok := cjkSources[name]; ok {
		return filepath.Join(cjkDir, ttc)
	}
	return filepath.Join(sourceDir, name+".ttf")
}

func requireBuildTools(t *testing.T) {
	t.Helper()
	if out, err := exec.Command(python, "-c", "import fontTools").CombinedOutput(); err != nil {
		t.Fatalf("the fontbuild tests need %s with fontTools (apt-get install python3-fonttools): %v\n%s", python, err, out)
	}
	for _, name := range All() {
		if _, err := os.Stat(sourcePath(name)); err != nil {
			t.Fatalf("the fontbuild tests need Debian's fonts-noto-core, fonts-noto-extra and fonts-noto-cjk (apt-get install fonts-noto-core fonts-noto-extra fonts-noto-cjk): %v", err)
		}
	}
}

// TestBuildIsReproducible runs build/build.py into a temporary directory
// and checks that it makes exactly the committed files.
func TestBuildIsReproducible(t *testing.T) {
	requireBuildTools(t)
	out := t.TempDir()
	cmd := exec.Command(python, filepath.Join("build", "build.py"), out)
	if log, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build.py: %v\n%s", err, log)
	}

	built, err := filepath.Glob(filepath.Join(out, "*"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range built {
		names = append(names, filepath.Base(p))
	}
	want := []string{"OFL.txt", "SOURCES.md", "embed.go"}
	for _, name := range All() {
		want = append(want, name+".ttf")
	}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("build.py wrote %v, want %v", names, want)
	}
	for _, name := range want {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Error(err)
			continue
		}
		committed, err := os.ReadFile(name)
		if err != nil {
			t.Error(err)
			continue
		}
		if !bytes.Equal(got, committed) {
			t.Errorf("%s differs from what build.py makes now; SOURCES.md records the source "+
				"hashes, package version and fontTools version the committed files came from "+
				"(compare it with %s)", name, filepath.Join(out, "SOURCES.md"))
		}
	}
}

// TestOutlinesAndAdvancesMatchSources draws every character of every face
// and of its Debian source with golang.org/x/image's sfnt (which expands
// composite glyphs itself, however deep) and checks that flattening moved
// no point by more than the rounding to whole font units allows, and
// changed no advance.
func TestOutlinesAndAdvancesMatchSources(t *testing.T) {
	requireBuildTools(t)
	for _, name := range All() {
		if _, ok := cjkSources[name]; ok {
			continue // converted outlines: TestCJKMatchesSources
		}
		f, err := Get(name)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(sourceDir, name+".ttf"))
		if err != nil {
			t.Fatal(err)
		}
		src, err := sfnt.Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		upem := fixed.Int26_6(src.UnitsPerEm()) << 6 // 1 pixel per font unit
		var bufSrc, bufOut sfnt.Buffer
		var worst fixed.Int26_6
		var worstRune rune
		checked := 0
		for r := rune(0); r < 0x10000; r++ {
			if !f.Has(r) {
				continue
			}
			gSrc, err := src.GlyphIndex(&bufSrc, r)
			if err != nil || gSrc == 0 {
				t.Fatalf("%s: the source cannot draw %U: %v", name, r, err)
			}
			adv, err := src.GlyphAdvance(&bufSrc, gSrc, upem, font.HintingNone)
			if err != nil {
				t.Fatal(err)
			}
			if want := float64(adv) / float64(upem); f.Advance(r) != want {
				t.Errorf("%s: advance of %U is %v em, the source's %v", name, r, f.Advance(r), want)
			}

			gOut, _ := f.SFNT().GlyphIndex(&bufOut, r)
			segsOut, err := f.SFNT().LoadGlyph(&bufOut, gOut, upem, nil)
			if err != nil {
				t.Fatal(err)
			}
			segsOut = append(sfnt.Segments(nil), segsOut...) // the buffer is reused below
			segsSrc, err := src.LoadGlyph(&bufSrc, gSrc, upem, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(segsOut) != len(segsSrc) {
				t.Errorf("%s: %U has %d segments, the source %d", name, r, len(segsOut), len(segsSrc))
				continue
			}
			for i := range segsOut {
				a, b := segsOut[i], segsSrc[i]
				if a.Op != b.Op {
					t.Errorf("%s: %U segment %d is op %d, the source's %d", name, r, i, a.Op, b.Op)
					break
				}
				for j := range argsUsed[a.Op] {
					d := max(abs(a.Args[j].X-b.Args[j].X), abs(a.Args[j].Y-b.Args[j].Y))
					if d > worst {
						worst, worstRune = d, r
					}
				}
			}
			checked++
		}
		// Allow one unit: flattening rounds scaled components to whole
		// units, and sfnt computes the implied on-curve points between two
		// off-curve points in whole units, truncating, before it applies a
		// component's transform, so under a flip (¿ is a turned ?) its
		// source outline is a unit off where the flat one is not.
		if worst > 64 {
			t.Errorf("%s: a point of %U moved by %v font units", name, worstRune, float64(worst)/64)
		}
		t.Logf("%s: %d characters, largest point difference %v font units (%U)", name, checked, float64(worst)/64, worstRune)
	}
}

// argsUsed is how many of a Segment's Args each operation uses; the rest
// hold whatever the buffer held before.
var argsUsed = map[sfnt.SegmentOp]int{
	sfnt.SegmentOpMoveTo: 1,
	sfnt.SegmentOpLineTo: 1,
	sfnt.SegmentOpQuadTo: 2,
	sfnt.SegmentOpCubeTo: 3,
}

func abs(x fixed.Int26_6) fixed.Int26_6 {
	if x < 0 {
		return -x
	}
	return x
}

// TestCJKMatchesSources checks each character of the CJK faces against the
// CFF outlines of the Debian collection it came from, read by
// golang.org/x/image's sfnt: its advance must equal, and its outline's
// bounds lie within two font units of, those of the character's glyph in
// one of the collection's regional fonts (the build picks a region per
// character).
func TestCJKMatchesSources(t *testing.T) {
	requireBuildTools(t)
	for name, ttc := range cjkSources {
		f, err := Get(name)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(cjkDir, ttc))
		if err != nil {
			t.Fatal(err)
		}
		coll, err := sfnt.ParseCollection(data)
		if err != nil {
			t.Fatal(err)
		}
		var regions []*sfnt.Font
		for i := range 4 { // jp, kr, sc, tc
			src, err := coll.Font(i)
			if err != nil {
				t.Fatal(err)
			}
			regions = append(regions, src)
		}
		upem := fixed.Int26_6(1000) << 6
		var buf sfnt.Buffer
		checked := 0
		for r := rune(0); r < 0x10000; r++ {
			if !f.Has(r) {
				continue
			}
			got := bounds(t, f.SFNT(), &buf, r, upem)
			matched := false
			for _, src := range regions {
				g, err := src.GlyphIndex(&buf, r)
				if err != nil || g == 0 {
					continue
				}
				adv, err := src.GlyphAdvance(&buf, g, upem, font.HintingNone)
				if err != nil {
					t.Fatal(err)
				}
				if float64(adv)/float64(upem) != f.Advance(r) {
					continue
				}
				want := bounds(t, src, &buf, r, upem)
				if abs(got.Min.X-want.Min.X) <= 2*64 &&
					abs(got.Min.Y-want.Min.Y) <= 2*64 && abs(got.Max.X-want.Max.X) <= 2*64 &&
					abs(got.Max.Y-want.Max.Y) <= 2*64 {
					matched = true
					break
				}
			}
			if !matched {
				t.Errorf("%s: %U matches no regional glyph of %s", name, r, ttc)
			}
			checked++
		}
		t.Logf("%s: %d characters checked", name, checked)
	}
}

// bounds returns the bounds of r's outline in f, in font units (26.6),
// found by following each curve in small steps. A cubic curve and the
// quadratic ones that replace it have different control points, so the
// bounds of the points would differ where the ink does not.
func bounds(t *testing.T, f *sfnt.Font, buf *sfnt.Buffer, r rune, upem fixed.Int26_6) fixed.Rectangle26_6 {
	t.Helper()
	g, err := f.GlyphIndex(buf, r)
	if err != nil {
		t.Fatal(err)
	}
	segs, err := f.LoadGlyph(buf, g, upem, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := fixed.Rectangle26_6{Min: fixed.Point26_6{X: 1 << 30, Y: 1 << 30}, Max: fixed.Point26_6{X: -1 << 30, Y: -1 << 30}}
	add := func(x, y float64) {
		p := fixed.Point26_6{X: fixed.Int26_6(math.Round(x)), Y: fixed.Int26_6(math.Round(y))}
		b.Min.X, b.Min.Y = min(b.Min.X, p.X), min(b.Min.Y, p.Y)
		b.Max.X, b.Max.Y = max(b.Max.X, p.X), max(b.Max.Y, p.Y)
	}
	var x0, y0 float64 // the pen
	for _, seg := range segs {
		a := seg.Args
		switch seg.Op {
		case sfnt.SegmentOpMoveTo, sfnt.SegmentOpLineTo:
			x0, y0 = float64(a[0].X), float64(a[0].Y)
			add(x0, y0)
		case sfnt.SegmentOpQuadTo, sfnt.SegmentOpCubeTo:
			n := argsUsed[seg.Op]
			// The curve's points, the pen first, in float for de Casteljau.
			pts := [][2]float64{{x0, y0}}
			for _, p := range a[:n] {
				pts = append(pts, [2]float64{float64(p.X), float64(p.Y)})
			}
			for step := 1; step <= 64; step++ {
				u := float64(step) / 64
				q := slices.Clone(pts)
				for k := len(q) - 1; k > 0; k-- {
					for i := range k {
						q[i] = [2]float64{q[i][0] + u*(q[i+1][0]-q[i][0]), q[i][1] + u*(q[i+1][1]-q[i][1])}
					}
				}
				add(q[0][0], q[0][1])
			}
			x0, y0 = pts[n][0], pts[n][1]
		}
	}
	return b
}
