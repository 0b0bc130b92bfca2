package request

import (
	"reflect"
	"strings"
	"testing"
)

// validEnvelope returns a normalised envelope with no problems, for tests
// to spoil one rule at a time.
func validEnvelope() *Envelope {
	return &Envelope{
		SchemaVersion: 1,
		EnvelopeID:    "env-1",
		Recipient: Recipient{
			Name:    "Ms Jo Bloggs",
			Address: []string{"1 Station Road", "Ludlow", "SY8 1AA"},
		},
		Letter: Letter{Template: DefaultLetterTemplate, Format: FormatStandard},
		Certificates: []Certificate{{
			Template:    DefaultCertificateTemplate,
			Reference:   "BLC-1",
			DateOfIssue: "2025-03-03",
			ParentName:  "Jo Bloggs",
		}},
	}
}

func problem(field, text string) FieldError { return FieldError{Field: field, Problem: text} }

// words returns errs as a caseworker reads them, without the character
// details kept for other wordings, so tests can compare them with problem.
func words(errs Errors) Errors {
	if errs == nil {
		return nil
	}
	out := make(Errors, len(errs))
	for i, e := range errs {
		out[i] = FieldError{Field: e.Field, Problem: e.Problem}
	}
	return out
}

func TestValidateEnvelope(t *testing.T) {
	const (
		missing  = "is missing"
		postcode = `must be a UK postcode like "SW1A 1AA" or a BFPO number like "BFPO 1234", because it is the last line of the address`
		noAbode  = "says the recipient has no fixed abode – Quire cannot post to an address without a fixed abode"
		lines    = "but an address needs 2 to 6 lines under the name, the last being the postcode"
		badID    = "must be 1 to 64 characters, using only letters A–Z and a–z, digits 0–9, full stops, underscores and hyphens"
		badTpl   = `must be a template id of lower-case letters, digits and hyphens, optionally followed by @ and a version number, like "carriage-letter@2"`
	)
	tests := []struct {
		name   string
		change func(e *Envelope)
		want   Errors
	}{
		{"valid", func(e *Envelope) {}, nil},
		{"schema version missing", func(e *Envelope) { e.SchemaVersion = 0 },
			Errors{problem("schemaVersion", missing)}},
		{"schema version 2", func(e *Envelope) { e.SchemaVersion = 2 },
			Errors{problem("schemaVersion", "must be 1, the version of the request model this Quire reads")}},
		{"envelope id missing", func(e *Envelope) { e.EnvelopeID = "" },
			Errors{problem("envelopeId", missing)}},
		{"envelope id of 64", func(e *Envelope) { e.EnvelopeID = strings.Repeat("a", 64) }, nil},
		{"envelope id of 65", func(e *Envelope) { e.EnvelopeID = strings.Repeat("a", 65) },
			Errors{problem("envelopeId", badID)}},
		{"envelope id all allowed", func(e *Envelope) { e.EnvelopeID = "AZaz09._-" }, nil},
		{"envelope id with slash", func(e *Envelope) { e.EnvelopeID = "a/b" },
			Errors{problem("envelopeId", badID)}},
		{"envelope id with space", func(e *Envelope) { e.EnvelopeID = "a b" },
			Errors{problem("envelopeId", badID)}},
		{"envelope id with emoji names the character only", func(e *Envelope) { e.EnvelopeID = "a😀" },
			Errors{problem("envelopeId", `contains "😀" (U+1F600 GRINNING FACE), which cannot be printed`)}},
		{"recipient name missing", func(e *Envelope) { e.Recipient.Name = "" },
			Errors{problem("recipient.name", missing)}},
		{"recipient name of 70", func(e *Envelope) { e.Recipient.Name = strings.Repeat("é", 70) }, nil},
		{"recipient name of 71", func(e *Envelope) { e.Recipient.Name = strings.Repeat("é", 71) },
			Errors{problem("recipient.name", "is too long – it has 71 characters and the most allowed is 70")}},
		{"recipient name no fixed abode", func(e *Envelope) { e.Recipient.Name = "J Bloggs (no fixed abode)" },
			Errors{problem("recipient.name", noAbode)}},
		{"address missing", func(e *Envelope) { e.Recipient.Address = nil },
			Errors{problem("recipient.address", missing)}},
		{"address of 1 line", func(e *Envelope) { e.Recipient.Address = []string{"SY8 1AA"} },
			Errors{problem("recipient.address", "has only 1 line, "+lines)}},
		{"address of 2 lines", func(e *Envelope) { e.Recipient.Address = []string{"Ludlow", "SY8 1AA"} }, nil},
		{"address of 6 lines", func(e *Envelope) { e.Recipient.Address = []string{"a", "b", "c", "d", "e", "SY8 1AA"} }, nil},
		{"address of 7 lines", func(e *Envelope) { e.Recipient.Address = []string{"a", "b", "c", "d", "e", "f", "SY8 1AA"} },
			Errors{problem("recipient.address", "has 7 lines, "+lines)}},
		{"blank address line", func(e *Envelope) { e.Recipient.Address[1] = "" },
			Errors{problem("recipient.address[1]", "is blank – leave out empty address lines")}},
		{"blank last line", func(e *Envelope) { e.Recipient.Address[2] = "" },
			Errors{problem("recipient.address[2]", "is blank – leave out empty address lines")}},
		{"address line of 50", func(e *Envelope) { e.Recipient.Address[0] = strings.Repeat("x", 50) }, nil},
		{"address line of 51", func(e *Envelope) { e.Recipient.Address[0] = strings.Repeat("x", 51) },
			Errors{problem("recipient.address[0]", "is too long – it has 51 characters and the most allowed is 50")}},
		{"address line with control character", func(e *Envelope) { e.Recipient.Address[0] = "1\x07 Station Road" },
			Errors{problem("recipient.address[0]", "contains an invisible control character (U+0007) at character 2, which cannot be printed")}},
		{"no fixed abode line", func(e *Envelope) { e.Recipient.Address[0] = "No Fixed Abode" },
			Errors{problem("recipient.address[0]", noAbode)}},
		{"no fixed address inside a line", func(e *Envelope) { e.Recipient.Address[0] = "c/o Day Centre, no fixed address" },
			Errors{problem("recipient.address[0]", noAbode)}},
		{"NFA line", func(e *Envelope) { e.Recipient.Address[0] = "N.F.A." },
			Errors{problem("recipient.address[0]", noAbode)}},
		{"nfa line lower case", func(e *Envelope) { e.Recipient.Address[0] = "nfa" },
			Errors{problem("recipient.address[0]", noAbode)}},
		{"NFA initials in a name are a name", func(e *Envelope) { e.Recipient.Name = "Mr NFA Jones" }, nil},
		{"fixed and abode apart are fine", func(e *Envelope) { e.Recipient.Address[0] = "No 4, Fixed Abode Lane" }, nil},
		{"last line not a postcode", func(e *Envelope) { e.Recipient.Address[2] = "Ludlow" },
			Errors{problem("recipient.address[2]", postcode)}},
		{"postcode not last", func(e *Envelope) { e.Recipient.Address = []string{"Ludlow", "SY8 1AA", "Shropshire"} },
			Errors{problem("recipient.address[2]", postcode)}},
		{"unknown postcode area", func(e *Envelope) { e.Recipient.Address[2] = "QQ1 1AA" },
			Errors{problem("recipient.address[2]", "is not a real UK postcode – its first letters are not a UK postcode area")}},
		{"BFPO", func(e *Envelope) { e.Recipient.Address[2] = "BFPO 1234" }, nil},
		{"BFPO of 5 digits", func(e *Envelope) { e.Recipient.Address[2] = "BFPO 12345" },
			Errors{problem("recipient.address[2]", postcode)}},
		{"letter template pinned", func(e *Envelope) { e.Letter.Template = "carriage-letter@12" }, nil},
		{"letter template version 0", func(e *Envelope) { e.Letter.Template = "carriage-letter@0" },
			Errors{problem("letter.template", badTpl)}},
		{"letter template upper case", func(e *Envelope) { e.Letter.Template = "Carriage-Letter" },
			Errors{problem("letter.template", badTpl)}},
		{"letter template empty version", func(e *Envelope) { e.Letter.Template = "carriage-letter@" },
			Errors{problem("letter.template", badTpl)}},
		{"large print", func(e *Envelope) { e.Letter.Format = FormatLargePrint }, nil},
		{"unknown format", func(e *Envelope) { e.Letter.Format = "braille" },
			Errors{problem("letter.format", `must be "standard" or "large-print"`)}},
		{"first class", func(e *Envelope) { e.Letter.Postage = PostageFirst }, nil},
		{"unknown postage", func(e *Envelope) { e.Letter.Postage = "airmail" },
			Errors{problem("letter.postage", `must be "first" or "second"`)}},
		{"no certificates", func(e *Envelope) { e.Certificates = nil },
			Errors{problem("certificates", "is missing – an envelope needs at least one certificate")}},
		{"eight certificates", func(e *Envelope) { e.Certificates = certificates(8) }, nil},
		{"nine certificates", func(e *Envelope) { e.Certificates = certificates(9) },
			Errors{problem("certificates", "has 9 certificates, but one envelope can hold at most 8")}},
		{"certificate problems carry the index", func(e *Envelope) {
			e.Certificates = certificates(2)
			e.Certificates[1].Sex = "boy"
		}, Errors{problem("certificates[1].sex", `must be "male", "female" or "unknown", or left blank`)}},
		{"duplicate references", func(e *Envelope) {
			e.Certificates = certificates(3)
			e.Certificates[2].Reference = e.Certificates[0].Reference
		}, Errors{problem("certificates[2].reference", "is the same as certificates[0].reference – each certificate needs its own reference")}},
		{"every problem at once, in request order", func(e *Envelope) {
			e.EnvelopeID = ""
			e.Recipient.Address[2] = "QQ1 1AA"
			e.Certificates[0].ParentName = ""
		}, Errors{
			problem("envelopeId", missing),
			problem("recipient.address[2]", "is not a real UK postcode – its first letters are not a UK postcode area"),
			problem("certificates[0].parentName", missing),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := validEnvelope()
			tt.change(e)
			if got := words(e.Validate()); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

// certificates returns n valid certificates with different references.
func certificates(n int) []Certificate {
	cs := make([]Certificate, n)
	for i := range cs {
		cs[i] = validEnvelope().Certificates[0]
		cs[i].Reference = "BLC-" + strings.Repeat("9", i+1)
	}
	return cs
}

func TestValidateCertificate(t *testing.T) {
	const (
		missing = "is missing"
		badRef  = "must be 1 to 32 characters, using only capital letters A–Z, digits 0–9 and hyphens"
		notReal = "is not a real calendar date – check the day and the month"
		after   = "is after the date of issue – a loss cannot be later than its certificate"
		lossFmt = "must be a date written YYYY-MM-DD, or YYYY-MM for a month, or YYYY for a year"
	)
	tests := []struct {
		name    string
		change  func(c *Certificate)
		preview bool
		want    Errors
	}{
		{"valid", func(c *Certificate) {}, false, nil},
		{"every box filled", func(c *Certificate) {
			c.OtherParentName = "Sam Bloggs"
			c.BabyName = "Robin"
			c.Sex = SexUnknown
			c.DateOfLoss = "2025-03-03"
			c.PlaceOfLoss = "Canterbury, Kent"
		}, false, nil},
		{"required boxes missing", func(c *Certificate) { c.Reference, c.DateOfIssue, c.ParentName = "", "", "" }, false,
			Errors{problem("reference", missing), problem("dateOfIssue", missing), problem("parentName", missing)}},
		{"preview allows the boxes parents have not filled", func(c *Certificate) {
			c.Reference, c.DateOfIssue, c.ParentName = "", "", ""
			c.DateOfLoss = "2030"
		}, true, nil},
		{"preview still checks what is filled", func(c *Certificate) { c.Reference, c.Sex, c.DateOfLoss = "bad ref", "girl", "2026-01" }, true,
			Errors{
				problem("reference", badRef),
				problem("sex", `must be "male", "female" or "unknown", or left blank`),
				problem("dateOfLoss", after),
			}},
		{"reference of 32", func(c *Certificate) { c.Reference = strings.Repeat("A", 32) }, false, nil},
		{"reference of 33", func(c *Certificate) { c.Reference = strings.Repeat("A", 33) }, false,
			Errors{problem("reference", badRef)}},
		{"reference lower case", func(c *Certificate) { c.Reference = "blc-1" }, false,
			Errors{problem("reference", badRef)}},
		{"reference with underscore", func(c *Certificate) { c.Reference = "BLC_1" }, false,
			Errors{problem("reference", badRef)}},
		{"template", func(c *Certificate) { c.Template = "baby-loss-certificate@3" }, false, nil},
		{"template with space", func(c *Certificate) { c.Template = "baby loss" }, false,
			Errors{problem("template", `must be a template id of lower-case letters, digits and hyphens, optionally followed by @ and a version number, like "carriage-letter@2"`)}},
		{"date of issue partial", func(c *Certificate) { c.DateOfIssue = "2025-03" }, false,
			Errors{problem("dateOfIssue", "must be a full date written YYYY-MM-DD")}},
		{"date of issue British order", func(c *Certificate) { c.DateOfIssue = "03/03/2025" }, false,
			Errors{problem("dateOfIssue", "must be a full date written YYYY-MM-DD")}},
		{"date of issue 30 February", func(c *Certificate) { c.DateOfIssue = "2025-02-30" }, false,
			Errors{problem("dateOfIssue", notReal)}},
		{"date of issue 29 February in a leap year", func(c *Certificate) { c.DateOfIssue = "2024-02-29" }, false, nil},
		{"date of issue 29 February otherwise", func(c *Certificate) { c.DateOfIssue = "2025-02-29" }, false,
			Errors{problem("dateOfIssue", notReal)}},
		{"parent name of 100", func(c *Certificate) { c.ParentName = strings.Repeat("a", 100) }, false, nil},
		{"parent name of 101", func(c *Certificate) { c.ParentName = strings.Repeat("a", 101) }, false,
			Errors{problem("parentName", "is too long – it has 101 characters and the most allowed is 100")}},
		{"other parent name of 101", func(c *Certificate) { c.OtherParentName = strings.Repeat("a", 101) }, false,
			Errors{problem("otherParentName", "is too long – it has 101 characters and the most allowed is 100")}},
		{"baby name of 101", func(c *Certificate) { c.BabyName = strings.Repeat("a", 101) }, false,
			Errors{problem("babyName", "is too long – it has 101 characters and the most allowed is 100")}},
		{"place of loss of 120", func(c *Certificate) { c.PlaceOfLoss = strings.Repeat("a", 120) }, false, nil},
		{"place of loss of 121", func(c *Certificate) { c.PlaceOfLoss = strings.Repeat("a", 121) }, false,
			Errors{problem("placeOfLoss", "is too long – it has 121 characters and the most allowed is 120")}},
		{"sex male", func(c *Certificate) { c.Sex = SexMale }, false, nil},
		{"sex female", func(c *Certificate) { c.Sex = SexFemale }, false, nil},
		{"sex not normalised", func(c *Certificate) { c.Sex = "Male" }, false,
			Errors{problem("sex", `must be "male", "female" or "unknown", or left blank`)}},
		{"loss on the day of issue", func(c *Certificate) { c.DateOfLoss = "2025-03-03" }, false, nil},
		{"loss the day after issue", func(c *Certificate) { c.DateOfLoss = "2025-03-04" }, false,
			Errors{problem("dateOfLoss", after)}},
		{"loss in the month of issue", func(c *Certificate) { c.DateOfLoss = "2025-03" }, false, nil},
		{"loss the month after issue", func(c *Certificate) { c.DateOfLoss = "2025-04" }, false,
			Errors{problem("dateOfLoss", after)}},
		{"loss in the year of issue", func(c *Certificate) { c.DateOfLoss = "2025" }, false, nil},
		{"loss the year after issue", func(c *Certificate) { c.DateOfLoss = "2026" }, false,
			Errors{problem("dateOfLoss", after)}},
		{"loss in 1900", func(c *Certificate) { c.DateOfLoss = "1900-01-01" }, false, nil},
		{"loss in 1899", func(c *Certificate) { c.DateOfLoss = "1899-12" }, false,
			Errors{problem("dateOfLoss", "must be in 1900 or later")}},
		{"loss month 13", func(c *Certificate) { c.DateOfLoss = "2024-13" }, false,
			Errors{problem("dateOfLoss", notReal)}},
		{"loss 31 April", func(c *Certificate) { c.DateOfLoss = "2024-04-31" }, false,
			Errors{problem("dateOfLoss", notReal)}},
		{"loss in words", func(c *Certificate) { c.DateOfLoss = "March 2024" }, false,
			Errors{problem("dateOfLoss", lossFmt)}},
		{"loss with bad date of issue is not compared", func(c *Certificate) { c.DateOfIssue, c.DateOfLoss = "2025-02-30", "2026" }, false,
			Errors{problem("dateOfIssue", notReal)}},
		{"emoji", func(c *Certificate) { c.BabyName = "Robin 😀" }, false,
			Errors{problem("babyName", `contains "😀" (U+1F600 GRINNING FACE), which cannot be printed`)}},
		{"symbol So", func(c *Certificate) { c.PlaceOfLoss = "St Mary's ©" }, false,
			Errors{problem("placeOfLoss", `contains "©" (U+00A9 COPYRIGHT SIGN), which cannot be printed`)}},
		{"zero-width space", func(c *Certificate) { c.ParentName = "Jo\u200bBloggs" }, false,
			Errors{problem("parentName", "contains an invisible character (U+200B ZERO WIDTH SPACE) at character 3, which cannot be printed")}},
		{"byte order mark", func(c *Certificate) { c.ParentName = "\ufeffJo Bloggs" }, false,
			Errors{problem("parentName", "contains an invisible character (U+FEFF ZERO WIDTH NO-BREAK SPACE) at character 1, which cannot be printed")}},
		{"private use", func(c *Certificate) { c.BabyName = "Robin\ue000" }, false,
			Errors{problem("babyName", "contains a private-use character (U+E000) at character 6, which cannot be printed")}},
		{"unassigned", func(c *Certificate) { c.BabyName = "Robin\u0378" }, false,
			Errors{problem("babyName", "contains a character not yet in Unicode (U+0378) at character 6, which cannot be printed")}},
		{"replacement character", func(c *Certificate) { c.BabyName = "Rob\ufffdn" }, false,
			Errors{problem("babyName", "contains a replacement character (U+FFFD) at character 4, which cannot be printed; it usually means the text was damaged before it reached Quire")}},
		{"invalid UTF-8", func(c *Certificate) { c.BabyName = "Rob\xffn" }, false,
			Errors{problem("babyName", "is not valid UTF-8 text")}},
		{"several bad characters counted", func(c *Certificate) { c.BabyName = "😀 Robin 🌈\u200b" }, false,
			Errors{problem("babyName", `contains "😀" (U+1F600 GRINNING FACE), which cannot be printed (and 2 more characters that cannot be printed)`)}},
		{"bad character and too long both reported", func(c *Certificate) { c.BabyName = strings.Repeat("a", 100) + "😀" }, false,
			Errors{
				problem("babyName", `contains "😀" (U+1F600 GRINNING FACE), which cannot be printed`),
				problem("babyName", "is too long – it has 101 characters and the most allowed is 100"),
			}},
		{"bad character in a coded value is reported alone", func(c *Certificate) { c.Sex = "😀" }, false,
			Errors{problem("sex", `contains "😀" (U+1F600 GRINNING FACE), which cannot be printed`)}},
		{"letters of many scripts are fine", func(c *Certificate) {
			c.ParentName = "Łucja Wróblewska Dvořák Řezníček Ștefan Țurcanu İpek Şahin Ğı"
			c.OtherParentName = "Nguyễn Thị Ánh Tuyết Siobhán Ní Bhriain Órlaith"
			c.BabyName = "Ελένη Παπαδοπούλου Олена Шевченко"
			c.PlaceOfLoss = "Hôpital Saint-Éloi, 12 € & £3 + 4 = 7 – “quoted” ‘too’"
		}, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validEnvelope().Certificates[0]
			tt.change(&c)
			got := words(ValidateCertificate(&c, "", CertificateOptions{Preview: tt.preview}))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

func TestValidateCertificatePath(t *testing.T) {
	c := validEnvelope().Certificates[0]
	c.Sex = "boy"
	got := ValidateCertificate(&c, "certificates[3]", CertificateOptions{})
	if len(got) != 1 || got[0].Field != "certificates[3].sex" {
		t.Errorf("got %v, want one problem with certificates[3].sex", got)
	}
}
