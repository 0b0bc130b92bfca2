package raster

import (
	"image"
	"image/color"
	"image/png"
	"io"
	"slices"
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
	if r := newRamps(inks(pg.Items)); r != nil {
		return fastPNG.Encode(w, quantize(img, r))
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

// ramps is a palette made of white and, for each ink, that ink laid over
// white at steps even coverages. Knowing the shape makes finding the
// nearest colour cheap: a colour is compared with a few entries of each
// ramp, not with all of them.
type ramps struct {
	pal   color.Palette
	inks  []display.Color
	steps int
}

// inks lists the distinct colours, other than white, that items draw in,
// in the order they first use them. Images count as black, since their
// pixels are greys.
func inks(items []display.Item, extra ...display.Color) []display.Color {
	white := display.Color{R: 0xff, G: 0xff, B: 0xff}
	var out []display.Color
	add := func(c display.Color) {
		if c != white && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	for _, it := range items {
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
	for _, c := range extra {
		add(c)
	}
	return out
}

// newRamps returns the palette for inks, or nil when there are more than
// maxInks of them.
func newRamps(inks []display.Color) *ramps {
	if len(inks) > maxInks {
		return nil
	}
	r := &ramps{pal: color.Palette{color.RGBA{0xff, 0xff, 0xff, 0xff}}, inks: inks}
	if len(inks) == 0 {
		return r
	}
	r.steps = min((256-1)/len(inks), 255)
	for _, ink := range inks {
		for s := 1; s <= r.steps; s++ {
			r.pal = append(r.pal, blend(ink, s, r.steps))
		}
	}
	return r
}

// palette returns the palette WritePNG uses for pg: opaque white first,
// then for each distinct colour on the page its ramp from nearly white to
// the colour itself. It returns nil when the page uses more than 63
// colours.
func palette(pg *display.Page) color.Palette {
	r := newRamps(inks(pg.Items))
	if r == nil {
		return nil
	}
	return r.pal
}

// nearest returns the index of the palette colour closest to (cr, cg, cb)
// in RGB, or of one a hair further. On each ramp the closest point to a
// colour is about its projection on the line from white to the ink, so
// only the entries around the projection are compared. Colours on a ramp
// (all a single ink on white draws) find their entry exactly; a colour
// off every ramp, where two inks overlap, may get an entry a fraction of
// a unit further than the closest, since rounding puts the entries a
// little off the line.
func (r *ramps) nearest(cr, cg, cb uint8) uint8 {
	best, bestD := 0, dist(r.pal[0], cr, cg, cb)
	for k, ink := range r.inks {
		// Coverage a in [0, 1] of the ink over white that comes closest.
		ir, ig, ib := 255-float64(ink.R), 255-float64(ink.G), 255-float64(ink.B)
		pr, pg, pb := 255-float64(cr), 255-float64(cg), 255-float64(cb)
		a := (ir*pr + ig*pg + ib*pb) / (ir*ir + ig*ig + ib*ib)
		s := min(max(int(a*float64(r.steps)), 0), r.steps)
		for _, step := range []int{s - 1, s, s + 1, s + 2} {
			if step < 1 || step > r.steps {
				continue
			}
			i := 1 + k*r.steps + step - 1
			if d := dist(r.pal[i], cr, cg, cb); d < bestD {
				best, bestD = i, d
			}
		}
	}
	return uint8(best)
}

func dist(c color.Color, r, g, b uint8) int {
	pc := c.(color.RGBA)
	dr, dg, db := int(pc.R)-int(r), int(pc.G)-int(g), int(pc.B)-int(b)
	return dr*dr + dg*dg + db*db
}

// blend is ink laid over white at coverage s/n, rounded as the
// rasterizer rounds.
func blend(ink display.Color, s, n int) color.RGBA {
	mix := func(c uint8) uint8 {
		return uint8((int(c)*s + 0xff*(n-s) + n/2) / n)
	}
	return color.RGBA{mix(ink.R), mix(ink.G), mix(ink.B), 0xff}
}

// quantize maps every pixel of img to the nearest colour of r's palette.
// img must be opaque, as Draw's images are.
func quantize(img *image.RGBA, r *ramps) *image.Paletted {
	out := image.NewPaletted(img.Bounds(), r.pal)
	quantizeInto(out, img, r, img.Bounds())
	return out
}

// quantizeInto maps the pixels of img within rect onto dst, whose
// palette is r's.
func quantizeInto(dst *image.Paletted, img *image.RGBA, r *ramps, rect image.Rectangle) {
	// Nearly every pixel is white or repeats a colour seen a moment ago,
	// so a small direct-mapped memo of colour → index saves most searches.
	const memoSize = 1 << 12
	type memo struct {
		rgb uint32 // colour | 1<<24 when the slot is filled
		idx uint8
	}
	var memos [memoSize]memo
	whiteIdx := r.nearest(0xff, 0xff, 0xff)
	for y := rect.Min.Y; y < rect.Max.Y; y++ {
		src := img.Pix[img.PixOffset(rect.Min.X, y):]
		out := dst.Pix[dst.PixOffset(rect.Min.X, y):]
		for x := range rect.Dx() {
			s := src[4*x : 4*x+3 : 4*x+3]
			cr, cg, cb := s[0], s[1], s[2]
			if cr == 0xff && cg == 0xff && cb == 0xff {
				out[x] = whiteIdx
				continue
			}
			rgb := uint32(cr)<<16 | uint32(cg)<<8 | uint32(cb) | 1<<24
			m := &memos[(rgb*2654435761)>>20&(memoSize-1)]
			if m.rgb != rgb {
				m.rgb, m.idx = rgb, r.nearest(cr, cg, cb)
			}
			out[x] = m.idx
		}
	}
}
