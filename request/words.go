package request

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/runenames"
)

// charWording is how one character rule is worded, as a phrase that
// follows the field's name ("certificates[0].babyName contains …", "Name
// of baby has …").
type charWording struct {
	// caseworker words FieldError.Problem: it may name code points, and
	// never quotes the text around the character, so it can leave the
	// process.
	caseworker func(p CharProblem) string
	// parent words FieldError.ForParent, for the parent who typed the
	// value: it names the character as they see it, or where an invisible
	// one is, and what to do; never a code point or Quire's name.
	parent func(p CharProblem) string
}

// charWords is every character rule's wording in English. A translation
// is a second table like this one.
var charWords = map[CharRule]charWording{
	CharInvalidUTF8: {
		caseworker: func(CharProblem) string { return "is not valid UTF-8 text" },
		parent:     func(CharProblem) string { return "could not be read – please type it again" },
	},
	CharOnlyMarks: {
		caseworker: func(p CharProblem) string {
			return fmt.Sprintf("is only combining marks (the first is %s), with no letter for them to sit on", codePoint(p.Char))
		},
		parent: func(p CharProblem) string {
			return fmt.Sprintf("is only the mark %s, with no letter under it – type the letter it belongs on, or remove the mark", shown(p.Char))
		},
	},
	CharOnlyInvisible: {
		caseworker: func(p CharProblem) string {
			return fmt.Sprintf("is only invisible characters (the first is %s), which cannot be printed", codePoint(p.Char))
		},
		parent: func(CharProblem) string {
			return "has only invisible characters in it – please type it again rather than pasting it"
		},
	},
	CharReplacement: {
		caseworker: func(p CharProblem) string {
			return fmt.Sprintf("contains a replacement character (%U) at character %d, which cannot be printed; it usually means the text was damaged before it reached Quire", p.Char, p.At)
		},
		parent: func(p CharProblem) string {
			return fmt.Sprintf("has %s, which usually means the text was damaged when it was copied – please type it again", shown(p.Char))
		},
	},
	CharControl:    invisibleWording("an invisible control character"),
	CharTag:        invisibleWording("an invisible tag character"),
	CharInvisible:  invisibleWording("an invisible character"),
	CharPrivateUse: unknownWording("a private-use character"),
	CharSurrogate:  unknownWording("a surrogate code point"),
	CharUnassigned: unknownWording("a character not yet in Unicode"),
	CharSymbol: {
		caseworker: func(p CharProblem) string {
			return fmt.Sprintf("contains %q (%s), which cannot be printed", string(p.Char), codePoint(p.Char))
		},
		parent: func(p CharProblem) string {
			return fmt.Sprintf("has %s, which cannot be printed on the certificate – remove the %s", shown(p.Char), shown(p.Char))
		},
	},
	CharMarkNoBase: {
		caseworker: func(p CharProblem) string {
			return fmt.Sprintf("has a combining mark (%s) at character %d with no letter before it to sit on", codePoint(p.Char), p.At)
		},
		parent: func(p CharProblem) string {
			if p.Before == "" {
				return fmt.Sprintf("starts with the mark %s, which has no letter under it – remove it, or type it straight after its letter", shown(p.Char))
			}
			return fmt.Sprintf("has the mark %s on its own after “%s”, with no letter under it – remove it, or type it straight after its letter", shown(p.Char), p.Before)
		},
	},
	CharTooManyMarks: {
		caseworker: func(p CharProblem) string {
			return fmt.Sprintf("has %d combining marks on the letter at character %d, and at most %d fit on one letter", p.Marks, p.At, MaxMarksPerLetter)
		},
		parent: func(p CharProblem) string {
			return fmt.Sprintf("has too many marks on one letter (%s has %d, and a letter can carry %d) – remove the extra marks", shown(p.Char), p.Marks, MaxMarksPerLetter)
		},
	},
	CharNotCovered: {
		caseworker: func(p CharProblem) string {
			if p.Script == "" {
				return fmt.Sprintf("contains %q (%U), which cannot be printed: Quire's typefaces do not have it", string(p.Char), p.Char)
			}
			return fmt.Sprintf("contains %q (%U), which cannot be printed: Quire cannot print the %s script yet", string(p.Char), p.Char, p.Script)
		},
		parent: func(p CharProblem) string {
			if p.Script == "" {
				return fmt.Sprintf("has %s, which cannot be printed on the certificate – remove the %s", shown(p.Char), shown(p.Char))
			}
			return fmt.Sprintf("has %s, from the %s script, which certificates cannot show yet – you could write it in English letters instead", shown(p.Char), p.Script)
		},
	},
}

