package request

import (
	"reflect"
	"testing"
)

func TestContentHash(t *testing.T) {
	decode := func(data string) *Envelope {
		t.Helper()
		e, err := Decode([]byte(data))
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		return e
	}
	base := decode(validJSON)
	same := []struct{ name, data string }{
		{"keys in another order, other spacing", `{"certificates":[{"parentName":"Jo Bloggs","dateOfIssue":"2025-03-03","reference":"BLC-1"}],
			"recipient":{"address":["1 Station Road","Ludlow","SY8 1AA"],"name":"Ms Jo Bloggs"},"envelopeId":"env-1","schemaVersion":1}`},
		{"defaults spelt out", `{"schemaVersion": 1, "envelopeId": "env-1",
			"recipient": {"name": "Ms Jo Bloggs", "address": ["1 Station Road", "Ludlow", "SY8 1AA"]},
			"letter": {"template": "carriage-letter", "format": "standard"},
			"certificates": [{"template": "baby-loss-certificate", "reference": "BLC-1", "dateOfIssue": "2025-03-03", "parentName": "Jo Bloggs", "babyName": null}]}`},
		{"text that normalises the same", `{"schemaVersion": 1, "envelopeId": "env-1",
			"recipient": {"name": " Ms  Jo Bloggs", "address": ["1 Station Road", "Ludlow", "sy81aa"]},
			"certificates": [{"reference": "blc-1", "dateOfIssue": "2025-03-03", "parentName": "Jo\u0020Bloggs"}]}`},
	}
	for _, tt := range same {
		if got, want := decode(tt.data).ContentHash(), base.ContentHash(); got != want {
			t.Errorf("%s: hash %s, want %s", tt.name, got, want)
		}
	}

	different := []func(e *Envelope){
		func(e *Envelope) { e.EnvelopeID = "env-2" },
		func(e *Envelope) { e.Recipient.Address[0] = "2 Station Road" },
		func(e *Envelope) { e.Letter.Format = FormatLargePrint },
		func(e *Envelope) { e.Certificates[0].BabyName = "Robin" },
		func(e *Envelope) { e.Certificates[0].Sex = SexUnknown },
		func(e *Envelope) { e.Certificates = append(e.Certificates, e.Certificates[0]) },
		// Moving text between boxes must change the hash too.
		func(e *Envelope) { e.Certificates[0].ParentName, e.Certificates[0].OtherParentName = "", "Jo Bloggs" },
	}
	for i, change := range different {
		e := decode(validJSON)
		change(e)
		if e.ContentHash() == base.ContentHash() {
			t.Errorf("change %d: the hash did not change", i)
		}
	}

	if h := base.ContentHash(); len(h) != 64 {
		t.Errorf("hash %q is not hex SHA-256", h)
	}
}

func TestContentHashNormalisesACopy(t *testing.T) {
	e := validEnvelope()
	e.Recipient.Address[2] = "sy81aa"
	e.Certificates[0].Reference = "blc-1"
	e.Letter = Letter{}
	before := *e
	before.Recipient.Address = append([]string(nil), e.Recipient.Address...)
	before.Certificates = append([]Certificate(nil), e.Certificates...)

	if e.ContentHash() != validEnvelope().ContentHash() {
		t.Error("an envelope built in Go hashes differently from its normalised form")
	}
	if !reflect.DeepEqual(*e, before) {
		t.Errorf("ContentHash changed its envelope:\n%+v\n%+v", *e, before)
	}
}
