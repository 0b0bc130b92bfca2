package layout_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quire-print/quire/internal/samples"
	"github.com/quire-print/quire/renderer/layout"
	"github.com/quire-print/quire/request"
	"github.com/quire-print/quire/templates"
)

// TestEveryTemplateFitsEveryDateAndSex lays out every version of every
// certificate template, in every language, with every day of a leap year
// as the date of issue and of loss, every month alone, and every sex:
// the values whose length depends on the language ("30 Gorffennaf 2028 /
// 30 July 2028"). None may be refused as too long, and every label must
// fit its box (layout refuses a label wider than its box).
func TestEveryTemplateFitsEveryDateAndSex(t *testing.T) {
	set, err := templates.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range set.All() {
		if tp.Kind != templates.KindCertificate {
			continue
		}
		t.Run(tp.Ref(), func(t *testing.T) {
			sexes := []string{request.SexMale, request.SexFemale, request.SexUnknown}
			i := 0
			for month := 1; month <= 12; month++ {
				for day := 0; day <= 31; day++ {
					date := fmt.Sprintf("2028-%02d-%02d", month, day)
					if day == 0 {
						date = fmt.Sprintf("2028-%02d", month)
					} else if _, err := request.ParseDate(date); err != nil {
						continue
					}
					issue := date
					if day == 0 {
						issue = date + "-28"
					}
					c := fullCertificate()
					c.DateOfIssue, c.DateOfLoss, c.Sex = issue, date, sexes[i%len(sexes)]
					i++
					if _, err := layout.Certificate(tp, &c, "certificates[0]"); err != nil {
						t.Fatalf("%s: %v", date, err)
					}
				}
			}
		})
	}
}

// TestEveryTemplateFitsTheLongestReference lays out every certificate
// template with references of the longest length the request model
// allows (32 characters), in the shape of real references: capitals,
// digits and hyphens.
func TestEveryTemplateFitsTheLongestReference(t *testing.T) {
	set, err := templates.Default()
	if err != nil {
		t.Fatal(err)
	}
	refs := []string{
		strings.Repeat("BLC-2025-", 4)[:32],
		strings.Repeat("0", 32),
		strings.Repeat("8-", 16),
	}
	for _, tp := range set.All() {
		if tp.Kind != templates.KindCertificate {
			continue
		}
		for _, ref := range refs {
			c := fullCertificate()
			c.Reference = ref
			if _, err := layout.Certificate(tp, &c, "certificates[0]"); err != nil {
				t.Errorf("%s, %d characters: %v", tp.Ref(), len(ref), err)
			}
		}
	}
}

// TestLettersFitEveryDate lays out every letter template, in both formats,
// dated on the widest day of every month in its language, for one
// certificate and for eight: the date line must stay on the page and out
// of the envelope window (layout refuses either).
func TestLettersFitEveryDate(t *testing.T) {
	set, err := templates.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range set.All() {
		if tp.Kind != templates.KindLetter {
			continue
		}
		for _, format := range []string{request.FormatStandard, request.FormatLargePrint} {
			for month := 1; month <= 12; month++ {
				for _, n := range []int{1, 8} {
					env := &request.Envelope{
						SchemaVersion: 1, EnvelopeID: "fit",
						Recipient: request.Recipient{Name: "Mrs Siân Llŷr", Address: []string{"Tŷ Gwêl", "Caerdydd", "CF10 1AA"}},
						Letter:    request.Letter{Template: tp.Ref(), Format: format},
					}
					for i := range n {
						c := fullCertificate()
						c.Reference = fmt.Sprintf("BLC-2028-%06d", i)
						c.DateOfIssue = fmt.Sprintf("2028-%02d-28", month)
						env.Certificates = append(env.Certificates, c)
					}
					if _, err := layout.Letter(tp, env); err != nil {
						t.Errorf("%s %s, month %d, %d certificates: %v", tp.Ref(), format, month, n, err)
					}
				}
			}
		}
	}
}