// invisibleWording words a rule about characters that cannot be seen, so
// quoting one would show nothing: the caseworker gets its code point and
// position, the parent the word it follows.
func invisibleWording(what string) charWording {
	return charWording{
		caseworker: func(p CharProblem) string {
			return fmt.Sprintf("contains %s (%s) at character %d, which cannot be printed", what, codePoint(p.Char), p.At)
		},
		parent: func(p CharProblem) string {
			return fmt.Sprintf("has an invisible character %s that cannot be printed – please type it again rather than pasting it", where(p))
		},
	}
}

// unknownWording words a rule about characters with no agreed shape,
// which may show as anything or nothing on the parent's screen.
func unknownWording(what string) charWording {
	return charWording{
		caseworker: func(p CharProblem) string {
			return fmt.Sprintf("contains %s (%U) at character %d, which cannot be printed", what, p.Char, p.At)
		},
		parent: func(p CharProblem) string {
			return fmt.Sprintf("has a character %s that cannot be printed – please remove it, or type it again", where(p))
		},
	}
}

// where says where a character is, for the parent: after the word before
// it, or at the start.
func where(p CharProblem) string {
	if p.Before == "" {
		return "at the start"
	}
	return "after “" + p.Before + "”"
}

// shown quotes a character as a parent sees it; a combining mark is shown
// on a dotted circle, as Unicode's charts show marks, so that it does not
// sit on the quotation mark.
func shown(r rune) string {
	if unicode.Is(unicode.M, r) {
		return "“\u25CC" + string(r) + "”"
	}
	return "“" + string(r) + "”"
}

// codePoint names a character for caseworkers: "U+3164 HANGUL FILLER",
// or the code point alone when Unicode gives no name.
func codePoint(r rune) string {
	name := runenames.Name(r)
	if name == "" || strings.HasPrefix(name, "<") || strings.Contains(name, fmt.Sprintf("%04X", r)) {
		return fmt.Sprintf("%U", r)
	}
	return fmt.Sprintf("%U %s", r, name)
}

// charError is the field error for a character problem.
func charError(field string, p CharProblem) FieldError {
	return FieldError{Field: field, Problem: charWords[p.Rule].caseworker(p) + othersNote(p.Others), Char: p}
}

func othersNote(n int) string {
	switch n {
	case 0:
		return ""
	case 1:
		return " (and 1 more character that cannot be printed)"
	}
	return fmt.Sprintf(" (and %d more characters that cannot be printed)", n)
}

// ForParentIn returns ForParent's words in language lang ("en" or "cy");
// other languages get English.
func (e FieldError) ForParentIn(lang string) string {
	words, ok := welshParentWords[e.Char.Rule]
	if lang != "cy" || !ok {
		return e.ForParent()
	}
	return words(e.Char) + welshOthersNote(e.Char.Others)
}

