package raster

import (
	"encoding/json"
	"image"
	"os"
	"testing"

	"github.com/quire-print/quire/renderer/display"
	"github.com/quire-print/quire/renderer/shape"
)

// TestShapedLinesInkInsideTheirArea draws every name and place of the
// corpus, and lines with marks stacked above and below, as layout sets a
// certificate's value (shaped, 15 pt, the value face and its fallbacks),
// and checks that no pixel of ink falls outside the area Base.WritePNG
// redraws for it: ink outside would be lost from the preview. The area
// allows little room above and below a shaped line, whose ascent and
// descent reach as far as its ink.
func TestShapedLinesInkInsideTheirArea(t *testing.T) {
	data, err := os.ReadFile("../../testdata/names/corpus.json")
	if err != nil {
		t.Fatal(err)
	}
	var entries []struct{ Value string }
	if err := json.Unmarshal(data, &entries); err != nil {
		t.Fatal(err)
	}
	values := []string{
		"\u0301Ada", "A\u0301\u0301\u0301\u0301 Ȁ\u0301\u0301\u0301", "Ẹ\u0323\u0323\u0323 Noor", "Ẹ̀mílọ́lá ị́",
	}
	for _, e := range entries {
		values = append(values, e.Value)
	}
	fam, err := shape.Get("NotoSerif-Regular")
	if err != nil {
		t.Fatal(err)
	}
	const size = 15
	for _, width := range []int{800, 1600} {
		for _, v := range values {
			l := fam.Shape(v)
			if len(l.Missing) > 0 {
				t.Fatalf("%q: no face has %q", v, l.Missing)
			}
			tx := &display.Text{
				X: 60 + l.InkLeft*size, Y: 100, Face: "NotoSerif-Regular", Size: size, Text: v, Field: "babyName",
				Width: l.Advance * size, Ascent: l.Ascent * size, Descent: l.Descent * size, Runs: l.Runs,
			}
			pg := &display.Page{Width: display.A4Width, Height: display.A4Height, Items: []display.Item{tx}}
			img, err := Draw(pg, width)
			if err != nil {
				t.Fatal(err)
			}
			b := &Base{scale: float64(width) / pg.Width, img: &image.Paletted{Rect: img.Bounds()}}
			area := b.area(tx)
			outside := 0
			for y := range img.Bounds().Dy() {
				for x := range img.Bounds().Dx() {
					if o := img.PixOffset(x, y); img.Pix[o] != 0xff && !(image.Point{X: x, Y: y}).In(area) {
						outside++
					}
				}
			}
			if outside > 0 {
				t.Errorf("%d px wide, %+q: %d pixels of ink outside its area %v", width, v, outside, area)
			}
		}
	}
}
