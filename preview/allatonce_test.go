package preview

import (
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// everyKindOfProblem is a certificate with a problem of each kind in a
// different box: a request rule (sex), a character rule (an invisible
// Hangul filler), a script no typeface covers (Linear B, which Quire has
// no face for) and a value too long for its box (one unbreakable word).
var everyKindOfProblem = map[string]string{
	"parentName":      "Jo 𐀀𐀁",
	"otherParentName": "Kim\u3164Lee",
	"babyName":        strings.Repeat("WWWWWWWWW ", 10)[:99],
	"sex":             "girl",
	"placeOfLoss":     "\u0301Ludlow",
}

// TestAPIReportsEveryProblemAtOnce: a preview with a bad sex and a name
// that cannot be printed reports both, and every other, in one answer.
func TestAPIReportsEveryProblemAtOnce(t *testing.T) {
	s := newTestServer(t, Options{})
	body := `{"parentName":"Jo 𐀀𐀁","otherParentName":"Kim\u3164Lee","babyName":"` + everyKindOfProblem["babyName"] +
		`","sex":"girl","placeOfLoss":"\u0301Ludlow"}`
	p := wantProblem(t, s.postJSON("/api/v1/preview/certificate.json", body), problemInvalid)
	want := map[string]string{
		"parentName":      `contains "𐀀" (U+10000), which cannot be printed: Quire cannot print the Linear B script yet`,
		"otherParentName": "contains an invisible character (U+3164 HANGUL FILLER) at character 4, which cannot be printed",
		"babyName":        "is too long",
		"sex":             "must be",
		"placeOfLoss":     "has a combining mark (U+0301 COMBINING ACUTE ACCENT) at character 1 with no letter before it to sit on",
	}
	for _, e := range p.Errors {
		if w, ok := want[e.Field]; ok && strings.HasPrefix(e.Problem, w) {
			delete(want, e.Field)
		}
	}
	if len(want) > 0 || len(p.Errors) != 5 {
		t.Errorf("missing %v in %d problems:\n%v", want, len(p.Errors), p.Errors)
	}
	if p.Detail != "There are 5 problems with the details sent." {
		t.Errorf("detail %q", p.Detail)
	}
	// Nothing is laid out twice to find them: the decoding did it.
	if n := s.r.layouts.Load(); n != 0 {
		t.Errorf("the preview laid out %d certificates after decoding found problems", n)
	}
}

var summaryLink = regexp.MustCompile(`<a href="#([^"]+)">([^<]*)</a>`)

// TestPageReportsEveryProblemAtOnceInParentsWords: the page lists every
// problem too, each naming the character as the parent typed it, or
// where an invisible one is, and what to do; never a code point or Quire.
func TestPageReportsEveryProblemAtOnceInParentsWords(t *testing.T) {
	s := newTestServer(t, Options{})
	var pairs []string
	for k, v := range everyKindOfProblem {
		pairs = append(pairs, k, v)
	}
	w := s.postForm("/preview", form(pairs...))
	wantStatus(t, w, http.StatusUnprocessableEntity)
	page := w.Body.String()
	summary := page[strings.Index(page, `class="error-summary"`):strings.Index(page, "<h1>")]
	got := map[string]string{}
	for _, m := range summaryLink.FindAllStringSubmatch(summary, -1) {
		got[m[1]] = html.UnescapeString(m[2])
	}
	want := map[string]string{
		"parentName":      "Name and surname of parent has “𐀀”, from the Linear B script, which certificates cannot show yet – you could write it in English letters instead",
		"otherParentName": "Name and surname of any other parent has an invisible character after “Kim” that cannot be printed – please type it again rather than pasting it",
		"sex":             "Sex must be",
		"babyName":        "Name of baby is too long",
		"placeOfLoss":     "Place of loss starts with the mark “◌́”, which has no letter under it – remove it, or type it straight after its letter",
	}
	for field, w := range want {
		if !strings.HasPrefix(got[field], w) {
			t.Errorf("%s: got %q, want it to start %q", field, got[field], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("the summary has %d problems, want %d:\n%s", len(got), len(want), summary)
	}
	for field, msg := range got {
		if strings.Contains(msg, "U+") || strings.Contains(msg, "Quire") {
			t.Errorf("%s: the words for parents name a code point or Quire: %q", field, msg)
		}
	}
}

// TestPageReportsLayoutProblemsWithADateTypedWrongly: a date the page
// cannot read stops the preview, so the name too long for its box must
// be found while the form is read, and both reported.
func TestPageReportsLayoutProblemsWithADateTypedWrongly(t *testing.T) {
	s := newTestServer(t, Options{})
	w := s.postForm("/preview", form("babyName", strings.Repeat("WWWWWWWWW ", 10)[:99], "dateOfLoss-day", "27", "dateOfLoss-year", "2024"))
	wantStatus(t, w, http.StatusUnprocessableEntity)
	page := w.Body.String()
	for _, want := range []string{`<a href="#babyName">Name of baby is too long`, `<a href="#dateOfLoss-month">Date of loss must include a month`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not have %s", want)
		}
	}
}
