package gopdf

// Quire patch: PDF 32000-1 §9.6.4 names an embedded subset "ABCDEF+Name",
// the six-letter tag differing between different subsets of one font.
// Upstream wrote the bare family name, so tools could not tell a subset
// from a whole font, and two subsets of one face merged into one file (a
// print batch) would clash. The tag is derived from the characters used,
// so output stays deterministic.

import (
	"crypto/sha256"
	"encoding/binary"
	"sort"
)

func (s *SubsetFontObj) subsetName() string {
	keys := append([]rune(nil), s.CharacterToGlyphIndex.AllKeys()...)
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	h := sha256.New()
	h.Write([]byte(s.Family))
	var b [4]byte
	for _, r := range keys {
		binary.BigEndian.PutUint32(b[:], uint32(r))
		h.Write(b[:])
	}
	sum := h.Sum(nil)
	tag := make([]byte, 0, 7+len(s.Family))
	for _, c := range sum[:6] {
		tag = append(tag, 'A'+c%26)
	}
	return string(append(tag, '+')) + CreateEmbeddedFontSubsetName(s.Family)
}
