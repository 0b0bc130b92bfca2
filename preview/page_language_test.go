package preview

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// TestPageInWelsh checks the page in Welsh: chosen by ?lang=cy or by
// Accept-Language, marked lang="cy", with a switch to English that needs
// no script, and the certificate in Welsh unless the form asks otherwise.
func TestPageInWelsh(t *testing.T) {
	s := newTestServer(t, Options{})
	for name, rec := range map[string]*httptest.ResponseRecorder{
		"?lang=cy":           s.do("GET", "/preview?lang=cy", ""),
		"Accept-Language cy": s.do("GET", "/preview", "", "Accept-Language", "cy-GB,cy;q=0.9,en;q=0.5"),
	} {
		wantStatus(t, rec, http.StatusOK)
		body := rec.Body.String()
		checkPageStructure(t, rec, body)
		if rec.Header().Get("Content-Language") != "cy" || !strings.Contains(body, `<html lang="cy">`) {
			t.Errorf("%s: Content-Language %q, the page is not marked Welsh", name, rec.Header().Get("Content-Language"))
		}
		for _, want := range []string{
			"<h1>Gweld sut olwg fydd ar eich tystysgrif</h1>",
			`<a href="/preview?lang=en" hreflang="en" lang="en">English</a>`,
			`<span aria-current="true">Cymraeg</span>`,
			`<input type="hidden" name="lang" value="cy">`,
			`value="cy" checked`,
			`<dt class="summary-list__key">Blwch 5, Enw’r babi</dt>`,
			"Mae wedi’i marcio ‘Sbesimen – nid tystysgrif’.",
			`data-updated="Mae’r rhagolwg wedi’i ddiweddaru."`,
			"Os hoffech siarad â rhywun, mae’r Miscarriage Association yn cynnig cymorth cyfrinachol am ddim ar 01924 200799 (dydd Llun i ddydd Gwener, 9yb i 4yp).",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: the Welsh page does not have %q", name, want)
			}
		}
		for _, english := range []string{"Update preview", "There is a problem", "Box 5", "Name of baby", ">Blank<", "Specimen"} {
			if strings.Contains(body, english) {
				t.Errorf("%s: the Welsh page says %q", name, english)
			}
		}
	}
	en := s.do("GET", "/preview", "", "Accept-Language", "en-GB,cy;q=0.8")
	if !strings.Contains(en.Body.String(), `<html lang="en-GB">`) || !strings.Contains(en.Body.String(), `<a href="/preview?lang=cy" hreflang="cy" lang="cy">Cymraeg</a>`) {
		t.Error("a browser preferring English does not get the English page with a link to Cymraeg")
	}
}

// TestPageInWelshWithProblems checks that every message of the Welsh page
// is in Welsh: the title, the error summary and the messages by the fields.
func TestPageInWelshWithProblems(t *testing.T) {
	s := newTestServer(t, Options{})
	w := s.postForm("/preview", form("lang", "cy", "parentName", "Siân Llŷr", "babyName", "Ŵyn 😀",
		"placeOfLoss", strings.Repeat("x", 121), "dateOfLoss-day", "27", "dateOfLoss-year", "2024"))
	wantStatus(t, w, http.StatusUnprocessableEntity)
	html := w.Body.String()
	checkPageStructure(t, w, html)
	for _, want := range []string{
		"<title>Gwall: ", "Mae problem wedi codi",
		"Enw’r babi: mae “😀” ynddo, na ellir ei argraffu ar y dystysgrif – tynnwch y “😀”",
		"Dyddiad y golled: rhaid iddo gynnwys mis os yw’n cynnwys diwrnod – neu gadewch y diwrnod yn wag",
		"Man y golled: mae’n rhy hir – mae ganddo 121 o nodau a’r nifer mwyaf a ganiateir yw 120",
		`<span class="visually-hidden">Gwall:</span>`,
		"I weld y rhagolwg eto, newidiwch y rhain:",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the Welsh page with problems does not have %q", want)
		}
	}
	if strings.Contains(html, "Error") || strings.Contains(html, "must ") || strings.Contains(html, " is too") {
		t.Error("the Welsh page with problems has English in it")
	}
}

