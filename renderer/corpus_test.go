package renderer_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/quire-print/quire/internal/pdftest"
	"github.com/quire-print/quire/renderer/display"
	"github.com/quire-print/quire/renderer/raster"
	"github.com/quire-print/quire/renderer/shape"
	"github.com/quire-print/quire/renderer/shape/shapetest"
	"github.com/quire-print/quire/request"
)

type corpusEntry struct {
	Script, Language, Field, Value string
}

// corpusCertificates packs testdata/names/corpus.json into certificates:
// each fills the two parents' boxes, the baby's and the place of loss
// with the next values written for them.
func corpusCertificates(t *testing.T) []request.Certificate {
	t.Helper()
	data, err := os.ReadFile("../testdata/names/corpus.json")
	if err != nil {
		t.Fatal(err)
	}
	var entries []corpusEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		t.Fatal(err)
	}
	byField := map[string][]string{}
	for _, e := range entries {
		byField[e.Field] = append(byField[e.Field], e.Value)
	}
	take := func(f string) string {
		if len(byField[f]) == 0 {
			return ""
		}
		v := byField[f][0]
		byField[f] = byField[f][1:]
		return v
	}
	var out []request.Certificate
	for len(byField["parentName"])+len(byField["babyName"])+len(byField["placeOfLoss"]) > 0 {
		c := request.Certificate{Reference: "BLC-2026-000001", DateOfIssue: "2026-11-21", Sex: "female", DateOfLoss: "2026-10-02"}
		c.ParentName, c.OtherParentName = take("parentName"), take("parentName")
		c.BabyName, c.PlaceOfLoss = take("babyName"), take("placeOfLoss")
		if c.ParentName == "" {
			c.ParentName = "Ada"
		}
		out = append(out, c)
	}
	if n := len(entries); n < 300 {
		t.Fatalf("the corpus has %d values, want at least 300", n)
	}
	return out
}

