package layout

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/quire-print/quire/renderer/display"
	"github.com/quire-print/quire/renderer/shape"
	"github.com/quire-print/quire/request"
	"github.com/quire-print/quire/templates"
)

// Letter lays out the carriage letter for env, in the format it asks for.
// Field problems (an address line too long for the window, a character no
// font can draw) come back as request.Errors; any other error is a
// template bug.
func Letter(t *templates.Template, env *request.Envelope) (*display.Document, error) {
	if t.Kind != templates.KindLetter {
		return nil, fmt.Errorf("template %s is a %s, not a letter", t.Ref(), t.Kind)
	}
	format := env.Letter.Format
	if format == "" {
		format = request.FormatStandard
	}
	if _, ok := t.Formats[format]; !ok {
		return nil, request.Errors{{Field: "letter.format", Problem: fmt.Sprintf("template %s has no %s format", t.Ref(), format)}}
	}
	b := newBuilder(t, format)
	vars, err := letterVars(t, env)
	if err != nil {
		return nil, err
	}
	first := b.newPage()
	for _, it := range t.Items {
		if err := b.fixedItem(first, it, vars); err != nil {
			return nil, err
		}
	}
	if err := b.address(first, t.Address, env.Recipient); err != nil {
		return nil, err
	}
	if err := b.flow(t.Flow, env, vars); err != nil {
		return nil, err
	}
	if len(b.errs) > 0 {
		return nil, b.errs
	}
	if err := b.footer(t.Footer); err != nil {
		return nil, err
	}
	if err := b.checkWindow(t.Address); err != nil {
		return nil, err
	}
	if err := b.checkBounds(); err != nil {
		return nil, err
	}
	return b.doc, nil
}

// letterVars resolves a letter's placeholders.
func letterVars(t *templates.Template, env *request.Envelope) (func(string) string, error) {
	var latest request.PartialDate
	refs := make([]string, len(env.Certificates))
	for i, c := range env.Certificates {
		refs[i] = c.Reference
		d, err := request.ParseDate(c.DateOfIssue)
		if err != nil {
			return nil, request.Errors{{Field: fmt.Sprintf("certificates[%d].dateOfIssue", i), Problem: "must be a date written as YYYY-MM-DD"}}
		}
		if later(d, latest) {
			latest = d
		}
	}
	vals := map[string]string{
		"recipient.name": env.Recipient.Name,
		"date":           latest.String(),
		"references":     joinAnd(refs),
		"count":          countWord(len(env.Certificates)),
	}
	return func(name string) string {
		if lang, n, ok := strings.Cut(name, ":"); ok {
			// A placeholder in wording, filled in its language.
			if w := t.WordingFor(lang); w != nil {
				switch n {
				case "date":
					return w.Date(latest.Year, latest.Month, latest.Day)
				case "references":
					return w.JoinAnd(refs)
				case "count":
					return w.Count(len(env.Certificates))
				}
				name = n
			}
		}
		if v, ok := vals[name]; ok {
			return v
		}
		return t.Constants[name]
	}, nil
}

func later(a, b request.PartialDate) bool {
	if a.Year != b.Year {
		return a.Year > b.Year
	}
	if a.Month != b.Month {
		return a.Month > b.Month
	}
	return a.Day > b.Day
}

