package request_test

import (
	"os"
	"strings"
	"testing"

	"github.com/quire-print/quire/request"
)

// TestLanguage checks how a request's language is read: spellings Quire
// accepts, the default template each language gets, and that saying "en"
// changes nothing, the content hash included, so envelopes sent before
// languages existed keep their hashes.
func TestLanguage(t *testing.T) {
	data, err := os.ReadFile("../testdata/requests/valid/one-parent-blank-optional.json")
	if err != nil {
		t.Fatal(err)
	}
	with := func(lang string) []byte {
		return []byte(strings.Replace(string(data), `"schemaVersion": 1,`, `"schemaVersion": 1, "language": `+lang+`,`, 1))
	}
	plain, err := request.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		lang, stored, letter, certificate string
	}{
		{`"en"`, "", "carriage-letter", "baby-loss-certificate"},
		{`"EN"`, "", "carriage-letter", "baby-loss-certificate"},
		{`null`, "", "carriage-letter", "baby-loss-certificate"},
		{`"cy"`, "cy", "carriage-letter-cy", "baby-loss-certificate-cy"},
		{`"cy,en"`, "cy,en", "carriage-letter-cy-en", "baby-loss-certificate-cy-en"},
		{`"cy, en"`, "cy,en", "carriage-letter-cy-en", "baby-loss-certificate-cy-en"},
		{`"CY,EN"`, "cy,en", "carriage-letter-cy-en", "baby-loss-certificate-cy-en"},
	}
	for _, c := range cases {
		e, err := request.Decode(with(c.lang))
		if err != nil {
			t.Errorf("%s: %v", c.lang, err)
			continue
		}
		if e.Language != c.stored || e.Letter.Template != c.letter || e.Certificates[0].Template != c.certificate {
			t.Errorf("%s: stored %q with %s and %s, want %q with %s and %s", c.lang,
				e.Language, e.Letter.Template, e.Certificates[0].Template, c.stored, c.letter, c.certificate)
		}
		if (c.stored == "") != (e.ContentHash() == plain.ContentHash()) {
			t.Errorf("%s: content hash same as without a language: %v", c.lang, e.ContentHash() == plain.ContentHash())
		}
	}
	if plain.DocumentLanguage() != request.LanguageEnglish {
		t.Errorf("no language reads as %q", plain.DocumentLanguage())
	}
	for _, bad := range []string{`"welsh"`, `"en,cy"`, `"cy-GB"`, `"fr"`, `5`} {
		_, err := request.Decode(with(bad))
		if err == nil || !strings.Contains(err.Error(), "language: ") {
			t.Errorf("%s: %v, want a problem with the language", bad, err)
		}
	}
}

// TestPreviewLanguageChoosesTemplate checks that a certificate previewed
// in a language gets that language's template, unless it names one.
func TestPreviewLanguageChoosesTemplate(t *testing.T) {
	for lang, want := range map[string]string{"": "baby-loss-certificate", "en": "baby-loss-certificate", "cy": "baby-loss-certificate-cy", "cy,en": "baby-loss-certificate-cy-en"} {
		c, err := request.DecodeCertificate([]byte(`{}`), request.CertificateOptions{Preview: true, Language: lang})
		if err != nil || c.Template != want {
			t.Errorf("%q: template %q, %v; want %s", lang, c.Template, err, want)
		}
	}
	c, err := request.DecodeCertificate([]byte(`{"template": "baby-loss-certificate@1"}`), request.CertificateOptions{Preview: true, Language: "cy"})
	if err != nil || c.Template != "baby-loss-certificate@1" {
		t.Errorf("a named template became %q, %v", c.Template, err)
	}
}
