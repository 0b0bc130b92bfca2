package request

import (
	"testing"
	"time"
)

func TestCheckIssueDates(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	// 23:30 UTC on 31 March 2026 is already 1 April in London (BST):
	// tomorrow there is 2 April.
	now := time.Date(2026, 3, 31, 23, 30, 0, 0, time.UTC)
	tests := []struct {
		issued string
		bad    bool
	}{
		{"2026-03-31", false},
		{"2026-04-01", false},
		{"2026-04-02", false},
		{"2026-04-03", true},
		{"2027-01-01", true},
		{"2020-01-01", false},
		{"2026-04", false},    // not a full date: Validate's problem
		{"not a date", false}, // likewise
	}
	for _, tt := range tests {
		e := &Envelope{Certificates: []Certificate{{DateOfIssue: "2026-03-01"}, {DateOfIssue: tt.issued}}}
		errs := CheckIssueDates(e, now, london)
		if !tt.bad {
			if len(errs) != 0 {
				t.Errorf("%s: unexpected %v", tt.issued, errs)
			}
			continue
		}
		if len(errs) != 1 || errs[0].Field != "certificates[1].dateOfIssue" {
			t.Fatalf("%s: got %v, want one error on certificates[1].dateOfIssue", tt.issued, errs)
		}
	}
	// In UTC the same instant is still 31 March: 2 April is then later
	// than tomorrow.
	if errs := CheckIssueDates(&Envelope{Certificates: []Certificate{{DateOfIssue: "2026-04-02"}}}, now, time.UTC); len(errs) != 1 {
		t.Errorf("UTC: got %v, want one error", errs)
	}
}
