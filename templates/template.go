// Package templates holds Quire's document templates and their loader.
//
// A template is a human-editable YAML file, templates/<id>/v<version>.yaml,
// embedded into the binary. A released version never changes: a rendered
// document records the template id and version, so a copy made months later
// is identical to the original. Change a template by adding a new version.
//
// Lengths in templates are millimetres from the top-left corner of the page;
// font sizes and leading are points.
package templates

import "strconv"

// Template kinds.
const (
	KindCertificate = "certificate"
	KindLetter      = "letter"
)

// Template is one version of one document layout.
type Template struct {
	// ID names the template, e.g. "baby-loss-certificate".
	ID string `yaml:"id"`
	// Version counts from 1; each released version is immutable.
	Version int `yaml:"version"`
	// Kind is KindCertificate or KindLetter.
	Kind string `yaml:"kind"`
	// Title is the document title written into metadata; never personal.
	Title string `yaml:"title"`
	// Language is the language of the requests the template serves: "en"
	// (the default), "cy", or "cy,en" for Welsh then English. A request
	// may only use templates in its own language.
	Language string `yaml:"language"`
	// Wording names the wording files the template's text comes from,
	// "cy@1", one per language in the order of Language. Text refers to
	// an entry as {cy:key}. Templates without wording hold their text
	// themselves, in English.
	Wording []string `yaml:"wording"`
	// Issuer chooses the line saying on whose behalf the certificate is
	// issued: the wording entry issuer.<Issuer>, in each language, which
	// text uses as {issuer}. A new issuer is a new template version.
	Issuer string `yaml:"issuer"`
	// Page is the paper size; only A4 is supported.
	Page string `yaml:"page"`
	// Duplex prints pages on both sides of a sheet.
	Duplex bool `yaml:"duplex"`
	// Margins bound everything drawn on the page (the printer's printable area).
	Margins Margins `yaml:"margins"`
	// Fonts maps the names styles use to font faces from package fonts.
	Fonts map[string]string `yaml:"fonts"`
	// Formats holds one set of styles per format ("standard",
	// "large-print"). Certificates have only "standard".
	Formats map[string]map[string]Style `yaml:"formats"`
	// Constants are template-wide values text can refer to as {name}, such
	// as the helpline's phone number, so wording and facts live in one place.
	Constants map[string]string `yaml:"constants"`
	// Items are drawn at fixed positions on the first page.
	Items []Item `yaml:"items"`
	// Address is the letter's address block (letters only).
	Address *Address `yaml:"address"`
	// Flow is the letter's body text (letters only).
	Flow *Flow `yaml:"flow"`
	// Footer is drawn at the bottom of every page of a flowing document.
	Footer *Footer `yaml:"footer"`
	// Code is where the print batch's 2D code goes on every page: kept
	// clear of text and of the envelope window, so the supplier's inserter
	// can check each envelope is complete (batch, sequence, page i of n).
	Code *CodeArea `yaml:"code"`

	// Words are the wordings Wording names, resolved at load.
	Words []*Wording `yaml:"-"`

	// File is where the template was loaded from, for error messages.
	File string `yaml:"-"`
	// Digest is the SHA-256 of the template file, hex.
	Digest string `yaml:"-"`
}

// Ref is "id@version".
func (t *Template) Ref() string { return t.ID + "@" + strconv.Itoa(t.Version) }

// Margins are distances from the page edges, in millimetres.
type Margins struct {
	Top    float64 `yaml:"top"`
	Right  float64 `yaml:"right"`
	Bottom float64 `yaml:"bottom"`
	Left   float64 `yaml:"left"`
}

// Style is a font at a size.
type Style struct {
	// Font is a key of Template.Fonts.
	Font string `yaml:"font"`
	// Size is the font size in points; for fitted values, the largest size.
	Size float64 `yaml:"size"`
	// MinSize is the smallest size a fitted value may shrink to; 0 means
	// it never shrinks.
	MinSize float64 `yaml:"min-size"`
	// Leading is the distance between baselines as a multiple of the size;
	// 0 means 1.25.
	Leading float64 `yaml:"leading"`
	// Color is "#rrggbb"; empty means black.
	Color string `yaml:"color"`
	// Space is extra space after a flowing paragraph, in points.
	Space float64 `yaml:"space-after"`
}

// Item is one fixed-position element. Exactly one of its fields is set.
type Item struct {
	Text *TextItem `yaml:"text"`
	Rule *RuleItem `yaml:"rule"`
	Rect *RectItem `yaml:"rect"`
	Box  *BoxItem  `yaml:"box"`
}

