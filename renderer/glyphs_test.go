package renderer_test

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/quire-print/quire/internal/pdftest"
	"github.com/quire-print/quire/renderer/display"
	"github.com/quire-print/quire/renderer/raster"
	"github.com/quire-print/quire/request"
)

// TestEveryGlyphSurvivesIntoThePDF compares the ink of names in the PDF, as
// poppler draws it, with the same display list drawn by the raster backend
// straight from the full fonts. A glyph, or part of one, lost on the way
// into the PDF's font subsets (an accent below, the second mark of a
// Vietnamese letter) shows as missing ink.
func TestEveryGlyphSurvivesIntoThePDF(t *testing.T) {
	for _, name := range []string{
		"Ḓ Ṋ Ḉ ḉ Ǻ ǻ Ṩ ṩ",              // composites of composites in the source fonts
		"Nguyễn Thị Ánh Tuyết Ệ Ộ Ữ Ặ", // stacked marks
		"Ștefan Țurcanu Łucja Dvořák",  // comma below, stroke, caron
		"Ελένη Παπαδοπούλου Олена Її",  // Greek and Cyrillic
		"Ẹ̀mílọ́lá Ọ̀ṣun Í̀",           // marks the layout moves, drawn on their own
	} {
		fromPDF, fromFonts := nameInk(t, name)
		if diff := math.Abs(fromPDF-fromFonts) / fromFonts; diff > 0.04 {
			t.Errorf("%q: the PDF has %.1f%% different ink from the fonts: glyphs lost or changed", name, 100*diff)
		}
	}
}

// TestInkComparisonCanFail shows the comparison above would notice lost
// accents: they make more difference than it tolerates.
func TestInkComparisonCanFail(t *testing.T) {
	_, with := nameInk(t, "Ḓ Ṋ Ḉ ḉ Ǻ ǻ Ṩ ṩ")
	_, without := nameInk(t, "D N C c A a S s")
	if (with-without)/with < 0.1 {
		t.Fatalf("the accents are only %.1f%% of the ink: a lost one could pass unseen", 100*(with-without)/with)
	}
}

// nameInk lays out a certificate whose baby's name is name and measures
// the ink of the name as poppler draws the PDF and as the raster backend
// draws the display list from the full fonts, at 144 dpi.
func nameInk(t *testing.T, name string) (fromPDF, fromFonts float64) {
	t.Helper()
	doc, pdf := babyNamePDF(t, name)
	var box display.Rect
	found := false
	for _, it := range doc.Pages[0].Items {
		tx, ok := it.(*display.Text)
		if !ok || tx.Field != "babyName" {
			continue
		}
		b := tx.Bounds()
		if found {
			x0, y0 := math.Min(box.X, b.X), math.Min(box.Y, b.Y)
			x1, y1 := math.Max(box.X+box.W, b.X+b.W), math.Max(box.Y+box.H, b.Y+b.H)
			b = display.Rect{X: x0, Y: y0, W: x1 - x0, H: y1 - y0}
		}
		box, found = b, true
	}
	if !found {
		t.Fatalf("%q: no text drawn", name)
	}
	page := popplerPage(t, pdf, 144, image.Rectangle{})
	img, err := raster.Draw(&doc.Pages[0], page.Bounds().Dx())
	if err != nil {
		t.Fatal(err)
	}
	scale := float64(page.Bounds().Dx()) / doc.Pages[0].Width
	return ink(page, box, scale), ink(img, box, scale)
}

// babyNamePDF lays out a certificate whose baby's name is name, as given
// (not normalised), and writes it as PDF.
func babyNamePDF(t *testing.T, name string) (*display.Document, []byte) {
	t.Helper()
	r := mustRenderer(t)
	c := request.Certificate{Reference: "BLC-1", DateOfIssue: "2026-11-21", ParentName: "A", BabyName: name}
	doc, err := r.LayoutCertificate(&c)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.WritePDF(&buf, doc); err != nil {
		t.Fatal(err)
	}
	return doc, buf.Bytes()
}

// popplerPage draws page 1 of a PDF with pdftoppm, in greyscale: the
// pixels in area, whose top left becomes the image's origin, or the whole
// page if area is empty.
func popplerPage(t *testing.T, pdf []byte, dpi int, area image.Rectangle) image.Image {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "doc.pdf")
	if err := os.WriteFile(in, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-png", "-gray", "-r", strconv.Itoa(dpi), "-singlefile"}
	if !area.Empty() {
		args = append(args, "-x", strconv.Itoa(area.Min.X), "-y", strconv.Itoa(area.Min.Y),
			"-W", strconv.Itoa(area.Dx()), "-H", strconv.Itoa(area.Dy()))
	}
	pdftest.Run(t, "pdftoppm", append(args, in, filepath.Join(dir, "page"))...)
	f, err := os.Open(filepath.Join(dir, "page.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if !area.Empty() && img.Bounds().Size() != area.Size() {
		t.Fatalf("pdftoppm drew %v, want %v", img.Bounds().Size(), area.Size())
	}
	return img
}

// ink sums darkness (0 white … 1 black) inside a display-list rectangle.
func ink(img image.Image, r display.Rect, scale float64) float64 {
	x0, y0 := int(r.X*scale)-2, int(r.Y*scale)-2
	x1, y1 := int((r.X+r.W)*scale)+2, int((r.Y+r.H)*scale)+2
	total := 0.0
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			lum := (0.299*float64(cr) + 0.587*float64(cg) + 0.114*float64(cb)) / 0xffff
			total += 1 - lum
		}
	}
	return total
}
