// Package layout turns a template and request data into a display list.
//
// It is pure Go with no PDF library in it: every fitting, wrapping and
// blank-box rule lives here and is tested on the display list. Text that
// cannot be set correctly (too long for its box, a character no font can
// draw) is a validation error naming the field, found before anything is
// printed: layout never overflows and never clips.
package layout

import (
	"fmt"
	"strings"

	"github.com/quire-print/quire/fonts"
	"github.com/quire-print/quire/renderer/display"
	"github.com/quire-print/quire/renderer/shape"
	"github.com/quire-print/quire/request"
	"github.com/quire-print/quire/templates"
)

// mm converts template millimetres to display-list points.
var mm = display.MM

// style is a template style resolved to its face and colour.
type style struct {
	face    *fonts.Face // the family's first face: line metrics
	fam     *shape.Family
	size    float64
	minSize float64
	leading float64
	space   float64
	color   display.Color
}

type builder struct {
	t      *templates.Template
	format string
	doc    *display.Document
	errs   request.Errors
}

func newBuilder(t *templates.Template, format string) *builder {
	return &builder{t: t, format: format, doc: &display.Document{
		Kind:            t.Kind,
		TemplateID:      t.ID,
		TemplateVersion: t.Version,
		Title:           t.Title,
		Language:        t.Language,
		Duplex:          t.Duplex,
	}}
}

func (b *builder) style(name string) (style, error) {
	s, ok := b.t.Formats[b.format][name]
	if !ok {
		return style{}, fmt.Errorf("template %s has no style %q in format %q", b.t.Ref(), name, b.format)
	}
	fam, err := shape.Get(b.t.Fonts[s.Font])
	if err != nil {
		return style{}, fmt.Errorf("template %s: %w", b.t.Ref(), err)
	}
	c, _ := templates.ParseColor(s.Color)
	return style{
		face: fam.Faces()[0], fam: fam, size: s.Size, minSize: s.MinSize, leading: s.Leading, space: s.Space,
		color: display.Color{R: c[0], G: c[1], B: c[2]},
	}, nil
}

func (b *builder) newPage() *display.Page {
	b.doc.Pages = append(b.doc.Pages, display.Page{Width: display.A4Width, Height: display.A4Height})
	return &b.doc.Pages[len(b.doc.Pages)-1]
}

// text places one shaped line with its baseline at y. align decides what
// x means: the left edge, the centre or the right edge of the line. Ink
// that reaches left of the line's start (a mark with nothing before it)
// moves the line right, so it stays where it was measured.
func text(s style, size float64, x, y float64, align string, l *shape.Line, field string) *display.Text {
	width := l.Advance * size
	switch align {
	case "center":
		x -= width / 2
	case "right":
		x -= width
	default:
		x += l.InkLeft * size
	}
	return &display.Text{
		X: x, Y: y, Face: s.face.Name(), Size: size, Width: width,
		Ascent: l.Ascent * size, Descent: l.Descent * size,
		Color: s.color, Text: l.Text, Field: field,
		Runs: l.Runs, Plain: l.Plain,
	}
}

// drawable reports a field whose text has a character no face of its
// family can draw. It returns false when it reported one.
func (b *builder) drawable(field, value string, s style) bool {
	if m := s.fam.Shape(value).Missing; len(m) > 0 {
		b.errs = append(b.errs, request.NotCovered(field, value, m[0]))
		return false
	}
	// A face may have a character a character rule refuses (the CJK
	// faces map U+3164 HANGUL FILLER, which is invisible). Validation
	// refuses it first; laid out unvalidated, it is refused in the same
	// words (request.Refused).
	if e, bad := request.Refused(field, value); bad {
		b.errs = append(b.errs, e)
		return false
	}
	return true
}

// fixedItem lays out a template item that is not a box.
func (b *builder) fixedItem(pg *display.Page, it templates.Item, vars func(string) string) error {
	switch {
	case it.Rect != nil:
		r := it.Rect
		sc, _ := templates.ParseColor(r.Color)
		item := &display.Rect{X: mm(r.X), Y: mm(r.Y), W: mm(r.W), H: mm(r.H), Stroke: r.Stroke, StrokeColor: rgb(sc)}
		if r.Fill != "" {
			fc, _ := templates.ParseColor(r.Fill)
			c := rgb(fc)
			item.Fill = &c
		}
		pg.Items = append(pg.Items, item)
	case it.Rule != nil:
		r := it.Rule
		c, _ := templates.ParseColor(r.Color)
		pg.Items = append(pg.Items, &display.Line{X1: mm(r.X1), Y1: mm(r.Y1), X2: mm(r.X2), Y2: mm(r.Y2), Width: r.Width, Color: rgb(c)})
	case it.Text != nil:
		x := it.Text
		s, err := b.style(x.Style)
		if err != nil {
			return err
		}
		str := expand(x.Text, vars)
		m := measurer{fam: s.fam}
		if x.Width == 0 {
			pg.Items = append(pg.Items, text(s, s.size, mm(x.X), mm(x.Y), x.Align, s.fam.Shape(str), ""))
			return nil
		}
		lines, ok := m.wrap(m.pieces(str), s.size, mm(x.Width))
		if !ok {
			return fmt.Errorf("template %s: a word in %q is wider than its %g mm column", b.t.Ref(), x.Text, x.Width)
		}
		for i, line := range lines {
			pg.Items = append(pg.Items, text(s, s.size, mm(x.X), mm(x.Y)+float64(i)*s.leading*s.size, x.Align, s.fam.Shape(line), ""))
		}
	}
	return nil
}

func rgb(c [3]uint8) display.Color { return display.Color{R: c[0], G: c[1], B: c[2]} }

// expand replaces {name} placeholders using vars.
func expand(s string, vars func(string) string) string {
	if !strings.Contains(s, "{") {
		return s
	}
	var out strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			out.WriteString(s)
			return out.String()
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			out.WriteString(s)
			return out.String()
		}
		out.WriteString(s[:i])
		out.WriteString(isolate(vars(s[i+1 : i+j])))
		s = s[i+j+1:]
	}
}

// isolate wraps a value holding right-to-left letters in U+2068 FIRST
// STRONG ISOLATE and U+2069 POP DIRECTIONAL ISOLATE (UAX #9), so that an
// Arabic or Hebrew name keeps its own order without reordering the words
// around it ("Dear …,"). Left-to-right values need nothing.
func isolate(v string) string {
	for _, r := range v {
		if r >= 0x0590 && r <= 0x08FF || r >= 0xFB1D && r <= 0xFDFF || r >= 0xFE70 && r <= 0xFEFF || r >= 0x10800 && r <= 0x10FFF || r >= 0x1E800 && r <= 0x1EFFF {
			return "\u2068" + v + "\u2069"
		}
	}
	return v
}

// checkBounds reports anything drawn outside the template's printable
// area: a template bug, never the requester's.
func (b *builder) checkBounds() error {
	m := b.t.Margins
	area := display.Rect{X: mm(m.Left), Y: mm(m.Top), W: display.A4Width - mm(m.Left+m.Right), H: display.A4Height - mm(m.Top+m.Bottom)}
	for pi, pg := range b.doc.Pages {
		for _, it := range pg.Items {
			if !area.Contains(it.Bounds()) {
				return fmt.Errorf("template %s: page %d: an item at (%.1f, %.1f) pt lies outside the printable area", b.t.Ref(), pi+1, it.Bounds().X, it.Bounds().Y)
			}
		}
	}
	return nil
}