// TextItem is template text at a fixed position, wrapped to Width when set.
type TextItem struct {
	Style string  `yaml:"style"`
	X     float64 `yaml:"x"`
	// Y is the baseline of the first line.
	Y float64 `yaml:"y"`
	// Width wraps the text; 0 means one line.
	Width float64 `yaml:"width"`
	// Align is left (default), center or right. For center X is the
	// middle of the line, for right its right edge.
	Align string `yaml:"align"`
	Text  string `yaml:"text"`
}

// RuleItem is a straight line.
type RuleItem struct {
	X1    float64 `yaml:"x1"`
	Y1    float64 `yaml:"y1"`
	X2    float64 `yaml:"x2"`
	Y2    float64 `yaml:"y2"`
	Width float64 `yaml:"width"`
	Color string  `yaml:"color"`
}

// RectItem is a stroked, optionally filled rectangle.
type RectItem struct {
	X      float64 `yaml:"x"`
	Y      float64 `yaml:"y"`
	W      float64 `yaml:"w"`
	H      float64 `yaml:"h"`
	Stroke float64 `yaml:"stroke"`
	Color  string  `yaml:"color"`
	Fill   string  `yaml:"fill"`
}

// BoxItem is a numbered certificate box: a frame, its label, and the value
// of one request field fitted inside. An empty optional value leaves the
// label and a clean empty space.
type BoxItem struct {
	Number int `yaml:"number"`
	// Label is printed after the number, at the top of the box. A
	// bilingual label has a line per language, separated by a line break.
	Label string  `yaml:"label"`
	Field string  `yaml:"field"`
	X     float64 `yaml:"x"`
	Y     float64 `yaml:"y"`
	W     float64 `yaml:"w"`
	H     float64 `yaml:"h"`
	// Stroke is the frame's line width in points; 0 means 0.6.
	Stroke float64 `yaml:"stroke"`
	// Color is the frame's colour; empty means a quiet grey.
	Color string `yaml:"color"`
	// LabelStyle and ValueStyle name styles ("label" and "value" when
	// empty); the value style's Size and MinSize bound the fitting.
	LabelStyle string `yaml:"label-style"`
	ValueStyle string `yaml:"value-style"`
	// MaxLines is how many lines the value may wrap to; 0 means 1.
	MaxLines int `yaml:"max-lines"`
	// Padding inside the frame, in millimetres; 0 means 3.
	Padding float64 `yaml:"padding"`
}

// Address is a letter's address block, placed for the envelope window.
type Address struct {
	X     float64 `yaml:"x"`
	Y     float64 `yaml:"y"`
	W     float64 `yaml:"w"`
	H     float64 `yaml:"h"`
	Style string  `yaml:"style"`
	// Clearance is the margin around the block, in millimetres, in which
	// nothing else may be drawn: it can show through the window.
	Clearance float64 `yaml:"clearance"`
}

// Flow is a letter's body: blocks of text that wrap within the column and
// continue onto new pages.
type Flow struct {
	// Top is where the body starts on the first page; ContinueTop on later
	// pages; Bottom is the lowest a baseline may sit. Millimetres.
	Top         float64 `yaml:"top"`
	ContinueTop float64 `yaml:"continue-top"`
	Bottom      float64 `yaml:"bottom"`
	Left        float64 `yaml:"left"`
	Width       float64 `yaml:"width"`
	Blocks      []Block `yaml:"blocks"`
}

// Block is one paragraph of a flow.
type Block struct {
	Style string `yaml:"style"`
	Text  string `yaml:"text"`
	// When limits the block to envelopes with one certificate ("one") or
	// several ("several"); empty means always.
	When string `yaml:"when"`
	// KeepWithNext keeps a heading on the same page as what follows it.
	KeepWithNext bool `yaml:"keep-with-next"`
}

// CodeArea is a square reserved for a 2D code, in millimetres.
type CodeArea struct {
	X    float64 `yaml:"x"`
	Y    float64 `yaml:"y"`
	Size float64 `yaml:"size"`
}

// Footer is text at a fixed baseline on every page.
type Footer struct {
	Style string  `yaml:"style"`
	Y     float64 `yaml:"y"`
	// Text may use {page} and {pages}.
	Text string `yaml:"text"`
	// OnlyIfPages prints the footer only when the document has at least
	// this many pages; 0 means always.
	OnlyIfPages int `yaml:"only-if-pages"`
}
