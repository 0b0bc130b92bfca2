package preview

import (
	"bytes"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/quire-print/quire/internal/pdftest"
	"github.com/quire-print/quire/request"
)

const robin = `{"parentName":"Hannah Whitlock","babyName":"Robin","sex":"female","dateOfLoss":"2024-11","placeOfLoss":"Canterbury, Kent"}`

func decodeProblem(t *testing.T, body []byte) problem {
	t.Helper()
	var p problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("not a problem document: %v\n%s", err, body)
	}
	return p
}

// wantProblem checks a problem details response: its media type, its
// status both in the header and the body, and its type.
func wantProblem(t *testing.T, w interface {
	Result() *http.Response
}, want problem) problem {
	t.Helper()
	res := w.Result()
	body := new(bytes.Buffer)
	body.ReadFrom(res.Body)
	if res.StatusCode != want.Status {
		t.Fatalf("status %d, want %d; body:\n%s", res.StatusCode, want.Status, body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	p := decodeProblem(t, body.Bytes())
	if p.Type != want.Type || p.Status != want.Status || p.Title != want.Title {
		t.Errorf("problem %+v, want type %s, status %d, title %q", p, want.Type, want.Status, want.Title)
	}
	return p
}

func decodePNG(t *testing.T, body []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	return img
}

// pdfText extracts a PDF's text with poppler's pdftotext, as the renderer's
// tests do. A missing tool fails the test: CI installs it.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "preview.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	return pdftest.Run(t, "pdftotext", "-enc", "UTF-8", path, "-")
}

// markPixels counts the pixels in the top tenth of a page image that are
// the banner's colour, give or take anti-aliasing.
func markPixels(img image.Image) int {
	b := img.Bounds()
	n := 0
	for y := b.Min.Y; y < b.Min.Y+b.Dy()/10; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			near := func(c uint32, want uint8) bool { d := int(c>>8) - int(want); return d > -24 && d < 24 }
			if near(r, bannerColor.R) && near(g, bannerColor.G) && near(bl, bannerColor.B) {
				n++
			}
		}
	}
	return n
}

func TestListTemplates(t *testing.T) {
	s := newTestServer(t, Options{})
	w := s.do("GET", "/api/v1/templates", "")
	wantStatus(t, w, http.StatusOK)
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var list templateList
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	set := s.r.Templates()
	if len(list.Templates) != len(set.Latest()) {
		t.Fatalf("%d templates listed, want %d", len(list.Templates), len(set.Latest()))
	}
	for i, latest := range set.Latest() {
		got := list.Templates[i]
		if got.ID != latest.ID || got.Version != latest.Version || got.Kind != latest.Kind || !slices.Contains(got.Versions, latest.Version) {
			t.Errorf("template %d: %+v, want %s@%d (%s)", i, got, latest.ID, latest.Version, latest.Kind)
		}
		// Every sample link works and gives what it says.
		for link, ct := range map[string]string{got.Samples.PDF: "application/pdf", got.Samples.PNG: "image/png", got.Samples.Text: "application/json"} {
			w := s.do("GET", link, "")
			if w.Code != http.StatusOK || w.Header().Get("Content-Type") != ct {
				t.Errorf("GET %s: %d %s, want 200 %s", link, w.Code, w.Header().Get("Content-Type"), ct)
			}
		}
	}
	etag := w.Header().Get("ETag")
	if w := s.do("GET", "/api/v1/templates", "", "If-None-Match", etag); w.Code != http.StatusNotModified {
		t.Errorf("If-None-Match with the list's ETag: %d, want 304", w.Code)
	}
}

