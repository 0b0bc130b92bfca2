package request

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of the request model. Name lengths are a sanity bound only: the
// renderer decides separately whether a name fits its box.
const (
	maxRecipientName = 70
	maxAddressLine   = 50
	minAddressLines  = 2 // under the name, so the window shows 3 to 7 lines
	maxAddressLines  = 6
	maxCertificates  = 8
	maxPersonName    = 100
	maxPlaceOfLoss   = 120
	earliestLossYear = 1900
)

var (
	envelopeIDShape = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	templateIDShape = regexp.MustCompile(`^[a-z0-9-]{1,64}(@[1-9][0-9]{0,8})?$`)
	referenceShape  = regexp.MustCompile(`^[A-Z0-9-]{1,32}$`)
)

// CertificateOptions changes how a certificate is validated.
type CertificateOptions struct {
	// Preview allows Reference, DateOfIssue and ParentName to be empty,
	// because parents preview their certificate before they have filled in
	// every box and before a reference or date of issue exists. Every other
	// rule still applies, and a filled box is checked as usual.
	Preview bool
	// Language chooses the default template of a certificate that names
	// none, as an envelope's language does (DefaultTemplate). Empty means
	// English. It is the caller's to check (LanguageProblem).
	Language string
}

// field is one text value and the rules it must meet. A field with maxLen
// 0 holds a coded value (an id, a date, a word from a list): its rule says
// everything about its form, so a character problem is reported alone. A
// field with maxLen > 0 is free text, and every problem is reported.
type field struct {
	path     string
	value    string
	required bool
	maxLen   int
	rule     func(string) string // the problem with a non-empty value, or ""
}

func (f field) check(errs *Errors) {
	if f.value == "" {
		if f.required {
			errs.Add(f.path, "is missing")
		}
		return
	}
	if p, bad := checkCharacters(f.value); bad {
		*errs = append(*errs, charError(f.path, p))
		if f.maxLen == 0 {
			return
		}
	}
	if n := utf8.RuneCountInString(f.value); f.maxLen > 0 && n > f.maxLen {
		errs.Add(f.path, "is too long – it has %d characters and the most allowed is %d", n, f.maxLen)
	}
	if f.rule != nil {
		if p := f.rule(f.value); p != "" {
			errs.Add(f.path, "%s", p)
		}
	}
}

