package templates

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/quire-print/quire/fonts"
)

// CertificateFields are the request fields a certificate box can show, in
// the order of the certificate's numbered boxes.
var CertificateFields = []string{
	"reference", "dateOfIssue", "parentName", "otherParentName",
	"babyName", "sex", "dateOfLoss", "placeOfLoss",
}

// LetterPlaceholders are the {names} a letter's text may use besides its
// constants.
var LetterPlaceholders = []string{
	"recipient.name", // the addressee, as in the address block
	"date",           // the latest date of issue, "21 November 2026"
	"references",     // certificate references: "A", "A and B", "A, B and C"
	"count",          // number of certificates in words: "two"
}

// FooterPlaceholders are the {names} a footer may use.
var FooterPlaceholders = []string{"page", "pages"}

// Formats a letter template must define.
var letterFormats = []string{"standard", "large-print"}

// The A4 page, millimetres.
const pageW, pageH = 210.0, 297.0

type validator struct {
	t    *Template
	root *yaml.Node
	errs []error
}

func (v *validator) fail(path []any, format string, args ...any) {
	var b strings.Builder
	for i, p := range path {
		switch p := p.(type) {
		case string:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(p)
		case int:
			fmt.Fprintf(&b, "[%d]", p)
		}
	}
	msg := fmt.Sprintf(format, args...)
	if b.Len() > 0 {
		msg = b.String() + ": " + msg
	}
	v.errs = append(v.errs, fmt.Errorf("%s:%d: %s", v.t.File, lineOf(v.root, path...), msg))
}

func p(path ...any) []any { return path }

func (v *validator) file(dir, base string) {
	m := filePattern.FindStringSubmatch(base)
	if m == nil {
		v.fail(nil, "file name must be v<version>.yaml")
	} else if n, _ := strconv.Atoi(m[1]); n != v.t.Version {
		v.fail(p("version"), "is %d but the file is named %s", v.t.Version, base)
	}
	if v.t.ID != dir {
		v.fail(p("id"), "is %q but the file is in folder %q", v.t.ID, dir)
	}
}

func (v *validator) validate() {
	t := v.t
	if !idPattern.MatchString(t.ID) {
		v.fail(p("id"), "must be lower-case words joined by hyphens")
	}
	if t.Version < 1 {
		v.fail(p("version"), "must be a whole number from 1")
	}
	if strings.TrimSpace(t.Title) == "" {
		v.fail(p("title"), "is required")
	}
	if t.Page != "A4" {
		v.fail(p("page"), "must be A4")
	}
	m := t.Margins
	if m.Top < 0 || m.Left < 0 || m.Right < 0 || m.Bottom < 0 || m.Left+m.Right >= pageW || m.Top+m.Bottom >= pageH {
		v.fail(p("margins"), "must be positive and leave room on the page")
	}
	for _, alias := range slices.Sorted(maps.Keys(t.Fonts)) {
		if _, err := fonts.Get(t.Fonts[alias]); err != nil {
			v.fail(p("fonts", alias), "%v", err)
		}
	}
	v.formats()
	for i := range t.Items {
		v.item(i, &t.Items[i])
	}
	switch t.Kind {
	case KindCertificate:
		if t.Address != nil || t.Flow != nil {
			v.fail(p("kind"), "a certificate has no address block or flowing text")
		}
		v.boxes()
	case KindLetter:
		v.address()
		v.flow()
	default:
		v.fail(p("kind"), "must be %q or %q", KindCertificate, KindLetter)
	}
	v.footer()
	v.code()
}

// code checks the 2D code's square: inside the printable area, clear of
// every fixed item, and out of the envelope window.
func (v *validator) code() {
	c := v.t.Code
	if c == nil {
		v.fail(nil, "needs a code area for the print batch's 2D code")
		return
	}
	if c.Size < 6 || c.Size > 20 {
		v.fail(p("code", "size"), "must be between 6 and 20 mm, so a scanner can read it")
	}
	v.inside(p("code"), c.X, c.Y, c.Size, c.Size)
	sq := [4]float64{c.X, c.Y, c.Size, c.Size}
	for i, it := range v.t.Items {
		if x, y, w, h, ok := it.fixedBounds(); ok && it.Rect == nil && overlaps(sq, [4]float64{x, y, w, h}) {
			v.fail(p("items", i), "overlaps the 2D code area")
		}
	}
	if a := v.t.Address; a != nil {
		zone := [4]float64{a.X - a.Clearance, a.Y - a.Clearance, a.W + 2*a.Clearance, a.H + 2*a.Clearance}
		if overlaps(sq, zone) {
			v.fail(p("code"), "is inside the envelope window's clear zone")
		}
	}
	if f := v.t.Flow; f != nil && c.Y < f.Bottom+2 && c.X < f.Left+f.Width && c.X+c.Size > f.Left {
		v.fail(p("code"), "is in the letter's text column")
	}
	if f := v.t.Footer; f != nil && c.Y < f.Y+2 && c.Y+c.Size > f.Y-6 && c.X < 130 && c.X+c.Size > 80 {
		v.fail(p("code"), "is on the footer")
	}
}