func TestSampleCertificate(t *testing.T) {
	s := newTestServer(t, Options{})

	w := s.do("GET", "/api/v1/templates/baby-loss-certificate/sample.png?width=400", "")
	wantStatus(t, w, http.StatusOK)
	img := decodePNG(t, w.Body.Bytes())
	if img.Bounds().Dx() != 400 {
		t.Errorf("image is %d pixels wide, want 400", img.Bounds().Dx())
	}
	if n := markPixels(img); n < 20 {
		t.Errorf("%d pixels of the specimen banner at the top of the image, want it plainly there", n)
	}
	if cc := w.Header().Get("Cache-Control"); cc != cacheSample {
		t.Errorf("Cache-Control %q, want %q", cc, cacheSample)
	}

	// The latest version and the pinned one are the same preview.
	pinned := s.do("GET", "/api/v1/templates/baby-loss-certificate@1/sample.png?width=400", "")
	wantStatus(t, pinned, http.StatusOK)
	if pinned.Header().Get("ETag") != w.Header().Get("ETag") || !bytes.Equal(pinned.Body.Bytes(), w.Body.Bytes()) {
		t.Error("baby-loss-certificate and baby-loss-certificate@1 differ")
	}

	text := s.do("GET", "/api/v1/templates/baby-loss-certificate/sample.json", "")
	wantStatus(t, text, http.StatusOK)
	var alt TextAlternative
	if err := json.Unmarshal(text.Body.Bytes(), &alt); err != nil {
		t.Fatal(err)
	}
	if len(alt.Boxes) != 8 || alt.Boxes[4].Reads != "Box 5, Name of baby: Robin" || alt.Specimen != specimenWords("certificate", "en") {
		t.Errorf("text alternative %+v", alt)
	}

	pdf := s.do("GET", "/api/v1/templates/baby-loss-certificate/sample.pdf", "")
	wantStatus(t, pdf, http.StatusOK)
	words := pdfText(t, pdf.Body.Bytes())
	if strings.Count(words, specimenWords("certificate", "en")) != 2 || !strings.Contains(words, "Robin") {
		t.Errorf("the sample PDF reads:\n%s\nwant the specimen mark twice and the sample's words", words)
	}
}

func TestSampleLetter(t *testing.T) {
	s := newTestServer(t, Options{})
	std := s.do("GET", "/api/v1/templates/carriage-letter/sample.png?width=600", "")
	wantStatus(t, std, http.StatusOK)
	if n := markPixels(decodePNG(t, std.Body.Bytes())); n < 20 {
		t.Errorf("%d pixels of the specimen banner on the letter", n)
	}
	large := s.do("GET", "/api/v1/templates/carriage-letter/sample.png?width=600&format=large-print", "")
	wantStatus(t, large, http.StatusOK)
	if bytes.Equal(std.Body.Bytes(), large.Body.Bytes()) || std.Header().Get("ETag") == large.Header().Get("ETag") {
		t.Error("the large-print sample is the same as the standard one")
	}
	text := s.do("GET", "/api/v1/templates/carriage-letter/sample.json", "")
	wantStatus(t, text, http.StatusOK)
	var alt TextAlternative
	if err := json.Unmarshal(text.Body.Bytes(), &alt); err != nil {
		t.Fatal(err)
	}
	if alt.Kind != "letter" || alt.Specimen != specimenWords("letter", "en") || !slices.Contains(alt.Lines, "CT1 1AA") {
		t.Errorf("letter text alternative: %+v", alt)
	}
	pdf := s.do("GET", "/api/v1/templates/carriage-letter/sample.pdf", "")
	wantStatus(t, pdf, http.StatusOK)
	if words := pdfText(t, pdf.Body.Bytes()); !strings.Contains(words, specimenWords("letter", "en")) {
		t.Errorf("the sample letter PDF does not say %q:\n%s", specimenWords("letter", "en"), words)
	}
}

