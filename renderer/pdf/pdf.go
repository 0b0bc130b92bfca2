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
	"sync"

	"github.com/signintech/gopdf"

	"github.com/quire-print/quire/fonts"
	"github.com/quire-print/quire/renderer/display"
)

// Writer draws display lists as PDF. It is safe for concurrent use.
type Writer struct {
	mu       sync.RWMutex // guards fc and faces, which grow by fallback faces
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
	w.mu.RLock()
	defer w.mu.RUnlock()
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
// out in the same order every time, and loads faces met for the first
// time (a family's fallbacks). It refuses a plain run a face cannot draw:
// gopdf would silently substitute a glyph, and a wrong letter must never
// print. Layout has refused such text already; this is the last guard.
func (w *Writer) checkText(doc *display.Document) ([]string, error) {
	var names []string
	note := func(face *fonts.Face) error {
		if slices.Contains(names, face.Name()) {
			return nil
		}
		names = append(names, face.Name())
		w.mu.RLock()
		_, ok := w.faces[face.Name()]
		w.mu.RUnlock()
		if ok {
			return nil
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		if _, ok := w.faces[face.Name()]; ok {
			return nil
		}
		if err := w.fc.AddTTFFontData(face.Name(), face.Data()); err != nil {
			return fmt.Errorf("pdf: loading font %s: %w", face.Name(), err)
		}
		w.faces[face.Name()] = face
		return nil
	}
	for _, pg := range doc.Pages {
		for _, it := range pg.Items {
			t, ok := it.(*display.Text)
			if !ok {
				continue
			}
			if t.Runs == nil || t.Plain {
				w.mu.RLock()
				face, ok := w.faces[t.Face]
				w.mu.RUnlock()
				if !ok {
					return nil, fmt.Errorf("pdf: no font face %q", t.Face)
				}
				if r, bad := face.Missing(t.Text); bad {
					return nil, fmt.Errorf("pdf: %s cannot draw %U", t.Face, r)
				}
				if err := note(face); err != nil {
					return nil, err
				}
				continue
			}
			for _, r := range t.Runs {
				if err := note(r.Face); err != nil {
					return nil, err
				}
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

// drawText draws a line. A plain one is drawn as its string (gopdf maps
// each character to its nominal glyph, which is what layout measured);
// any other as its shaped glyphs, run by run. A line of left-to-right
// runs has each run wrapped in a span whose /ActualText is its text, so
// it extracts, copies and reads aloud as written where glyphs and
// characters are not one to one (Indic reordering, conjuncts,
// ligatures). A line with a right-to-left run is wrapped whole in one
// span, whose text is in the order readers expect (readingOrderText).
func drawText(pdf *gopdf.GoPdf, t *display.Text) error {
	if t.Runs == nil || t.Plain {
		if err := pdf.SetFont(t.Face, "", t.Size); err != nil {
			return fmt.Errorf("pdf: %w", err)
		}
		pdf.SetXY(t.X, t.Y)
		if err := pdf.Text(t.Text); err != nil {
			return fmt.Errorf("pdf: %w", err)
		}
		return nil
	}
	rtl := slices.ContainsFunc(t.Runs, func(r display.Run) bool { return r.RTL })
	if rtl {
		pdf.BeginActualText(readingOrderText(t))
		defer pdf.EndActualText()
	}
	pen := 0.0
	var placed []gopdf.PlacedGlyph
	for _, run := range t.Runs {
		if err := pdf.SetFont(run.Face.Name(), "", t.Size); err != nil {
			return fmt.Errorf("pdf: %w", err)
		}
		scale := t.Size / float64(run.Face.UnitsPerEm())
		placed = placed[:0]
		for _, g := range run.Glyphs {
			placed = append(placed, gopdf.PlacedGlyph{
				ID: g.ID, X: pen + float64(g.XOffset)*scale, Y: float64(g.YOffset) * scale,
			})
			pen += float64(g.Advance) * scale
		}
		if len(run.Glyphs) == 0 {
			continue
		}
		if rtl {
			// Inside the line's span. Each glyph of a right-to-left run
			// also stands for its characters in ToUnicode, for readers
			// that do not read /ActualText.
			if run.RTL {
				glyphTexts(t.Text, run.Glyphs, placed)
			}
			pdf.GlyphRun(t.X, t.Y, placed)
			continue
		}
		start, end := run.Glyphs[0].Start, run.Glyphs[0].End
		for _, g := range run.Glyphs {
			start, end = min(start, g.Start), max(end, g.End)
		}
		pdf.BeginActualText(strings.Map(dropBidiControls, t.Text[start:end]))
		pdf.GlyphRun(t.X, t.Y, placed)
		pdf.EndActualText()
	}
	return nil
}

// glyphTexts sets what each glyph of a right-to-left run stands for:
// within a cluster, the glyphs in logical order (the reverse of the
// run's) take its characters one each when there are as many of both,
// and otherwise the first takes them all.
func glyphTexts(text string, gs []display.Glyph, placed []gopdf.PlacedGlyph) {
	for i := 0; i < len(gs); {
		j := i
		for j < len(gs) && gs[j].Start == gs[i].Start {
			j++
		}
		cluster := []rune(strings.Map(dropBidiControls, text[gs[i].Start:gs[i].End]))
		if n := j - i; n == len(cluster) {
			for k := range n {
				placed[j-1-k].Text = string(cluster[k])
			}
		} else {
			placed[j-1].Text = string(cluster)
		}
		i = j
	}
}

// dropBidiControls leaves out the isolates layout adds around a
// right-to-left value: they order the line, they are not its text.
func dropBidiControls(r rune) rune {
	if r == 0x061C || r == 0x200E || r == 0x200F || r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 {
		return -1
	}
	return r
}
