// Package printfiletest reads print files back the way a supplier's
// inserter does, for the tests of the assembler and of the whole batch
// path: every page rasterised with poppler's pdftoppm and its DataMatrix
// code decoded with gozxing.
//
// pdftoppm is required: a missing tool fails the test rather than skipping
// it (see internal/pdftest).
package printfiletest

import (
	"fmt"
	"image"
	"image/draw"
	_ "image/png" // pdftoppm's output
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/datamatrix"

	"github.com/quire-print/quire/internal/pdftest"
	"github.com/quire-print/quire/templates"
)

// ReadCodes reads the 2D code of every page of a PDF the way a supplier's
// camera would, knowing only where templates put codes: each page is
// rasterised (pdftoppm, 300 dpi, greyscale) at every template's code square
// with a margin, and the first square that decodes gives the page's code.
// A page with no readable code gives "".
func ReadCodes(t testing.TB, pdf string, set *templates.Set) []string {
	t.Helper()
	var areas []templates.CodeArea
	for _, tm := range set.All() {
		if tm.Code != nil && !slices.Contains(areas, *tm.Code) {
			areas = append(areas, *tm.Code)
		}
	}
	const dpi, margin = 300, 4.0 // margin in mm around the square
	px := func(mm float64) string { return strconv.Itoa(int(mm / 25.4 * dpi)) }
	dir := t.TempDir()
	var crops [][]string // crops[area][page] = PNG path
	for i, a := range areas {
		prefix := filepath.Join(dir, fmt.Sprintf("area%d", i))
		pdftest.Run(t, "pdftoppm", "-r", strconv.Itoa(dpi), "-gray", "-png",
			"-x", px(a.X-margin), "-y", px(a.Y-margin), "-W", px(a.Size+2*margin), "-H", px(a.Size+2*margin), pdf, prefix)
		files, err := filepath.Glob(prefix + "-*.png")
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(files, func(x, y string) int { return pageNumber(t, x) - pageNumber(t, y) })
		crops = append(crops, files)
	}
	codes := make([]string, len(crops[0]))
	for p := range codes {
		for a := range areas {
			if s, err := decodeFile(crops[a][p]); err == nil {
				codes[p] = s
				break
			}
		}
	}
	return codes
}

// Decode finds and decodes one DataMatrix symbol in img with gozxing's
// detector (not told where the symbol is, nor that it is clean).
func Decode(img image.Image) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	res, err := datamatrix.NewDataMatrixReader().Decode(bmp, nil)
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}

// decodeFile decodes the symbol in a PNG, drawn in greyscale first.
func decodeFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return "", err
	}
	gray := image.NewGray(img.Bounds())
	draw.Draw(gray, gray.Bounds(), img, img.Bounds().Min, draw.Src)
	return Decode(gray)
}

// pageNumber reads the page number pdftoppm puts in a file name
// (prefix-07.png).
func pageNumber(t testing.TB, path string) int {
	t.Helper()
	base := strings.TrimSuffix(filepath.Base(path), ".png")
	n, err := strconv.Atoi(base[strings.LastIndex(base, "-")+1:])
	if err != nil {
		t.Fatalf("%s: no page number", path)
	}
	return n
}