func TestSampleProblems(t *testing.T) {
	s := newTestServer(t, Options{})
	for _, tc := range []struct {
		target string
		want   problem
		field  string
	}{
		{"/api/v1/templates/no-such-thing/sample.png", problemNoTemplate, ""},
		{"/api/v1/templates/baby-loss-certificate@99/sample.pdf", problemNoTemplate, ""},
		{"/api/v1/templates/baby-loss-certificate/sample.png?width=99", problemBadParameter, "width"},
		{"/api/v1/templates/baby-loss-certificate/sample.png?width=1601", problemBadParameter, "width"},
		{"/api/v1/templates/baby-loss-certificate/sample.png?width=wide", problemBadParameter, "width"},
		{"/api/v1/templates/baby-loss-certificate/sample.png?page=2", problemBadParameter, "page"},
		{"/api/v1/templates/carriage-letter/sample.png?page=0", problemBadParameter, "page"},
		{"/api/v1/templates/carriage-letter/sample.json?format=huge", problemBadParameter, "format"},
		{"/api/v1/templates/baby-loss-certificate/sample.pdf?format=large-print", problemBadParameter, "format"},
	} {
		t.Run(tc.target, func(t *testing.T) {
			p := wantProblem(t, s.do("GET", tc.target, ""), tc.want)
			if tc.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tc.field) {
				t.Errorf("errors %v, want one naming %s", p.Errors, tc.field)
			}
		})
	}
}

func TestSampleHeadAndConditional(t *testing.T) {
	s := newTestServer(t, Options{})
	head := s.do("HEAD", "/api/v1/templates/baby-loss-certificate/sample.pdf", "")
	wantStatus(t, head, http.StatusOK)
	if head.Body.Len() != 0 || head.Header().Get("Content-Length") == "0" || head.Header().Get("ETag") == "" {
		t.Errorf("HEAD: %d bytes of body, Content-Length %q, ETag %q", head.Body.Len(), head.Header().Get("Content-Length"), head.Header().Get("ETag"))
	}
	layouts := s.r.layouts.Load()
	for _, inm := range []string{head.Header().Get("ETag"), `"other", W/` + head.Header().Get("ETag"), "*"} {
		w := s.do("GET", "/api/v1/templates/baby-loss-certificate/sample.pdf", "", "If-None-Match", inm)
		wantStatus(t, w, http.StatusNotModified)
		if w.Body.Len() != 0 || w.Header().Get("ETag") != head.Header().Get("ETag") {
			t.Errorf("If-None-Match %s: body %d bytes, ETag %q", inm, w.Body.Len(), w.Header().Get("ETag"))
		}
	}
	if n := s.r.layouts.Load(); n != layouts {
		t.Errorf("answering 304 laid out %d documents, want none", n-layouts)
	}
	if w := s.do("GET", "/api/v1/templates/baby-loss-certificate/sample.pdf", "", "If-None-Match", `"stale"`); w.Code != http.StatusOK {
		t.Errorf("a stale ETag: %d, want 200", w.Code)
	}
}

func TestCertificatePreview(t *testing.T) {
	s := newTestServer(t, Options{})

	png := s.postJSON("/api/v1/preview/certificate.png?width=500", robin)
	wantStatus(t, png, http.StatusOK)
	img := decodePNG(t, png.Body.Bytes())
	if img.Bounds().Dx() != 500 || markPixels(img) < 20 {
		t.Errorf("image %v with %d banner pixels", img.Bounds(), markPixels(img))
	}
	if cc := png.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q: a preview of what a parent typed must not be stored", cc)
	}
	if def := s.postJSON("/api/v1/preview/certificate.png", robin); decodePNG(t, def.Body.Bytes()).Bounds().Dx() != DefaultWidth {
		t.Errorf("without a width the image is not %d pixels wide", DefaultWidth)
	}

	pdf := s.postJSON("/api/v1/preview/certificate.pdf", robin)
	wantStatus(t, pdf, http.StatusOK)
	words := pdfText(t, pdf.Body.Bytes())
	for _, want := range []string{specimenWords("certificate", "en"), "Hannah Whitlock", "Robin", "Female", "November 2024", "Canterbury, Kent"} {
		if !strings.Contains(words, want) {
			t.Errorf("the PDF does not say %q:\n%s", want, words)
		}
	}

	text := s.postJSON("/api/v1/preview/certificate.json", `{"babyName":"Robin"}`)
	wantStatus(t, text, http.StatusOK)
	var alt TextAlternative
	if err := json.Unmarshal(text.Body.Bytes(), &alt); err != nil {
		t.Fatal(err)
	}
	wantReads := []string{
		"Box 1, Certificate reference: blank",
		"Box 2, Date of issue: blank",
		"Box 3, Name and surname of parent: blank",
		"Box 4, Name and surname of any other parent: blank",
		"Box 5, Name of baby: Robin",
		"Box 6, Sex: blank",
		"Box 7, Date of loss: blank",
		"Box 8, Place of loss: blank",
	}
	var reads []string
	for _, b := range alt.Boxes {
		reads = append(reads, b.Reads)
	}
	if !slices.Equal(reads, wantReads) {
		t.Errorf("boxes read\n%s\nwant\n%s", strings.Join(reads, "\n"), strings.Join(wantReads, "\n"))
	}
	if !strings.HasPrefix(alt.Text, specimenWords("certificate", "en")+".\nCertificate of baby loss\n") || !strings.Contains(alt.Text, "not evidence of identity") {
		t.Errorf("text:\n%s", alt.Text)
	}
}

