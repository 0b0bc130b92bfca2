package request

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func TestCharacterRules(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		rule    CharRule // NoCharRule: the value is fine
		char    rune
		at      int
		before  string
		problem string // the caseworker's words, when given
		parent  string // the parent's words, when given
	}{
		{"a name", "Robin", NoCharRule, 0, 0, "", "", ""},
		{"only a combining mark", "\u0301", CharOnlyMarks, '\u0301', 1, "", "is only combining marks (the first is U+0301 COMBINING ACUTE ACCENT), with no letter for them to sit on",
			"is only the mark “◌́”, with no letter under it – type the letter it belongs on, or remove the mark"},
		{"only marks and a joiner", "\u0301\u200d\u0300", CharOnlyMarks, '\u0301', 1, "", "", ""},
		{"leading mark", "\u0301Robin", CharMarkNoBase, '\u0301', 1, "", "has a combining mark (U+0301 COMBINING ACUTE ACCENT) at character 1 with no letter before it to sit on",
			"starts with the mark “◌́”, which has no letter under it – remove it, or type it straight after its letter"},
		{"mark after a space", "Kim \u0301Lee", CharMarkNoBase, '\u0301', 5, "Kim", "",
			"has the mark “◌́” on its own after “Kim”, with no letter under it – remove it, or type it straight after its letter"},
		{"four marks on one letter", "Ko\u0301\u0302\u0303\u0304", NoCharRule, 0, 0, "", "", ""},
		{"five marks on one letter", "Ko\u0301\u0302\u0303\u0304\u0305x", CharTooManyMarks, 'o', 2, "",
			"has 5 combining marks on the letter at character 2, and at most 4 fit on one letter",
			"has too many marks on one letter (“o” has 5, and a letter can carry 4) – remove the extra marks"},
		{"marks on different letters are counted apart", "o\u0301\u0302\u0303o\u0301\u0302\u0303", NoCharRule, 0, 0, "", "", ""},
		{"spacing marks are not stacked", "क\u093F\u093F\u093F\u093F\u093F", NoCharRule, 0, 0, "", "", ""},
		{"Igbo i with dot below and tone", "Chị\u0301ọ\u0301ma", NoCharRule, 0, 0, "", "", ""},
		{"combining grapheme joiner", "Chị\u034F\u0301", CharInvisible, '\u034F', 4, "Chị",
			"contains an invisible character (U+034F COMBINING GRAPHEME JOINER) at character 4, which cannot be printed",
			"has an invisible character after “Chị” that cannot be printed – please type it again rather than pasting it"},
		{"Hangul filler between letters", "김\u3164민지", CharInvisible, '\u3164', 2, "김",
			"contains an invisible character (U+3164 HANGUL FILLER) at character 2, which cannot be printed",
			"has an invisible character after “김” that cannot be printed – please type it again rather than pasting it"},
		{"only a Hangul filler", "\u3164", CharOnlyInvisible, '\u3164', 1, "",
			"is only invisible characters (the first is U+3164 HANGUL FILLER), which cannot be printed",
			"has only invisible characters in it – please type it again rather than pasting it"},
		{"choseong filler", "Kim\u115F", CharInvisible, '\u115F', 4, "Kim", "", ""},
		{"jungseong filler", "Kim\u1160", CharInvisible, '\u1160', 4, "Kim", "", ""},
		{"halfwidth filler", "Kim\uFFA0", CharInvisible, '\uFFA0', 4, "Kim", "", ""},
		{"tag character", "Robin\U000E0041", CharTag, '\U000E0041', 6, "Robin",
			"contains an invisible tag character (U+E0041 TAG LATIN CAPITAL LETTER A) at character 6, which cannot be printed", ""},
		{"soft hyphen", "Rob\u00ADin", CharInvisible, '\u00AD', 4, "Rob", "", ""},
		{"variation selector", "Robin\uFE0F", CharInvisible, '\uFE0F', 6, "Robin", "", ""},
		{"right-to-left override", "Robin \u202Enibor", CharInvisible, '\u202E', 7, "Robin", "", ""},
		{"isolate", "\u2068عائشہ\u2069", CharInvisible, '\u2068', 1, "", "", ""},
		{"right-to-left mark in Latin text", "Robin\u200F", CharInvisible, '\u200F', 6, "Robin", "", ""},
		{"right-to-left mark between directions", "Aisha \u200Fعائشہ", NoCharRule, 0, 0, "", "", ""},
		{"Arabic letter mark before digits", "مريم\u061C 2", NoCharRule, 0, 0, "", "", ""},
		{"non-joiner inside a Persian name", "علی\u200cرضا", NoCharRule, 0, 0, "", "", ""},
		{"non-joiner after an Arabic vowel mark", "عَلِی\u200cرضا", NoCharRule, 0, 0, "", "", ""},
		{"joiner in a Sinhala conjunct", "ප්\u200dරියන්ත", NoCharRule, 0, 0, "", "", ""},
		{"non-joiner in Telugu", "బర్మింగ్\u200cహామ్", NoCharRule, 0, 0, "", "", ""},
		{"non-joiner in Latin", "Ro\u200cbin", CharInvisible, '\u200c', 3, "Ro", "", ""},
		{"joiner at the end", "ප්\u200d", CharInvisible, '\u200d', 3, "ප්", "", ""},
		{"joiner between scripts", "علی\u200dRobin", CharInvisible, '\u200d', 4, "علی", "", ""},
		{"private use", "Robin\uE000", CharPrivateUse, '\uE000', 6, "Robin", "",
			"has a character after “Robin” that cannot be printed – please remove it, or type it again"},
		{"emoji", "Robin 🌈", CharSymbol, '🌈', 7, "Robin", `contains "🌈" (U+1F308 RAINBOW), which cannot be printed`,
			"has “🌈”, which cannot be printed on the certificate – remove the “🌈”"},
		{"only an emoji is about the emoji", "🌈", CharSymbol, '🌈', 1, "", "", ""},
		{"control character", "Kent\u0007", CharControl, '\u0007', 5, "Kent", "", ""},
		{"before is one word, at most 20 characters", strings.Repeat("a", 30) + "\u200b", CharInvisible, '\u200b', 31, strings.Repeat("a", 20), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, bad := checkCharacters(tt.value)
			if tt.rule == NoCharRule {
				if bad {
					t.Fatalf("refused: %+v", p)
				}
				return
			}
			if !bad || p.Rule != tt.rule || p.Char != tt.char || p.At != tt.at || p.Before != tt.before {
				t.Fatalf("got %v %+v, want rule %d char %U at %d before %q", bad, p, tt.rule, tt.char, tt.at, tt.before)
			}
			e := charError("babyName", p)
			if tt.problem != "" && e.Problem != tt.problem {
				t.Errorf("problem\n got %s\nwant %s", e.Problem, tt.problem)
			}
			if tt.parent != "" && e.ForParent() != tt.parent {
				t.Errorf("for the parent\n got %s\nwant %s", e.ForParent(), tt.parent)
			}
			checkWording(t, tt.value, e)
		})
	}
}

