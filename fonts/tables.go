package fonts

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// This file reads the few TrueType tables measurement needs. sfnt parses
// the same file for drawing, but it has no way to list a cmap's mappings,
// which the rune tables are built from, and it reports metrics only in
// rounded 26.6 fixed point; reading the tables directly keeps every width
// an exact number of font units.

// tables holds what Face needs from a TrueType file, in font units.
type tables struct {
	dir map[string][]byte // table data by tag

	unitsPerEm          uint16
	ascender, descender int16 // hhea
	typoAscender        int16 // OS/2
	typoDescender       int16 // OS/2
	xHeight, capHeight  int16 // OS/2, version 2 and later
	advances            []uint16
}

var be = binary.BigEndian

// readTables parses data's table directory and the head, hhea, maxp, hmtx
// and OS/2 tables.
func readTables(data []byte) (*tables, error) {
	if len(data) < 12 || be.Uint32(data) != 0x00010000 {
		return nil, errors.New("not a TrueType font")
	}
	n := int(be.Uint16(data[4:]))
	if len(data) < 12+16*n {
		return nil, errors.New("table directory truncated")
	}
	t := &tables{dir: make(map[string][]byte, n)}
	for i := range n {
		rec := data[12+16*i:]
		off, length := uint64(be.Uint32(rec[8:])), uint64(be.Uint32(rec[12:]))
		if off+length > uint64(len(data)) {
			return nil, fmt.Errorf("table %q runs past the end of the file", rec[:4])
		}
		t.dir[string(rec[:4])] = data[off : off+length]
	}

	head, err := t.table("head", 54)
	if err != nil {
		return nil, err
	}
	t.unitsPerEm = be.Uint16(head[18:])
	if t.unitsPerEm == 0 {
		return nil, errors.New("head: unitsPerEm is 0")
	}

	hhea, err := t.table("hhea", 36)
	if err != nil {
		return nil, err
	}
	t.ascender = int16(be.Uint16(hhea[4:]))
	t.descender = int16(be.Uint16(hhea[6:]))
	numHMetrics := int(be.Uint16(hhea[34:]))

	maxp, err := t.table("maxp", 6)
	if err != nil {
		return nil, err
	}
	numGlyphs := int(be.Uint16(maxp[4:]))
	if numHMetrics == 0 || numHMetrics > numGlyphs {
		return nil, fmt.Errorf("hhea: %d horizontal metrics for %d glyphs", numHMetrics, numGlyphs)
	}

	hmtx, err := t.table("hmtx", 4*numHMetrics)
	if err != nil {
		return nil, err
	}
	t.advances = make([]uint16, numGlyphs)
	for g := range t.advances {
		// Glyphs past the last metric share its advance (a monospaced tail).
		t.advances[g] = be.Uint16(hmtx[4*min(g, numHMetrics-1):])
	}

	os2, err := t.table("OS/2", 72)
	if err != nil {
		return nil, err
	}
	t.typoAscender = int16(be.Uint16(os2[68:]))
	t.typoDescender = int16(be.Uint16(os2[70:]))
	// Versions before 2 (older system faces that stand in for scripts
	// the shipped faces lack) have no x-height or cap height: 0.
	if be.Uint16(os2) >= 2 && len(os2) >= 90 {
		t.xHeight = int16(be.Uint16(os2[86:]))
		t.capHeight = int16(be.Uint16(os2[88:]))
	}
	return t, nil
}

// table returns the table tagged tag, which must be at least size bytes long.
func (t *tables) table(tag string, size int) ([]byte, error) {
	b, ok := t.dir[tag]
	if !ok {
		return nil, fmt.Errorf("no %s table", tag)
	}
	if len(b) < size {
		return nil, fmt.Errorf("%s table is %d bytes, want at least %d", tag, len(b), size)
	}
	return b, nil
}

// eachMapping calls fn for every character the cmap maps, with its glyph
// index. It reads the Unicode subtable a font for Windows must have: format
// 12 (all of Unicode) when there is one, otherwise format 4 (the BMP).
func (t *tables) eachMapping(fn func(r rune, glyph uint16)) error {
	cmap, err := t.table("cmap", 4)
	if err != nil {
		return err
	}
	n := int(be.Uint16(cmap[2:]))
	if len(cmap) < 4+8*n {
		return errors.New("cmap: encoding records truncated")
	}
	var bmp, full []byte
	for i := range n {
		rec := cmap[4+8*i:]
		platform, encoding, off := be.Uint16(rec), be.Uint16(rec[2:]), int(be.Uint32(rec[4:]))
		if off+2 > len(cmap) {
			return errors.New("cmap: subtable offset out of range")
		}
		sub := cmap[off:]
		format := be.Uint16(sub)
		switch {
		case platform == 3 && encoding == 10 && format == 12:
			full = sub
		case platform == 3 && encoding == 1 && format == 4:
			bmp = sub
		}
	}
	switch {
	case full != nil:
		return eachFormat12(full, fn)
	case bmp != nil:
		return eachFormat4(bmp, fn)
	}
	return errors.New("cmap: no Windows Unicode subtable in format 4 or 12")
}

// eachFormat4 walks a format 4 subtable: segments of consecutive
// characters, each mapped by adding a delta or through an array.
func eachFormat4(sub []byte, fn func(rune, uint16)) error {
	if len(sub) < 14 {
		return errors.New("cmap format 4: header truncated")
	}
	length := int(be.Uint16(sub[2:]))
	if length > len(sub) || length < 14 {
		return errors.New("cmap format 4: bad length")
	}
	sub = sub[:length]
	segX2 := int(be.Uint16(sub[6:]))
	ends, starts := 14, 16+segX2
	deltas, rangeOffsets := starts+segX2, starts+2*segX2
	if rangeOffsets+segX2 > len(sub) {
		return errors.New("cmap format 4: segments truncated")
	}
	for i := 0; i < segX2; i += 2 {
		end := int(be.Uint16(sub[ends+i:]))
		start := int(be.Uint16(sub[starts+i:]))
		delta := be.Uint16(sub[deltas+i:])
		ro := int(be.Uint16(sub[rangeOffsets+i:]))
		for c := start; c <= end && c != 0xFFFF; c++ {
			if ro == 0 {
				fn(rune(c), uint16(c)+delta)
				continue
			}
			// The offset is relative to where it is stored.
			at := rangeOffsets + i + ro + 2*(c-start)
			if at+2 > len(sub) {
				return fmt.Errorf("cmap format 4: glyph array entry for %U out of range", c)
			}
			if g := be.Uint16(sub[at:]); g != 0 {
				fn(rune(c), g+delta)
			}
		}
	}
	return nil
}

// eachFormat12 walks a format 12 subtable: groups of consecutive
// characters mapped to consecutive glyphs.
func eachFormat12(sub []byte, fn func(rune, uint16)) error {
	if len(sub) < 16 {
		return errors.New("cmap format 12: header truncated")
	}
	n := int(be.Uint32(sub[12:]))
	if len(sub) < 16+12*n {
		return errors.New("cmap format 12: groups truncated")
	}
	for i := range n {
		grp := sub[16+12*i:]
		start, end, glyph := be.Uint32(grp), be.Uint32(grp[4:]), be.Uint32(grp[8:])
		if end > 0x10FFFF || start > end || glyph+(end-start) > 0xFFFF {
			return fmt.Errorf("cmap format 12: bad group %d", i)
		}
		for c := start; c <= end; c++ {
			fn(rune(c), uint16(glyph+(c-start)))
		}
	}
	return nil
}
