package preview

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestCertificatePreviewInWelsh checks the preview API's language: the
// Welsh and bilingual certificates, their text alternatives in their
// language, and the problems a language can bring.
func TestCertificatePreviewInWelsh(t *testing.T) {
	s := newTestServer(t, Options{})
	body := `{"parentName":"Siân Llŷr","babyName":"Ŵyn","sex":"male","dateOfLoss":"2024-11-19"}`

	pdf := s.postJSON("/api/v1/preview/certificate.pdf?language=cy", body)
	wantStatus(t, pdf, http.StatusOK)
	words := strings.Join(strings.Fields(pdfText(t, pdf.Body.Bytes())), " ")
	for _, want := range []string{"Sbesimen – nid tystysgrif", "Tystysgrif colli babi", "Siân Llŷr", "Ŵyn", "Gwryw", "19 Tachwedd 2024"} {
		if !strings.Contains(words, want) {
			t.Errorf("the Welsh PDF does not say %q:\n%s", want, words)
		}
	}

	var alt TextAlternative
	text := s.postJSON("/api/v1/preview/certificate.json?language=cy,en", body)
	wantStatus(t, text, http.StatusOK)
	if err := json.Unmarshal(text.Body.Bytes(), &alt); err != nil {
		t.Fatal(err)
	}
	if alt.Template != "baby-loss-certificate-cy-en@1" || alt.Specimen != "Sbesimen – nid tystysgrif / Specimen – not a certificate" {
		t.Errorf("bilingual preview: template %s, specimen %q", alt.Template, alt.Specimen)
	}
	var reads []string
	for _, b := range alt.Boxes {
		reads = append(reads, b.Reads)
	}
	for _, want := range []string{
		"Blwch 1, Cyfeirnod y dystysgrif / Certificate reference: gwag / blank",
		"Blwch 5, Enw’r babi / Name of baby: Ŵyn",
		"Blwch 6, Rhyw / Sex: Gwryw / Male",
		"Blwch 7, Dyddiad y golled / Date of loss: 19 Tachwedd 2024 / 19 November 2024",
	} {
		if !slices.Contains(reads, want) {
			t.Errorf("the bilingual text alternative lacks %q:\n%s", want, strings.Join(reads, "\n"))
		}
	}

	// The same details in English and in Welsh are different previews.
	en := s.postJSON("/api/v1/preview/certificate.png", body)
	cy := s.postJSON("/api/v1/preview/certificate.png?language=cy", body)
	if en.Header().Get("ETag") == cy.Header().Get("ETag") {
		t.Error("the English and Welsh previews share an ETag")
	}

	bad := s.postJSON("/api/v1/preview/certificate.png?language=fr", body)
	wantStatus(t, bad, http.StatusBadRequest)
	if !strings.Contains(bad.Body.String(), `"field":"language"`) && !strings.Contains(bad.Body.String(), `"field": "language"`) {
		t.Errorf("an unknown language: %s", bad.Body.String())
	}
	mismatch := s.postJSON("/api/v1/preview/certificate.png?language=cy", `{"template":"baby-loss-certificate@1"}`)
	wantStatus(t, mismatch, http.StatusUnprocessableEntity)
	if !strings.Contains(mismatch.Body.String(), "is in English (en), but the preview asks for Welsh (cy)") {
		t.Errorf("an English template asked for in Welsh: %s", mismatch.Body.String())
	}
	// A named template without a language is previewed in its own.
	named := s.postJSON("/api/v1/preview/certificate.json", `{"template":"baby-loss-certificate-cy"}`)
	wantStatus(t, named, http.StatusOK)
	if !strings.Contains(named.Body.String(), "Blwch 5, Enw’r babi: gwag") {
		t.Errorf("the Welsh template named in the body: %s", named.Body.String())
	}
}

// TestTemplateListNamesLanguages checks that GET /api/v1/templates says
// each template's language, and that a sample of each is in it.
func TestTemplateListNamesLanguages(t *testing.T) {
	s := newTestServer(t, Options{})
	w := s.do("GET", "/api/v1/templates", "")
	wantStatus(t, w, http.StatusOK)
	var list templateList
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, tp := range list.Templates {
		got[tp.ID] = tp.Language + " " + strings.Join(tp.Languages, "+")
	}
	want := map[string]string{
		"baby-loss-certificate": "en en", "baby-loss-certificate-cy": "cy cy", "baby-loss-certificate-cy-en": "cy,en cy+en",
		"carriage-letter": "en en", "carriage-letter-cy": "cy cy", "carriage-letter-cy-en": "cy,en cy+en",
	}
	for id, lang := range want {
		if got[id] != lang {
			t.Errorf("%s: language %q, want %q", id, got[id], lang)
		}
	}
	letter := s.do("GET", "/api/v1/templates/carriage-letter-cy-en/sample.json", "")
	wantStatus(t, letter, http.StatusOK)
	for _, w := range []string{"Sbesimen – nid llythyr go iawn / Specimen – not a real letter", "Eich tystysgrif", "Your certificate"} {
		if !strings.Contains(letter.Body.String(), w) {
			t.Errorf("the bilingual sample letter does not say %q", w)
		}
	}
}
