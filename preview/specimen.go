package preview

import (
	"fmt"

	"github.com/quire-print/quire/fonts"
	"github.com/quire-print/quire/renderer/display"
	"github.com/quire-print/quire/request"
)

// The words of the specimen mark, by the language of the document it is
// drawn on. They are drawn on every page of every preview and head its
// text alternative, so a preview cannot pass for the real thing, printed
// or read aloud. A bilingual document says both, Welsh first.
type markWords struct {
	certificate, letter string
	// watermark is the big pale word; a bilingual document's rows
	// alternate between its languages.
	watermark []string
}

var specimenMarks = map[string]markWords{
	request.LanguageEnglish: {certificate: "Specimen – not a certificate", letter: "Specimen – not a real letter", watermark: []string{"SPECIMEN"}},
	// For review by a Welsh-language translator, with the wording files.
	request.LanguageWelsh:     {certificate: "Sbesimen – nid tystysgrif", letter: "Sbesimen – nid llythyr go iawn", watermark: []string{"SBESIMEN"}},
	request.LanguageBilingual: {certificate: "Sbesimen – nid tystysgrif / Specimen – not a certificate", letter: "Sbesimen – nid llythyr go iawn / Specimen – not a real letter", watermark: []string{"SBESIMEN", "SPECIMEN"}},
}

// marksFor returns the specimen mark's words for a document in language.
func marksFor(language string) markWords {
	if m, ok := specimenMarks[language]; ok {
		return m
	}
	return specimenMarks[request.LanguageEnglish]
}

// The mark's look. The banner is a deep raspberry, clear on white and
// unlike any ink of the certificate; the watermark a pale tint of it, drawn
// beneath everything else so every word of the certificate stays legible.
var (
	bannerColor    = display.Color{R: 0x9a, G: 0x1b, B: 0x4b}
	watermarkColor = display.Color{R: 0xf6, G: 0xdc, B: 0xe5}
)

const (
	markFace      = "NotoSans-Bold"
	bannerSize    = 12 // points
	watermarkSize = 84 // points
)

// placement says where the mark goes on one kind of document, in
// millimetres from the top of the page: the baselines of the banners,
// clear of everything the templates draw (a test checks this for every
// template), and of the rows of the watermark.
type placement struct {
	banners   []float64
	watermark []float64
}

var placements = map[string]placement{
	// Inside the certificate's frame, above the title and below the
	// footer warning; the watermark behind boxes 3 to 8.
	"certificate": {banners: []float64{24, 277}, watermark: []float64{128, 184, 240}},
	// Above the sender's name, in the top margin of the letter; the
	// watermark behind the body, below the envelope window.
	"letter": {banners: []float64{12}, watermark: []float64{130, 190, 250}},
}

// markSpecimen marks every page of d as a specimen: banners saying so in
// words, drawn over the page, and a large pale watermark drawn under it. It
// also retitles d, since the title is written into the PDF.
func markSpecimen(d *display.Document) error {
	p, ok := placements[d.Kind]
	if !ok {
		return fmt.Errorf("preview: no place for the specimen mark on a %q", d.Kind)
	}
	face, err := fonts.Get(markFace)
	if err != nil {
		return fmt.Errorf("preview: specimen mark: %w", err)
	}
	line := func(s string, size, y float64, c display.Color, pageW float64) *display.Text {
		w := face.Width(s, size)
		return &display.Text{
			X: (pageW - w) / 2, Y: display.MM(y), Face: face.Name(), Size: size, Width: w,
			Ascent: face.Ascent() * size, Descent: face.Descent() * size, Color: c, Text: s,
		}
	}
	words := specimenWords(d.Kind, d.Language)
	water := marksFor(d.Language).watermark
	d.Title = words
	for i := range d.Pages {
		pg := &d.Pages[i]
		under := make([]display.Item, 0, len(p.watermark)+len(pg.Items)+len(p.banners))
		for row, y := range p.watermark {
			under = append(under, line(water[row%len(water)], watermarkSize, y, watermarkColor, pg.Width))
		}
		pg.Items = append(under, pg.Items...)
		for _, y := range p.banners {
			pg.Items = append(pg.Items, line(words, bannerSize, y, bannerColor, pg.Width))
		}
	}
	return nil
}

// specimenWords returns the words of the mark on a kind of document in
// a language ("en" when empty).
func specimenWords(kind, language string) string {
	m := marksFor(language)
	if kind == "letter" {
		return m.letter
	}
	return m.certificate
}
