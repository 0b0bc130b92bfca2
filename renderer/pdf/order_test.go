package pdf

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/signintech/gopdf"

	"github.com/quire-print/quire/internal/pdftest"
	"github.com/quire-print/quire/renderer/display"
	"github.com/quire-print/quire/renderer/shape"
)

// shaped is text shaped as one line in the family of Noto Serif, as
// layout sets it.
func shaped(t *testing.T, text string) *display.Text {
	t.Helper()
	fam, err := shape.Get("NotoSerif-Regular")
	if err != nil {
		t.Fatal(err)
	}
	l := fam.Shape(text)
	if len(l.Missing) > 0 {
		t.Fatalf("%q: no face has %q", text, l.Missing)
	}
	return &display.Text{Face: "NotoSerif-Regular", Size: 20, X: 50, Y: 100, Text: text, Runs: l.Runs}
}

func TestReadingOrderText(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		// A right-to-left line: reversed whole.
		{"نُور", "رو\u064fن"},
		{"\u2068سارة أحمد\u2069", "دمحأ ةراس"},
		// Ending with a mark: an RLM starts the reversed stretch.
		{"عَلِيّ", "\u200f\u0651\u064aِلَع"},
		// The Arabic comma is a number separator to poppler: left where
		// it is, between the stretches on either side.
		{"توماس، لندن", "ساموت،ندنل "},
		// Left-to-right text around right-to-left: an LRM keeps the
		// space after it out of the reversed stretch.
		{"Aisha عائشہ Khan", "Aisha ہشئاع\u200e Khan"},
	} {
		if got := readingOrderText(shaped(t, c.text)); got != c.want {
			t.Errorf("%q: got %+q, want %+q", c.text, got, c.want)
		}
	}
}

// TestPopplerReadsActualTextLeftToRight is why readingOrderText exists: a
// right-to-left line whose /ActualText is in logical order comes back
// from pdftotext reversed, vowel marks before their letters; written by
// readingOrderText, it comes back as written. Should a later poppler
// read /ActualText as logical, the first half fails and the order can be
// dropped.
func TestPopplerReadsActualTextLeftToRight(t *testing.T) {
	const name = "فَاطِمَة ٱلزَّهْرَاء"
	tx := shaped(t, name)
	logical := extract(t, tx, name)
	if logical == name {
		t.Errorf("logical /ActualText came back as written; poppler now reads it as logical order")
	}
	if want := string(reverse([]rune(name))); logical != want {
		t.Errorf("logical /ActualText came back as %+q, want it reversed, %+q", logical, want)
	}
	if got := extract(t, tx, readingOrderText(tx)); got != name {
		t.Errorf("readingOrderText came back as %+q, want %+q", got, name)
	}
}

// extract draws a line in a span with actual as its /ActualText, and
// returns what pdftotext reads, without bidi controls.
func extract(t *testing.T, tx *display.Text, actual string) string {
	t.Helper()
	var pdf gopdf.GoPdf
	pdf.Start(gopdf.Config{PageSize: gopdf.Rect{W: display.A4Width, H: display.A4Height}, Unit: gopdf.UnitPT})
	pdf.AddPage()
	pen := 0.0
	pdf.BeginActualText(actual)
	for _, run := range tx.Runs {
		if err := pdf.AddTTFFontData(run.Face.Name(), run.Face.Data()); err != nil {
			t.Fatal(err)
		}
		if err := pdf.SetFont(run.Face.Name(), "", tx.Size); err != nil {
			t.Fatal(err)
		}
		scale := tx.Size / float64(run.Face.UnitsPerEm())
		var placed []gopdf.PlacedGlyph
		for _, g := range run.Glyphs {
			placed = append(placed, gopdf.PlacedGlyph{ID: g.ID, X: pen + float64(g.XOffset)*scale, Y: float64(g.YOffset) * scale})
			pen += float64(g.Advance) * scale
		}
		pdf.GlyphRun(tx.X, tx.Y, placed)
	}
	pdf.EndActualText()
	file := filepath.Join(t.TempDir(), "line.pdf")
	if err := pdf.WritePdf(file); err != nil {
		t.Fatal(err)
	}
	out := pdftest.Run(t, "pdftotext", "-enc", "UTF-8", file, "-")
	return strings.TrimSpace(strings.Map(dropBidiControls, strings.ReplaceAll(out, "\f", "")))
}

func reverse(rs []rune) []rune {
	for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
		rs[i], rs[j] = rs[j], rs[i]
	}
	return rs
}