// TestPageBilingualCertificate checks the form's choice of the
// certificate's language, on a Welsh page and an English one.
func TestPageBilingualCertificate(t *testing.T) {
	s := newTestServer(t, Options{})
	w := s.postForm("/preview", form("lang", "cy", "language", "cy,en", "babyName", "Ŵyn", "sex", "male", "dateOfLoss-month", "Mawrth", "dateOfLoss-year", "2024"))
	wantStatus(t, w, http.StatusOK)
	html := w.Body.String()
	for _, want := range []string{
		`value="cy,en" checked`,
		"Blwch 6, Rhyw / Sex</dt>",
		`<dd class="summary-list__value">Gwryw / Male</dd>`,
		`<dd class="summary-list__value">Mawrth 2024 / March 2024</dd>`,
		"‘Sbesimen – nid tystysgrif / Specimen – not a certificate’",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the bilingual certificate on the Welsh page lacks %q", want)
		}
	}
	// On an English page, a Welsh certificate's words are marked Welsh.
	w = s.postForm("/preview", form("language", "cy", "babyName", "Ŵyn"))
	wantStatus(t, w, http.StatusOK)
	for _, want := range []string{`Box 5, <span lang="cy">Enw’r babi</span>`, `<span lang="cy">Ŵyn</span>`, `<html lang="en-GB">`} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("the Welsh certificate on the English page lacks %q", want)
		}
	}
	w = s.postForm("/preview", form("language", "fr"))
	wantStatus(t, w, http.StatusUnprocessableEntity)
	if !strings.Contains(w.Body.String(), `href="#language"`) {
		t.Error("an unknown certificate language is not linked to its field")
	}
}

// TestPageTextIsTheSameInEveryLanguage keeps the page's word tables
// alike: a key in one language and not the other would show English on
// the Welsh page, or nothing at all.
func TestPageTextIsTheSameInEveryLanguage(t *testing.T) {
	en := slices.Sorted(maps.Keys(pageText[pageEnglish]))
	cy := slices.Sorted(maps.Keys(pageText[pageWelsh]))
	if !slices.Equal(en, cy) {
		t.Errorf("the page's English and Welsh words have different keys:\n%v\n%v", en, cy)
	}
}

// TestEveryProblemIsInWelsh sends the page every kind of problem a parent
// can meet, from the typing of the date, from validation and from layout,
// and checks each has a Welsh translation. A new message in package
// request or in layout fails here until it is translated in messages.go.
func TestEveryProblemIsInWelsh(t *testing.T) {
	s := newTestServer(t, Options{})
	forms := [][]string{
		{"dateOfLoss-day", "1"},
		{"dateOfLoss-day", "1", "dateOfLoss-year", "2024"},
		{"dateOfLoss-year", "24"},
		{"dateOfLoss-month", "Smarch", "dateOfLoss-year", "2024"},
		{"dateOfLoss-day", "x", "dateOfLoss-month", "3", "dateOfLoss-year", "2024"},
		{"dateOfLoss-day", "30", "dateOfLoss-month", "2", "dateOfLoss-year", "2024"},
		{"dateOfLoss-year", "1899"},
		{"sex", "girl"},
		{"language", "fr"},
		{"babyName", "Robin 😀 😀"},
		{"babyName", "Robin 😀"},
		{"babyName", "Ro\u200bbin"},
		{"babyName", "Ro\u0007bin"},
		{"babyName", "Robin\ue000"},
		{"babyName", "Robin \ufffd"},
		{"babyName", "Robin \U000E0080"},
		{"babyName", "ཀ"},
		{"parentName", strings.Repeat("x", 101)},
		{"parentName", strings.Repeat("W", 100)},
		{"placeOfLoss", strings.Repeat("x", 121)},
	}
	seen := 0
	for _, f := range forms {
		data := s.h.newPageData(pageWelsh)
		data.Form = formValues(f)
		c := s.h.check(data)
		var rec record
		if c != nil {
			s.h.previewInto(context.Background(), data, c, &rec)
		}
		if len(data.Errors) == 0 {
			t.Errorf("%v: no problem", f)
			continue
		}
		for _, e := range data.Errors {
			seen++
			if strings.Contains(e.Message, "must") || strings.Contains(e.Message, " is ") || strings.Contains(e.Message, "contains") {
				t.Errorf("%v: %q is not in Welsh", f, e.Message)
			}
		}
	}
	if seen < len(forms) {
		t.Errorf("%d problems for %d forms", seen, len(forms))
	}
}

// formValues is the page's form from name, value pairs, as readForm reads it.
func formValues(pairs []string) pageForm {
	var f pageForm
	for i := 0; i+1 < len(pairs); i += 2 {
		v := pairs[i+1]
		switch pairs[i] {
		case "language":
			f.Language = v
		case "parentName":
			f.ParentName = v
		case "babyName":
			f.BabyName = v
		case "sex":
			f.Sex = v
		case "dateOfLoss-day":
			f.Day = v
		case "dateOfLoss-month":
			f.Month = v
		case "dateOfLoss-year":
			f.Year = v
		case "placeOfLoss":
			f.PlaceOfLoss = v
		}
	}
	return f
}
