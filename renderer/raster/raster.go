// Package raster draws display-list pages as images, for previews and for
// looking at pages in tests. It is pure Go: text through
// golang.org/x/image/font/opentype, shapes through golang.org/x/image/vector.
package raster

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"

	"github.com/quire-print/quire/fonts"
	"github.com/quire-print/quire/renderer/display"
)

// Width limits for Draw, in pixels.
const (
	MinWidth = 100
	MaxWidth = 2480 // A4 at 300 dpi
)

// Draw renders pg at width pixels wide on a white background.
func Draw(pg *display.Page, width int) (*image.RGBA, error) {
	if width < MinWidth || width > MaxWidth {
		return nil, fmt.Errorf("raster: width must be between %d and %d pixels", MinWidth, MaxWidth)
	}
	scale := float64(width) / pg.Width
	height := int(math.Round(pg.Height * scale))
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	d := drawer{img: img, scale: scale, faces: map[faceKey]font.Face{}}
	defer d.close()
	for _, it := range pg.Items {
		if err := d.item(it); err != nil {
			return nil, err
		}
	}
	return img, nil
}

// EncodePNG writes img as PNG, favouring speed over size: previews are
// made on demand and cached, not archived.
func EncodePNG(w io.Writer, img image.Image) error {
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	return enc.Encode(w, img)
}

type faceKey struct {
	name string
	size float64
}

type drawer struct {
	img   *image.RGBA
	scale float64
	faces map[faceKey]font.Face
	buf   sfnt.Buffer
	r     vector.Rasterizer
}

func (d *drawer) close() {
	for _, f := range d.faces {
		f.Close()
	}
}