// TestBoxValuesByLanguage checks how boxes read in each language: dates
// and sex in words of the language, once per language in a bilingual
// template, and values that read the same (names, years) once.
func TestBoxValuesByLanguage(t *testing.T) {
	c := fullCertificate()
	c.DateOfIssue, c.DateOfLoss, c.Sex = "2024-11-19", "2025-03", request.SexUnknown
	cases := []struct {
		template, field, want string
	}{
		{"baby-loss-certificate", "dateOfIssue", "19 November 2024"},
		{"baby-loss-certificate-cy", "dateOfIssue", "19 Tachwedd 2024"},
		{"baby-loss-certificate-cy", "dateOfLoss", "Mawrth 2025"},
		{"baby-loss-certificate-cy", "sex", "Anhysbys"},
		{"baby-loss-certificate-cy-en", "dateOfIssue", "19 Tachwedd 2024 / 19 November 2024"},
		{"baby-loss-certificate-cy-en", "dateOfLoss", "Mawrth 2025 / March 2025"},
		{"baby-loss-certificate-cy-en", "sex", "Anhysbys / Unknown"},
		{"baby-loss-certificate-cy-en", "parentName", "Aisha Rahman"},
	}
	for _, tc := range cases {
		got, err := layout.BoxValue(tmpl(t, tc.template), &c, tc.field)
		if err != nil || got != tc.want {
			t.Errorf("%s %s: %q, %v; want %q", tc.template, tc.field, got, err, tc.want)
		}
	}
	c.DateOfLoss, c.Sex = "2024", request.SexFemale
	for field, want := range map[string]string{"dateOfLoss": "2024", "sex": "Benyw / Female"} {
		if got, _ := layout.BoxValue(tmpl(t, "baby-loss-certificate-cy-en"), &c, field); got != want {
			t.Errorf("%s: %q, want %q", field, got, want)
		}
	}
}

// TestLabelWiderThanItsBoxIsRefused checks layout's guard on labels: a
// template whose label does not fit its box is a template bug, reported
// before anything is printed.
func TestLabelWiderThanItsBoxIsRefused(t *testing.T) {
	set, err := templates.Default()
	if err != nil {
		t.Fatal(err)
	}
	good, err := set.Get("baby-loss-certificate-cy-en", 1)
	if err != nil {
		t.Fatal(err)
	}
	narrow := *good
	narrow.Items = append([]templates.Item(nil), good.Items...)
	for i, it := range narrow.Items {
		if it.Box != nil && it.Box.Number == 4 {
			box := *it.Box
			box.W = 60
			narrow.Items[i].Box = &box
		}
	}
	c := fullCertificate()
	if _, err := layout.Certificate(good, &c, ""); err != nil {
		t.Fatal(err)
	}
	_, err = layout.Certificate(&narrow, &c, "")
	if err == nil || !strings.Contains(err.Error(), "label of box 4 is wider than the box") {
		t.Errorf("a label wider than its box: %v", err)
	}
}

// TestEverySampleFitsInEveryLanguage lays out every certificate of every
// valid sample (the longest names, places and references among them) with
// the latest certificate template of every language: what fits in
// English fits in Welsh and bilingual too, whose labels are longer.
func TestEverySampleFitsInEveryLanguage(t *testing.T) {
	set, err := templates.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range samples.Files(t, "valid") {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		env, err := request.Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, lang := range request.Languages {
			tp, err := set.Get(request.DefaultTemplate(request.DefaultCertificateTemplate, lang), 0)
			if err != nil {
				t.Fatal(err)
			}
			for i := range env.Certificates {
				if _, err := layout.Certificate(tp, &env.Certificates[i], fmt.Sprintf("certificates[%d]", i)); err != nil {
					t.Errorf("%s in %s: %v", filepath.Base(file), tp.Ref(), err)
				}
			}
		}
	}
}
