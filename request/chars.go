package request

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/bidi"
)

// CharRule names a rule about the characters of a text value.
type CharRule int

// The character rules, in the order they are tested.
const (
	// NoCharRule: the problem is not about particular characters.
	NoCharRule CharRule = iota
	// CharInvalidUTF8: the bytes are not UTF-8 text at all.
	CharInvalidUTF8
	// CharOnlyMarks: the value is accents or other combining marks and
	// nothing else, so there is no letter for them to sit on.
	CharOnlyMarks
	// CharOnlyInvisible: every character of the value is invisible.
	CharOnlyInvisible
	// CharReplacement: U+FFFD, left where text was damaged on its way.
	CharReplacement
	// CharControl: a control character (Unicode category Cc).
	CharControl
	// CharTag: a tag character (U+E0000 to U+E007F), invisible.
	CharTag
	// CharInvisible: a character that is visible only by accident: a
	// default-ignorable code point (zero-width space, soft hyphen,
	// combining grapheme joiner, a variation selector, a Hangul filler),
	// a joiner outside the scripts that need one, or a direction control
	// outside a value that mixes directions.
	CharInvisible
	// CharPrivateUse: a private-use character, with no agreed shape.
	CharPrivateUse
	// CharSurrogate: a surrogate code point.
	CharSurrogate
	// CharUnassigned: a code point Unicode has not assigned yet.
	CharUnassigned
	// CharSymbol: a symbol such as an emoji (category So), which would be
	// printed in a font and style nobody chose.
	CharSymbol
	// CharMarkNoBase: a combining mark at the start of the value or
	// after a space, with no letter to sit on.
	CharMarkNoBase
	// CharTooManyMarks: more combining marks stacked on one letter than
	// a box can hold.
	CharTooManyMarks
	// CharNotCovered: no typeface Quire has can draw the character. Only
	// the renderer knows this; see NotCovered.
	CharNotCovered
)

// MaxMarksPerLetter is the most non-spacing combining marks one letter may
// carry. Names in the scripts Quire prints carry at most three (Hebrew
// shin with dagesh, shin dot and a vowel point; Devanagari ड़ें with nukta,
// vowel sign and anusvara; Arabic lam with shadda, a vowel and a dagger
// alif); every name in testdata/names does. Each mark stacked above or
// below a letter adds about a quarter of the type size of ink, and a box
// keeps about one type size of room beyond a line's ascent and descent
// (the gap under the label, and the leading between lines), so a fourth
// mark is the last one that fits. More is not a name but "Zalgo" text,
// which would run into the label or out of the box.
const MaxMarksPerLetter = 4

// CharProblem is a problem with one character of a text value, with what
// it takes to word it for a caseworker (Problem) or for the parent who
// typed it (FieldError.ForParent).
type CharProblem struct {
	Rule CharRule
	// Char is the character the problem is about: for CharTooManyMarks,
	// the letter carrying the marks.
	Char rune
	// At is the character's position in the value, counting characters
	// from 1 after the value is normalised.
	At int
	// Before is up to one word of the value just before Char, to say where
	// an invisible character is. It is personal data: it is never part of
	// Problem, is not encoded to JSON, and is shown only to whoever typed
	// the value.
	Before string
	// Marks is how many marks Char carries, for CharTooManyMarks.
	Marks int
	// Script is the name of Char's script, for CharNotCovered.
	Script string
	// Others is how many more characters of the value break a rule.
	Others int
}

// joiningScripts are the scripts whose spelling needs a zero-width joiner
// or non-joiner between letters: Persian "می‌خواهم", Sinhala "ප්‍ර", Indic
// half forms. Anywhere else the joiners only hide.
var joiningScripts = []*unicode.RangeTable{
	unicode.Arabic, unicode.Syriac, unicode.Nko, unicode.Mongolian,
	unicode.Devanagari, unicode.Bengali, unicode.Gurmukhi, unicode.Gujarati,
	unicode.Oriya, unicode.Tamil, unicode.Telugu, unicode.Kannada,
	unicode.Malayalam, unicode.Sinhala, unicode.Khmer, unicode.Myanmar,
}

