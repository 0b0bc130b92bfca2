package raster

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/quire-print/quire/renderer/display"
)

// testPage has text, a frame, a filled box and a rule in four inks that do
// not overlap, like a certificate.
func testPage() *display.Page {
	blue := display.Color{R: 0x00, G: 0x30, B: 0x87}
	grey := display.Color{R: 0x42, G: 0x55, B: 0x63}
	pink := display.Color{R: 0xf4, G: 0xc6, B: 0xd0}
	return &display.Page{Width: display.A4Width, Height: display.A4Height, Items: []display.Item{
		&display.Rect{X: 30, Y: 30, W: 535, H: 780, Stroke: 1.2, StrokeColor: blue},
		&display.Rect{X: 60, Y: 400, W: 200, H: 60, Fill: &pink},
		&display.Line{X1: 170, Y1: 180, X2: 425, Y2: 183, Width: 0.5, Color: blue},
		&display.Text{X: 80, Y: 120, Face: "NotoSerifDisplay-Medium", Size: 30, Color: blue, Text: "Certificate of baby loss"},
		&display.Text{X: 80, Y: 240, Face: "NotoSans-Bold", Size: 9, Color: grey, Text: "5. Name of baby"},
		&display.Text{X: 80, Y: 280, Face: "NotoSerif-Regular", Size: 15, Text: "Wróblewska-Szczepańska"},
	}}
}

func TestPaletteRampsEachInkFromWhite(t *testing.T) {
	p := palette(testPage())
	// White, then three inks (blue, pink, grey; black text) of 63 steps.
	if len(p) != 1+4*63 {
		t.Fatalf("palette has %d colours, want %d", len(p), 1+4*63)
	}
	if r, g, b, a := p[0].RGBA(); r != 0xffff || g != 0xffff || b != 0xffff || a != 0xffff {
		t.Errorf("first colour is %v, want opaque white", p[0])
	}
	// Each ramp ends on its ink exactly.
	for i, want := range [][3]uint32{{0x00, 0x30, 0x87}, {0xf4, 0xc6, 0xd0}, {0x42, 0x55, 0x63}, {0, 0, 0}} {
		r, g, b, _ := p[(i+1)*63].RGBA()
		if got := [3]uint32{r >> 8, g >> 8, b >> 8}; got != want {
			t.Errorf("ramp %d ends on %x, want %x", i, got, want)
		}
	}
}

// TestNearestIsTheClosestColour compares the ramp search with a search of
// the whole palette: exact for the palette's own colours, and never more
// than one unit of RGB further than the closest for any other.
func TestNearestIsTheClosestColour(t *testing.T) {
	r := newRamps(inks(testPage().Items))
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(c color.RGBA, slack float64) {
		got := math.Sqrt(float64(dist(r.pal[r.nearest(c.R, c.G, c.B)], c.R, c.G, c.B)))
		want := 1 << 30
		for _, p := range r.pal {
			want = min(want, dist(p, c.R, c.G, c.B))
		}
		if got > math.Sqrt(float64(want))+slack {
			t.Fatalf("%v: nearest is %.2f away, but a colour %.2f away is in the palette", c, got, math.Sqrt(float64(want)))
		}
	}
	for _, p := range r.pal {
		check(p.(color.RGBA), 0)
	}
	for range 20000 {
		check(color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 0xff}, 1)
	}
}

func TestPaletteGivesUpOnTooManyInks(t *testing.T) {
	pg := &display.Page{Width: 100, Height: 100}
	for i := range maxInks + 1 {
		pg.Items = append(pg.Items, &display.Line{X1: 0, Y1: float64(i), X2: 10, Y2: float64(i), Width: 1, Color: display.Color{R: uint8(i)}})
	}
	if p := palette(pg); p != nil {
		t.Errorf("a page of %d inks got a palette of %d colours, want none", maxInks+1, len(p))
	}
	pg.Items = pg.Items[:maxInks]
	if p := palette(pg); p == nil || len(p) > 256 {
		t.Errorf("a page of %d inks: palette of %d colours, want 2 to 256", maxInks, len(p))
	}
}