// Validate checks an envelope that has already been decoded and normalised
// (Decode does both, then calls Validate) and returns every problem, in the
// order of the fields in the request. It returns nil when there is none.
// Validate does not normalise: a lower-case reference or an unspaced
// postcode is reported, not fixed.
func (e *Envelope) Validate() Errors {
	var errs Errors
	switch e.SchemaVersion {
	case SchemaVersion:
	case 0:
		errs.Add("schemaVersion", "is missing")
	default:
		errs.Add("schemaVersion", "must be %d, the version of the request model this Quire reads", SchemaVersion)
	}
	// Fields are checked in the order they appear in a request, so the
	// list reads top to bottom like the request itself.
	fields := []field{
		{path: "envelopeId", value: e.EnvelopeID, required: true, rule: envelopeIDProblem},
		{path: "language", value: e.Language, rule: LanguageProblem},
		{path: "recipient.name", value: e.Recipient.Name, required: true, maxLen: maxRecipientName, rule: noFixedAbodeProblem},
	}
	for _, f := range fields {
		f.check(&errs)
	}
	validateAddress(&errs, e.Recipient.Address)
	fields = []field{
		{path: "letter.template", value: e.Letter.Template, rule: templateProblem},
		{path: "letter.format", value: e.Letter.Format, rule: formatProblem},
		{path: "letter.postage", value: e.Letter.Postage, rule: postageProblem},
	}
	for _, f := range fields {
		f.check(&errs)
	}

	switch n := len(e.Certificates); {
	case n == 0:
		errs.Add("certificates", "is missing – an envelope needs at least one certificate")
	case n > maxCertificates:
		errs.Add("certificates", "has %d certificates, but one envelope can hold at most %d", n, maxCertificates)
	}
	firstWithReference := make(map[string]int)
	for i := range e.Certificates {
		c := &e.Certificates[i]
		path := fmt.Sprintf("certificates[%d]", i)
		errs = append(errs, ValidateCertificate(c, path, CertificateOptions{})...)
		if c.Reference == "" {
			continue
		}
		if first, seen := firstWithReference[c.Reference]; seen {
			errs.Add(path+".reference", "is the same as certificates[%d].reference – each certificate needs its own reference", first)
		} else {
			firstWithReference[c.Reference] = i
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// validateAddress checks the lines under the recipient's name.
func validateAddress(errs *Errors, lines []string) {
	switch n := len(lines); {
	case n == 0:
		errs.Add("recipient.address", "is missing")
		return
	case n < minAddressLines:
		errs.Add("recipient.address", "has only %d line, but an address needs %d to %d lines under the name, the last being the postcode",
			n, minAddressLines, maxAddressLines)
	case n > maxAddressLines:
		errs.Add("recipient.address", "has %d lines, but an address needs %d to %d lines under the name, the last being the postcode",
			n, minAddressLines, maxAddressLines)
	}
	for i, line := range lines {
		path := fmt.Sprintf("recipient.address[%d]", i)
		if line == "" {
			errs.Add(path, "is blank – leave out empty address lines")
			continue
		}
		rule := noFixedAbodeProblem
		if i == len(lines)-1 {
			rule = postcodeProblem
		}
		field{path: path, value: line, maxLen: maxAddressLine, rule: rule}.check(errs)
	}
}

// ValidateCertificate checks one certificate and returns every problem, in
// box order, or nil. path is the JSON path of the certificate, prefixed to
// each field: "certificates[1]" gives "certificates[1].reference"; "" gives
// "reference", for a certificate sent on its own. c should be normalised
// (DecodeCertificate and Decode do that). Whether the names fit their boxes
// is for the renderer to say.
func ValidateCertificate(c *Certificate, path string, opts CertificateOptions) Errors {
	at := func(name string) string {
		if path == "" {
			return name
		}
		return path + "." + name
	}
	lossProblem := func(s string) string { return dateOfLossProblem(s, c.DateOfIssue) }
	fields := []field{
		{path: at("template"), value: c.Template, rule: templateProblem},
		{path: at("reference"), value: c.Reference, required: !opts.Preview, rule: referenceProblem},
		{path: at("dateOfIssue"), value: c.DateOfIssue, required: !opts.Preview, rule: dateOfIssueProblem},
		{path: at("parentName"), value: c.ParentName, required: !opts.Preview, maxLen: maxPersonName},
		{path: at("otherParentName"), value: c.OtherParentName, maxLen: maxPersonName},
		{path: at("babyName"), value: c.BabyName, maxLen: maxPersonName},
		{path: at("sex"), value: c.Sex, rule: sexProblem},
		{path: at("dateOfLoss"), value: c.DateOfLoss, rule: lossProblem},
		{path: at("placeOfLoss"), value: c.PlaceOfLoss, maxLen: maxPlaceOfLoss},
	}
	var errs Errors
	for _, f := range fields {
		f.check(&errs)
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

func envelopeIDProblem(s string) string {
	if envelopeIDShape.MatchString(s) {
		return ""
	}
	return "must be 1 to 64 characters, using only letters A–Z and a–z, digits 0–9, full stops, underscores and hyphens"
}

func templateProblem(s string) string {
	if templateIDShape.MatchString(s) {
		return ""
	}
	return `must be a template id of lower-case letters, digits and hyphens, optionally followed by @ and a version number, like "carriage-letter@2"`
}

// LanguageProblem says what is wrong with a language a request asks for,
// or returns "" when it is one Quire writes documents in. s should be
// normalised as a request's language is (lower case, no spaces).
func LanguageProblem(s string) string {
	switch s {
	case "", LanguageEnglish, LanguageWelsh, LanguageBilingual:
		return ""
	case "en,cy":
		return fmt.Sprintf("asks for English before Welsh, but bilingual documents give Welsh first: use %q", LanguageBilingual)
	}
	return fmt.Sprintf("must be %q (English), %q (Welsh) or %q (bilingual, Welsh first)", LanguageEnglish, LanguageWelsh, LanguageBilingual)
}

func formatProblem(s string) string {
	if s == FormatStandard || s == FormatLargePrint {
		return ""
	}
	return fmt.Sprintf("must be %q or %q", FormatStandard, FormatLargePrint)
}

func postageProblem(s string) string {
	if s == PostageFirst || s == PostageSecond {
		return ""
	}
	return fmt.Sprintf("must be %q or %q", PostageFirst, PostageSecond)
}

func referenceProblem(s string) string {
	if referenceShape.MatchString(s) {
		return ""
	}
	return "must be 1 to 32 characters, using only capital letters A–Z, digits 0–9 and hyphens"
}

func sexProblem(s string) string {
	if s == SexMale || s == SexFemale || s == SexUnknown {
		return ""
	}
	return fmt.Sprintf("must be %q, %q or %q, or left blank", SexMale, SexFemale, SexUnknown)
}

func dateOfIssueProblem(s string) string {
	d, err := ParseDate(s)
	switch {
	case errors.Is(err, errDateNotReal):
		return "is not a real calendar date – check the day and the month"
	case err != nil || d.Day == 0:
		return "must be a full date written YYYY-MM-DD"
	}
	return ""
}

// dateOfLossProblem checks a date of loss against the rules and against the
// certificate's date of issue, when that is a good full date.
func dateOfLossProblem(s, dateOfIssue string) string {
	d, err := ParseDate(s)
	switch {
	case errors.Is(err, errDateNotReal):
		return "is not a real calendar date – check the day and the month"
	case err != nil:
		return "must be a date written YYYY-MM-DD, or YYYY-MM for a month, or YYYY for a year"
	case d.Year < earliestLossYear:
		return fmt.Sprintf("must be in %d or later", earliestLossYear)
	}
	if issue, err := ParseDate(dateOfIssue); err == nil && issue.Day != 0 && d.after(issue) {
		return "is after the date of issue – a loss cannot be later than its certificate"
	}
	return ""
}

func postcodeProblem(s string) string {
	switch _, fault := parsePostcode(s); fault {
	case postcodeBadShape:
		return `must be a UK postcode like "SW1A 1AA" or a BFPO number like "BFPO 1234", because it is the last line of the address`
	case postcodeUnknownArea:
		return "is not a real UK postcode – its first letters are not a UK postcode area"
	}
	return ""
}

// noFixedAbodePhrases are the words that mean the recipient has no address
// (compared as whole words, ignoring case and punctuation). "NFA" counts
// only as a whole line, because "Mr NFA Smith" may be initials.
var noFixedAbodePhrases = []string{"no fixed abode", "no fixed address"}

// noFixedAbodeProblem refuses a name or address line saying the recipient
// has no fixed abode: Royal Mail cannot deliver to it, and a certificate
// that comes back undelivered is a second loss for the family.
func noFixedAbodeProblem(s string) string {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	line := " " + strings.Join(words, " ") + " "
	saysIt := strings.Join(words, "") == "nfa"
	for _, phrase := range noFixedAbodePhrases {
		saysIt = saysIt || strings.Contains(line, " "+phrase+" ")
	}
	if !saysIt {
		return ""
	}
	return "says the recipient has no fixed abode – Quire cannot post to an address without a fixed abode"
}