// TestCorpusPrintsEveryName prints every name and place of the corpus, in
// every script, and checks each certificate with poppler: the text comes
// back exactly (NFC, logical order), every font is embedded as a subset,
// no ink falls outside the lines layout measured (so none touches a
// label, a border or another line), and the raster backend draws the
// same ink as the PDF.
func TestCorpusPrintsEveryName(t *testing.T) {
	shapetest.Install(t)
	r := mustRenderer(t)
	const dpi = 100
	blankDoc, err := r.LayoutCertificate(&request.Certificate{Reference: "BLC-2026-000001", DateOfIssue: "2026-11-21", Sex: "female", DateOfLoss: "2026-10-02", ParentName: "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	var bb bytes.Buffer
	if err := r.WritePDF(&bb, blankDoc); err != nil {
		t.Fatal(err)
	}
	blank := popplerPage(t, bb.Bytes(), dpi, image.Rectangle{})
	dir := t.TempDir()
	for i, c := range corpusCertificates(t) {
		name := fmt.Sprintf("certificate %d", i)
		doc, err := r.LayoutCertificate(&c)
		if err != nil {
			t.Errorf("%s: %+q %+q %+q %+q: %v", name, c.ParentName, c.OtherParentName, c.BabyName, c.PlaceOfLoss, err)
			continue
		}
		var buf bytes.Buffer
		if err := r.WritePDF(&buf, doc); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, fmt.Sprintf("c%d.pdf", i))
		if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		pdftest.CheckFonts(t, name, pdftest.Run(t, "pdffonts", file))
		text := norm.NFC.String(strings.Map(dropBidi, pdftest.Run(t, "pdftotext", "-enc", "UTF-8", file, "-")))
		for field, value := range map[string]string{"parentName": c.ParentName, "otherParentName": c.OtherParentName, "babyName": c.BabyName, "placeOfLoss": c.PlaceOfLoss} {
			if value == "" || (field == "parentName" && value == "Ada") {
				continue
			}
			lines := fieldLines(doc, field)
			var joined string
			for k, l := range lines {
				if !comesBack(text, l) {
					t.Errorf("%s: %s line %q does not come back from pdftotext:\n%s", name, field, l.Text, text)
				}
				if k > 0 && !strings.HasSuffix(joined, "-") && !isIdeographic(l.Text) {
					joined += " "
				}
				joined += l.Text
			}
			if joined != value {
				t.Errorf("%s: %s set as %q, want %q", name, field, joined, value)
			}
		}
		checkInk(t, name, doc, buf.Bytes(), blank, dpi)
	}
}

// comesBack reports whether pdftotext's text has a line, exactly: its
// characters in logical order, NFC, without the bidi controls that order
// it. Right-to-left lines included: the PDF backend writes their
// /ActualText in the order poppler reads back as logical
// (renderer/pdf/order.go).
func comesBack(text string, l *display.Text) bool {
	return strings.Contains(text, norm.NFC.String(strings.Map(dropBidi, l.Text)))
}

// dropBidi leaves out bidi controls: the isolates layout puts around a
// right-to-left value, the embeddings poppler brackets right-to-left
// lines with (U+202B … U+202C), and the direction marks the PDF backend
// adds so that poppler's reordering gives logical order. They steer
// direction; they are not the text.
func dropBidi(r rune) rune {
	if r == 0x061C || r == 0x200E || r == 0x200F || r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 {
		return -1
	}
	return r
}

// isIdeographic reports text that starts with a Han, kana or Hangul
// character: a line broken before it needs no space.
func isIdeographic(s string) bool {
	for _, r := range s {
		return r >= 0x2E80 && r <= 0x9FFF || r >= 0xAC00 && r <= 0xD7AF || r >= 0xF900 && r <= 0xFAFF || r >= 0x20000
	}
	return false
}

// fieldLines returns the lines of a field in a certificate laid out on
// its own (no "certificates[i]." prefix).
func fieldLines(doc *display.Document, field string) []*display.Text {
	var out []*display.Text
	for _, it := range doc.Pages[0].Items {
		if tx, ok := it.(*display.Text); ok && tx.Field == field {
			out = append(out, tx)
		}
	}
	return out
}

// inkArea is where a line may put ink: from its ink's left to its right,
// its ascent to its descent (both cover the ink: shape.Line), with a
// margin for anti-aliasing and letters' own small overhangs.
func inkArea(t *testing.T, tx *display.Text) display.Rect {
	fam, err := shape.Get(tx.Face)
	if err != nil {
		t.Fatal(err)
	}
	l := fam.Shape(tx.Text)
	m := 1.5 + 0.05*tx.Size
	return display.Rect{
		X: tx.X - l.InkLeft*tx.Size - m, Y: tx.Y - tx.Ascent - m,
		W: (l.InkLeft+l.Advance+l.InkRight)*tx.Size + 2*m, H: tx.Ascent + tx.Descent + 2*m,
	}
}

// checkInk draws the certificate with poppler and compares it with the
// same certificate with no values: outside the areas its value lines may
// use, not a pixel may differ. Inside them, the raster backend's ink must
// match poppler's.
func checkInk(t *testing.T, name string, doc *display.Document, pdf []byte, empty image.Image, dpi int) {
	t.Helper()
	page := popplerPage(t, pdf, dpi, image.Rectangle{})
	scale := float64(page.Bounds().Dx()) / doc.Pages[0].Width
	var areas []image.Rectangle
	var lines []*display.Text
	for _, it := range doc.Pages[0].Items {
		tx, ok := it.(*display.Text)
		if !ok || tx.Field == "" {
			continue
		}
		a := inkArea(t, tx)
		areas = append(areas, image.Rect(int(a.X*scale), int(a.Y*scale), int(math.Ceil((a.X+a.W)*scale)), int(math.Ceil((a.Y+a.H)*scale))))
		lines = append(lines, tx)
	}
	b := page.Bounds()
	outside := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
	pixels:
		for x := b.Min.X; x < b.Max.X; x++ {
			for _, a := range areas {
				if (image.Point{X: x, Y: y}).In(a) {
					continue pixels
				}
			}
			if d := grey(page, x, y) - grey(empty, x, y); d > 0.1 || d < -0.1 {
				outside++
			}
		}
	}
	if outside > 0 {
		t.Errorf("%s: %d pixels of ink outside the value lines (a mark over a label or a border, or lines touching)", name, outside)
	}
	img, err := raster.Draw(&doc.Pages[0], page.Bounds().Dx())
	if err != nil {
		t.Fatal(err)
	}
	for _, tx := range lines {
		a := inkArea(t, tx)
		p, q := ink(page, a, scale), ink(img, a, scale)
		// See TestShapedInkMatchesBetweenBackends for the threshold.
		if d := math.Abs(p-q) / p; d > inkTolerance {
			t.Errorf("%s: %q: the raster backend draws %.1f%% different ink from the PDF", name, tx.Text, 100*d)
		}
	}
}

