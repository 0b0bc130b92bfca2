package raster

import (
	"bytes"
	"hash/adler32"
	"image"
	"image/png"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/quire-print/quire/renderer/display"
)

// TestBaseDrawsAsWritePNGDoes: the page drawn as a base plus items over it
// is the page drawn whole, within the palette's rounding.
func TestBaseDrawsAsWritePNGDoes(t *testing.T) {
	full := testPage()
	// A watermark under everything, and two values over it, as a
	// certificate preview has.
	mark := &display.Text{X: 60, Y: 300, Face: "NotoSans-Bold", Size: 84, Color: display.Color{R: 0xf6, G: 0xdc, B: 0xe5}, Text: "SPECIMEN",
		Width: 400, Ascent: 90, Descent: 25}
	values := []display.Item{
		&display.Text{X: 80, Y: 280, Face: "NotoSerif-Regular", Size: 15, Text: "Wróblewska-Szczepańska", Width: 180, Ascent: 16, Descent: 4},
		&display.Text{X: 80, Y: 330, Face: "NotoSerif-Regular", Size: 15, Text: "Łódź, 3 March 2024", Width: 140, Ascent: 16, Descent: 4},
	}
	shared := append([]display.Item{mark}, full.Items[:len(full.Items)-1]...)
	whole := &display.Page{Width: full.Width, Height: full.Height, Items: append(append([]display.Item{}, shared...), values...)}

	var fullPNG bytes.Buffer
	if err := WritePNG(&fullPNG, whole, 800); err != nil {
		t.Fatal(err)
	}
	want, err := png.Decode(&fullPNG)
	if err != nil {
		t.Fatal(err)
	}
	base, err := NewBase(&display.Page{Width: full.Width, Height: full.Height, Items: shared}, 800, display.Black)
	if err != nil || base == nil {
		t.Fatalf("NewBase: %v, %v", base, err)
	}
	var buf bytes.Buffer
	if err := base.WritePNG(&buf, values); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds() != want.Bounds() {
		t.Fatalf("image is %v, want %v", img.Bounds(), want.Bounds())
	}
	worst, off, ink := 0, 0, 0
	for y := range want.Bounds().Dy() {
		for x := range want.Bounds().Dx() {
			wr, wg, wb, _ := want.At(x, y).RGBA()
			r, g, b, _ := img.At(x, y).RGBA()
			d := max(absDiff(r, wr), absDiff(g, wg), absDiff(b, wb))
			worst = max(worst, d)
			if d > 3 {
				off++
			}
			if r>>8 < 0x40 && g>>8 < 0x40 && b>>8 < 0x40 {
				ink++
			}
		}
	}
	t.Logf("worst %d, %d pixels off by more than 3", worst, off)
	// Where a value's anti-aliased edge falls on the watermark, it is
	// blended over the rounded watermark rather than the exact one, and
	// rounded again: a few pixels may differ by a little more.
	if worst > 16 || off > 50 {
		t.Errorf("a pixel is off by %d in one channel; %d pixels by more than 3", worst, off)
	}
	if ink < 500 {
		t.Errorf("only %d dark pixels: the values were not drawn", ink)
	}

	// The base itself is not changed by drawing over it.
	var again bytes.Buffer
	if err := base.WritePNG(&again, values[:1]); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Error("drawing one value gave the page with two: the base was changed")
	}
}

func TestBaseRefusesColoursItHasNoRampFor(t *testing.T) {
	pg := testPage()
	base, err := NewBase(pg, 200)
	if err != nil {
		t.Fatal(err)
	}
	red := &display.Text{X: 80, Y: 300, Face: "NotoSans-Bold", Size: 9, Color: display.Color{R: 0xff}, Text: "red", Width: 20, Ascent: 9, Descent: 2}
	if err := base.WritePNG(&bytes.Buffer{}, []display.Item{red}); err == nil {
		t.Error("drew in a colour the palette has no ramp for")
	}
}

func absDiff(a, b uint32) int {
	d := int(a>>8) - int(b>>8)
	return max(d, -d)
}

// BenchmarkBase compares drawing a whole certificate-like page with
// drawing only its values over a base.
func BenchmarkBase(b *testing.B) {
	full := testPage()
	shared := &display.Page{Width: full.Width, Height: full.Height, Items: full.Items[:len(full.Items)-1]}
	values := full.Items[len(full.Items)-1:]
	base, err := NewBase(shared, 800, display.Black)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("WritePNG", func(b *testing.B) {
		for b.Loop() {
			if err := WritePNG(&bytes.Buffer{}, full, 800); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Base", func(b *testing.B) {
		for b.Loop() {
			if err := base.WritePNG(&bytes.Buffer{}, values); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestAdler32Combine(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		a := make([]byte, rng.IntN(200000))
		b := make([]byte, rng.IntN(200000))
		for i := range a {
			a[i] = byte(rng.IntN(256))
		}
		for i := range b {
			b[i] = byte(rng.IntN(3) * 120)
		}
		want := adler32.Checksum(append(slices.Clone(a), b...))
		if got := adler32Combine(adler32.Checksum(a), adler32.Checksum(b), len(b)); got != want {
			t.Fatalf("combined %08x, want %08x (lengths %d, %d)", got, want, len(a), len(b))
		}
	}
}

// TestBasePNGIsStandard decodes the base's own PNG writing with the
// standard library, pixel for pixel against the image it holds, for
// heights that do and do not fill the last band.
func TestBasePNGIsStandard(t *testing.T) {
	for _, width := range []int{100, 333, 800} {
		base, err := NewBase(testPage(), width, display.Black)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := base.WritePNG(&buf, nil); err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(&buf)
		if err != nil {
			t.Fatalf("width %d: %v", width, err)
		}
		p, ok := img.(*image.Paletted)
		if !ok || p.Rect != base.img.Rect || !bytes.Equal(p.Pix, base.img.Pix) {
			t.Errorf("width %d: the PNG does not hold the base's pixels", width)
		}
	}
}
