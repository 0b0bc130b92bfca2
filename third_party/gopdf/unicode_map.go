package gopdf

import (
	"fmt"
	"io"
)

// UnicodeMap unicode map
type UnicodeMap struct {
	PtrToSubsetFontObj *SubsetFontObj
	//getRoot            func() *GoPdf
	pdfProtection *PDFProtection
}

func (u *UnicodeMap) init(funcGetRoot func() *GoPdf) {
	//u.getRoot = funcGetRoot
}

func (u *UnicodeMap) setProtection(p *PDFProtection) {
	u.pdfProtection = p
}

func (u *UnicodeMap) protection() *PDFProtection {
	return u.pdfProtection
}

// SetPtrToSubsetFontObj set pointer to SubsetFontObj
func (u *UnicodeMap) SetPtrToSubsetFontObj(ptr *SubsetFontObj) {
	u.PtrToSubsetFontObj = ptr
}

func (u *UnicodeMap) getType() string {
	return "Unicode"
}

func (u *UnicodeMap) write(w io.Writer, objID int) error {
	//stream
	//characterToGlyphIndex := u.PtrToSubsetFontObj.CharacterToGlyphIndex
	prefix :=
		"/CIDInit /ProcSet findresource begin\n" +
			"12 dict begin\n" +
			"begincmap\n" +
			"/CIDSystemInfo << /Registry (Adobe)/Ordering (UCS)/Supplement 0>> def\n" +
			"/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
	suffix := "endcmap CMapName currentdict /CMap defineresource pop end end"

	glyphIndexToCharacter := newMapGlyphIndexToCharacter() //make(map[int]rune)
	lowIndex := 65536
	hiIndex := -1

	keys := u.PtrToSubsetFontObj.CharacterToGlyphIndex.AllKeys()
	for _, k := range keys {
		v, _ := u.PtrToSubsetFontObj.CharacterToGlyphIndex.Val(k)
		index := int(v)
		if index < lowIndex {
			lowIndex = index
		}
		if index > hiIndex {
			hiIndex = index
		}
		//glyphIndexToCharacter[index] = k
		glyphIndexToCharacter.set(index, k)
	}

	buff := GetBuffer()
	defer PutBuffer(buff)

	buff.WriteString(prefix)
	buff.WriteString("1 begincodespacerange\n")
	fmt.Fprintf(buff, "<%04X><%04X>\n", lowIndex, hiIndex)
	buff.WriteString("endcodespacerange\n")
	// Quire patch: glyphs of glyph runs (glyph_run.go) are keyed past the
	// last code point; they map to their text in a bfchar section, or to
	// nothing.
	var glyphs []byte
	nGlyphs, nChars := 0, 0
	for i, k := range glyphIndexToCharacter.allIndexs() {
		if r := glyphIndexToCharacter.runes[i]; r >= glyphKeyBase {
			if t := u.PtrToSubsetFontObj.glyphText[uint(k)]; t != "" {
				glyphs = append(glyphs, '<')
				glyphs = appendGlyphHex(glyphs, uint(k))
				glyphs = append(glyphs, "> <"...)
				glyphs = appendUTF16Hex(glyphs, t)
				glyphs = append(glyphs, ">\n"...)
				nGlyphs++
			}
			continue
		}
		nChars++
	}
	fmt.Fprintf(buff, "%d beginbfrange\n", nChars)
	for i, k := range glyphIndexToCharacter.allIndexs() {
		if glyphIndexToCharacter.runes[i] < glyphKeyBase {
			v, _ := glyphIndexToCharacter.charByIndex(k)
			fmt.Fprintf(buff, "<%04X><%04X><%04X>\n", k, k, v)
		}
	}
	buff.WriteString("endbfrange\n")
	if nGlyphs > 0 {
		fmt.Fprintf(buff, "%d beginbfchar\n", nGlyphs)
		buff.Write(glyphs)
		buff.WriteString("endbfchar\n")
	}
	buff.WriteString(suffix)
	buff.WriteString("\n")

	io.WriteString(w, "<<\n")
	fmt.Fprintf(w, "/Length %d\n", buff.Len())
	io.WriteString(w, ">>\n")
	io.WriteString(w, "stream\n")
	if u.protection() != nil {
		tmp, err := rc4Cip(u.protection().objectkey(objID), buff.Bytes())
		if err != nil {
			return err
		}
		w.Write(tmp)
		//streambuff.WriteString("\n")
	} else {
		buff.WriteTo(w)
	}
	io.WriteString(w, "endstream\n")

	return nil
}

type mapGlyphIndexToCharacter struct {
	runes  []rune
	indexs []int
}

func newMapGlyphIndexToCharacter() *mapGlyphIndexToCharacter {
	var m mapGlyphIndexToCharacter
	return &m
}

func (m *mapGlyphIndexToCharacter) set(index int, r rune) {
	m.runes = append(m.runes, r)
	m.indexs = append(m.indexs, index)
}

func (m *mapGlyphIndexToCharacter) size() int {
	return len(m.indexs)
}

func (m *mapGlyphIndexToCharacter) allIndexs() []int {
	return m.indexs
}

func (m *mapGlyphIndexToCharacter) runeByIndex(index int) (rune, bool) {
	var r rune
	ok := false
	for i, idx := range m.indexs {
		if idx == index {
			r = m.runes[i]
			ok = true
			break
		}
	}
	return r, ok
}

// charByIndex is runeByIndex for characters only, past the glyphs keyed
// past the last code point (Quire patch: glyph_run.go).
func (m *mapGlyphIndexToCharacter) charByIndex(index int) (rune, bool) {
	for i, idx := range m.indexs {
		if idx == index && m.runes[i] < glyphKeyBase {
			return m.runes[i], true
		}
	}
	return 0, false
}