func grey(img image.Image, x, y int) float64 {
	cr, cg, cb, _ := img.At(x, y).RGBA()
	return (0.299*float64(cr) + 0.587*float64(cg) + 0.114*float64(cb)) / 0xffff
}

// inkTolerance is how far, as a share of a line's ink, the raster
// backend's drawing may differ from poppler's: two rasterisers'
// anti-aliasing of the same outlines. TestShapedInkMatchesBetweenBackends
// shows shaped lines in several scripts within it, and a line missing a
// single glyph well outside it.
const inkTolerance = 0.04

func TestShapedInkMatchesBetweenBackends(t *testing.T) {
	shapetest.Install(t)
	worst := 0.0
	for _, name := range []string{"محمد عبد الله", "আয়েশা রহমান", "प्रिया शर्मा", "王小明", "Ẹ̀mílọ́lá ị́", "ਗੁਰਪ੍ਰੀਤ ਕੌਰ"} {
		doc, pdf := babyNamePDF(t, name)
		page, img, area, scale := bothBackends(t, doc, pdf)
		p, q := ink(page, area, scale), ink(img, area, scale)
		d := math.Abs(p-q) / p
		worst = max(worst, d)
		if d > inkTolerance {
			t.Errorf("%q: the raster backend draws %.1f%% different ink from the PDF", name, 100*d)
		}
	}
	t.Logf("largest difference: %.2f%%", 100*worst)

	// The control: the same comparison with one glyph left out of the
	// raster drawing (a lost vowel sign) fails it by far.
	doc, pdf := babyNamePDF(t, "আয়েশা রহমান")
	for _, it := range doc.Pages[0].Items {
		if tx, ok := it.(*display.Text); ok && tx.Field == "babyName" {
			runs := append([]display.Run(nil), tx.Runs...)
			last := &runs[len(runs)-1]
			last.Glyphs = last.Glyphs[:len(last.Glyphs)-1]
			tx.Runs = runs
		}
	}
	page, img, area, scale := bothBackends(t, doc, pdf)
	p, q := ink(page, area, scale), ink(img, area, scale)
	if d := math.Abs(p-q) / p; d < 2*inkTolerance {
		t.Errorf("a glyph lost from the raster drawing changes the ink by only %.1f%%: the tolerance could hide it", 100*d)
	}
}

// bothBackends draws a certificate's page with poppler and the raster
// backend at 144 dpi, and returns the area of its baby's name.
func bothBackends(t *testing.T, doc *display.Document, pdf []byte) (page, img image.Image, area display.Rect, scale float64) {
	t.Helper()
	page = popplerPage(t, pdf, 144, image.Rectangle{})
	img, err := raster.Draw(&doc.Pages[0], page.Bounds().Dx())
	if err != nil {
		t.Fatal(err)
	}
	lines := fieldLines(doc, "babyName")
	if len(lines) != 1 {
		t.Fatalf("want the name on one line, got %d", len(lines))
	}
	return page, img, inkArea(t, lines[0]), float64(page.Bounds().Dx()) / doc.Pages[0].Width
}
