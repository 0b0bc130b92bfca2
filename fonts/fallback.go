package fonts

import (
	"sync"
	"unicode"
)

// scriptFaces are the faces one script is set in, by the style of the
// face a template names. build/build.py makes the same list.
type scriptFaces struct {
	script                           string // Unicode script names, as in package unicode
	serif, serifBold, sans, sansBold string
}

// scripts are the script faces, in the order Fallback tries them. Their
// characters barely overlap (spaces, joiners, the dotted circle), so the
// order matters only for those, and the primary face comes first anyway.
//
// Arabic's serif face is Noto Naskh Arabic, which Noto pairs with Noto
// Serif. Urdu, Persian and Pashto are set in it too: faces are chosen by
// the text, and an Urdu name cannot be told from a Persian or Arabic one by
// its letters (README.md says why not Noto Nastaliq Urdu).
//
// The CJK faces have one weight each: no template sets request data in
// bold, and a bold CJK face would add as many megabytes again.
var scripts = []scriptFaces{
	{"Arabic", "NotoNaskhArabic-Regular", "NotoNaskhArabic-Bold", "NotoSansArabic-Regular", "NotoSansArabic-Bold"},
	{"Hebrew", "NotoSerifHebrew-Regular", "NotoSerifHebrew-Bold", "NotoSansHebrew-Regular", "NotoSansHebrew-Bold"},
	{"Devanagari", "NotoSerifDevanagari-Regular", "NotoSerifDevanagari-Bold", "NotoSansDevanagari-Regular", "NotoSansDevanagari-Bold"},
	{"Bengali", "NotoSerifBengali-Regular", "NotoSerifBengali-Bold", "NotoSansBengali-Regular", "NotoSansBengali-Bold"},
	{"Gurmukhi", "NotoSerifGurmukhi-Regular", "NotoSerifGurmukhi-Bold", "NotoSansGurmukhi-Regular", "NotoSansGurmukhi-Bold"},
	{"Gujarati", "NotoSerifGujarati-Regular", "NotoSerifGujarati-Bold", "NotoSansGujarati-Regular", "NotoSansGujarati-Bold"},
	{"Tamil", "NotoSerifTamil-Regular", "NotoSerifTamil-Bold", "NotoSansTamil-Regular", "NotoSansTamil-Bold"},
	{"Telugu", "NotoSerifTelugu-Regular", "NotoSerifTelugu-Bold", "NotoSansTelugu-Regular", "NotoSansTelugu-Bold"},
	{"Malayalam", "NotoSerifMalayalam-Regular", "NotoSerifMalayalam-Bold", "NotoSansMalayalam-Regular", "NotoSansMalayalam-Bold"},
	{"Sinhala", "NotoSerifSinhala-Regular", "NotoSerifSinhala-Bold", "NotoSansSinhala-Regular", "NotoSansSinhala-Bold"},
	{"Thai", "NotoSerifThai-Regular", "NotoSerifThai-Bold", "NotoSansThai-Regular", "NotoSansThai-Bold"},
	{"Ethiopic", "NotoSerifEthiopic-Regular", "NotoSerifEthiopic-Bold", "NotoSansEthiopic-Regular", "NotoSansEthiopic-Bold"},
	{"Armenian", "NotoSerifArmenian-Regular", "NotoSerifArmenian-Bold", "NotoSansArmenian-Regular", "NotoSansArmenian-Bold"},
	{"Georgian", "NotoSerifGeorgian-Regular", "NotoSerifGeorgian-Bold", "NotoSansGeorgian-Regular", "NotoSansGeorgian-Bold"},
	{"Han, Hiragana, Katakana, Hangul", "NotoSerifCJK-Regular", "NotoSerifCJK-Regular", "NotoSansCJK-Regular", "NotoSansCJK-Regular"},
}

// style says which of a script's faces follow a primary face.
type style int

const (
	serif style = iota
	serifBold
	sans
	sansBold
)