func (d *drawer) face(name string, size float64) (font.Face, error) {
	k := faceKey{name, size * d.scale}
	if f, ok := d.faces[k]; ok {
		return f, nil
	}
	ff, err := fonts.Get(name)
	if err != nil {
		return nil, err
	}
	// No hinting: glyph positions then match the PDF's exactly.
	f, err := opentype.NewFace(ff.SFNT(), &opentype.FaceOptions{Size: k.size, DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		return nil, fmt.Errorf("raster: %s: %w", name, err)
	}
	d.faces[k] = unkerned{f}
	return d.faces[k], nil
}

// unkerned is a face with no pair kerning. The fonts carry GPOS kerning
// for a shaper, which golang.org/x/image's sfnt also reads, but layout and
// the PDF backend place glyphs by their advance widths alone: a preview
// must place them the same way.
type unkerned struct{ font.Face }

func (unkerned) Kern(rune, rune) fixed.Int26_6 { return 0 }

func rgba(c display.Color) color.RGBA { return color.RGBA{c.R, c.G, c.B, 0xff} }

func (d *drawer) item(it display.Item) error {
	s := d.scale
	switch it := it.(type) {
	case *display.Rect:
		if it.Fill != nil {
			d.fill(rgba(*it.Fill), rectPath(it.X*s, it.Y*s, it.W*s, it.H*s))
		}
		if it.Stroke > 0 {
			// Four sides, each its own small polygon: a rasterizer is as
			// big as what it covers, and a frame covers the whole page.
			h, c := it.Stroke/2, rgba(it.StrokeColor)
			x0, y0, x1, y1 := (it.X-h)*s, (it.Y-h)*s, (it.X+it.W+h)*s, (it.Y+it.H+h)*s
			t := it.Stroke * s
			d.fill(c, rectPath(x0, y0, x1-x0, t))
			d.fill(c, rectPath(x0, y1-t, x1-x0, t))
			d.fill(c, rectPath(x0, y0+t, t, y1-y0-2*t))
			d.fill(c, rectPath(x1-t, y0+t, t, y1-y0-2*t))
		}
	case *display.Line:
		d.fill(rgba(it.Color), linePath(it.X1*s, it.Y1*s, it.X2*s, it.Y2*s, math.Max(it.Width*s, 0.5)))
	case *display.Text:
		if it.Runs != nil && !it.Plain {
			return d.glyphs(it)
		}
		f, err := d.face(it.Face, it.Size)
		if err != nil {
			return err
		}
		dr := font.Drawer{
			Dst:  d.img,
			Src:  image.NewUniform(rgba(it.Color)),
			Face: f,
			Dot:  fixed.Point26_6{X: fixed.Int26_6(it.X * s * 64), Y: fixed.Int26_6(it.Y * s * 64)},
		}
		dr.DrawString(it.Text)
	case *display.Image:
		d.image(it)
	default:
		return fmt.Errorf("raster: cannot draw %T", it)
	}
	return nil
}

// glyphs draws a shaped line glyph by glyph, where layout placed each:
// the same glyphs at the same positions as the PDF.
func (d *drawer) glyphs(t *display.Text) error {
	s := d.scale
	src := image.NewUniform(rgba(t.Color))
	pen := t.X * s
	base := t.Y * s
	for _, run := range t.Runs {
		sf := run.Face.SFNT()
		px := t.Size * s
		ppem := fixed.Int26_6(math.Round(px * 64))
		scale := px / float64(run.Face.UnitsPerEm())
		for _, g := range run.Glyphs {
			ox := pen + float64(g.XOffset)*scale
			oy := base - float64(g.YOffset)*scale
			pen += float64(g.Advance) * scale
			segs, err := sf.LoadGlyph(&d.buf, sfnt.GlyphIndex(g.ID), ppem, nil)
			if err != nil {
				return fmt.Errorf("raster: %s glyph %d: %w", run.Face.Name(), g.ID, err)
			}
			if len(segs) == 0 {
				continue
			}
			b := segs.Bounds()
			x0 := int(math.Floor(ox + float64(b.Min.X)/64))
			y0 := int(math.Floor(oy + float64(b.Min.Y)/64))
			x1 := int(math.Ceil(ox + float64(b.Max.X)/64))
			y1 := int(math.Ceil(oy + float64(b.Max.Y)/64))
			box := image.Rect(x0, y0, x1, y1)
			if box.Intersect(d.img.Bounds()).Empty() {
				continue
			}
			d.r.Reset(box.Dx(), box.Dy())
			dx, dy := float32(ox-float64(x0)), float32(oy-float64(y0))
			pt := func(p fixed.Point26_6) (float32, float32) {
				return dx + float32(p.X)/64, dy + float32(p.Y)/64
			}
			for _, seg := range segs {
				switch seg.Op {
				case sfnt.SegmentOpMoveTo:
					d.r.MoveTo(pt(seg.Args[0]))
				case sfnt.SegmentOpLineTo:
					d.r.LineTo(pt(seg.Args[0]))
				case sfnt.SegmentOpQuadTo:
					ax, ay := pt(seg.Args[0])
					bx, by := pt(seg.Args[1])
					d.r.QuadTo(ax, ay, bx, by)
				case sfnt.SegmentOpCubeTo:
					ax, ay := pt(seg.Args[0])
					bx, by := pt(seg.Args[1])
					cx, cy := pt(seg.Args[2])
					d.r.CubeTo(ax, ay, bx, by, cx, cy)
				}
			}
			d.r.ClosePath()
			d.r.Draw(d.img, box, src, image.Point{})
		}
	}
	return nil
}

// fill paints one closed polygon, anti-aliased.
func (d *drawer) fill(c color.RGBA, poly [][2]float64) {
	if len(poly) == 0 {
		return
	}
	minX, minY, maxX, maxY := poly[0][0], poly[0][1], poly[0][0], poly[0][1]
	for _, p := range poly[1:] {
		minX, minY = math.Min(minX, p[0]), math.Min(minY, p[1])
		maxX, maxY = math.Max(maxX, p[0]), math.Max(maxY, p[1])
	}
	box := image.Rect(int(math.Floor(minX)), int(math.Floor(minY)), int(math.Ceil(maxX)), int(math.Ceil(maxY))).Intersect(d.img.Bounds())
	if box.Empty() {
		return
	}
	r := vector.NewRasterizer(box.Dx(), box.Dy())
	ox, oy := float64(box.Min.X), float64(box.Min.Y)
	r.MoveTo(float32(poly[0][0]-ox), float32(poly[0][1]-oy))
	for _, p := range poly[1:] {
		r.LineTo(float32(p[0]-ox), float32(p[1]-oy))
	}
	r.ClosePath()
	r.Draw(d.img, box, image.NewUniform(c), image.Point{})
}

// rectPath is a rectangle as four corners, clockwise.
func rectPath(x, y, w, h float64) [][2]float64 {
	return [][2]float64{{x, y}, {x + w, y}, {x + w, y + h}, {x, y + h}}
}

// linePath is a line of width w as a four-cornered polygon.
func linePath(x1, y1, x2, y2, w float64) [][2]float64 {
	dx, dy := x2-x1, y2-y1
	l := math.Hypot(dx, dy)
	if l == 0 {
		return nil
	}
	nx, ny := -dy/l*w/2, dx/l*w/2
	return [][2]float64{{x1 + nx, y1 + ny}, {x2 + nx, y2 + ny}, {x2 - nx, y2 - ny}, {x1 - nx, y1 - ny}}
}

// image scales a greyscale image into its rectangle, nearest pixel: 2D
// codes must keep hard edges.
func (d *drawer) image(it *display.Image) {
	s := d.scale
	x0, y0 := int(math.Round(it.X*s)), int(math.Round(it.Y*s))
	w, h := int(math.Round(it.W*s)), int(math.Round(it.H*s))
	for y := range h {
		sy := y * it.Rows / h
		for x := range w {
			sx := x * it.Cols / w
			g := it.Gray[sy*it.Cols+sx]
			d.img.SetRGBA(x0+x, y0+y, color.RGBA{g, g, g, 0xff})
		}
	}
}