// checkWording checks the promises of the two wordings: the caseworker's
// never quotes the text around the character, the parent's never shows a
// code point or Quire's name.
func checkWording(t *testing.T, value string, e FieldError) {
	t.Helper()
	for _, w := range strings.Fields(value) {
		if utf8.RuneCountInString(w) > 1 && strings.Contains(e.Problem, w) {
			t.Errorf("the problem %q repeats %q from the value", e.Problem, w)
		}
	}
	parent := e.ForParent()
	if strings.Contains(parent, "U+") || strings.Contains(parent, "Quire") {
		t.Errorf("the parent's words %q name a code point or Quire", parent)
	}
}

func TestEveryCharRuleHasWords(t *testing.T) {
	for rule := CharInvalidUTF8; rule <= CharNotCovered; rule++ {
		w, ok := charWords[rule]
		if !ok || w.caseworker == nil || w.parent == nil {
			t.Errorf("rule %d has no wording", rule)
			continue
		}
		p := CharProblem{Rule: rule, Char: 'x', At: 1, Marks: 5, Script: "Han"}
		if w.parent(p) == "" || w.caseworker(p) == "" {
			t.Errorf("rule %d words nothing", rule)
		}
		checkWording(t, "", FieldError{Problem: w.caseworker(p), Char: p})
	}
}

