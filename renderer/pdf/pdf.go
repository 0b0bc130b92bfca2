// Package pdf draws display lists as print-ready PDF with
// github.com/signintech/gopdf (chosen by measurement: docs/pdf-library.md).
//
// Fonts are parsed once per process into a shared gopdf.FontContainer; each
// document embeds a tagged subset of each face it uses. Quire carries small
// patches to gopdf (third_party/gopdf/PATCHES.md). Output is deterministic:
// the same display list gives byte-identical PDF, with no creation date and
// metadata that never holds personal data.
package pdf

import (
	"compress/zlib"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/signintech/gopdf"

	"github.com/quire-print/quire/fonts"
	"github.com/quire-print/quire/renderer/display"
)

// Writer draws display lists as PDF. It is safe for concurrent use.
type Writer struct {
	fc       *gopdf.FontContainer
	faces    map[string]*fonts.Face
	compress bool
}

// Options tune a Writer. The zero value is the default.
type Options struct {
	// UncompressedContent leaves page content streams readable, for
	// debugging layout. Compressed, an envelope is ~15% smaller for
	// ~0.2 ms more.
	UncompressedContent bool
}

// New parses every embedded font face once and returns a Writer.
func New(opts Options) (*Writer, error) {
	// Font subsets are small and made for every document: deflate them
	// fast. BestSpeed costs a few per cent of file size and saves most of
	// the CPU (docs/pdf-library.md). The setting is process-wide in gopdf;
	// every Writer wants the same.
	gopdf.FontCompressLevel = zlib.BestSpeed
	w := &Writer{fc: &gopdf.FontContainer{}, faces: map[string]*fonts.Face{}, compress: !opts.UncompressedContent}
	for _, name := range fonts.Names() {
		face, err := fonts.Get(name)
		if err != nil {
			return nil, err
		}
		if err := w.fc.AddTTFFontData(name, face.Data()); err != nil {
			return nil, fmt.Errorf("pdf: loading font %s: %w", name, err)
		}
		w.faces[name] = face
	}
	return w, nil
}

// Write draws doc as PDF to dst.
func (w *Writer) Write(dst io.Writer, doc *display.Document) error {
	used, err := w.checkText(doc)
	if err != nil {
		return err
	}
	var pdf gopdf.GoPdf
	pdf.Start(gopdf.Config{PageSize: gopdf.Rect{W: display.A4Width, H: display.A4Height}, Unit: gopdf.UnitPT})
	if !w.compress {
		pdf.SetNoCompression()
	}
	pdf.SetInfo(gopdf.PdfInfo{Title: doc.Title, Creator: "Quire", Producer: "Quire"})
	// Welsh and bilingual documents say they are in Welsh, so a screen
	// reader reads them so. English ones, which came first, say nothing,
	// and keep the bytes of copies already printed.
	if lang, _, _ := strings.Cut(doc.Language, ","); lang != "" && lang != "en" {
		pdf.SetLanguage(lang)
	}
	for _, name := range used {
		if err := pdf.AddTTFFontFromFontContainer(name, w.fc); err != nil {
			return fmt.Errorf("pdf: font %s: %w", name, err)
		}
	}
	for i := range doc.Pages {
		pdf.AddPage()
		if err := drawPage(&pdf, &doc.Pages[i]); err != nil {
			return err
		}
	}
	if _, err := pdf.WriteTo(dst); err != nil {
		return fmt.Errorf("pdf: %w", err)
	}
	return nil
}

// checkText lists the faces doc draws with, sorted so that objects come
// out in the same order every time. It refuses text a face cannot draw:
// gopdf would silently substitute a glyph, and a wrong letter must never
// print. Layout has refused such text already; this is the last guard.
func (w *Writer) checkText(doc *display.Document) ([]string, error) {
	var names []string
	for _, pg := range doc.Pages {
		for _, it := range pg.Items {
			t, ok := it.(*display.Text)
			if !ok {
				continue
			}
			face, ok := w.faces[t.Face]
			if !ok {
				return nil, fmt.Errorf("pdf: no font face %q", t.Face)
			}
			if r, bad := face.Missing(t.Text); bad {
				return nil, fmt.Errorf("pdf: %s cannot draw %U", t.Face, r)
			}
			if !slices.Contains(names, t.Face) {
				names = append(names, t.Face)
			}
		}
	}
	slices.Sort(names)
	return names, nil
}

func drawPage(pdf *gopdf.GoPdf, pg *display.Page) error {
	for _, it := range pg.Items {
		switch it := it.(type) {
		case *display.Rect:
			style := ""
			if it.Fill != nil {
				pdf.SetFillColor(it.Fill.R, it.Fill.G, it.Fill.B)
				style = "F"
			}
			if it.Stroke > 0 {
				pdf.SetLineWidth(it.Stroke)
				pdf.SetStrokeColor(it.StrokeColor.R, it.StrokeColor.G, it.StrokeColor.B)
				style = "D" + style
			}
			if style != "" {
				pdf.RectFromUpperLeftWithStyle(it.X, it.Y, it.W, it.H, style)
			}
		case *display.Line:
			pdf.SetLineWidth(it.Width)
			pdf.SetStrokeColor(it.Color.R, it.Color.G, it.Color.B)
			pdf.Line(it.X1, it.Y1, it.X2, it.Y2)
		case *display.Text:
			if err := pdf.SetFont(it.Face, "", it.Size); err != nil {
				return fmt.Errorf("pdf: %w", err)
			}
			pdf.SetTextColor(it.Color.R, it.Color.G, it.Color.B)
			if err := drawText(pdf, it); err != nil {
				return err
			}
		case *display.Image:
			if err := drawImage(pdf, it); err != nil {
				return err
			}
		default:
			return fmt.Errorf("pdf: cannot draw %T", it)
		}
	}
	return nil
}

// drawText draws a run, each moved mark on its own at its place. A piece
// after the first starts where the run's advances put it: Width measures
// them exactly as gopdf places them.
func drawText(pdf *gopdf.GoPdf, t *display.Text) error {
	if len(t.Marks) == 0 {
		pdf.SetXY(t.X, t.Y)
		if err := pdf.Text(t.Text); err != nil {
			return fmt.Errorf("pdf: %w", err)
		}
		return nil
	}
	// Pieces drawn apart extract badly (poppler puts a raised mark on a
	// line of its own); the span says what they spell.
	pdf.BeginActualText(t.Text)
	defer pdf.EndActualText()
	var face *fonts.Face
	for _, p := range t.Pieces() {
		x := t.X
		if p.Start > 0 {
			if face == nil {
				var err error
				if face, err = fonts.Get(t.Face); err != nil {
					return fmt.Errorf("pdf: %w", err)
				}
			}
			x += face.Width(t.Text[:p.Start], t.Size)
		}
		pdf.SetXY(x+p.DX, t.Y+p.DY)
		if err := pdf.Text(p.Text); err != nil {
			return fmt.Errorf("pdf: %w", err)
		}
	}
	return nil
}