const (
	zwnj = '\u200C'
	zwj  = '\u200D'
)

// checkCharacters applies the character rules to s and returns the first
// problem, counting the other characters that break a rule, and whether
// there is one. A value with no letter at all (only marks, or only
// invisible characters) is one problem.
func checkCharacters(s string) (CharProblem, bool) {
	if !utf8.ValidString(s) {
		return CharProblem{Rule: CharInvalidUTF8}, true
	}
	rs := []rune(s)
	mixed := mixesDirections(rs)
	kinds := make([]CharRule, len(rs))
	hasLetter := false
	for i, r := range rs {
		kinds[i] = characterRule(rs, i, mixed)
		if kinds[i] == NoCharRule && !isMark(r) && !isJoiner(r) && !unicode.IsSpace(r) {
			hasLetter = true
		}
	}
	if !hasLetter {
		if p, ok := nothingToPrint(rs, kinds); ok {
			return p, true
		}
	}
	var first CharProblem
	found := false
	add := func(p CharProblem) {
		if !found {
			first, found = p, true
			return
		}
		first.Others++
	}
	marks := 0 // non-spacing marks on the current letter
	for i, r := range rs {
		if k := kinds[i]; k != NoCharRule {
			add(CharProblem{Rule: k, Char: r, At: i + 1, Before: wordBefore(rs, i)})
			continue
		}
		switch {
		case isJoiner(r):
			// A joiner between letters leaves the letter's marks alone.
		case isMark(r):
			base := baseBefore(rs, i)
			if base < 0 || unicode.IsSpace(rs[base]) {
				add(CharProblem{Rule: CharMarkNoBase, Char: r, At: i + 1, Before: wordBefore(rs, i)})
				continue
			}
			if !unicode.In(r, unicode.Mn, unicode.Me) {
				continue // a spacing mark sits beside its letter
			}
			marks++
			if marks == MaxMarksPerLetter+1 {
				add(CharProblem{Rule: CharTooManyMarks, Char: rs[base], At: base + 1, Marks: countMarks(rs, base)})
			}
		default:
			marks = 0
		}
	}
	return first, found
}

// nothingToPrint describes a value with no letter in it when it is only
// marks (with invisible characters or not), or only invisible characters.
// Any other value without letters, an emoji say, is described character
// by character.
func nothingToPrint(rs []rune, kinds []CharRule) (CharProblem, bool) {
	for i, r := range rs {
		if isMark(r) && kinds[i] == NoCharRule {
			return CharProblem{Rule: CharOnlyMarks, Char: r, At: i + 1}, true
		}
	}
	first := -1
	for i, r := range rs {
		switch {
		case kinds[i] == CharInvisible || kinds[i] == CharTag || isJoiner(r):
			if first < 0 {
				first = i
			}
		case !unicode.IsSpace(r):
			return CharProblem{}, false
		}
	}
	if first < 0 {
		return CharProblem{}, false
	}
	return CharProblem{Rule: CharOnlyInvisible, Char: rs[first], At: first + 1}, true
}

// characterRule returns the rule the character at rs[i] breaks on its own
// or in its place, or NoCharRule.
func characterRule(rs []rune, i int, mixed bool) CharRule {
	r := rs[i]
	if r < utf8.RuneSelf {
		// Most names are mostly ASCII: only its controls break a rule.
		if r < 0x20 || r == 0x7F {
			return CharControl
		}
		return NoCharRule
	}
	switch {
	case r == utf8.RuneError:
		return CharReplacement
	case unicode.Is(unicode.Cc, r):
		return CharControl
	case 0xE0000 <= r && r <= 0xE007F:
		return CharTag
	case isJoiner(r):
		if joinsLetters(rs, i) {
			return NoCharRule
		}
		return CharInvisible
	case isDirectionMark(r):
		// Left-to-right, right-to-left and Arabic letter marks settle
		// the order of digits and punctuation between scripts of
		// different directions; in any other value they only hide.
		if mixed {
			return NoCharRule
		}
		return CharInvisible
	case unicode.Is(unicode.Cf, r), unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r),
		unicode.Is(unicode.Variation_Selector, r):
		// Bidirectional embeddings, overrides and isolates are Cf: the
		// renderer sets each value's direction itself, and they could
		// make text read in an order other than the one stored. The
		// Hangul fillers (U+115F, U+1160, U+3164, U+FFA0) are default
		// ignorable though they are letters.
		return CharInvisible
	case unicode.Is(unicode.Co, r):
		return CharPrivateUse
	case unicode.Is(unicode.Cs, r):
		return CharSurrogate
	case !isAssigned(r):
		return CharUnassigned
	case unicode.Is(unicode.So, r):
		return CharSymbol
	}
	return NoCharRule
}