// styles gives each primary face's style. Noto Serif Display Medium takes
// the serif regular faces: Medium is nearer Regular than Bold, and no
// script face comes in a display cut.
var styles = map[string]style{
	SerifRegular: serif,
	SerifBold:    serifBold,
	Display:      serif,
	SansRegular:  sans,
	SansBold:     sansBold,
}

func (s scriptFaces) face(st style) string {
	switch st {
	case serifBold:
		return s.serifBold
	case sans:
		return s.sans
	case sansBold:
		return s.sansBold
	}
	return s.serif
}

// chainNames returns the names of name's fallback chain: name, then its
// style's script faces. A script face's chain is the face alone.
func chainNames(name string) []string {
	st, ok := styles[name]
	if !ok {
		return []string{name}
	}
	out := []string{name}
	for _, s := range scripts {
		out = append(out, s.face(st))
	}
	return out
}

// chains holds each parsed chain, built on first use.
var chains = func() map[string]func() ([]*Face, error) {
	m := map[string]func() ([]*Face, error){}
	for name := range faces {
		m[name] = sync.OnceValues(func() ([]*Face, error) {
			var out []*Face
			for _, n := range chainNames(name) {
				f, err := Get(n)
				if err != nil {
					return nil, err
				}
				out = append(out, f)
			}
			return out, nil
		})
	}
	return m
}()

// Fallback returns the face called name followed by the faces to try, in
// order, for characters it lacks: for each script Quire prints besides
// Latin, Greek and Cyrillic, the face of the same style (serif script faces
// after the serif faces and Display, sans after the sans ones; bold after
// bold where the script has a bold face). A shaper sets each run of text
// in the first face of the list that has all of the run's characters.
//
// A script face's list is the face alone. The first call for a name parses
// every face of its list; later calls return the same faces, in a new
// slice the caller may keep.
func Fallback(name string) ([]*Face, error) {
	load, ok := chains[name]
	if !ok {
		_, err := Get(name) // for its error
		return nil, err
	}
	list, err := load()
	if err != nil {
		return nil, err
	}
	return append([]*Face(nil), list...), nil
}

// Covers reports whether a face of name's fallback list can draw r. It is
// false for a name that is not a face. Text with a character no face
// covers must be refused: Uncovered finds it and Script names its script.
func Covers(name string, r rune) bool {
	_, ok := coverer(name, r)
	return ok
}

// coverer returns the first face of name's fallback list that draws r.
func coverer(name string, r rune) (*Face, bool) {
	load, ok := chains[name]
	if !ok {
		return nil, false
	}
	list, err := load()
	if err != nil {
		return nil, false
	}
	for _, f := range list {
		if f.Has(r) {
			return f, true
		}
	}
	return nil, false
}

// Uncovered returns the first character of s that no face of name's
// fallback list can draw, with ok true; ok is false when every character
// is covered. Control characters are never covered, and invalid UTF-8 is
// reported as U+FFFD, as with Face.Missing.
func Uncovered(name, s string) (r rune, ok bool) {
	for _, r := range s {
		if !Covers(name, r) {
			return r, true
		}
	}
	return 0, false
}

// Script returns the name of r's Unicode script, such as "Tibetan" or
// "Han", for a message that says which writing Quire cannot print. Some
// scripts are covered only in part (Han and Hangul: the characters of the
// national character sets), so a message should name the character too. It is
// "Common" for punctuation and symbols shared by scripts, "Inherited" for
// combining marks shared by scripts, and "Unknown" for unassigned code
// points.
func Script(r rune) string {
	for name, table := range unicode.Scripts {
		if unicode.Is(table, r) {
			return name
		}
	}
	return "Unknown"
}

// String returns the face's name, so that a list prints readably.
func (f *Face) String() string { return f.name }

// Load parses a TrueType face that is not one of the shipped ones, such as
// a system font given to a test. name is its PostScript name.
func Load(name string, data []byte) (*Face, error) {
	return parse(name, data)
}

// UnitsPerEm returns the size of the face's design grid: glyph positions
// and advances are in these units.
func (f *Face) UnitsPerEm() int { return int(f.unitsPerEm) }
