package preview

import (
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// form encodes the page's form from name, value pairs.
func form(pairs ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		v.Set(pairs[i], pairs[i+1])
	}
	return v.Encode()
}

var (
	imgSrc   = regexp.MustCompile(`<img class="preview__image" src="data:image/png;base64,([^"]+)"`)
	idAttr   = regexp.MustCompile(`\bid="([^"]+)"`)
	labelFor = regexp.MustCompile(`<label[^>]*\bfor="([^"]+)"`)
	inputID  = regexp.MustCompile(`<input[^>]*\bid="([^"]+)"`)
	hrefHash = regexp.MustCompile(`href="#([^"]+)"`)
)

// pageImage returns the preview image inline in a page, decoded.
func pageImage(t *testing.T, page string) []byte {
	t.Helper()
	m := imgSrc.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the page has no preview image:\n%s", page)
	}
	data, err := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// checkPageStructure checks what every full page must have: every input
// labelled, every in-page link pointing at something, ids unique, and
// headers that keep the page to itself.
func checkPageStructure(t *testing.T, w interface{ Header() http.Header }, html string) {
	t.Helper()
	ids := map[string]int{}
	for _, m := range idAttr.FindAllStringSubmatch(html, -1) {
		ids[m[1]]++
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("id %q is used %d times", id, n)
		}
	}
	labelled := map[string]bool{}
	for _, m := range labelFor.FindAllStringSubmatch(html, -1) {
		labelled[m[1]] = true
	}
	for _, m := range inputID.FindAllStringSubmatch(html, -1) {
		if !labelled[m[1]] {
			t.Errorf("input %q has no label", m[1])
		}
	}
	for _, m := range hrefHash.FindAllStringSubmatch(html, -1) {
		if ids[m[1]] == 0 {
			t.Errorf("a link goes to #%s, which is not on the page", m[1])
		}
	}
	htmlLang := map[string]string{"en": "en-GB", "cy": "cy"}[w.Header().Get("Content-Language")]
	for _, want := range []string{`<html lang="` + htmlLang + `">`, `<main class="main" id="main">`, `<h1>`} {
		if !strings.Contains(html, want) {
			t.Errorf("the page has no %s", want)
		}
	}
	h := w.Header()
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "img-src 'self' data:") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	if h.Get("Content-Type") != "text/html; charset=utf-8" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers %v", h)
	}
}

func TestPageShowsTheEmptyCertificate(t *testing.T) {
	s := newTestServer(t, Options{})
	w := s.do("GET", "/preview", "")
	wantStatus(t, w, http.StatusOK)
	html := w.Body.String()
	checkPageStructure(t, w, html)
	img := decodePNG(t, pageImage(t, html))
	if img.Bounds().Dx() != pageWidth || markPixels(img) < 20 {
		t.Errorf("the page's image is %v with %d banner pixels", img.Bounds(), markPixels(img))
	}
	for _, want := range []string{
		`<dt class="summary-list__key">Box 1, Certificate reference</dt>`,
		`<dt class="summary-list__key">Box 8, Place of loss</dt>`,
		"filled in when the certificate is issued",
		"It is marked ‘Specimen – not a certificate’",
		`action="/preview"`, `method="post"`,
		`formaction="/preview/certificate.pdf"`,
		// The helpline the letter names, from the letter's template.
		"If you would like to talk to someone, the Miscarriage Association offers free, confidential support on 01924 200799 (Monday to Friday, 9am to 4pm).",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the empty page does not have %q", want)
		}
	}
	if strings.Count(html, `<span class="blank">Blank</span>`) != 8 {
		t.Errorf("the empty certificate does not read blank in all 8 boxes")
	}
	if strings.Contains(html, "error-summary") {
		t.Error("the empty page shows an error summary")
	}
}