func TestCertificateETags(t *testing.T) {
	s := newTestServer(t, Options{})
	etag := func(target, body string) string {
		t.Helper()
		w := s.postJSON(target, body)
		wantStatus(t, w, http.StatusOK)
		return w.Header().Get("ETag")
	}
	base := etag("/api/v1/preview/certificate.png", `{"parentName":"Hannah Whitlock","babyName":"Robin"}`)
	// Key order, white space, the default template spelt out, an
	// explicit null and the width spelt out make no difference.
	same := etag("/api/v1/preview/certificate.png?width=800", `{ "babyName" : " Robin ", "template": "baby-loss-certificate@1",
		"parentName":"Hannah  Whitlock", "sex": null }`)
	if base != same {
		t.Errorf("equivalent requests have different ETags: %s and %s", base, same)
	}
	for name, other := range map[string]string{
		"another width":  etag("/api/v1/preview/certificate.png?width=801", `{"parentName":"Hannah Whitlock","babyName":"Robin"}`),
		"another format": etag("/api/v1/preview/certificate.pdf", `{"parentName":"Hannah Whitlock","babyName":"Robin"}`),
		"another name":   etag("/api/v1/preview/certificate.png", `{"parentName":"Hannah Whitlock","babyName":"Robyn"}`),
	} {
		if other == base {
			t.Errorf("%s has the same ETag", name)
		}
	}
	if !strings.HasPrefix(base, `"`) || strings.HasPrefix(base, "W/") {
		t.Errorf("ETag %s is not a strong ETag", base)
	}

	// The same ETag answers 304 without laying anything out.
	layouts := s.r.layouts.Load()
	w := s.postJSON("/api/v1/preview/certificate.png", `{"babyName":"Robin","parentName":"Hannah Whitlock"}`, "If-None-Match", base)
	wantStatus(t, w, http.StatusNotModified)
	if s.r.layouts.Load() != layouts || w.Header().Get("ETag") != base {
		t.Error("a 304 laid the certificate out again, or lost its ETag")
	}
	// "*" names any current representation; a POST has none until drawn.
	if w := s.postJSON("/api/v1/preview/certificate.png", `{"babyName":"Robin"}`, "If-None-Match", "*"); w.Code != http.StatusOK {
		t.Errorf(`POST with If-None-Match "*": %d, want 200`, w.Code)
	}
}

