package request

import (
	"regexp"
	"strings"
)

// postcodeAreas holds every postcode area in use: the 121 areas of the
// United Kingdom (BT included) and the three Crown Dependencies (GY
// Guernsey, JE Jersey, IM Isle of Man), which Royal Mail delivers to as if
// they were UK areas. Non-geographic areas (BX, XM) and overseas territories
// are left out: nobody lives there, so no certificate can be posted there.
var postcodeAreas = map[string]bool{
	"AB": true, "AL": true, "B": true, "BA": true, "BB": true, "BD": true,
	"BH": true, "BL": true, "BN": true, "BR": true, "BS": true, "BT": true,
	"CA": true, "CB": true, "CF": true, "CH": true, "CM": true, "CO": true,
	"CR": true, "CT": true, "CV": true, "CW": true, "DA": true, "DD": true,
	"DE": true, "DG": true, "DH": true, "DL": true, "DN": true, "DT": true,
	"DY": true, "E": true, "EC": true, "EH": true, "EN": true, "EX": true,
	"FK": true, "FY": true, "G": true, "GL": true, "GU": true, "GY": true,
	"HA": true, "HD": true, "HG": true, "HP": true, "HR": true, "HS": true,
	"HU": true, "HX": true, "IG": true, "IM": true, "IP": true, "IV": true,
	"JE": true, "KA": true, "KT": true, "KW": true, "KY": true, "L": true,
	"LA": true, "LD": true, "LE": true, "LL": true, "LN": true, "LS": true,
	"LU": true, "M": true, "ME": true, "MK": true, "ML": true, "N": true,
	"NE": true, "NG": true, "NN": true, "NP": true, "NR": true, "NW": true,
	"OL": true, "OX": true, "PA": true, "PE": true, "PH": true, "PL": true,
	"PO": true, "PR": true, "RG": true, "RH": true, "RM": true, "S": true,
	"SA": true, "SE": true, "SG": true, "SK": true, "SL": true, "SM": true,
	"SN": true, "SO": true, "SP": true, "SR": true, "SS": true, "ST": true,
	"SW": true, "SY": true, "TA": true, "TD": true, "TF": true, "TN": true,
	"TQ": true, "TR": true, "TS": true, "TW": true, "UB": true, "W": true,
	"WA": true, "WC": true, "WD": true, "WF": true, "WN": true, "WR": true,
	"WS": true, "WV": true, "YO": true, "ZE": true,
}

// The shapes of a postcode, with its spaces removed. The outward code (the
// part before the space) is one of A9, A99, AA9, AA99, A9A or AA9A; the
// letter after the district digit is drawn from a short list that depends
// on whether the area has one letter or two. The inward code is a digit and
// two letters, never C I K M O or V (they look too much like other
// characters when handwritten).
var (
	postcodeShape = regexp.MustCompile(`^([A-Z]{1,2})([0-9][0-9]?|[0-9][A-Z])([0-9][ABD-HJLNP-UW-Z]{2})$`)
	// Letters allowed after the digit in A9A and AA9A districts.
	districtLetterAfterA  = "ABCDEFGHJKPSTUW"
	districtLetterAfterAA = "ABEHMNPRVWXY"
	bfpoShape             = regexp.MustCompile(`^BFPO([0-9]{1,4})$`)
)

// postcodeFault says why a last address line is not a postcode.
type postcodeFault int

const (
	postcodeOK          postcodeFault = iota
	postcodeBadShape                  // not shaped like a postcode or BFPO number
	postcodeUnknownArea               // shaped right, but the area does not exist
)

// parsePostcode normalises s as a UK postcode or BFPO number and says what
// is wrong with it, if anything.
func parsePostcode(s string) (string, postcodeFault) {
	compact := strings.ToUpper(strings.Join(strings.Fields(s), ""))
	if m := bfpoShape.FindStringSubmatch(compact); m != nil {
		return "BFPO " + m[1], postcodeOK
	}
	m := postcodeShape.FindStringSubmatch(compact)
	if m == nil {
		return "", postcodeBadShape
	}
	area, district, inward := m[1], m[2], m[3]
	if last := district[len(district)-1]; last >= 'A' && last <= 'Z' {
		allowed := districtLetterAfterA
		if len(area) == 2 {
			allowed = districtLetterAfterAA
		}
		if !strings.ContainsRune(allowed, rune(last)) {
			return "", postcodeBadShape
		}
	}
	if !postcodeAreas[area] {
		return "", postcodeUnknownArea
	}
	return area + district + " " + inward, postcodeOK
}

// NormalisePostcode reads s as a UK postcode or a British Forces Post
// Office number and returns it in the form printed on the envelope: upper
// case with exactly one space before the last three characters
// ("sw1a1aa" → "SW1A 1AA"), or "BFPO 1234" ("bfpo1234" → "BFPO 1234").
// Spaces anywhere in s are ignored. It reports false, with "", when s is not
// shaped like a postcode or names a postcode area that does not exist
// ("QQ1 1AA"). It cannot tell whether the postcode is actually in use.
func NormalisePostcode(s string) (string, bool) {
	pc, fault := parsePostcode(s)
	return pc, fault == postcodeOK
}

// PostcodeDistrict returns the outward code of a postcode ("SW1A" for
// "SW1A 1AA"), or "BFPO" for any BFPO number. It is what a manifest may
// record about where an envelope goes without carrying the address: a
// district covers thousands of homes. It returns "" when postcode is not one
// NormalisePostcode accepts.
func PostcodeDistrict(postcode string) string {
	pc, ok := NormalisePostcode(postcode)
	if !ok {
		return ""
	}
	if strings.HasPrefix(pc, "BFPO ") {
		return "BFPO"
	}
	outward, _, _ := strings.Cut(pc, " ")
	return outward
}