func TestPagePreviewsWhatWasTyped(t *testing.T) {
	s := newTestServer(t, Options{})
	w := s.postForm("/preview", form(
		"parentName", "Hannah Whitlock", "babyName", "Robin", "sex", "unknown",
		"dateOfLoss-day", "", "dateOfLoss-month", "3", "dateOfLoss-year", "2024", "placeOfLoss", "Canterbury, Kent"))
	wantStatus(t, w, http.StatusOK)
	html := w.Body.String()
	checkPageStructure(t, w, html)
	for _, want := range []string{
		`<dd class="summary-list__value">Robin</dd>`,
		`<dd class="summary-list__value">Unknown</dd>`,
		`<dd class="summary-list__value">March 2024</dd>`,
		`value="Hannah Whitlock"`, `value="unknown" aria-describedby="sex-unknown-hint" checked`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the page does not have %q", want)
		}
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q: a page holding what a parent typed must not be stored", cc)
	}
	// The page's image is the API's image for the same details.
	api := s.postJSON("/api/v1/preview/certificate.png",
		`{"parentName":"Hannah Whitlock","babyName":"Robin","sex":"unknown","dateOfLoss":"2024-03","placeOfLoss":"Canterbury, Kent"}`)
	wantStatus(t, api, http.StatusOK)
	if string(pageImage(t, html)) != api.Body.String() {
		t.Error("the page and the API draw the same details differently")
	}
}

func TestPageErrorSummary(t *testing.T) {
	s := newTestServer(t, Options{})
	w := s.postForm("/preview", form(
		"parentName", "Hannah Whitlock", "babyName", "Robin 😀", "placeOfLoss", strings.Repeat("x", 121),
		"dateOfLoss-day", "27", "dateOfLoss-year", "2024"))
	wantStatus(t, w, http.StatusUnprocessableEntity)
	html := w.Body.String()
	checkPageStructure(t, w, html)
	if !strings.Contains(html, "<title>Error: ") {
		t.Error("the title does not start with Error:")
	}
	summary := html[strings.Index(html, `class="error-summary"`):strings.Index(html, "<h1>")]
	// In the form's order, each linking to its input, in the words for
	// parents after the field's name.
	wantLinks := []string{
		`<a href="#babyName">Name of baby has “😀”, which cannot be printed on the certificate – remove the “😀”</a>`,
		`<a href="#dateOfLoss-month">Date of loss must include a month if it includes a day – or leave the day blank</a>`,
		`<a href="#placeOfLoss">Place of loss is too long – it has 121 characters and the most allowed is 120</a>`,
	}
	last := -1
	for _, link := range wantLinks {
		i := strings.Index(summary, link)
		if i < 0 {
			t.Errorf("the error summary does not have %s:\n%s", link, summary)
		} else if i < last {
			t.Errorf("%s is out of the form's order", link)
		}
		last = i
	}
	for _, want := range []string{
		`role="alert" tabindex="-1" autofocus`,
		`id="babyName-error"`, `aria-describedby="babyName-hint babyName-error" aria-invalid="true"`,
		`id="dateOfLoss-month" name="dateOfLoss-month" type="text" inputmode="numeric" autocomplete="off" value="" aria-invalid="true"`,
		`value="27"`, `value="Robin 😀"`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the page does not have %q", want)
		}
	}
	if imgSrc.MatchString(html) {
		t.Error("the page shows a preview of details that cannot be printed")
	}
}

func TestPageDateOfLoss(t *testing.T) {
	for _, tc := range []struct {
		day, month, year string
		want             string
		problem          string
	}{
		{"", "", "", "", ""},
		{"", "", "2024", "2024", ""},
		{"", "3", "2024", "2024-03", ""},
		{"", "March", "2024", "2024-03", ""},
		{"", "sept", "2024", "2024-09", ""},
		{"7", "11", "2024", "2024-11-07", ""},
		{"07", "03", "2024", "2024-03-07", ""},
		{"31", "2", "2024", "2024-02-31", ""}, // validation says it is not real
		{"1", "", "2024", "", "must include a month if it includes a day – or leave the day blank"},
		{"", "3", "", "", "must include a year"},
		{"", "", "24", "", "must have a year of 4 numbers, like 2024"},
		{"", "13th", "2024", "", "must have a month written as a number from 1 to 12, like 3 for March"},
		{"first", "3", "2024", "", "must have a day written as a number, like 27"},
	} {
		f := pageForm{Day: tc.day, Month: tc.month, Year: tc.year}
		got, err := f.dateOfLoss()
		problem := ""
		if err != nil {
			problem = err.Error()
		}
		if got != tc.want || problem != tc.problem {
			t.Errorf("%q %q %q: %q, %q; want %q, %q", tc.day, tc.month, tc.year, got, problem, tc.want, tc.problem)
		}
	}
}

