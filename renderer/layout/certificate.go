package layout

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/text/unicode/bidi"

	"github.com/quire-print/quire/renderer/display"
	"github.com/quire-print/quire/request"
	"github.com/quire-print/quire/templates"
)

// gap between a box's label and its value area, in millimetres.
const labelGap = 1.5

// Certificate lays out one certificate. path is the certificate's JSON path
// in the request ("certificates[1]"), or "" for a certificate on its own
// (a preview); field errors name fields under it. Field problems come back
// as request.Errors; any other error is a template bug.
func Certificate(t *templates.Template, c *request.Certificate, path string) (*display.Document, error) {
	if t.Kind != templates.KindCertificate {
		return nil, fmt.Errorf("template %s is a %s, not a certificate", t.Ref(), t.Kind)
	}
	b := newBuilder(t, "standard")
	pg := b.newPage()
	for _, it := range t.Items {
		var err error
		if it.Box != nil {
			err = b.box(pg, it.Box, c, path)
		} else {
			err = b.fixedItem(pg, it, func(name string) string { return t.Constants[name] })
		}
		if err != nil {
			return nil, err
		}
	}
	if len(b.errs) > 0 {
		return nil, b.errs
	}
	if err := b.checkBounds(); err != nil {
		return nil, err
	}
	return b.doc, nil
}

// box draws a numbered box: its frame, its label, and the field's value
// fitted inside. An empty value leaves the label and a clean empty space.
func (b *builder) box(pg *display.Page, box *templates.BoxItem, c *request.Certificate, path string) error {
	label, err := b.style(box.LabelStyle)
	if err != nil {
		return err
	}
	value, err := b.style(box.ValueStyle)
	if err != nil {
		return err
	}
	fc, _ := templates.ParseColor(box.Color)
	x, y, w, h, pad := mm(box.X), mm(box.Y), mm(box.W), mm(box.H), mm(box.Padding)
	pg.Items = append(pg.Items, &display.Rect{X: x, Y: y, W: w, H: h, Stroke: box.Stroke, StrokeColor: rgb(fc)})

	// A label may have a line per language; the number goes on the first.
	labelBase := y + pad + label.face.Ascent()*label.size
	for i, line := range strings.Split(box.Label, "\n") {
		if i == 0 {
			line = fmt.Sprintf("%d. %s", box.Number, line)
		} else {
			labelBase += label.leading * label.size
		}
		l := label.fam.Shape(line)
		if l.Advance*label.size > w-2*pad+1e-9 {
			return fmt.Errorf("template %s: the label of box %d is wider than the box", b.t.Ref(), box.Number)
		}
		pg.Items = append(pg.Items, text(label, label.size, x+pad, labelBase, "left", l, ""))
	}

	field := box.Field
	if path != "" {
		field = path + "." + box.Field
	}
	v, err := BoxValue(b.t, c, box.Field)
	if err != nil {
		b.errs.Add(field, "%v", err)
		return nil
	}
	if v == "" {
		return nil // tidily blank: the label and the frame, nothing else
	}
	if !b.drawable(field, v, value) {
		return nil
	}
	areaTop := labelBase + label.face.Descent()*label.size + mm(labelGap)
	areaW, areaH := w-2*pad, y+h-pad-areaTop
	m := measurer{fam: value.fam}
	f, why, ok := m.fit(v, areaW, areaH, value.size, value.minSize, value.leading, box.MaxLines)
	if !ok {
		min := value.minSize
		if min == 0 {
			min = value.size
		}
		switch why {
		case wordWide:
			b.errs.Add(field, "has a word wider than box %d of the certificate, even in the smallest text: a line can break only at a space or a hyphen", box.Number)
		case inkTall:
			b.errs.Add(field, "is taller than box %d of the certificate, even in the smallest text: its accents or marks stack too high", box.Number)
		default:
			lines := "on one line"
			if box.MaxLines > 1 {
				lines = fmt.Sprintf("over %d lines", box.MaxLines)
			}
			b.errs.Add(field, "is too long to fit in box %d of the certificate, even in smaller text %s; about %d characters fit",
				box.Number, lines, m.capacity(v, areaW, min, box.MaxLines))
		}
		return nil
	}
	// Centre the lines in the value area, so one line in a two-line box
	// does not look like a missing second line.
	first, last := f.lines[0], f.lines[len(f.lines)-1]
	n := float64(len(f.lines))
	blockH := ((n-1)*value.leading + first.Ascent + last.Descent) * f.size
	base := areaTop + (areaH-blockH)/2 + first.Ascent*f.size
	// Every value starts at the box's left edge, under its label, in
	// every script. A right-to-left value on more than one line is a
	// right-to-left paragraph in a block starting there: its lines share
	// their right edge, where a right-to-left reader starts each one
	// (docs/templates.md, "Right-to-left values").
	right := 0.0
	if len(f.lines) > 1 && rightToLeft(v) {
		for _, line := range f.lines {
			right = max(right, (line.InkLeft+line.Advance)*f.size)
		}
		maxInkRight := 0.0
		for _, line := range f.lines {
			maxInkRight = max(maxInkRight, line.InkRight*f.size)
		}
		right = x + pad + min(right, areaW-maxInkRight)
	}
	for i, line := range f.lines {
		lineBase := base + float64(i)*value.leading*f.size
		if right == 0 {
			pg.Items = append(pg.Items, text(value, f.size, x+pad, lineBase, "left", line, field))
			continue
		}
		t := text(value, f.size, right, lineBase, "right", line, field)
		// Never left of the box's edge, should the block be narrower
		// than a line's ink.
		t.X = max(t.X, x+pad+line.InkLeft*f.size)
		pg.Items = append(pg.Items, t)
	}
	return nil
}

