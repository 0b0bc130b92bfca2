package gopdf

import (
	"io"
	"strconv"
	"unicode/utf16"
)

// Quire patch: glyph runs. Quire shapes text itself (HarfBuzz's rules:
// ligatures, marks placed by the font's anchors, Arabic joining, Indic
// reordering), so what it draws is a list of glyph ids at positions, not
// a string: glyphs such as an Arabic letter's medial form have no
// character of their own. GlyphRun draws such a list in the current font;
// each glyph joins the subset, its width the /W array and, where it
// stands for characters, the ToUnicode map.

// PlacedGlyph is one glyph of a run.
type PlacedGlyph struct {
	ID uint16
	// X and Y place the glyph's origin from the run's, in points; Y grows
	// upwards, as in the font.
	X, Y float64
	// Text is what the glyph stands for in ToUnicode; "" for a glyph that
	// is only part of its characters' drawing.
	Text string
}

// glyphKeyBase keys glyphs without a character of their own in
// CharacterToGlyphIndex, past the last code point, so the subset, the
// widths and the subset tag treat them like any other glyph.
const glyphKeyBase = 0x110000

// AddGlyph adds glyph id to the subset, standing for text in ToUnicode.
func (s *SubsetFontObj) AddGlyph(id uint, text string) {
	rs := []rune(text)
	if len(rs) == 1 {
		if g, err := s.CharCodeToGlyphIndex(rs[0]); err == nil && g == id {
			if !s.CharacterToGlyphIndex.KeyExists(rs[0]) {
				s.CharacterToGlyphIndex.Set(rs[0], id)
			}
			return
		}
	}
	key := rune(glyphKeyBase + id)
	if s.CharacterToGlyphIndex.KeyExists(key) {
		return
	}
	for _, v := range s.CharacterToGlyphIndex.AllVals() {
		if v == id {
			return // drawn for a character already: ToUnicode has it
		}
	}
	s.CharacterToGlyphIndex.Set(key, id)
	if s.glyphText == nil {
		s.glyphText = map[uint]string{}
	}
	s.glyphText[id] = text
}

// cacheContentGlyphs is one glyph run in a text object.
type cacheContentGlyphs struct {
	fontCountIndex int
	fontSize       float64
	textColor      ICacheColorText
	txtColorMode   string
	ops            []byte
}

func (c *cacheContentGlyphs) write(w io.Writer, protection *PDFProtection) error {
	buf := append([]byte("BT\n/F"), strconv.Itoa(c.fontCountIndex)...)
	buf = append(buf, ' ')
	buf = append(buf, FormatFloatTrim(c.fontSize)...)
	buf = append(buf, " Tf\n"...)
	if _, err := w.Write(buf); err != nil {
		return err
	}
	if c.txtColorMode == "color" {
		c.textColor.write(w, protection)
	}
	if _, err := w.Write(c.ops); err != nil {
		return err
	}
	_, err := io.WriteString(w, "ET\n")
	return err
}

// GlyphRun draws glyphs in the current font, size and colour, with the
// run's origin at (x, y) (y from the top of the page, as SetXY's).
// Glyphs on one baseline are written as one TJ array, spaced by the
// difference between their positions and the font's widths.
func (gp *GoPdf) GlyphRun(x, y float64, glyphs []PlacedGlyph) {
	s := gp.curr.FontISubset
	size := gp.curr.FontSize
	top := gp.curr.pageSize.H - y
	var ops []byte
	open := false
	var penX, penY float64
	for _, g := range glyphs {
		s.AddGlyph(uint(g.ID), g.Text)
		gx, gy := x+g.X, top+g.Y
		if !open || gy != penY {
			if open {
				ops = append(ops, "] TJ\n"...)
			}
			ops = append(ops, "1 0 0 1 "...)
			ops = append(ops, FormatFloatTrim(gx)...)
			ops = append(ops, ' ')
			ops = append(ops, FormatFloatTrim(gy)...)
			ops = append(ops, " Tm ["...)
			open, penX, penY = true, gx, gy
		} else if d := (gx - penX) * 1000 / size; d > 0.0005 || d < -0.0005 {
			ops = append(ops, FormatFloatTrim(-d)...)
		}
		ops = append(ops, '<')
		ops = appendGlyphHex(ops, uint(g.ID))
		ops = append(ops, '>')
		penX = gx + float64(s.GlyphIndexToPdfWidth(uint(g.ID)))*size/1000
	}
	if open {
		ops = append(ops, "] TJ\n"...)
	}
	gp.getContent().listCache.append(&cacheContentGlyphs{
		fontCountIndex: gp.curr.FontFontCount + 1,
		fontSize:       size,
		textColor:      gp.curr.textColor(),
		txtColorMode:   gp.curr.txtColorMode,
		ops:            ops,
	})
}

// appendUTF16Hex appends text as big-endian UTF-16 in hex, as ToUnicode
// destinations are written.
func appendUTF16Hex(buf []byte, text string) []byte {
	const digits = "0123456789ABCDEF"
	for _, u := range utf16.Encode([]rune(text)) {
		buf = append(buf, digits[u>>12&0xF], digits[u>>8&0xF], digits[u>>4&0xF], digits[u&0xF])
	}
	return buf
}
