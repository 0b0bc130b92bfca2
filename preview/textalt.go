package preview

import (
	"fmt"
	"strings"

	"github.com/quire-print/quire/renderer/display"
	"github.com/quire-print/quire/renderer/layout"
	"github.com/quire-print/quire/request"
	"github.com/quire-print/quire/templates"
)

// TextAlternative says in words what a preview shows, for people who
// cannot see the image: a screen reader reads Text from top to bottom.
type TextAlternative struct {
	// Template is the template and version the preview was laid out
	// with: "baby-loss-certificate@1".
	Template string `json:"template"`
	// Kind is "certificate" or "letter".
	Kind string `json:"kind"`
	// Specimen is the mark on every preview: "Specimen – not a certificate",
	// in the document's language.
	Specimen string `json:"specimen"`
	// Header is a certificate's fixed wording above its boxes (its title,
	// who issues it). Empty for letters.
	Header []string `json:"header,omitempty"`
	// Boxes are a certificate's numbered boxes, in order. Empty for letters.
	Boxes []Box `json:"boxes,omitempty"`
	// Footer is a certificate's fixed wording after its first box.
	Footer []string `json:"footer,omitempty"`
	// Lines are a letter's lines of text as laid out, in reading order.
	// Empty for certificates.
	Lines []string `json:"lines,omitempty"`
	// Text is the whole preview in words, one item a line: the specimen
	// mark, then everything printed, in reading order.
	Text string `json:"text"`
}

// Box is what one numbered box of a certificate will say.
type Box struct {
	// Number is the box's number on the certificate, from 1.
	Number int `json:"number"`
	// Label is the box's printed label: "Name of baby"; a bilingual
	// label's lines joined by " / ".
	Label string `json:"label"`
	// Field is the request field the box shows, e.g. "babyName".
	Field string `json:"field"`
	// Value is the box's text as printed ("March 2025", "Female"); empty
	// when the box is left blank.
	Value string `json:"value"`
	// Reads is the box in a sentence: "Box 5, Name of baby: Robin", or
	// "Box 5, Name of baby: blank".
	Reads string `json:"reads"`
}

// boxWords are how a text alternative reads a box, by the language of the
// certificate: "Box 5, Name of baby: Robin", "Box 5, Name of baby: blank".
// For review by a Welsh-language translator, with the wording files.
var boxWords = map[string]struct{ box, blank string }{
	request.LanguageEnglish:   {box: "Box %d, %s: %s", blank: "blank"},
	request.LanguageWelsh:     {box: "Blwch %d, %s: %s", blank: "gwag"},
	request.LanguageBilingual: {box: "Blwch %d, %s: %s", blank: "gwag / blank"},
}

// certificateText describes certificate c laid out with template t, in
// the template's order and language: its fixed wording and its boxes. A
// bilingual box reads its label's lines joined: "Enw’r babi / Name of baby".
func certificateText(t *templates.Template, c *request.Certificate) (*TextAlternative, error) {
	words := specimenWords(t.Kind, t.Language)
	bw, ok := boxWords[t.Language]
	if !ok {
		bw = boxWords[request.LanguageEnglish]
	}
	alt := &TextAlternative{Template: t.Ref(), Kind: t.Kind, Specimen: words}
	lines := []string{words + "."}
	for _, it := range t.Items {
		switch {
		case it.Text != nil:
			text := expand(it.Text.Text, t.Constants)
			if len(alt.Boxes) == 0 {
				alt.Header = append(alt.Header, text)
			} else {
				alt.Footer = append(alt.Footer, text)
			}
			lines = append(lines, text)
		case it.Box != nil:
			v, err := layout.BoxValue(t, c, it.Box.Field)
			if err != nil {
				return nil, fmt.Errorf("preview: box %d: %w", it.Box.Number, err)
			}
			shown := v
			if shown == "" {
				shown = bw.blank
			}
			label := strings.ReplaceAll(it.Box.Label, "\n", " / ")
			b := Box{
				Number: it.Box.Number, Label: label, Field: it.Box.Field, Value: v,
				Reads: fmt.Sprintf(bw.box, it.Box.Number, label, shown),
			}
			alt.Boxes = append(alt.Boxes, b)
			lines = append(lines, b.Reads)
		}
	}
	alt.Text = strings.Join(lines, "\n")
	return alt, nil
}

// letterText describes a laid-out letter line by line, before the
// specimen mark is drawn on it.
func letterText(t *templates.Template, d *display.Document) *TextAlternative {
	words := specimenWords(t.Kind, t.Language)
	alt := &TextAlternative{Template: t.Ref(), Kind: t.Kind, Specimen: words}
	for _, pg := range d.Pages {
		for _, it := range pg.Items {
			if tx, ok := it.(*display.Text); ok {
				alt.Lines = append(alt.Lines, tx.Text)
			}
		}
	}
	alt.Text = words + ".\n" + strings.Join(alt.Lines, "\n")
	return alt
}

// expand fills a template text's {name} placeholders from its constants,
// as the layout does for fixed text.
func expand(s string, constants map[string]string) string {
	if !strings.Contains(s, "{") {
		return s
	}
	pairs := make([]string, 0, 2*len(constants))
	for k, v := range constants {
		pairs = append(pairs, "{"+k+"}", v)
	}
	return strings.NewReplacer(pairs...).Replace(s)
}