func TestEveryCharRuleHasWelshWords(t *testing.T) {
	for rule := CharInvalidUTF8; rule <= CharNotCovered; rule++ {
		e := FieldError{Problem: "x", Char: CharProblem{Rule: rule, Char: 'x', At: 1, Marks: 5, Script: "Han", Others: 2}}
		cy := e.ForParentIn("cy")
		if _, ok := welshParentWords[rule]; !ok || cy == e.ForParent() || strings.Contains(cy, "U+") || strings.Contains(cy, "Quire") {
			t.Errorf("rule %d in Welsh: %q", rule, cy)
		}
	}
	if e := (FieldError{Problem: "is too long"}); e.ForParentIn("cy") != "is too long" {
		t.Error("a problem with no character is translated here")
	}
}

func TestOthersAreCountedForBothReaders(t *testing.T) {
	p, _ := checkCharacters("😀 Robin 🌈\u200b")
	e := charError("babyName", p)
	const more = " (and 2 more characters that cannot be printed)"
	if !strings.HasSuffix(e.Problem, more) || !strings.HasSuffix(e.ForParent(), more) {
		t.Errorf("got %q and %q, want both to end %q", e.Problem, e.ForParent(), more)
	}
}

func TestNotCoveredNamesTheScript(t *testing.T) {
	e := NotCovered("babyName", "李美玲", '美')
	if want := `contains "美" (U+7F8E), which cannot be printed: Quire cannot print the Han script yet`; e.Problem != want {
		t.Errorf("problem %q, want %q", e.Problem, want)
	}
	if want := "has “美”, from the Han script, which certificates cannot show yet – you could write it in English letters instead"; e.ForParent() != want {
		t.Errorf("for the parent %q, want %q", e.ForParent(), want)
	}
	if e := NotCovered("babyName", "Robin ⁂", '⁂'); !strings.Contains(e.Problem, "typefaces do not have it") || strings.Contains(e.ForParent(), "script") {
		t.Errorf("a character of no one script: %q / %q", e.Problem, e.ForParent())
	}
}

// TestNotCoveredSaysWhereAnInvisibleCharacterIs: layout asked about a
// value no one validated blames an invisible character on its being
// invisible, not on the typefaces, and says where it is.
func TestNotCoveredSaysWhereAnInvisibleCharacterIs(t *testing.T) {
	e := NotCovered("babyName", "김\u3164민지", '\u3164')
	if e.Char.Rule != CharInvisible || !strings.Contains(e.Problem, "HANGUL FILLER") ||
		e.ForParent() != "has an invisible character after “김” that cannot be printed – please type it again rather than pasting it" {
		t.Errorf("got %q / %q", e.Problem, e.ForParent())
	}
}

// TestRefusedFindsWhatNotCoveredWouldSay: Refused, layout's one pass over
// a value, words a refused character as NotCovered does, and passes every
// name and place of the corpus.
func TestRefusedFindsWhatNotCoveredWouldSay(t *testing.T) {
	for _, v := range []string{"김\u3164민지", "Ada\u200B Lovelace", "Noor \u202Eabc"} {
		e, bad := Refused("babyName", v)
		if !bad {
			t.Errorf("%+q: not refused", v)
			continue
		}
		want := NotCovered("babyName", v, e.Char.Char)
		if e.Problem != want.Problem || e.ForParent() != want.ForParent() || e.Char.Rule == CharNotCovered {
			t.Errorf("%+q: got %q, want %q", v, e.Problem, want.Problem)
		}
	}
	for _, c := range readCorpus(t) {
		if e, bad := Refused(c.Field, c.Value); bad {
			t.Errorf("%+q: refused: %v", c.Value, e)
		}
	}
}

