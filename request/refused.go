package request

import "unicode/utf8"

// Refused is the problem with value, of field, when a character beyond
// ASCII in it breaks a character rule (an invisible character, a stray
// joiner): the first such character, worded as NotCovered words it. ok
// is false when there is none. Layout asks this of every value it sets,
// since a typeface may draw a character the rules refuse; it costs one
// pass over the value, where asking NotCovered of each character costs a
// pass and a look through every script for each.
func Refused(field, value string) (e FieldError, ok bool) {
	rs := []rune(value)
	mixed, known := false, false
	for i, r := range rs {
		if r < utf8.RuneSelf {
			continue
		}
		if !known {
			mixed, known = mixesDirections(rs), true
		}
		if k := characterRule(rs, i, mixed); k != NoCharRule {
			return charError(field, CharProblem{Rule: k, Char: r, At: i + 1, Before: wordBefore(rs, i)}), true
		}
	}
	return FieldError{}, false
}
