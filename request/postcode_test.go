package request

import "testing"

func TestNormalisePostcode(t *testing.T) {
	tests := []struct {
		in, want string
		fault    postcodeFault
	}{
		// Every outward shape.
		{"M1 1AE", "M1 1AE", postcodeOK},          // A9
		{"B33 8TH", "B33 8TH", postcodeOK},        // A99
		{"CR2 6XH", "CR2 6XH", postcodeOK},        // AA9
		{"DN55 1PT", "DN55 1PT", postcodeOK},      // AA99
		{"W1A 0AX", "W1A 0AX", postcodeOK},        // A9A
		{"EC1A 1BB", "EC1A 1BB", postcodeOK},      // AA9A
		{"sw1a1aa", "SW1A 1AA", postcodeOK},       // case and spacing
		{"  sW1a   1aA ", "SW1A 1AA", postcodeOK}, // any spacing
		{"S W 1 A 1 A A", "SW1A 1AA", postcodeOK}, // spaces anywhere
		{"BT1 5GS", "BT1 5GS", postcodeOK},        // Northern Ireland
		{"GY1 1AA", "GY1 1AA", postcodeOK},        // Guernsey
		{"JE2 3AB", "JE2 3AB", postcodeOK},        // Jersey
		{"IM1 1AA", "IM1 1AA", postcodeOK},        // Isle of Man
		{"ZE1 0AA", "ZE1 0AA", postcodeOK},        // Shetland
		{"BFPO 1234", "BFPO 1234", postcodeOK},
		{"bfpo1", "BFPO 1", postcodeOK},
		{" BFPO  47 ", "BFPO 47", postcodeOK},
		{"QQ1 1AA", "", postcodeUnknownArea}, // no area QQ
		{"XM4 5HQ", "", postcodeUnknownArea}, // non-geographic
		{"BX1 1LT", "", postcodeUnknownArea}, // non-geographic
		{"Q1 1AA", "", postcodeUnknownArea},
		{"SW1A 1CA", "", postcodeBadShape}, // C never in the inward code
		{"SW1A 1AI", "", postcodeBadShape}, // nor I
		{"SW1A 1KA", "", postcodeBadShape}, // nor K
		{"SW1A 1AM", "", postcodeBadShape}, // nor M
		{"SW1A 1OA", "", postcodeBadShape}, // nor O
		{"SW1A 1AV", "", postcodeBadShape}, // nor V
		{"W1I 0AX", "", postcodeBadShape},  // I never follows A9
		{"EC1Z 1BB", "", postcodeBadShape}, // Z never follows AA9
		{"SW1A", "", postcodeBadShape},     // outward code only
		{"SW1A 1A", "", postcodeBadShape},  // short inward code
		{"SW1A 1AAA", "", postcodeBadShape},
		{"SWA1 1AA", "", postcodeBadShape},
		{"SW123 1AA", "", postcodeBadShape},
		{"1SW 1AA", "", postcodeBadShape},
		{"BFPO", "", postcodeBadShape},
		{"BFPO 12345", "", postcodeBadShape},
		{"BFPO 12A", "", postcodeBadShape},
		{"", "", postcodeBadShape},
		{"Ludlow", "", postcodeBadShape},
		{"ＳＷ１Ａ １ＡＡ", "", postcodeBadShape}, // full-width letters
	}
	for _, tt := range tests {
		got, fault := parsePostcode(tt.in)
		if got != tt.want || fault != tt.fault {
			t.Errorf("parsePostcode(%q) = %q, %v; want %q, %v", tt.in, got, fault, tt.want, tt.fault)
		}
		pc, ok := NormalisePostcode(tt.in)
		if pc != tt.want || ok != (tt.fault == postcodeOK) {
			t.Errorf("NormalisePostcode(%q) = %q, %v", tt.in, pc, ok)
		}
	}
}

func TestPostcodeAreas(t *testing.T) {
	// 121 UK areas and the three Crown Dependencies.
	if len(postcodeAreas) != 124 {
		t.Errorf("%d postcode areas, want 124", len(postcodeAreas))
	}
	for area := range postcodeAreas {
		if pc, ok := NormalisePostcode(area + "1 1AA"); !ok {
			t.Errorf("area %s: %q refused", area, pc)
		}
	}
}

func TestPostcodeDistrict(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SW1A 1AA", "SW1A"},
		{"sw1a1aa", "SW1A"},
		{"M1 1AE", "M1"},
		{"DN55 1PT", "DN55"},
		{"BFPO 1234", "BFPO"},
		{"bfpo 7", "BFPO"},
		{"QQ1 1AA", ""},
		{"Ludlow", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := PostcodeDistrict(tt.in); got != tt.want {
			t.Errorf("PostcodeDistrict(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
