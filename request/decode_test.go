package request

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// validJSON is a request with no problems; tests replace parts of it.
const validJSON = `{
  "schemaVersion": 1,
  "envelopeId": "env-1",
  "recipient": {"name": "Ms Jo Bloggs", "address": ["1 Station Road", "Ludlow", "SY8 1AA"]},
  "certificates": [{"reference": "BLC-1", "dateOfIssue": "2025-03-03", "parentName": "Jo Bloggs"}]
}`

// decodeErrors decodes data and returns its problems, failing the test if
// the error is not Errors.
func decodeErrors(t *testing.T, data string) (*Envelope, Errors) {
	t.Helper()
	e, err := Decode([]byte(data))
	if err == nil {
		return e, nil
	}
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Decode returned %v (%T), want Errors", err, err)
	}
	if len(errs) == 0 {
		t.Fatal("Decode returned an empty Errors as an error")
	}
	return e, errs
}

func TestDecodeStrictness(t *testing.T) {
	const unknown = "is not a field Quire knows – check the spelling"
	tests := []struct {
		name string
		data string
		want Errors
	}{
		{"valid", validJSON, nil},
		{"empty", "", Errors{problem("", "the request is empty")}},
		{"only spaces", " \n\t ", Errors{problem("", "the request is empty")}},
		{"not an object", `[1, 2]`, Errors{problem("", "the request must be a JSON object ({ … }), not a list")}},
		{"null", `null`, Errors{problem("", "the request must be a JSON object ({ … }), not null")}},
		{"syntax error gives the position only", "{\n  \"envelopeId\": 'Jane'\n}",
			Errors{problem("", "the request is not valid JSON (the problem is at line 2, column 17)")}},
		{"cut short", `{"envelopeId": "env-1"`,
			Errors{problem("", "the request is not valid JSON – it stops before its end")}},
		{"trailing object", validJSON + `{}`,
			Errors{problem("", "the request has more data after its end (after line 6, column 2)")}},
		{"trailing garbage", validJSON + ` x`,
			Errors{problem("", "the request has more data after its end (after line 6, column 2)")}},
		{"trailing white space is fine", validJSON + " \n\t", nil},
		{"invalid UTF-8", "{\"envelopeId\": \"a\xffb\"}",
			Errors{problem("", "the request is not valid UTF-8 text (the problem is at line 1, column 18)")}},
		{"too deep", strings.Repeat("[", 40) + strings.Repeat("]", 40),
			Errors{problem("", "the request nests lists and objects more than 32 deep, which no request needs")}},
		{"unknown top-level field", strings.Replace(validJSON, `"schemaVersion": 1,`, `"schemaVersion": 1, "priority": "high",`, 1),
			Errors{problem("priority", unknown)}},
		{"unknown field deep inside", strings.Replace(validJSON, `"parentName": "Jo Bloggs"`, `"parentName": "Jo Bloggs", "nhsNumber": null`, 1),
			Errors{problem("certificates[0].nhsNumber", unknown)}},
		{"field in the wrong case", strings.Replace(validJSON, `"parentName"`, `"ParentName"`, 1),
			Errors{
				problem("certificates[0].ParentName", unknown+" (did you mean parentName?)"),
				problem("certificates[0].parentName", "is missing"),
			}},
		{"field name that cannot be shown", strings.Replace(validJSON, `"schemaVersion": 1,`, `"schemaVersion": 1, "Jane Smith": 1,`, 1),
			Errors{problem("", "the request has a field whose name Quire does not know and cannot show – check the spelling")}},
		{"field name that cannot be shown, deep", strings.Replace(validJSON, `"name": "Ms Jo Bloggs"`, `"name": "Ms Jo Bloggs", "a.b": 1`, 1),
			Errors{problem("recipient", "has a field whose name Quire does not know and cannot show – check the spelling")}},
		{"field given twice", strings.Replace(validJSON, `"envelopeId": "env-1",`, `"envelopeId": "env-1", "envelopeId": "env-2",`, 1),
			Errors{problem("envelopeId", "is given more than once")}},
		{"number for text", strings.Replace(validJSON, `"reference": "BLC-1"`, `"reference": 1`, 1),
			Errors{problem("certificates[0].reference", "must be text, not a number")}},
		{"object for text", strings.Replace(validJSON, `"parentName": "Jo Bloggs"`, `"parentName": {"first": "Jo"}`, 1),
			Errors{problem("certificates[0].parentName", "must be text, not an object")}},
		{"boolean for text", strings.Replace(validJSON, `"parentName": "Jo Bloggs"`, `"parentName": "Jo Bloggs", "sex": false`, 1),
			Errors{problem("certificates[0].sex", "must be text, not a yes/no value (true or false)")}},
		{"text for a number", strings.Replace(validJSON, `"schemaVersion": 1`, `"schemaVersion": "1"`, 1),
			Errors{problem("schemaVersion", "must be a whole number, not text")}},
		{"fraction for a whole number", strings.Replace(validJSON, `"schemaVersion": 1`, `"schemaVersion": 1.5`, 1),
			Errors{problem("schemaVersion", "must be a whole number")}},
		{"1.0 is 1, as in JSON Schema", strings.Replace(validJSON, `"schemaVersion": 1`, `"schemaVersion": 1.0`, 1), nil},
		{"huge number", strings.Replace(validJSON, `"schemaVersion": 1`, `"schemaVersion": 1e300`, 1),
			Errors{problem("schemaVersion", "must be a whole number")}},
		{"text for a list", strings.Replace(validJSON, `["1 Station Road", "Ludlow", "SY8 1AA"]`, `"1 Station Road, Ludlow, SY8 1AA"`, 1),
			Errors{problem("recipient.address", "must be a list ([ … ]), not text")}},
		{"number in a list of text", strings.Replace(validJSON, `"1 Station Road"`, `1`, 1),
			Errors{problem("recipient.address[0]", "must be text, not a number")}},
		{"null in a list of text", strings.Replace(validJSON, `"Ludlow"`, `null`, 1),
			Errors{problem("recipient.address[1]", "must be text, not null")}},
		{"list for an object", strings.Replace(validJSON, `"schemaVersion": 1,`, `"schemaVersion": 1, "letter": [],`, 1),
			Errors{problem("letter", "must be an object ({ … }), not a list")}},
		{"null certificate", strings.Replace(validJSON, `[{"reference"`, `[null, {"reference"`, 1),
			Errors{problem("certificates[0]", "must be an object ({ … }), not null")}},
		{"null for a required text field is missing", strings.Replace(validJSON, `"parentName": "Jo Bloggs"`, `"parentName": null`, 1),
			Errors{problem("certificates[0].parentName", "is missing")}},
		{"blank required text field is missing", strings.Replace(validJSON, `"parentName": "Jo Bloggs"`, `"parentName": " \t "`, 1),
			Errors{problem("certificates[0].parentName", "is missing")}},
		{"null for an optional field is blank", strings.Replace(validJSON, `"parentName": "Jo Bloggs"`, `"parentName": "Jo Bloggs", "babyName": null, "sex": null`, 1), nil},
		{"null letter takes the defaults", strings.Replace(validJSON, `"schemaVersion": 1,`, `"schemaVersion": 1, "letter": null,`, 1), nil},
		{"recipient missing", `{"schemaVersion": 1, "envelopeId": "e", "certificates": [{"reference": "A", "dateOfIssue": "2025-01-01", "parentName": "P"}]}`,
			Errors{problem("recipient.name", "is missing"), problem("recipient.address", "is missing")}},
		{"null recipient is missing", `{"schemaVersion": 1, "envelopeId": "e", "recipient": null, "certificates": [{"reference": "A", "dateOfIssue": "2025-01-01", "parentName": "P"}]}`,
			Errors{problem("recipient.name", "is missing"), problem("recipient.address", "is missing")}},
		{"empty object", `{}`, Errors{
			problem("schemaVersion", "is missing"),
			problem("envelopeId", "is missing"),
			problem("recipient.name", "is missing"),
			problem("recipient.address", "is missing"),
			problem("certificates", "is missing – an envelope needs at least one certificate"),
		}},
		{"empty certificate list", strings.Replace(validJSON, `[{"reference": "BLC-1", "dateOfIssue": "2025-03-03", "parentName": "Jo Bloggs"}]`, `[]`, 1),
			Errors{problem("certificates", "is missing – an envelope needs at least one certificate")}},
		{"a value that cannot be read is not reported again by validation", strings.Replace(validJSON, `"recipient": {`, `"recipient": 7, "x": {`, 1),
			Errors{problem("recipient", "must be an object ({ … }), not a number"), problem("x", unknown)}},
		{"reading problems come first, then validation problems", strings.Replace(
			strings.Replace(validJSON, `"envelopeId": "env-1"`, `"envelopeId": "env 1"`, 1),
			`"parentName": "Jo Bloggs"`, `"parentName": "Jo Bloggs", "colour": "blue"`, 1),
			Errors{
				problem("certificates[0].colour", unknown),
				problem("envelopeId", "must be 1 to 64 characters, using only letters A–Z and a–z, digits 0–9, full stops, underscores and hyphens"),
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := decodeErrors(t, tt.data)
			if got = words(got); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

func TestDecodeSizeLimit(t *testing.T) {
	// Pad a valid request with white space: only its size is wrong.
	atLimit := validJSON + strings.Repeat(" ", MaxRequestSize-len(validJSON))
	if _, errs := decodeErrors(t, atLimit); errs != nil {
		t.Errorf("a request of exactly MaxRequestSize bytes: %v", errs)
	}
	e, errs := decodeErrors(t, atLimit+" ")
	want := Errors{problem("", "the request is larger than 64 KiB, the most Quire reads")}
	if !reflect.DeepEqual(errs, want) || e != nil {
		t.Errorf("one byte over: got %v, %v; want nil, %v", e, errs, want)
	}
}

func TestDecodeReturnsTheEnvelopeWithItsProblems(t *testing.T) {
	e, errs := decodeErrors(t, strings.Replace(validJSON, `"parentName": "Jo Bloggs"`, `"parentName": ""`, 1))
	if errs == nil {
		t.Fatal("no problem reported for a missing parent name")
	}
	if e == nil || e.EnvelopeID != "env-1" {
		t.Errorf("got envelope %+v, want the envelope with its id, so the rejection can name it", e)
	}
}

func TestDecodeCapsTheProblemList(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"a0": 0`)
	for i := 1; i < 500; i++ {
		b.WriteString(`, "a` + strings.Repeat("x", i%5) + `": 0`)
	}
	b.WriteString(`}`)
	_, errs := decodeErrors(t, b.String())
	if len(errs) != maxProblems {
		t.Fatalf("got %d problems, want %d", len(errs), maxProblems)
	}
	last := errs[len(errs)-1]
	// 500 unknown or repeated fields and 5 missing ones, less the 99 listed.
	if want := problem("", "the request has 406 more problems not listed here"); last != want {
		t.Errorf("last problem %v, want %v", last, want)
	}
}

func TestDecodeNormalises(t *testing.T) {
	data := `{
	  "schemaVersion": 1,
	  "envelopeId": "env-1",
	  "recipient": {"name": "  Ms\tJo   Bloggs ", "address": ["1  Station\u00a0Road", "Ludlow", " sy81aa "]},
	  "letter": {},
	  "certificates": [{
	    "reference": " blc-1 ", "dateOfIssue": " 2025-03-03 ", "parentName": "Siobha\u0301n\nNi\u0301 Bhriain",
	    "sex": "Female", "dateOfLoss": "2025-01", "placeOfLoss": "Canterbury,  Kent"
	  }, {
	    "template": "baby-loss-certificate@2", "reference": "BLC-2", "dateOfIssue": "2025-03-03", "parentName": "Jo", "sex": "UNKNOWN"
	  }]
	}`
	e, errs := decodeErrors(t, data)
	if errs != nil {
		t.Fatalf("Decode: %v", errs)
	}
	want := &Envelope{
		SchemaVersion: 1,
		EnvelopeID:    "env-1",
		Recipient:     Recipient{Name: "Ms Jo Bloggs", Address: []string{"1 Station Road", "Ludlow", "SY8 1AA"}},
		Letter:        Letter{Template: DefaultLetterTemplate, Format: FormatStandard, Postage: PostageSecond},
		Certificates: []Certificate{{
			Template: DefaultCertificateTemplate, Reference: "BLC-1", DateOfIssue: "2025-03-03",
			ParentName: "Siobhán Ní Bhriain", Sex: SexFemale, DateOfLoss: "2025-01", PlaceOfLoss: "Canterbury, Kent",
		}, {
			Template: "baby-loss-certificate@2", Reference: "BLC-2", DateOfIssue: "2025-03-03", ParentName: "Jo", Sex: SexUnknown,
		}},
	}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("got\n%+v\nwant\n%+v", e, want)
	}
	if e.Certificates[0].ParentName != "Siobh\u00e1n N\u00ed Bhriain" {
		t.Errorf("parent name is not in NFC: %+q", e.Certificates[0].ParentName)
	}
}

func TestDecodeFindsDuplicatesAfterNormalising(t *testing.T) {
	data := strings.Replace(validJSON, `[{"reference": "BLC-1", "dateOfIssue": "2025-03-03", "parentName": "Jo Bloggs"}]`,
		`[{"reference": "BLC-1", "dateOfIssue": "2025-03-03", "parentName": "Jo Bloggs"},
		  {"reference": " blc-1", "dateOfIssue": "2025-03-03", "parentName": "Jo Bloggs"}]`, 1)
	_, errs := decodeErrors(t, data)
	want := Errors{problem("certificates[1].reference", "is the same as certificates[0].reference – each certificate needs its own reference")}
	if !reflect.DeepEqual(errs, want) {
		t.Errorf("got %v, want %v", errs, want)
	}
}

func TestDecodeLeavesTheEnvelopeIDAlone(t *testing.T) {
	// The id is the upstream service's key and is echoed in status events:
	// it is refused, not trimmed.
	_, errs := decodeErrors(t, strings.Replace(validJSON, `"env-1"`, `" env-1"`, 1))
	if len(errs) != 1 || errs[0].Field != "envelopeId" {
		t.Errorf("got %v, want one problem with envelopeId", errs)
	}
}

func TestDecodeCertificate(t *testing.T) {
	tests := []struct {
		name string
		data string
		opts CertificateOptions
		want Errors
	}{
		{"full", `{"reference": "blc-1", "dateOfIssue": "2025-03-03", "parentName": "Jo"}`, CertificateOptions{}, nil},
		{"preview with nothing filled", `{}`, CertificateOptions{Preview: true}, nil},
		{"empty without preview", `{}`, CertificateOptions{}, Errors{
			problem("reference", "is missing"), problem("dateOfIssue", "is missing"), problem("parentName", "is missing"),
		}},
		{"preview is still strict", `{"babyName": 5, "sex": "boy", "colour": "red"}`, CertificateOptions{Preview: true}, Errors{
			problem("babyName", "must be text, not a number"),
			problem("colour", "is not a field Quire knows – check the spelling"),
			problem("sex", `must be "male", "female" or "unknown", or left blank`),
		}},
		{"not an object", `"Jo"`, CertificateOptions{Preview: true}, Errors{
			problem("", "the request must be a JSON object ({ … }), not text"),
		}},
		{"trailing data", `{} {}`, CertificateOptions{Preview: true}, Errors{
			problem("", "the request has more data after its end (after line 1, column 3)"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := DecodeCertificate([]byte(tt.data), tt.opts)
			var got Errors
			if err != nil && !errors.As(err, &got) {
				t.Fatalf("DecodeCertificate returned %v (%T), want Errors", err, err)
			}
			if got = words(got); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%v\nwant\n%v", got, tt.want)
			}
			if c != nil && c.Template != DefaultCertificateTemplate {
				t.Errorf("template %q, want the default", c.Template)
			}
		})
	}
	c, err := DecodeCertificate([]byte(`{"reference": "blc-1", "dateOfIssue": "2025-03-03", "parentName": " Jo  Bloggs "}`), CertificateOptions{})
	if err != nil || c.Reference != "BLC-1" || c.ParentName != "Jo Bloggs" {
		t.Errorf("got %+v, %v; want a normalised certificate", c, err)
	}
}