func TestWritePNGStaysCloseToDraw(t *testing.T) {
	pg := testPage()
	want, err := Draw(pg, 800)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WritePNG(&buf, pg, 800); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := img.(*image.Paletted)
	if !ok {
		t.Fatalf("decoded a %T, want a paletted image", img)
	}
	if got.Bounds() != want.Bounds() {
		t.Fatalf("image is %v, want %v", got.Bounds(), want.Bounds())
	}
	// Four inks of 63 steps: the widest step is white to black, 255/63,
	// so no channel may be off by more than half of that, rounded up.
	const tolerance = 3
	worst, inked := 0, 0
	for y := range want.Bounds().Dy() {
		for x := range want.Bounds().Dx() {
			w := want.RGBAAt(x, y)
			r, g, b, _ := got.At(x, y).RGBA()
			for _, d := range []int{int(r>>8) - int(w.R), int(g>>8) - int(w.G), int(b>>8) - int(w.B)} {
				worst = max(worst, d, -d)
			}
			if w.R != 0xff || w.G != 0xff || w.B != 0xff {
				inked++
			}
		}
	}
	if worst > tolerance {
		t.Errorf("a pixel is off by %d in one channel, want at most %d", worst, tolerance)
	}
	if inked < 1000 {
		t.Errorf("only %d pixels are not white: the test page did not draw", inked)
	}
}

func TestWritePNGFallsBackToRGBA(t *testing.T) {
	pg := &display.Page{Width: 100, Height: 100}
	for i := range maxInks + 1 {
		pg.Items = append(pg.Items, &display.Line{X1: 0, Y1: float64(i) + 0.5, X2: 100, Y2: float64(i) + 0.5, Width: 1, Color: display.Color{R: uint8(3 * i), G: 0x40}})
	}
	want, err := Draw(pg, 200)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WritePNG(&buf, pg, 200); err != nil {
		t.Fatal(err)
	}
	got, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for y := range want.Bounds().Dy() {
		for x := range want.Bounds().Dx() {
			wr, wg, wb, _ := want.At(x, y).RGBA()
			gr, gg, gb, _ := got.At(x, y).RGBA()
			if wr != gr || wg != gg || wb != gb {
				t.Fatalf("pixel (%d, %d) is %v, want %v: too many inks must be encoded exactly", x, y, got.At(x, y), want.At(x, y))
			}
		}
	}
}

func TestWritePNGRefusesBadWidths(t *testing.T) {
	for _, w := range []int{MinWidth - 1, MaxWidth + 1} {
		if err := WritePNG(&bytes.Buffer{}, testPage(), w); err == nil {
			t.Errorf("width %d: no error", w)
		}
	}
}

func TestWritePNGIsSafeForConcurrentUse(t *testing.T) {
	pg := testPage()
	var first bytes.Buffer
	if err := WritePNG(&first, pg, 300); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	outs := make(chan []byte, 8)
	for range 8 {
		go func() {
			var buf bytes.Buffer
			errs <- WritePNG(&buf, pg, 300)
			outs <- buf.Bytes()
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		if out := <-outs; !bytes.Equal(out, first.Bytes()) {
			t.Error("concurrent WritePNG gave different bytes for the same page")
		}
	}
}

// BenchmarkPNG compares the two ways of making a page image at preview
// size: Draw then EncodePNG, and WritePNG.
func BenchmarkPNG(b *testing.B) {
	pg := testPage()
	b.Run("EncodePNG", func(b *testing.B) {
		for b.Loop() {
			img, err := Draw(pg, 800)
			if err != nil {
				b.Fatal(err)
			}
			if err := EncodePNG(&bytes.Buffer{}, img); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("WritePNG", func(b *testing.B) {
		for b.Loop() {
			if err := WritePNG(&bytes.Buffer{}, pg, 800); err != nil {
				b.Fatal(err)
			}
		}
	})
}