// isAssigned reports whether r has a meaning in the Unicode version Go
// knows. Go has no table of unassigned code points (its unicode.C includes
// them), so this tests every assigned category.
func isAssigned(r rune) bool {
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z,
		unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs)
}

// isDirectionMark reports the left-to-right, right-to-left and Arabic
// letter marks.
func isDirectionMark(r rune) bool { return r == '\u200E' || r == '\u200F' || r == '\u061C' }

func isMark(r rune) bool   { return unicode.Is(unicode.M, r) }
func isJoiner(r rune) bool { return r == zwj || r == zwnj }

// joinsLetters reports whether the joiner at rs[i] stands between two
// letters of one script that uses joiners (marks after the first letter,
// such as a virama, belong to it).
func joinsLetters(rs []rune, i int) bool {
	before := baseBefore(rs, i)
	if before < 0 || i+1 >= len(rs) || !unicode.IsLetter(rs[before]) || !unicode.IsLetter(rs[i+1]) {
		return false
	}
	for _, script := range joiningScripts {
		if unicode.Is(script, rs[before]) && unicode.Is(script, rs[i+1]) {
			return true
		}
	}
	return false
}

// baseBefore returns the index of the character a mark or joiner at rs[i]
// belongs to: the nearest one before it that is neither a mark nor a
// joiner. It returns -1 at the start of the value.
func baseBefore(rs []rune, i int) int {
	for j := i - 1; j >= 0; j-- {
		if !isMark(rs[j]) && !isJoiner(rs[j]) {
			return j
		}
	}
	return -1
}

// countMarks counts the non-spacing marks on the letter at rs[base].
func countMarks(rs []rune, base int) int {
	n := 0
	for _, r := range rs[base+1:] {
		switch {
		case unicode.In(r, unicode.Mn, unicode.Me):
			n++
		case isMark(r), isJoiner(r):
		default:
			return n
		}
	}
	return n
}

// maxBefore bounds CharProblem.Before, in characters.
const maxBefore = 20

// wordBefore returns the word just before rs[i], without the spaces
// between, or "" at the start of the value.
func wordBefore(rs []rune, i int) string {
	end := i
	for end > 0 && unicode.IsSpace(rs[end-1]) {
		end--
	}
	start := end
	for start > 0 && !unicode.IsSpace(rs[start-1]) && end-start < maxBefore {
		start--
	}
	return string(rs[start:end])
}

// mixesDirections reports whether rs has right-to-left letters and also
// left-to-right letters or digits: the values where a direction mark can
// be needed.
func mixesDirections(rs []rune) bool {
	var rtl, other bool
	for _, r := range rs {
		switch {
		case r < utf8.RuneSelf:
			other = other || '0' <= r && r <= '9' || 'A' <= r && r <= 'Z' || 'a' <= r && r <= 'z'
			continue
		case isDirectionMark(r):
			continue // a right-to-left mark is itself right-to-left
		}
		p, _ := bidi.LookupRune(r)
		switch p.Class() {
		case bidi.R, bidi.AL:
			rtl = true
		case bidi.L, bidi.EN, bidi.AN:
			other = true
		}
	}
	return rtl && other
}