// rightToLeft reports a value whose first strong character is
// right-to-left (UAX #9 rules P2 and P3, as its isolate orders it).
func rightToLeft(v string) bool {
	for _, r := range v {
		p, _ := bidi.LookupRune(r)
		switch p.Class() {
		case bidi.L:
			return false
		case bidi.R, bidi.AL:
			return true
		}
	}
	return false
}

// FieldValue is how a certificate field reads on the certificate: dates in
// words, sex capitalised, everything else as given. Empty means blank.
// Validation refuses bad dates first; should one reach here, it is an
// error rather than a silently blank box.
func FieldValue(c *request.Certificate, field string) (string, error) {
	switch field {
	case "reference":
		return c.Reference, nil
	case "dateOfIssue":
		return readDate(c.DateOfIssue)
	case "parentName":
		return c.ParentName, nil
	case "otherParentName":
		return c.OtherParentName, nil
	case "babyName":
		return c.BabyName, nil
	case "sex":
		if c.Sex == "" {
			return "", nil
		}
		return strings.ToUpper(c.Sex[:1]) + c.Sex[1:], nil
	case "dateOfLoss":
		return readDate(c.DateOfLoss)
	case "placeOfLoss":
		return c.PlaceOfLoss, nil
	}
	return "", fmt.Errorf("is not a certificate field")
}

// BoxValue is how a certificate field reads in its box on template t: in
// the template's language, or for a bilingual template in each of its
// languages, Welsh first, joined by " / " ("Benyw / Female"); a value that
// reads the same in both (a name, a year) is printed once.
func BoxValue(t *templates.Template, c *request.Certificate, field string) (string, error) {
	if len(t.Words) == 0 {
		return FieldValue(c, field)
	}
	var parts []string
	for _, w := range t.Words {
		v, err := fieldValueIn(c, field, w)
		if err != nil {
			return "", err
		}
		if v != "" && !slices.Contains(parts, v) {
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, " / "), nil
}

// fieldValueIn is FieldValue in the language of wording w.
func fieldValueIn(c *request.Certificate, field string, w *templates.Wording) (string, error) {
	date := func(s string) (string, error) {
		if s == "" {
			return "", nil
		}
		d, err := request.ParseDate(s)
		if err != nil {
			return "", fmt.Errorf("must be a date written as YYYY-MM-DD, YYYY-MM or YYYY")
		}
		return w.Date(d.Year, d.Month, d.Day), nil
	}
	switch field {
	case "dateOfIssue":
		return date(c.DateOfIssue)
	case "dateOfLoss":
		return date(c.DateOfLoss)
	case "sex":
		if c.Sex == "" {
			return "", nil
		}
		v, ok := w.Sex[c.Sex]
		if !ok {
			return "", fmt.Errorf("must be male, female or unknown")
		}
		return v, nil
	}
	return FieldValue(c, field)
}

// readDate writes an ISO date, full or partial, as it reads on paper.
func readDate(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	d, err := request.ParseDate(s)
	if err != nil {
		return "", fmt.Errorf("must be a date written as YYYY-MM-DD, YYYY-MM or YYYY")
	}
	return d.String(), nil
}