func TestPageNotARealDateMarksEveryPartTyped(t *testing.T) {
	s := newTestServer(t, Options{})
	w := s.postForm("/preview", form("dateOfLoss-day", "31", "dateOfLoss-month", "2", "dateOfLoss-year", "2024"))
	wantStatus(t, w, http.StatusUnprocessableEntity)
	html := w.Body.String()
	if !strings.Contains(html, `<a href="#dateOfLoss-day">Date of loss is not a real calendar date – check the day and the month</a>`) {
		t.Errorf("no link to the day with the pipeline's words:\n%s", html)
	}
	if n := strings.Count(html, `date-input__input--`); n != 3 {
		t.Fatalf("%d date inputs", n)
	}
	if n := strings.Count(html, `input--error" id="dateOfLoss-`); n != 3 {
		t.Errorf("%d date parts marked in error, want all 3", n)
	}
}

func TestPagePartialIsThePreviewAlone(t *testing.T) {
	s := newTestServer(t, Options{})
	w := s.postForm("/preview", form("babyName", "Robin", "partial", "1"))
	wantStatus(t, w, http.StatusOK)
	html := strings.TrimSpace(w.Body.String())
	if !strings.HasPrefix(html, `<section class="preview" id="preview"`) || !strings.HasSuffix(html, "</section>") {
		t.Errorf("the partial answer is not the preview section alone:\n%.300s", html)
	}
	if !strings.Contains(html, `<dd class="summary-list__value">Robin</dd>`) {
		t.Error("the partial preview does not say Robin")
	}
	pageImage(t, html)

	bad := s.postForm("/preview", form("babyName", "Robin 😀", "partial", "1"))
	wantStatus(t, bad, http.StatusUnprocessableEntity)
	if body := bad.Body.String(); !strings.Contains(body, `<a href="#babyName">Name of baby has “😀”`) || strings.Contains(body, "error-summary") {
		t.Errorf("a partial with a problem should list it in the panel, without the page's summary:\n%s", body)
	}
}

func TestPagePDF(t *testing.T) {
	s := newTestServer(t, Options{})
	w := s.postForm("/preview/certificate.pdf", form("parentName", "Hannah Whitlock", "babyName", "Robin"))
	wantStatus(t, w, http.StatusOK)
	if cd := w.Header().Get("Content-Disposition"); cd != `attachment; filename="specimen-certificate.pdf"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Content-Type") != "application/pdf" {
		t.Errorf("headers %v", w.Header())
	}
	if words := pdfText(t, w.Body.Bytes()); !strings.Contains(words, specimenWords("certificate", "en")) || !strings.Contains(words, "Robin") {
		t.Errorf("the PDF reads:\n%s", words)
	}

	bad := s.postForm("/preview/certificate.pdf", form("dateOfLoss-year", "1850"))
	wantStatus(t, bad, http.StatusUnprocessableEntity)
	if !strings.Contains(bad.Body.String(), `<a href="#dateOfLoss-year">Date of loss must be in 1900 or later</a>`) {
		t.Errorf("the page does not say why there is no PDF:\n%s", bad.Body.String())
	}
}

func TestPageAssets(t *testing.T) {
	s := newTestServer(t, Options{})
	page := s.do("GET", "/preview", "").Body.String()
	for _, name := range []string{"preview.css", "preview.js"} {
		link := s.h.assetURL(name)
		if !strings.Contains(page, link) {
			t.Errorf("the page does not link %s", link)
		}
		w := s.do("GET", link, "")
		wantStatus(t, w, http.StatusOK)
		if cc := w.Header().Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control %q", link, cc)
		}
		ct := w.Header().Get("Content-Type")
		if !strings.HasPrefix(ct, map[string]string{"preview.css": "text/css", "preview.js": "text/javascript"}[name]) {
			t.Errorf("%s: Content-Type %q", link, ct)
		}
		unversioned := s.do("GET", "/preview/assets/"+name, "")
		if cc := unversioned.Header().Get("Cache-Control"); cc != "public, no-cache" {
			t.Errorf("%s without its version: Cache-Control %q", name, cc)
		}
		if w := s.do("GET", link, "", "If-None-Match", w.Header().Get("ETag")); w.Code != http.StatusNotModified {
			t.Errorf("%s: If-None-Match gave %d", name, w.Code)
		}
	}
	if w := s.do("GET", "/preview/assets/nothing.css", ""); w.Code != http.StatusNotFound {
		t.Errorf("an unknown asset: %d", w.Code)
	}
}

func TestPageRefusesAnOversizedForm(t *testing.T) {
	s := newTestServer(t, Options{})
	w := s.postForm("/preview", form("babyName", strings.Repeat("x", 70000)))
	wantProblem(t, w, problemTooLarge)
}
