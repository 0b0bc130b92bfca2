package request

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// fakeFitter reports every non-empty text value it is given as too long,
// and records what it was given.
type fakeFitter struct {
	certs   []Certificate
	letters []Envelope
}

func (f *fakeFitter) FitCertificate(c *Certificate, path string) Errors {
	f.certs = append(f.certs, *c)
	var errs Errors
	at := func(name string) string {
		if path == "" {
			return name
		}
		return path + "." + name
	}
	for _, v := range []struct{ name, value string }{
		{"parentName", c.ParentName}, {"babyName", c.BabyName}, {"placeOfLoss", c.PlaceOfLoss}, {"sex", c.Sex},
	} {
		if v.value != "" {
			errs.Add(at(v.name), "does not fit")
		}
	}
	return errs
}

func (f *fakeFitter) FitLetter(env *Envelope) Errors {
	f.letters = append(f.letters, *env)
	var errs Errors
	for i, line := range env.Recipient.Address {
		if line != "" && i == 0 {
			errs.Add("recipient.address[0]", "does not fit")
		}
	}
	return errs
}

func TestDecoderReportsLayoutProblemsWithTheOthers(t *testing.T) {
	var fit fakeFitter
	data := `{"parentName": "Jo Bloggs", "babyName": "Robin\u200b", "sex": "boy", "placeOfLoss": "Ludlow"}`
	c, err := Decoder{Fit: &fit}.DecodeCertificate([]byte(data), CertificateOptions{Preview: true})
	var errs Errors
	if !errors.As(err, &errs) || c == nil {
		t.Fatalf("got %v", err)
	}
	want := Errors{
		problem("babyName", "contains an invisible character (U+200B ZERO WIDTH SPACE) at character 6, which cannot be printed"),
		problem("sex", `must be "male", "female" or "unknown", or left blank`),
		problem("parentName", "does not fit"),
		problem("placeOfLoss", "does not fit"),
	}
	if got := words(errs); !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%v\nwant\n%v", got, want)
	}
	// Values with a problem already are not laid out.
	if len(fit.certs) != 1 || fit.certs[0].BabyName != "" || fit.certs[0].Sex != "" || fit.certs[0].ParentName != "Jo Bloggs" {
		t.Errorf("laid out %+v", fit.certs)
	}
	// The certificate returned is the one sent, not the one laid out.
	if c.BabyName != "Robin\u200b" || c.Sex != "boy" {
		t.Errorf("returned %+v", c)
	}
}

func TestDecoderLeavesOutDocumentsItCannotLayOut(t *testing.T) {
	var fit fakeFitter
	_, err := Decoder{Fit: &fit}.DecodeCertificate([]byte(`{"template": "Bad Template", "babyName": "Robin"}`), CertificateOptions{Preview: true})
	if err == nil || len(fit.certs) != 0 {
		t.Errorf("a certificate with a bad template was laid out (%v)", err)
	}

	fit = fakeFitter{}
	data := strings.Replace(validJSON, `"dateOfIssue": "2025-03-03"`, `"dateOfIssue": "2025-02-30"`, 1)
	_, err = Decoder{Fit: &fit}.Decode([]byte(data))
	if err == nil || len(fit.letters) != 0 || len(fit.certs) != 1 {
		t.Errorf("with a bad date of issue: %d letters and %d certificates laid out (%v)", len(fit.letters), len(fit.certs), err)
	}
}

func TestDecoderLaysOutTheLetter(t *testing.T) {
	var fit fakeFitter
	data := strings.Replace(validJSON, `"Ludlow"`, `"Lud\u0007low"`, 1)
	_, err := Decoder{Fit: &fit}.Decode([]byte(data))
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("got %v", err)
	}
	want := Errors{
		problem("recipient.address[1]", "contains an invisible control character (U+0007) at character 4, which cannot be printed"),
		problem("recipient.address[0]", "does not fit"),
		problem("certificates[0].parentName", "does not fit"),
	}
	if got := words(errs); !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%v\nwant\n%v", got, want)
	}
	if len(fit.letters) != 1 || fit.letters[0].Recipient.Address[1] != "" || fit.letters[0].Recipient.Address[0] != "1 Station Road" {
		t.Errorf("laid out %+v", fit.letters)
	}
}

func TestDecoderWithoutFitterLaysNothingOut(t *testing.T) {
	if _, err := (Decoder{}).Decode([]byte(validJSON)); err != nil {
		t.Fatal(err)
	}
	// A certificate missing a required field is still laid out, so its
	// other fields' layout problems come with the missing one.
	var fit fakeFitter
	data := `{"reference": "BLC-1", "dateOfIssue": "2025-03-03"}`
	if _, err := (Decoder{Fit: &fit}).DecodeCertificate([]byte(data), CertificateOptions{}); err == nil || !strings.Contains(err.Error(), "parentName: is missing") {
		t.Errorf("got %v", err)
	}
	if len(fit.certs) != 1 {
		t.Errorf("laid out %d certificates, want 1", len(fit.certs))
	}
}