func (v *validator) formats() {
	t := v.t
	want := []string{"standard"}
	if t.Kind == KindLetter {
		want = letterFormats
	}
	got := slices.Sorted(maps.Keys(t.Formats))
	if !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		v.fail(p("formats"), "must define exactly %s", strings.Join(want, " and "))
	}
	var names []string
	for _, f := range got {
		styles := t.Formats[f]
		fnames := slices.Sorted(maps.Keys(styles))
		if names == nil {
			names = fnames
		} else if !slices.Equal(names, fnames) {
			v.fail(p("formats", f), "must define the same styles as %s (%s)", got[0], strings.Join(names, ", "))
		}
		for _, name := range fnames {
			v.style(p("formats", f, name), styles[name])
		}
	}
}

func (v *validator) style(path []any, s Style) {
	if _, ok := v.t.Fonts[s.Font]; !ok {
		v.fail(append(path, "font"), "unknown font %q (known: %s)", s.Font, strings.Join(slices.Sorted(maps.Keys(v.t.Fonts)), ", "))
	}
	if s.Size <= 0 || s.Size > 96 {
		v.fail(append(path, "size"), "must be between 0 and 96 points")
	}
	if s.MinSize < 0 || s.MinSize > s.Size {
		v.fail(append(path, "min-size"), "must not be more than size")
	}
	if s.Leading != 0 && (s.Leading < 1 || s.Leading > 3) {
		v.fail(append(path, "leading"), "must be between 1 and 3 times the size")
	}
	if _, ok := ParseColor(s.Color); !ok {
		v.fail(append(path, "color"), "must be #rrggbb")
	}
}

// styleFace checks that name is a style in every format and that its font
// can draw text, in every format.
func (v *validator) styleFace(path []any, name, text string) {
	for _, f := range slices.Sorted(maps.Keys(v.t.Formats)) {
		s, ok := v.t.Formats[f][name]
		if !ok {
			v.fail(path, "unknown style %q", name)
			return
		}
		face, err := fonts.Get(v.t.Fonts[s.Font])
		if err != nil {
			continue // reported with the fonts
		}
		if r, bad := face.Missing(stripPlaceholders(text)); bad {
			v.fail(path, "%q (U+%04X) cannot be drawn in %s", r, r, face.Name())
		}
	}
}

func (v *validator) placeholders(path []any, text string, allowed []string) {
	names, err := Placeholders(text)
	if err != nil {
		v.fail(path, "%v", err)
		return
	}
	for _, n := range names {
		if _, ok := v.t.Constants[n]; ok || v.allows(allowed, n) {
			continue
		}
		v.fail(path, "unknown placeholder {%s}", n)
	}
}

func (v *validator) inside(path []any, x, y, w, h float64) {
	m := v.t.Margins
	const eps = 1e-9
	if x < m.Left-eps || y < m.Top-eps || x+w > pageW-m.Right+eps || y+h > pageH-m.Bottom+eps {
		v.fail(path, "lies outside the printable area (margins %g/%g/%g/%g mm)", m.Top, m.Right, m.Bottom, m.Left)
	}
}

