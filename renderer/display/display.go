// Package display defines the display list: pages of placed items that the
// layout engine produces and the backends (PDF, raster) draw.
//
// Coordinates are PostScript points (1/72 inch) with the origin at the top
// left of the page and y growing downwards, as a person reads the page.
// Layout rules are tested on display lists, without any backend.
package display

import "github.com/quire-print/quire/fonts"

// A4 page size in points.
const (
	A4Width  = 595.2756 // 210 mm
	A4Height = 841.8898 // 297 mm
)

// MM converts millimetres to points.
func MM(mm float64) float64 { return mm * 72 / 25.4 }

// Document is one laid-out document: a letter or a certificate.
type Document struct {
	// Kind is "letter" or "certificate".
	Kind string
	// TemplateID and TemplateVersion name the template that laid it out.
	TemplateID      string
	TemplateVersion int
	// Title is the document title for metadata. It never holds personal data.
	Title string
	// Language is the template's language: "en", "cy", or "cy,en" for a
	// bilingual document, Welsh first.
	Language string
	// Duplex says whether pages print on both sides of a sheet.
	Duplex bool
	Pages  []Page
}

// Sheets is the number of sheets of paper the document prints on.
func (d *Document) Sheets() int {
	if d.Duplex {
		return (len(d.Pages) + 1) / 2
	}
	return len(d.Pages)
}

// Page is one page of placed items, drawn in order.
type Page struct {
	Width, Height float64
	Items         []Item
}

// Item is something placed on a page: *Text, *Line, *Rect or *Image.
type Item interface {
	// Bounds is the rectangle the item marks, for layout checks.
	Bounds() Rect
}

// Color is an sRGB colour.
type Color struct{ R, G, B uint8 }

// Black is the colour of text unless a template says otherwise.
var Black = Color{}

// Rect is an axis-aligned rectangle; as an item it is a stroked and
// optionally filled box.
type Rect struct {
	X, Y, W, H float64
	// Stroke is the line width; 0 draws no outline.
	Stroke      float64
	StrokeColor Color
	// Fill, when set, fills the rectangle.
	Fill *Color
}

// Bounds returns r itself.
func (r *Rect) Bounds() Rect { return Rect{X: r.X, Y: r.Y, W: r.W, H: r.H} }

// Contains reports whether o lies wholly inside r.
func (r Rect) Contains(o Rect) bool {
	const eps = 1e-6
	return o.X >= r.X-eps && o.Y >= r.Y-eps && o.X+o.W <= r.X+r.W+eps && o.Y+o.H <= r.Y+r.H+eps
}

// Intersects reports whether r and o overlap.
func (r Rect) Intersects(o Rect) bool {
	return r.X < o.X+o.W && o.X < r.X+r.W && r.Y < o.Y+o.H && o.Y < r.Y+r.H
}

// Text is one run of text on one line, drawn from its baseline.
type Text struct {
	// X is the left edge of the run; Y its baseline.
	X, Y float64
	// Face is a font face name from package fonts; Size is in points.
	Face string
	Size float64
	// Width is the run's advance width in points, as laid out.
	Width float64
	// Ascent and Descent (positive, in points) bound the run vertically.
	Ascent, Descent float64
	Color           Color
	Text            string
	// Field is the request field the text came from, as a JSON path
	// ("certificates[0].babyName"), or "" for template text.
	Field string
	// Runs are the shaped glyphs that draw Text, left to right as they
	// appear on the page: what layout measured, for backends to draw as
	// they are. Nil draws Text with its face's nominal glyphs.
	Runs []Run
	// Plain says that Runs are exactly Face's nominal glyphs of Text's
	// characters, one each, at their nominal advances: a backend may draw
	// Text as a string and get the same page.
	Plain bool
}

// Run is a stretch of a Text's glyphs set in one face, in one direction.
type Run struct {
	Face *fonts.Face
	// RTL is set when the run is right-to-left text (its glyphs are still
	// listed left to right).
	RTL    bool
	Glyphs []Glyph
}

// Glyph is one shaped glyph, in the face's font units (scale by Size over
// the face's UnitsPerEm).
type Glyph struct {
	ID uint16
	// Advance moves the pen after the glyph; XOffset and YOffset (upwards,
	// as in the font) move the glyph from the pen without moving the pen.
	Advance, XOffset, YOffset int32
	// Start and End are the byte range of Text that the glyph's cluster
	// stands for. Glyphs of one cluster share it.
	Start, End int32
}

// Bounds is the box from ascent to descent over the advance width.
func (t *Text) Bounds() Rect {
	return Rect{X: t.X, Y: t.Y - t.Ascent, W: t.Width, H: t.Ascent + t.Descent}
}

// Line is a straight stroked line.
type Line struct {
	X1, Y1, X2, Y2 float64
	Width          float64
	Color          Color
}

// Bounds is the line's bounding box, widened by half its stroke.
func (l *Line) Bounds() Rect {
	x, y := min(l.X1, l.X2), min(l.Y1, l.Y2)
	w, h := max(l.X1, l.X2)-x, max(l.Y1, l.Y2)-y
	return Rect{X: x - l.Width/2, Y: y - l.Width/2, W: w + l.Width, H: h + l.Width}
}

// Image is a raster image (a 2D code, a logo) scaled into a rectangle.
// Pixels are opaque greyscale, one byte each, row by row.
type Image struct {
	X, Y, W, H float64
	// Name identifies the image within the document (same name, same pixels).
	Name          string
	Cols, Rows    int
	Gray          []byte
	Interpolation bool
}

// Bounds is the image's rectangle.
func (i *Image) Bounds() Rect { return Rect{X: i.X, Y: i.Y, W: i.W, H: i.H} }
