package shape_test

import (
	"os"
	"testing"

	"golang.org/x/image/font/sfnt"

	"github.com/quire-print/quire/fonts"
	"github.com/quire-print/quire/renderer/shape"
	"github.com/quire-print/quire/renderer/shape/shapetest"
)

func TestMain(m *testing.M) {
	os.Exit(m.Run())
}

func family(t *testing.T) *shape.Family {
	t.Helper()
	shapetest.Install(t)
	f, err := shape.Get(fonts.SerifRegular)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestLatinIsOneRunOfItsFace: Latin, Greek and Cyrillic are set in the
// family's own face, in one run. The faces keep their GPOS kerning, so a
// line is plain (drawable as text, measured as the sum of the advances)
// only where no pair is kerned; "Ada Lovelace" is kerned.
func TestLatinIsOneRunOfItsFace(t *testing.T) {
	f := family(t)
	face := f.Faces()[0]
	for _, s := range []string{"Ada Lovelace", "Zoë Ní Bhriain", "Łucja Wróblewska-Szczepańska", "Ψυχή", "Алёна"} {
		l := f.Shape(s)
		if len(l.Runs) != 1 || l.Runs[0].Face != face {
			t.Errorf("%q: want one run of %s, got %d runs", s, face.Name(), len(l.Runs))
		}
		if got, sum := l.Advance, face.Width(s, 1); l.Plain && got != sum {
			t.Errorf("%q: plain, but advance %v em is not the sum of the advances, %v", s, got, sum)
		}
		if l2 := f.Shape(s); l2 != l {
			t.Errorf("%q: shaped again instead of from the cache", s)
		}
	}
	if l := f.Shape("Ada Lovelace"); l.Plain || l.Advance >= face.Width("Ada Lovelace", 1) {
		t.Errorf("Ada Lovelace: plain=%v, advance %v em: want it kerned, narrower than %v", l.Plain, l.Advance, face.Width("Ada Lovelace", 1))
	}
}

func TestScriptsFallBackByText(t *testing.T) {
	f := family(t)
	for _, c := range []struct {
		text  string
		faces []string // left to right
	}{
		{"Ada 美玲", []string{fonts.SerifRegular, "NotoSerifCJK-Regular"}},
		{"আয়েশা", []string{"NotoSerifBengali-Regular"}},
		{"محمد", []string{"NotoNaskhArabic-Regular"}},
		{"Ori אורי", []string{fonts.SerifRegular, "NotoSerifHebrew-Regular"}},
	} {
		l := f.Shape(c.text)
		var got []string
		for _, r := range l.Runs {
			if n := r.Face.Name(); len(got) == 0 || got[len(got)-1] != n {
				got = append(got, n)
			}
		}
		if len(got) != len(c.faces) {
			t.Errorf("%q: faces %v, want %v", c.text, got, c.faces)
			continue
		}
		for i := range got {
			if got[i] != c.faces[i] {
				t.Errorf("%q: faces %v, want %v", c.text, got, c.faces)
			}
		}
		if l.Plain || len(l.Missing) > 0 {
			t.Errorf("%q: plain=%v missing=%q", c.text, l.Plain, l.Missing)
		}
	}
}

func TestArabicJoinsAndRunsRightToLeft(t *testing.T) {
	f := family(t)
	l := f.Shape("محمد")
	if len(l.Runs) != 1 || !l.Runs[0].RTL {
		t.Fatalf("want one right-to-left run, got %+v", l.Runs)
	}
	gs := l.Runs[0].Glyphs
	// Listed left to right, the last glyph is the first letter, م, in
	// its initial form: not the isolated form the cmap gives.
	last := gs[len(gs)-1]
	if last.Start != 0 {
		t.Errorf("rightmost glyph stands for byte %d, want the first letter (0)", last.Start)
	}
	iso := l.Runs[0].Face
	if id := nominal(t, iso, 'م'); last.ID == id {
		t.Errorf("م drawn in its isolated form (glyph %d): the letters are not joined", id)
	}
}

func TestBengaliVowelSignMovesBeforeItsConsonant(t *testing.T) {
	f := family(t)
	l := f.Shape("কি") // ka, then the vowel sign i, which is drawn first
	gs := l.Runs[0].Glyphs
	if len(gs) != 2 {
		t.Fatalf("want 2 glyphs, got %+v", gs)
	}
	if gs[0].ID != nominal(t, l.Runs[0].Face, 'ি') {
		t.Errorf("first glyph %d, want the vowel sign i (reordered before ka)", gs[0].ID)
	}
	if gs[0].Start != 0 || gs[0].End != int32(len("কি")) {
		t.Errorf("the cluster should cover the whole syllable, got %d–%d", gs[0].Start, gs[0].End)
	}
}

func TestIsolatedRightToLeftNameKeepsTheSentenceInOrder(t *testing.T) {
	f := family(t)
	l := f.Shape("Dear \u2068سارة\u2069, thank you")
	if len(l.Runs) != 3 {
		t.Fatalf("want 3 runs (Latin, Arabic, Latin), got %d", len(l.Runs))
	}
	if l.Runs[0].Glyphs[0].Start != 0 || !l.Runs[1].RTL || l.Runs[2].RTL {
		t.Errorf("runs out of order: %+v", l.Runs)
	}
	for _, r := range l.Runs {
		for _, g := range r.Glyphs {
			if c := l.Text[g.Start]; c == 0xE2 && (l.Text[g.Start:g.End] == "\u2068" || l.Text[g.Start:g.End] == "\u2069") {
				t.Errorf("an isolate has a glyph: %+v", g)
			}
		}
	}
}

func TestStackedMarksRaiseTheLine(t *testing.T) {
	f := family(t)
	plain, stacked := f.Shape("A"), f.Shape("A\u0301\u0301\u0301")
	if stacked.Ascent <= plain.Ascent || stacked.InkAbove <= plain.InkAbove {
		t.Errorf("three acutes on A: ascent %.3f, ink %.3f em; plain A: %.3f, %.3f", stacked.Ascent, stacked.InkAbove, plain.Ascent, plain.InkAbove)
	}
	if lone := f.Shape("\u0301"); lone.InkLeft <= 0 {
		t.Errorf("a mark with no letter before it reaches %.3f em left of the line; want it noted", lone.InkLeft)
	}
}

func TestMissingCharactersAreListed(t *testing.T) {
	f := family(t)
	if m := f.Shape("Ada \U0001F600").Missing; len(m) != 1 || m[0] != 0x1F600 {
		t.Errorf("missing %q, want the emoji", m)
	}
	if m := f.Shape("a\u034Fb").Missing; len(m) != 0 {
		t.Errorf("a combining grapheme joiner needs no glyph, got missing %q", m)
	}
}

func nominal(t *testing.T, face *fonts.Face, r rune) uint16 {
	t.Helper()
	var buf sfnt.Buffer
	id, err := face.SFNT().GlyphIndex(&buf, r)
	if err != nil || id == 0 {
		t.Fatalf("%s has no glyph for %q: %v", face.Name(), r, err)
	}
	return uint16(id)
}