func (v *validator) item(i int, it *Item) {
	n := 0
	for _, set := range []bool{it.Text != nil, it.Rule != nil, it.Rect != nil, it.Box != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		v.fail(p("items", i), "must be exactly one of text, rule, rect or box")
		return
	}
	switch {
	case it.Text != nil:
		x := it.Text
		path := p("items", i, "text")
		if strings.TrimSpace(x.Text) == "" {
			v.fail(append(path, "text"), "is required")
		}
		var allowed []string
		if v.t.Kind == KindLetter {
			allowed = LetterPlaceholders
		}
		v.placeholders(append(path, "text"), x.Text, allowed)
		v.styleFace(append(path, "style"), x.Style, x.Text)
		if !slices.Contains([]string{"", "left", "center", "right"}, x.Align) {
			v.fail(append(path, "align"), "must be left, center or right")
		}
		if x.Width < 0 {
			v.fail(append(path, "width"), "must not be negative")
		}
		v.inside(path, x.X, x.Y, 0, 0)
	case it.Rule != nil:
		r := it.Rule
		path := p("items", i, "rule")
		v.inside(path, min(r.X1, r.X2), min(r.Y1, r.Y2), abs(r.X2-r.X1), abs(r.Y2-r.Y1))
		if r.Width <= 0 {
			v.fail(append(path, "width"), "must be more than 0")
		}
		v.color(append(path, "color"), r.Color)
	case it.Rect != nil:
		r := it.Rect
		path := p("items", i, "rect")
		v.inside(path, r.X, r.Y, r.W, r.H)
		if r.W <= 0 || r.H <= 0 {
			v.fail(path, "w and h must be more than 0")
		}
		v.color(append(path, "color"), r.Color)
		v.color(append(path, "fill"), r.Fill)
	case it.Box != nil:
		b := it.Box
		path := p("items", i, "box")
		v.inside(path, b.X, b.Y, b.W, b.H)
		if strings.TrimSpace(b.Label) == "" {
			v.fail(append(path, "label"), "is required")
		}
		if !slices.Contains(CertificateFields, b.Field) {
			v.fail(append(path, "field"), "unknown field %q (known: %s)", b.Field, strings.Join(CertificateFields, ", "))
		}
		// A label may have one line per language, separated by line breaks.
		v.styleFace(append(path, "label-style"), b.LabelStyle, strings.ReplaceAll(b.Label, "\n", ""))
		if n := strings.Count(b.Label, "\n") + 1; n > len(v.t.Languages()) {
			v.fail(append(path, "label"), "has %d lines; a label has one line per language", n)
		}
		v.styleFace(append(path, "value-style"), b.ValueStyle, "")
		v.color(append(path, "color"), b.Color)
		if b.MaxLines < 1 || b.MaxLines > 4 {
			v.fail(append(path, "max-lines"), "must be between 1 and 4")
		}
		if b.Number < 1 {
			v.fail(append(path, "number"), "must be a whole number from 1")
		}
	}
}

func (v *validator) color(path []any, c string) {
	if _, ok := ParseColor(c); !ok {
		v.fail(path, "must be #rrggbb")
	}
}

func (v *validator) boxes() {
	seenNum := map[int]bool{}
	seenField := map[string]bool{}
	for i, it := range v.t.Items {
		b := it.Box
		if b == nil {
			continue
		}
		if seenNum[b.Number] {
			v.fail(p("items", i, "box", "number"), "box %d is numbered twice", b.Number)
		}
		if seenField[b.Field] {
			v.fail(p("items", i, "box", "field"), "field %s has two boxes", b.Field)
		}
		seenNum[b.Number], seenField[b.Field] = true, true
	}
	for _, f := range CertificateFields {
		if !seenField[f] {
			v.fail(p("items"), "no box shows field %s", f)
		}
	}
}

func (v *validator) address() {
	a := v.t.Address
	if a == nil {
		v.fail(nil, "a letter needs an address block")
		return
	}
	path := p("address")
	v.inside(path, a.X, a.Y, a.W, a.H)
	v.styleFace(append(path, "style"), a.Style, "")
	if a.Clearance < 0 {
		v.fail(append(path, "clearance"), "must not be negative")
	}
	zone := [4]float64{a.X - a.Clearance, a.Y - a.Clearance, a.W + 2*a.Clearance, a.H + 2*a.Clearance}
	for i, it := range v.t.Items {
		if x, y, w, h, ok := it.fixedBounds(); ok && overlaps(zone, [4]float64{x, y, w, h}) {
			v.fail(p("items", i), "is inside the envelope window's clear zone")
		}
	}
	if f := v.t.Flow; f != nil && f.Top < a.Y+a.H+a.Clearance {
		v.fail(p("flow", "top"), "must start below the envelope window's clear zone (%.1f mm)", a.Y+a.H+a.Clearance)
	}
}

func (v *validator) flow() {
	f := v.t.Flow
	if f == nil {
		v.fail(nil, "a letter needs flowing text")
		return
	}
	path := p("flow")
	m := v.t.Margins
	if f.Left < m.Left || f.Left+f.Width > pageW-m.Right || f.Width <= 0 {
		v.fail(path, "the column lies outside the printable area")
	}
	if f.Top <= 0 || f.ContinueTop <= 0 || f.Bottom <= f.Top || f.Bottom <= f.ContinueTop || f.Bottom > pageH-m.Bottom {
		v.fail(path, "top, continue-top and bottom must leave room for text inside the printable area")
	}
	if len(f.Blocks) == 0 {
		v.fail(append(path, "blocks"), "needs at least one block")
	}
	for i, b := range f.Blocks {
		bp := p("flow", "blocks", i)
		v.placeholders(append(bp, "text"), b.Text, LetterPlaceholders)
		v.styleFace(append(bp, "style"), b.Style, b.Text)
		if !slices.Contains([]string{"", "one", "several"}, b.When) {
			v.fail(append(bp, "when"), "must be one or several")
		}
	}
}

