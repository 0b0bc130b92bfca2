//go:build fontbuild

// These tests rebuild the fonts from Debian's packages, so they need
// /usr/bin/python3 with fontTools, fonts-noto-core and fonts-noto-extra
// (for Noto Serif Display Medium) installed:
//
//	apt-get install python3-fonttools fonts-noto-core fonts-noto-extra
//	go test -tags fontbuild ./fonts/
//
// They fail, rather than skip, when those are missing: a build tag already
// says you asked for them.

package fonts

import (
	"bytes"
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
)

func requireBuildTools(t *testing.T) {
	t.Helper()
	if out, err := exec.Command(python, "-c", "import fontTools").CombinedOutput(); err != nil {
		t.Fatalf("the fontbuild tests need %s with fontTools (apt-get install python3-fonttools): %v\n%s", python, err, out)
	}
	for _, name := range Names() {
		if _, err := os.Stat(filepath.Join(sourceDir, name+".ttf")); err != nil {
			t.Fatalf("the fontbuild tests need Debian's fonts-noto-core and fonts-noto-extra (apt-get install fonts-noto-core fonts-noto-extra): %v", err)
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
	want := []string{"NotoSans-Bold.marks", "NotoSans-Bold.ttf", "NotoSans-Regular.marks", "NotoSans-Regular.ttf",
		"NotoSerif-Bold.marks", "NotoSerif-Bold.ttf", "NotoSerif-Regular.marks", "NotoSerif-Regular.ttf",
		"NotoSerifDisplay-Medium.marks", "NotoSerifDisplay-Medium.ttf", "OFL.txt", "SOURCES.md"}
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
	for _, name := range Names() {
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
