package raster

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/adler32"
	"hash/crc32"
	"image"
	"image/color"
	"io"
	"math"
	"slices"
	"sync"

	"golang.org/x/image/font"

	"github.com/quire-print/quire/renderer/display"
)

// bandRows is how many rows of a base are compressed together. Each band
// is compressed on its own, so a page drawn over a base compresses again
// only the bands its items touch, and reuses the rest.
const bandRows = 32

// Base is the unchanging part of a family of pages (a template's frames,
// wording and marks) drawn, mapped to a palette and compressed once, so
// that each page of the family costs only its own few items: a
// certificate's boxes are filled in over a copy of its base. It is safe
// for concurrent use.
type Base struct {
	img   *image.Paletted
	r     *ramps
	scale float64
	bands []band
}

// band is a run of rows of an image as PNG holds them (each row a filter
// byte, 0, then its pixels), compressed as a self-contained part of a
// deflate stream.
type band struct {
	z     []byte // deflate blocks, ending byte-aligned and not final
	adler uint32 // Adler-32 of the uncompressed rows
	n     int    // length of the uncompressed rows
}

// NewBase draws pg, the items every page of a family shares, at width
// pixels wide. Its palette ramps the page's own colours and over, the
// colours of the items that will be drawn over it. It returns nil and no
// error when that is too many colours for a palette.
func NewBase(pg *display.Page, width int, over ...display.Color) (*Base, error) {
	img, err := Draw(pg, width)
	if err != nil {
		return nil, err
	}
	r := newRamps(inks(pg.Items, over...))
	if r == nil {
		return nil, nil
	}
	b := &Base{img: quantize(img, r), r: r, scale: float64(width) / pg.Width}
	for y := 0; y < b.img.Rect.Dy(); y += bandRows {
		b.bands = append(b.bands, compressBand(b.img, y))
	}
	return b, nil
}

// Bytes is roughly the memory b holds.
func (b *Base) Bytes() int {
	n := len(b.img.Pix)
	for _, bd := range b.bands {
		n += len(bd.z)
	}
	return n
}

// WritePNG draws items over a copy of b, each over what lies beneath it as
// Draw would draw it after the base's own items, and writes the page as
// PNG. Each item is drawn within its bounds, widened for anti-aliasing and
// for glyphs that reach beyond their advance box. It is an error for an
// item to use a colour b's palette does not ramp: the caller then draws
// the whole page with WritePNG.
func (b *Base) WritePNG(w io.Writer, items []display.Item) error {
	for _, c := range inks(items) {
		if !slices.Contains(b.r.inks, c) {
			return fmt.Errorf("raster: colour %v is not in the base's palette", c)
		}
	}
	page := &image.Paletted{Pix: slices.Clone(b.img.Pix), Stride: b.img.Stride, Rect: b.img.Rect, Palette: b.img.Palette}
	dirty := make([]bool, len(b.bands))
	d := drawer{scale: b.scale, faces: map[faceKey]font.Face{}}
	defer d.close()
	for _, it := range items {
		area := b.area(it)
		if area.Empty() {
			continue
		}
		// Draw on an RGBA copy of the area, then map it back.
		scratch := image.NewRGBA(area)
		for y := area.Min.Y; y < area.Max.Y; y++ {
			row := page.Pix[page.PixOffset(area.Min.X, y):][:area.Dx()]
			dst := scratch.Pix[scratch.PixOffset(area.Min.X, y):]
			for x, idx := range row {
				c := b.r.pal[idx].(color.RGBA)
				dst[4*x], dst[4*x+1], dst[4*x+2], dst[4*x+3] = c.R, c.G, c.B, 0xff
			}
		}
		d.img = scratch
		if err := d.item(it); err != nil {
			return err
		}
		quantizeInto(page, scratch, b.r, area)
		for y := area.Min.Y; y < area.Max.Y; y++ {
			dirty[(y-page.Rect.Min.Y)/bandRows] = true
		}
	}
	bands := slices.Clone(b.bands)
	for i := range bands {
		if dirty[i] {
			bands[i] = compressBand(page, i*bandRows)
		}
	}
	return writePalettedPNG(w, page, bands)
}