// welshParentWords is charWords' parent wording in Welsh, for review by a
// Welsh-language translator.
var welshParentWords = map[CharRule]func(p CharProblem) string{
	CharInvalidUTF8: func(CharProblem) string { return "nid oedd modd ei ddarllen – teipiwch ef eto" },
	CharOnlyMarks: func(p CharProblem) string {
		return fmt.Sprintf("dim ond y marc %s sydd ynddo, heb lythyren oddi tano – teipiwch y llythyren y mae’n perthyn iddi, neu tynnwch y marc", shown(p.Char))
	},
	CharOnlyInvisible: func(CharProblem) string {
		return "dim ond nodau anweledig sydd ynddo – teipiwch ef eto yn lle ei ludo"
	},
	CharReplacement: func(p CharProblem) string {
		return fmt.Sprintf("mae %s ynddo, sydd fel arfer yn golygu bod y testun wedi’i ddifrodi wrth ei gopïo – teipiwch ef eto", shown(p.Char))
	},
	CharControl:    welshInvisible,
	CharTag:        welshInvisible,
	CharInvisible:  welshInvisible,
	CharPrivateUse: welshUnknown,
	CharSurrogate:  welshUnknown,
	CharUnassigned: welshUnknown,
	CharSymbol:     welshSymbol,
	CharMarkNoBase: func(p CharProblem) string {
		if p.Before == "" {
			return fmt.Sprintf("mae’n dechrau gyda’r marc %s, heb lythyren oddi tano – tynnwch ef, neu teipiwch ef yn syth ar ôl ei lythyren", shown(p.Char))
		}
		return fmt.Sprintf("mae’r marc %s ar ei ben ei hun ar ôl “%s”, heb lythyren oddi tano – tynnwch ef, neu teipiwch ef yn syth ar ôl ei lythyren", shown(p.Char), p.Before)
	},
	CharTooManyMarks: func(p CharProblem) string {
		return fmt.Sprintf("mae gormod o farciau ar un llythyren (mae gan %s %d, a gall llythyren gario %d) – tynnwch y marciau ychwanegol", shown(p.Char), p.Marks, MaxMarksPerLetter)
	},
	CharNotCovered: func(p CharProblem) string {
		if p.Script == "" {
			return welshSymbol(p)
		}
		return fmt.Sprintf("mae %s ynddo, o’r sgript %s, na all tystysgrifau ei dangos eto – gallech ei ysgrifennu mewn llythrennau Saesneg yn lle hynny", shown(p.Char), p.Script)
	},
}

func welshInvisible(p CharProblem) string {
	where := "ar y dechrau"
	if p.Before != "" {
		where = "ar ôl “" + p.Before + "”"
	}
	return "mae nod anweledig " + where + " na ellir ei argraffu – teipiwch ef eto yn lle ei ludo"
}

func welshUnknown(p CharProblem) string {
	where := "ar y dechrau"
	if p.Before != "" {
		where = "ar ôl “" + p.Before + "”"
	}
	return "mae nod " + where + " na ellir ei argraffu – tynnwch ef, neu teipiwch ef eto"
}

func welshSymbol(p CharProblem) string {
	return fmt.Sprintf("mae %s ynddo, na ellir ei argraffu ar y dystysgrif – tynnwch y %s", shown(p.Char), shown(p.Char))
}

func welshOthersNote(n int) string {
	switch n {
	case 0:
		return ""
	case 1:
		return " (ac 1 nod arall na ellir ei argraffu)"
	}
	return fmt.Sprintf(" (a %d nod arall na ellir eu hargraffu)", n)
}

// ForParent returns the problem worded for the parent who typed the
// value, to follow the field's label on the preview page. For a character
// problem it names the character, or where an invisible one is, and what
// to do; any other problem reads the same for everyone.
func (e FieldError) ForParent() string {
	w, ok := charWords[e.Char.Rule]
	if !ok {
		return e.Problem
	}
	return w.parent(e.Char) + othersNote(e.Char.Others)
}

// NotCovered is the problem with value, of field, holding r, a character
// that none of the renderer's typefaces can draw. It names the
// character's script, so that a family reads that the script cannot be
// printed yet, not that something is wrong with their name. A character
// that breaks a character rule of its own (an invisible one, which no
// typeface should draw, reaching layout unvalidated) is worded by that
// rule instead, saying where it is rather than quoting nothing.
func NotCovered(field, value string, r rune) FieldError {
	rs := []rune(value)
	at := slices.Index(rs, r)
	if at < 0 {
		return charError(field, CharProblem{Rule: CharNotCovered, Char: r, Script: scriptOf(r)})
	}
	if k := characterRule(rs, at, mixesDirections(rs)); k != NoCharRule {
		return charError(field, CharProblem{Rule: k, Char: r, At: at + 1, Before: wordBefore(rs, at)})
	}
	return charError(field, CharProblem{Rule: CharNotCovered, Char: r, At: at + 1, Script: scriptOf(r)})
}

// scriptOf returns the name of r's Unicode script, or "" for characters
// shared by many scripts (punctuation, symbols, combining marks).
func scriptOf(r rune) string {
	for name, table := range unicode.Scripts {
		if name != "Common" && name != "Inherited" && unicode.Is(table, r) {
			return strings.ReplaceAll(name, "_", " ")
		}
	}
	return ""
}