func (v *validator) footer() {
	f := v.t.Footer
	if f == nil {
		return
	}
	v.placeholders(p("footer", "text"), f.Text, FooterPlaceholders)
	v.styleFace(p("footer", "style"), f.Style, f.Text)
	v.inside(p("footer"), v.t.Margins.Left, f.Y, 0, 0)
}

// fixedBounds returns the area a fixed item may mark, in millimetres,
// when it can be known without laying out text.
func (it Item) fixedBounds() (x, y, w, h float64, ok bool) {
	switch {
	case it.Rule != nil:
		r := it.Rule
		return min(r.X1, r.X2), min(r.Y1, r.Y2), abs(r.X2 - r.X1), abs(r.Y2 - r.Y1), true
	case it.Rect != nil:
		return it.Rect.X, it.Rect.Y, it.Rect.W, it.Rect.H, true
	case it.Box != nil:
		return it.Box.X, it.Box.Y, it.Box.W, it.Box.H, true
	}
	return 0, 0, 0, 0, false
}

func overlaps(a, b [4]float64) bool {
	return a[0] < b[0]+b[2] && b[0] < a[0]+a[2] && a[1] < b[1]+b[3] && b[1] < a[1]+a[3]
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// stripPlaceholders removes {names} so only template text is checked.
func stripPlaceholders(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		j := strings.IndexByte(s, '}')
		if i < 0 || j < i {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[j+1:]
	}
}

// ParseColor parses "#rrggbb"; empty is black.
func ParseColor(s string) ([3]uint8, bool) {
	if s == "" {
		return [3]uint8{}, true
	}
	if len(s) != 7 || s[0] != '#' {
		return [3]uint8{}, false
	}
	var c [3]uint8
	for i := range 3 {
		n, err := strconv.ParseUint(s[1+2*i:3+2*i], 16, 8)
		if err != nil {
			return [3]uint8{}, false
		}
		c[i] = uint8(n)
	}
	return c, true
}

// templateLanguages are the values of a template's language.
var templateLanguages = []string{"en", "cy", "cy,en"}

// wording checks the template's language, resolves the wording files it
// names and puts their entries into its text, so that the checks after it
// (placeholders, characters the fonts can draw, the printable area) see
// the words that will be printed.
func (v *validator) wording(wording map[string]*Wording) {
	t := v.t
	if !slices.Contains(templateLanguages, t.Language) {
		v.fail(p("language"), "must be %s", strings.Join(templateLanguages, ", "))
		return
	}
	for i, ref := range t.Wording {
		w, ok := wording[ref]
		if !ok {
			v.fail(p("wording", i), "no wording %q in templates/wording", ref)
			continue
		}
		t.Words = append(t.Words, w)
	}
	if len(t.Words) != len(t.Wording) {
		return
	}
	var langs []string
	for _, w := range t.Words {
		langs = append(langs, w.Language)
	}
	switch {
	case len(t.Wording) == 0 && t.Language != "en":
		v.fail(p("language"), "a template in %s needs its wording (wording: [%s@1, …])", t.Language, t.Languages()[0])
		return
	case len(t.Wording) > 0 && !slices.Equal(langs, t.Languages()):
		v.fail(p("wording"), "must name one wording per language of %q, in that order", t.Language)
		return
	}
	expand := func(path []any, s *string) {
		out, err := t.expandWording(*s)
		if err != nil {
			v.fail(path, "%v", err)
			return
		}
		*s = out
	}
	expand(p("title"), &t.Title)
	for i := range t.Items {
		it := &t.Items[i]
		if it.Text != nil {
			expand(p("items", i, "text", "text"), &it.Text.Text)
		}
		if it.Box != nil {
			expand(p("items", i, "box", "label"), &it.Box.Label)
		}
	}
	if t.Flow != nil {
		for i := range t.Flow.Blocks {
			expand(p("flow", "blocks", i, "text"), &t.Flow.Blocks[i].Text)
		}
	}
	if t.Footer != nil {
		expand(p("footer", "text"), &t.Footer.Text)
	}
	if strings.ContainsAny(t.Title, "{}") {
		v.fail(p("title"), "must not depend on the request")
	}
}

// allows reports whether placeholder name may be used where the names in
// allowed may: as it is, or as {<language>:<name>} for one of the
// template's languages, which wording entries become.
func (v *validator) allows(allowed []string, name string) bool {
	if slices.Contains(allowed, name) {
		return true
	}
	lang, n, ok := strings.Cut(name, ":")
	return ok && v.t.WordingFor(lang) != nil && slices.Contains(allowed, n)
}