// area is the pixels an item may mark: its bounds, widened by a margin
// for anti-aliasing and, for text, by half its size across, which takes
// in glyphs that overhang their advance. Upwards and downwards, a shaped
// line's ascent and descent already reach as far as its ink does
// (shape.Line); a line drawn from its characters gets half its size
// there too, for accents above its face's ascent. The fewer rows an item
// may mark, the fewer bands are compressed again.
func (b *Base) area(it display.Item) image.Rectangle {
	r := it.Bounds()
	padX, padY := 1.0, 1.0
	if t, ok := it.(*display.Text); ok {
		padX += t.Size / 2
		if t.Runs == nil {
			padY += t.Size / 2
		}
	}
	s := b.scale
	rect := image.Rect(
		int(math.Floor((r.X-padX)*s))-1, int(math.Floor((r.Y-padY)*s))-1,
		int(math.Ceil((r.X+r.W+padX)*s))+1, int(math.Ceil((r.Y+r.H+padY)*s))+1,
	)
	return rect.Intersect(b.img.Rect)
}

// flaters keeps deflate compressors between bands: making one costs more
// than compressing a band.
var flaters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed)
	return w
}}

// compressBand compresses the rows of img from y (bandRows of them, or
// fewer at the foot) with a fresh compressor, and flushes, so the blocks
// refer to nothing before them and end on a byte boundary: bands so
// compressed can be joined in any mix, old and new, into one stream.
func compressBand(img *image.Paletted, y int) band {
	rows := min(bandRows, img.Rect.Dy()-y)
	w := img.Rect.Dx()
	raw := make([]byte, 0, rows*(w+1))
	for r := range rows {
		off := img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y+r)
		raw = append(raw, 0) // filter: none, as for every paletted row
		raw = append(raw, img.Pix[off:off+w]...)
	}
	var z bytes.Buffer
	fw := flaters.Get().(*flate.Writer)
	fw.Reset(&z)
	_, _ = fw.Write(raw) // writes to a bytes.Buffer cannot fail
	_ = fw.Flush()
	flaters.Put(fw)
	return band{z: z.Bytes(), adler: adler32.Checksum(raw), n: len(raw)}
}

// writePalettedPNG writes img as an 8-bit paletted PNG whose image data is
// the bands, in order, ended by an empty final block.
func writePalettedPNG(w io.Writer, img *image.Paletted, bands []band) error {
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")

	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(img.Rect.Dx()))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(img.Rect.Dy()))
	ihdr[8], ihdr[9] = 8, 3 // bit depth 8, colour type 3: palette
	chunk(&out, "IHDR", ihdr[:])

	plte := make([]byte, 0, 3*len(img.Palette))
	for _, c := range img.Palette {
		rgba := c.(color.RGBA)
		plte = append(plte, rgba.R, rgba.G, rgba.B)
	}
	chunk(&out, "PLTE", plte)

	// A zlib stream: header (deflate, 32 KiB window, fastest), the bands,
	// an empty final stored block, and the Adler-32 of all the rows.
	size := 2 + 5 + 4
	for _, bd := range bands {
		size += len(bd.z)
	}
	idat := make([]byte, 0, size)
	idat = append(idat, 0x78, 0x01)
	sum := uint32(1) // the Adler-32 of nothing
	for _, bd := range bands {
		idat = append(idat, bd.z...)
		sum = adler32Combine(sum, bd.adler, bd.n)
	}
	idat = append(idat, 0x01, 0x00, 0x00, 0xff, 0xff)
	idat = binary.BigEndian.AppendUint32(idat, sum)
	chunk(&out, "IDAT", idat)
	chunk(&out, "IEND", nil)
	_, err := w.Write(out.Bytes())
	return err
}

// chunk appends one PNG chunk: length, type, data and CRC.
func chunk(out *bytes.Buffer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	out.Write(n[:])
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	out.WriteString(typ)
	out.Write(data)
	binary.BigEndian.PutUint32(n[:], crc.Sum32())
	out.Write(n[:])
}

// adler32Combine returns the Adler-32 of two byte strings joined, from the
// Adler-32 of each and the length of the second, as zlib's
// adler32_combine does.
func adler32Combine(a1, a2 uint32, len2 int) uint32 {
	const mod = 65521
	rem := uint32(len2 % mod)
	s1 := a1 & 0xffff
	s2 := rem * s1 % mod
	s1 += (a2 & 0xffff) + mod - 1
	s2 += (a1 >> 16) + (a2 >> 16) + mod - rem
	if s1 >= mod {
		s1 -= mod
	}
	if s1 >= mod {
		s1 -= mod
	}
	if s2 >= 2*mod {
		s2 -= 2 * mod
	}
	if s2 >= mod {
		s2 -= mod
	}
	return s1 | s2<<16
}
