package raster

import (
	"image"
	"image/color"
	"image/png"
	"io"
	"sync"

	"github.com/quire-print/quire/renderer/display"
)

// maxInks is the most distinct colours a page may use for WritePNG to
// give it a palette: below it, each ink keeps at least four shades between
// it and white, enough for anti-aliased edges to look smooth.
const maxInks = 63

// WritePNG draws pg at width pixels wide, as Draw does, and writes it to w
// as PNG, the fast way: the image is mapped onto a palette made for the
// page (white, and for each colour the page uses, that colour blended with
// white in even steps) and encoded with reused compression buffers. It is
// safe for concurrent use.
//
// A paletted page encodes many times faster than an RGBA one (one byte a
// pixel, and no per-row filter search) at the cost of a small rounding of
// anti-aliased edges, invisible at preview sizes: a pixel in one ink on
// white, nearly all of a page, is off by at most half a step of its ink's
// ramp. A page with more colours than a palette can ramp is encoded as
// RGBA, as EncodePNG does.
func WritePNG(w io.Writer, pg *display.Page, width int) error {
	img, err := Draw(pg, width)
	if err != nil {
		return err
	}
	if p := palette(pg); p != nil {
		return fastPNG.Encode(w, quantize(img, p))
	}
	return fastPNG.Encode(w, img)
}

// fastPNG favours speed over size, like EncodePNG, and keeps its
// compressor between images: allocating one costs about as much as
// compressing a paletted page.
var fastPNG = png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &bufferPool{}}

type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() *png.EncoderBuffer {
	buf, _ := b.p.Get().(*png.EncoderBuffer)
	return buf
}

func (b *bufferPool) Put(buf *png.EncoderBuffer) { b.p.Put(buf) }

// palette returns the palette WritePNG uses for pg: opaque white
// first, then for each distinct colour on the page (in the order items
// first use it) its ramp from nearly white to the colour itself. It
// returns nil when the page uses more than 63 colours. Images count as
// black, since their pixels are greys.
func palette(pg *display.Page) color.Palette {
	white := display.Color{R: 0xff, G: 0xff, B: 0xff}
	var inks []display.Color
	add := func(c display.Color) {
		if c == white {
			return
		}
		for _, have := range inks {
			if have == c {
				return
			}
		}
		inks = append(inks, c)
	}
	for _, it := range pg.Items {
		switch it := it.(type) {
		case *display.Text:
			add(it.Color)
		case *display.Line:
			add(it.Color)
		case *display.Rect:
			if it.Stroke > 0 {
				add(it.StrokeColor)
			}
			if it.Fill != nil {
				add(*it.Fill)
			}
		case *display.Image:
			add(display.Black)
		}
	}
	if len(inks) > maxInks {
		return nil
	}
	p := color.Palette{color.RGBA{0xff, 0xff, 0xff, 0xff}}
	if len(inks) == 0 {
		return p
	}
	steps := min((256-1)/len(inks), 255)
	for _, ink := range inks {
		for s := 1; s <= steps; s++ {
			p = append(p, blend(ink, s, steps))
		}
	}
	return p
}

// blend is ink laid over white at coverage s/n, rounded as the
// rasterizer rounds.
func blend(ink display.Color, s, n int) color.RGBA {
	mix := func(c uint8) uint8 {
		return uint8((int(c)*s + 0xff*(n-s) + n/2) / n)
	}
	return color.RGBA{mix(ink.R), mix(ink.G), mix(ink.B), 0xff}
}

// quantize maps every pixel of img to the nearest colour of p, by
// distance in RGB. img must be opaque, as Draw's images are. p may hold at
// most 256 colours.
func quantize(img *image.RGBA, p color.Palette) *image.Paletted {
	b := img.Bounds()
	out := image.NewPaletted(b, p)
	pal := make([][3]int32, len(p))
	for i, c := range p {
		r, g, bl, _ := c.RGBA()
		pal[i] = [3]int32{int32(r >> 8), int32(g >> 8), int32(bl >> 8)}
	}
	// Nearly every pixel is white or repeats a colour seen a moment ago,
	// so a small direct-mapped memo of colour → index saves the search.
	const memoSize = 1 << 12
	type memo struct {
		rgb uint32 // colour | 1<<24 when the slot is filled
		idx uint8
	}
	var memos [memoSize]memo
	whiteIdx := uint8(nearest(pal, 0xff, 0xff, 0xff))
	for y := b.Min.Y; y < b.Max.Y; y++ {
		src := img.Pix[img.PixOffset(b.Min.X, y):]
		dst := out.Pix[out.PixOffset(b.Min.X, y):]
		for x := range b.Dx() {
			s := src[4*x : 4*x+3 : 4*x+3]
			r, g, bl := s[0], s[1], s[2]
			if r == 0xff && g == 0xff && bl == 0xff {
				dst[x] = whiteIdx
				continue
			}
			rgb := uint32(r)<<16 | uint32(g)<<8 | uint32(bl) | 1<<24
			m := &memos[(rgb*2654435761)>>20&(memoSize-1)]
			if m.rgb != rgb {
				m.rgb, m.idx = rgb, uint8(nearest(pal, int32(r), int32(g), int32(bl)))
			}
			dst[x] = m.idx
		}
	}
	return out
}

// nearest returns the index of the palette colour closest to (r, g, b).
func nearest(pal [][3]int32, r, g, b int32) int {
	best, bestD := 0, int32(1<<30)
	for i, c := range pal {
		dr, dg, db := c[0]-r, c[1]-g, c[2]-b
		if d := dr*dr + dg*dg + db*db; d < bestD {
			best, bestD = i, d
			if d == 0 {
				break
			}
		}
	}
	return best
}
