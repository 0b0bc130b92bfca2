package printfile

import (
	"errors"
	"image"
	"math"
	"strings"
	"testing"

	"github.com/quire-print/quire/pipeline/batch/printfile/printfiletest"
	"github.com/quire-print/quire/renderer/display"
	"github.com/quire-print/quire/renderer/raster"
	"github.com/quire-print/quire/templates"
)

// longest is the longest payload Quire can write: the longest batch id,
// and numbers larger than any batch will have.
var longest = Code{BatchID: strings.Repeat("B", MaxBatchIDLen), Sequence: 999999, Page: 99, Pages: 99}

func TestCodeRoundTrip(t *testing.T) {
	for _, c := range []Code{
		{BatchID: "B1", Sequence: 1, Page: 1, Pages: 2},
		{BatchID: "2026-03-02T1730.x_y", Sequence: 10000, Page: 3, Pages: 3},
		longest,
	} {
		got, err := ParseCode(c.String())
		if err != nil || got != c {
			t.Errorf("ParseCode(%q) = %+v, %v; want %+v", c.String(), got, err, c)
		}
	}
	if s := (Code{BatchID: "B1", Sequence: 12, Page: 2, Pages: 3}).String(); s != "Q1|B1|12|2|3" {
		t.Errorf("payload %q, want Q1|B1|12|2|3", s)
	}
	for _, bad := range []string{
		"", "Q1|B1|1|1", "Q2|B1|1|1|2", "Q1|B|1|1|1|1", "Q1||1|1|2", "Q1|B 1|1|1|2",
		"Q1|B1|0|1|2", "Q1|B1|01|1|2", "Q1|B1|1|3|2", "Q1|B1|1|+1|2", "Q1|B1|x|1|2",
	} {
		if _, err := ParseCode(bad); !errors.Is(err, ErrCodeFormat) {
			t.Errorf("ParseCode(%q): %v, want ErrCodeFormat", bad, err)
		}
	}
}

// TestCodeGeometry checks, for every template's square and the longest
// payload, that modules are whole device pixels of at least the minimum,
// that the symbol and its quiet zone lie inside the square, and that the
// image sits on the device pixel grid.
func TestCodeGeometry(t *testing.T) {
	set, err := templates.Default()
	if err != nil {
		t.Fatal(err)
	}
	onGrid := func(pt float64) bool {
		px := pt / devicePixel
		return math.Abs(px-math.Round(px)) < 1e-6
	}
	for _, tm := range set.All() {
		for _, c := range []Code{{BatchID: "B1", Sequence: 1, Page: 1, Pages: 2}, longest} {
			img, err := codeImage(c.String(), "code", *tm.Code)
			if err != nil {
				t.Fatalf("%s: %v", tm.Ref(), err)
			}
			module := img.W / float64(img.Cols) / devicePixel
			if math.Abs(module-math.Round(module)) > 1e-6 || math.Round(module) < MinModulePixels {
				t.Errorf("%s %q: a module is %.3f device pixels", tm.Ref(), c, module)
			}
			sq := display.Rect{X: display.MM(tm.Code.X), Y: display.MM(tm.Code.Y), W: display.MM(tm.Code.Size), H: display.MM(tm.Code.Size)}
			if !sq.Contains(img.Bounds()) {
				t.Errorf("%s %q: image %+v is not inside the square %+v", tm.Ref(), c, img.Bounds(), sq)
			}
			if !onGrid(img.X) || !onGrid(img.Y) || img.W != img.H || img.Cols != img.Rows {
				t.Errorf("%s %q: image at %g,%g size %g×%g is off the device grid or not square", tm.Ref(), c, img.X, img.Y, img.W, img.H)
			}
			// The quiet zone is white all round.
			for i := range img.Cols {
				for q := range QuietModules {
					for _, p := range [][2]int{{i, q}, {q, i}, {i, img.Cols - 1 - q}, {img.Cols - 1 - q, i}} {
						if img.Gray[p[1]*img.Cols+p[0]] != 0xff {
							t.Fatalf("%s %q: module %v of the quiet zone is dark", tm.Ref(), c, p)
						}
					}
				}
			}
		}
	}
	if _, err := codeImage(longest.String(), "code", templates.CodeArea{X: 10, Y: 10, Size: 6}); err == nil {
		t.Error("the longest payload fitted a 6 mm square with modules of 6 pixels")
	}
}

// TestCodeDecodes decodes codes back from pixels: from the image as a
// printer at 600 dpi places it, and from a whole page drawn by the raster
// backend at 300 dpi and cropped around the square.
func TestCodeDecodes(t *testing.T) {
	area := templates.CodeArea{X: 182, Y: 268, Size: 10}
	for _, c := range []Code{{BatchID: "B1", Sequence: 1, Page: 1, Pages: 2}, {BatchID: "2026-03-02-1730-1", Sequence: 4321, Page: 3, Pages: 3}, longest} {
		payload := c.String()
		img, err := codeImage(payload, "code", area)
		if err != nil {
			t.Fatal(err)
		}
		module := int(math.Round(img.W / float64(img.Cols) / devicePixel))
		if got, err := printfiletest.Decode(scaled(img, module)); err != nil || got != payload {
			t.Errorf("at %d dpi: decoded %q, %v; want %q", DeviceDPI, got, err, payload)
		}

		pg := &display.Page{Width: display.A4Width, Height: display.A4Height, Items: []display.Item{img}}
		page, err := raster.Draw(pg, raster.MaxWidth)
		if err != nil {
			t.Fatal(err)
		}
		scale := float64(raster.MaxWidth) / display.A4Width
		m := display.MM(3) * scale
		crop := image.Rect(int(img.X*scale-m), int(img.Y*scale-m), int((img.X+img.W)*scale+m), int((img.Y+img.H)*scale+m))
		if got, err := printfiletest.Decode(page.SubImage(crop)); err != nil || got != payload {
			t.Errorf("from a 300 dpi raster of the page: decoded %q, %v; want %q", got, err, payload)
		}
	}
}

// scaled draws img with each pixel as a k×k block, as a printer does.
func scaled(img *display.Image, k int) image.Image {
	out := image.NewGray(image.Rect(0, 0, img.Cols*k, img.Rows*k))
	for y := range out.Rect.Dy() {
		for x := range out.Rect.Dx() {
			out.Pix[y*out.Stride+x] = img.Gray[(y/k)*img.Cols+x/k]
		}
	}
	return out
}