func TestCertificatePreviewIsDrawnOnce(t *testing.T) {
	s := newTestServer(t, Options{})
	for range 5 {
		wantStatus(t, s.postJSON("/api/v1/preview/certificate.png", robin), http.StatusOK)
	}
	if n := s.r.layouts.Load(); n != 1 {
		t.Errorf("5 identical previews laid out %d times, want once", n)
	}
	if st := s.h.Stats(); st.Misses != 1 || st.Hits != 4 || st.CacheEntries != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestValidationProblemsUseThePipelinesWords: a preview refuses what the
// pipeline would refuse, in the same words, field by field.
func TestValidationProblemsUseThePipelinesWords(t *testing.T) {
	s := newTestServer(t, Options{})
	// A reference within the rules that no size of type fits in box 1.
	wideReference := strings.Repeat("W", 32)
	for _, body := range []string{
		`{"babyName":"Robin😀","sex":"girl","dateOfLoss":"2024-13","extra":1}`,
		`{"dateOfLoss":"1899"}`,
		`{"reference":"blc 1","dateOfIssue":"2025-03-04","dateOfLoss":"2025-04"}`,
		`{"parentName":"` + strings.Repeat("x", 101) + `"}`,
		`{"template":"no-such-template"}`,
		`{"template":"carriage-letter"}`,
		`{"reference":"` + wideReference + `"}`,
		`{"babyName":"བཀྲ་ཤིས"}`,
	} {
		w := s.postJSON("/api/v1/preview/certificate.png", body)
		if w.Code != http.StatusUnprocessableEntity {
			t.Fatalf("%s: status %d, want 422", body, w.Code)
		}
		p := wantProblem(t, w, problemInvalid)
		// The words the pipeline would use: validation's and layout's
		// problems, all at once.
		_, want := request.Decoder{Fit: realRenderer(t)}.DecodeCertificate([]byte(body), request.CertificateOptions{Preview: true})
		var wantErrs request.Errors
		if !errors.As(want, &wantErrs) || len(wantErrs) == 0 {
			t.Fatalf("%s: the pipeline finds no problem (%v), yet the preview refused it", body, want)
		}
		for i := range wantErrs {
			wantErrs[i].Char = request.CharProblem{} // not sent
		}
		if !slices.Equal(p.Errors, wantErrs) {
			t.Errorf("%s:\n got %v\nwant %v", body, p.Errors, wantErrs)
		}
	}
}

func TestCertificateRequestProblems(t *testing.T) {
	s := newTestServer(t, Options{})
	wantProblem(t, s.do("POST", "/api/v1/preview/certificate.png", robin), problemMediaType)
	wantProblem(t, s.do("POST", "/api/v1/preview/certificate.png", robin, "Content-Type", "text/plain"), problemMediaType)
	if w := s.do("POST", "/api/v1/preview/certificate.png", robin, "Content-Type", "application/json; charset=utf-8"); w.Code != http.StatusOK {
		t.Errorf("JSON with a charset: %d, want 200", w.Code)
	}
	big := `{"babyName":"Robin","placeOfLoss":"` + strings.Repeat(" ", request.MaxRequestSize) + `"}`
	wantProblem(t, s.postJSON("/api/v1/preview/certificate.pdf", big), problemTooLarge)
	p := wantProblem(t, s.postJSON("/api/v1/preview/certificate.json", `[1, 2`), problemMalformed)
	if len(p.Errors) != 1 || p.Errors[0].Field != "" {
		t.Errorf("errors %v, want one about the whole request", p.Errors)
	}
	wantProblem(t, s.postJSON("/api/v1/preview/certificate.json", ``), problemMalformed)
	p = wantProblem(t, s.postJSON("/api/v1/preview/certificate.png?width=5000", robin), problemBadParameter)
	if len(p.Errors) != 1 || p.Errors[0] != (request.FieldError{Field: "width", Problem: "must be a whole number of pixels from 100 to 1600"}) {
		t.Errorf("errors %v", p.Errors)
	}
	if w := s.do("GET", "/api/v1/preview/certificate.png", ""); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET a POST route: %d, want 405", w.Code)
	}
	if w := s.do("DELETE", "/api/v1/templates", ""); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE the list: %d, want 405", w.Code)
	}
}