// joinAnd joins words as a person writes a list: "A", "A and B", "A, B and C".
func joinAnd(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

func countWord(n int) string {
	words := []string{"no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"}
	if n >= 0 && n < len(words) {
		return words[n]
	}
	return strconv.Itoa(n)
}

// address sets the recipient's name and address in the envelope window: one
// size for the whole block, the largest at which every line fits; lines
// never wrap, because a wrapped address line reads as two lines to a sorter.
func (b *builder) address(pg *display.Page, a *templates.Address, r request.Recipient) error {
	s, err := b.style(a.Style)
	if err != nil {
		return err
	}
	lines := append([]string{r.Name}, r.Address...)
	fields := make([]string, len(lines))
	fields[0] = "recipient.name"
	for i := range r.Address {
		fields[i+1] = fmt.Sprintf("recipient.address[%d]", i)
	}
	ok := true
	for i, l := range lines {
		ok = b.drawable(fields[i], l, s) && ok
	}
	if !ok {
		return nil
	}
	w, h := mm(a.W), mm(a.H)
	minSize := s.minSize
	if minSize == 0 {
		minSize = s.size
	}
	shaped := make([]*shape.Line, len(lines))
	for i, l := range lines {
		shaped[i] = s.fam.Shape(l)
	}
	// ink is a line's width with any ink past its ends, at 1 pt.
	ink := func(l *shape.Line) float64 { return l.InkLeft + l.Advance + l.InkRight }
	// Each line sits the template's leading below the one above, or more
	// where ink of the two would otherwise come within lineGap of each
	// other side by side (a descender over a tall mark): the spacing is
	// in em, so only more space parts them, and the block then fits the
	// window at a smaller size. Lines whose ink is not side by side keep
	// the template's spacing, as "Tŷ Ûna" under "Mr Ŵyn Prŷs" does.
	lead := make([]float64, len(shaped))
	spread, plain := 0.0, 0.0 // the block's baseline-to-baseline height in em, and at the template's leading
	for i := 1; i < len(shaped); i++ {
		lead[i] = max(s.leading, inkLeading(shaped[i-1], shaped[i], shaped[i-1].InkLeft, shaped[i].InkLeft))
		spread += lead[i]
		plain += s.leading
	}
	first, last := shaped[0], shaped[len(shaped)-1]
	height := func(spread, size float64) float64 { return (first.Ascent + spread + last.Descent) * size }
	for size := s.size; size >= minSize-1e-9; size -= sizeStep {
		if height(spread, size) > h+1e-9 {
			continue
		}
		fits := true
		for _, l := range shaped {
			fits = fits && ink(l)*size <= w+1e-9
		}
		if !fits {
			continue
		}
		base := mm(a.Y) + first.Ascent*size
		for i, l := range shaped {
			base += lead[i] * size
			pg.Items = append(pg.Items, text(s, size, mm(a.X), base, "left", l, fields[i]))
		}
		return nil
	}
	// Say which lines are too long; else which lines' ink needs the room;
	// otherwise there are too many of them.
	m := measurer{fam: s.fam}
	long := false
	for i, l := range shaped {
		if ink(l)*minSize > w {
			long = true
			b.errs.Add(fields[i], "is too long to fit in the envelope window; about %d characters fit on a line", m.capacity(lines[i], w, minSize, 1))
		}
	}
	if long {
		return nil
	}
	if height(plain, minSize) <= h+1e-9 {
		named := -1
		for i := 1; i < len(shaped); i++ {
			if lead[i] <= s.leading {
				continue
			}
			// Name the line whose ink reaches further past the face's
			// own: marks stacked above the lower line, or the upper's
			// below it.
			k := i
			if shaped[i].InkAbove-s.face.Ascent() < shaped[i-1].InkBelow-s.face.Descent() {
				k = i - 1
			}
			if k != named {
				b.errs.Add(fields[k], "has letters or marks too tall to fit in the envelope window without touching the line next to it")
				named = k
			}
		}
		return nil
	}
	b.errs.Add("recipient.address", "has too many lines to fit in the envelope window")
	return nil
}

// flow sets the letter's body in its column, page after page.
func (b *builder) flow(f *templates.Flow, env *request.Envelope, vars func(string) string) error {
	pg := &b.doc.Pages[0]
	cursor := mm(f.Top) // top of the next line
	bottom := mm(f.Bottom)
	x, w := mm(f.Left), mm(f.Width)
	several := len(env.Certificates) > 1

	type para struct {
		s     style
		lines []string
		field string
		keep  bool
	}
	var paras []para
	for _, blk := range f.Blocks {
		if (blk.When == "one" && several) || (blk.When == "several" && !several) {
			continue
		}
		s, err := b.style(blk.Style)
		if err != nil {
			return err
		}
		str := expand(blk.Text, vars)
		field := ""
		if strings.Contains(blk.Text, "recipient.name}") {
			field = "recipient.name"
			if !b.drawable(field, env.Recipient.Name, s) {
				continue
			}
		}
		m := measurer{fam: s.fam}
		lines, ok := m.wrap(m.pieces(str), s.size, w)
		if !ok {
			if field != "" {
				b.errs.Add(field, "has a word too long to fit across the letter")
				continue
			}
			return fmt.Errorf("template %s: a word in %q is wider than the letter's column", b.t.Ref(), blk.Text)
		}
		paras = append(paras, para{s: s, lines: lines, field: field, keep: blk.KeepWithNext})
	}

	lineH := func(s style) float64 { return s.leading * s.size }
	// fits reports how many of n lines in style s fit below cursor.
	fits := func(s style, n int) int {
		k := 0
		for c := cursor; k < n; k++ {
			if c+(s.face.Ascent()+s.face.Descent())*s.size > bottom+1e-9 {
				break
			}
			c += lineH(s)
		}
		return k
	}
	newPage := func() {
		pg = b.newPage()
		cursor = mm(f.ContinueTop)
	}
	for i, p := range paras {
		n := len(p.lines)
		k := fits(p.s, n)
		if p.keep && k == n && i+1 < len(paras) {
			// A heading stays with at least two lines of what follows.
			next := paras[i+1]
			saved := cursor
			cursor += float64(n)*lineH(p.s) + p.s.space
			if fits(next.s, min(2, len(next.lines))) < min(2, len(next.lines)) {
				k = 0
			}
			cursor = saved
		}
		switch {
		case k == n:
		case k < 2 || n <= 3:
			k = 0 // no lonely first line at the foot of a page
		case n-k < 2:
			k = n - 2 // no lonely last line at the head of the next
		}
		for j := range n {
			if j == k {
				newPage()
			}
			base := cursor + p.s.face.Ascent()*p.s.size
			if base+p.s.face.Descent()*p.s.size > bottom+1e-9 {
				return fmt.Errorf("template %s: a paragraph is longer than a page", b.t.Ref())
			}
			pg.Items = append(pg.Items, text(p.s, p.s.size, x, base, "left", p.s.fam.Shape(p.lines[j]), p.field))
			cursor += lineH(p.s)
		}
		cursor += p.s.space
	}
	return nil
}

// footer numbers the pages of documents long enough to need it.
func (b *builder) footer(f *templates.Footer) error {
	if f == nil || len(b.doc.Pages) < f.OnlyIfPages {
		return nil
	}
	s, err := b.style(f.Style)
	if err != nil {
		return err
	}
	total := strconv.Itoa(len(b.doc.Pages))
	for i := range b.doc.Pages {
		str := expand(f.Text, func(name string) string {
			if _, n, ok := strings.Cut(name, ":"); ok {
				name = n // {cy:page}: figures read the same in every language
			}
			if name == "page" {
				return strconv.Itoa(i + 1)
			}
			return total
		})
		pg := &b.doc.Pages[i]
		pg.Items = append(pg.Items, text(s, s.size, display.A4Width/2, mm(f.Y), "center", s.fam.Shape(str), ""))
	}
	return nil
}

// checkWindow makes sure nothing but the address shows through the
// envelope window: the one part of a letter a stranger can read.
func (b *builder) checkWindow(a *templates.Address) error {
	c := a.Clearance
	zone := display.Rect{X: mm(a.X - c), Y: mm(a.Y - c), W: mm(a.W + 2*c), H: mm(a.H + 2*c)}
	for _, it := range b.doc.Pages[0].Items {
		if t, ok := it.(*display.Text); ok && strings.HasPrefix(t.Field, "recipient.") && t.Y < zone.Y+zone.H {
			continue
		}
		if zone.Intersects(it.Bounds()) {
			return fmt.Errorf("template %s: something other than the address is inside the envelope window", b.t.Ref())
		}
	}
	return nil
}