func TestProblemsWithoutCharactersReadTheSameForParents(t *testing.T) {
	e := FieldError{Field: "babyName", Problem: "is too long"}
	if e.ForParent() != e.Problem {
		t.Errorf("got %q", e.ForParent())
	}
}

// corpusEntry is one entry of testdata/names/corpus.json.
type corpusEntry struct {
	Script, Language, Field, Value string
}

func readCorpus(t testing.TB) []corpusEntry {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "names", "corpus.json"))
	if err != nil {
		t.Fatal(err)
	}
	var entries []corpusEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		t.Fatal(err)
	}
	return entries
}

// TestCorpusIsAccepted checks that every name and place in the corpus, in
// every script, passes validation in its field, and that the corpus keeps
// the promises its README makes.
func TestCorpusIsAccepted(t *testing.T) {
	entries := readCorpus(t)
	scripts := map[string]bool{}
	mostMarks := 0
	for _, e := range entries {
		for _, s := range strings.Split(e.Script, "+") {
			scripts[s] = true
		}
		if !norm.NFC.IsNormalString(e.Value) || cleanText(e.Value) != e.Value {
			t.Errorf("%s %q is not in the form Decode keeps", e.Script, e.Value)
		}
		c := validEnvelope().Certificates[0]
		switch e.Field {
		case "parentName":
			c.ParentName, c.OtherParentName = e.Value, e.Value
		case "babyName":
			c.BabyName = e.Value
		case "placeOfLoss":
			c.PlaceOfLoss = e.Value
		default:
			t.Errorf("%q: unknown field %q", e.Value, e.Field)
		}
		if errs := ValidateCertificate(&c, "", CertificateOptions{}); errs != nil {
			t.Errorf("%s %q refused: %v", e.Script, e.Value, errs)
		}
		mostMarks = max(mostMarks, marksPerLetter(e.Value))
	}
	if len(entries) < 300 || len(scripts) < 15 {
		t.Errorf("the corpus has %d entries in %d scripts, want at least 300 in 15", len(entries), len(scripts))
	}
	// MaxMarksPerLetter leaves room for one mark more than any name uses.
	if mostMarks >= MaxMarksPerLetter {
		t.Errorf("a corpus name has %d marks on one letter; MaxMarksPerLetter is %d", mostMarks, MaxMarksPerLetter)
	}
}

// marksPerLetter is the most non-spacing marks on one letter of s.
func marksPerLetter(s string) int {
	most, n := 0, 0
	for _, r := range s {
		switch {
		case unicode.In(r, unicode.Mn, unicode.Me):
			n++
			most = max(most, n)
		case isMark(r), isJoiner(r):
		default:
			n = 0
		}
	}
	return most
}

// FuzzCharacterRules checks that the rules never panic, that a problem
// points inside the value, and that the parent's words never show a code
// point or Quire's name, whatever the text.
func FuzzCharacterRules(f *testing.F) {
	for _, s := range []string{"Robin", "\u0301", "Kim \u0301Lee", "김\u3164민지", "علی\u200cرضا", "ප්\u200dර",
		"Ko\u0301\u0302\u0303\u0304\u0305", "Aisha \u200fعائشہ", "\U000E0041", "Rob\xffn", "😀 Robin 🌈\u200b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, bad := checkCharacters(s)
		if !bad {
			return
		}
		if p.Rule != CharInvalidUTF8 && (p.At < 1 || p.At > utf8.RuneCountInString(s)) {
			t.Fatalf("%+q: problem at %d of %d characters", s, p.At, utf8.RuneCountInString(s))
		}
		e := charError("babyName", p)
		if e.Problem == "" || strings.Contains(e.ForParent(), "U+") || strings.Contains(e.ForParent(), "Quire") {
			t.Fatalf("%+q: words %q / %q", s, e.Problem, e.ForParent())
		}
	})
}

// BenchmarkCharacterRules measures the character rules over every name
// and place in the corpus, per value.
func BenchmarkCharacterRules(b *testing.B) {
	entries := readCorpus(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, bad := checkCharacters(entries[i%len(entries)].Value); bad {
			b.Fatal("refused")
		}
		i++
	}
}
