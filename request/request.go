// Package request defines version 1 of the envelope request that the
// upstream application service sends to Quire: the recipient, the carriage
// letter and the certificates to post together in one envelope.
//
// Decoding is strict and validation reports every problem at once, each as a
// FieldError naming the field by its JSON path and saying what is wrong in
// words a caseworker would understand. Field errors never repeat the value
// that was sent, so they can leave the process without carrying personal data.
//
// Text is checked character by character too (chars.go): characters
// visible only by accident, combining marks with no letter or stacked past
// what a box holds. Such a problem also carries what it takes to word it
// for the parent who typed the value (FieldError.ForParent), naming the
// character as they see it; the wordings live in one table (words.go).
// What only a layout can tell (a script no typeface covers, a name too
// long for its box) comes from a Fitter, in the same list, when decoding
// with one (Decoder).
package request

import "strconv"

// SchemaVersion is the version of the request model this package reads.
const SchemaVersion = 1

// Letter formats.
const (
	FormatStandard   = "standard"
	FormatLargePrint = "large-print"
)

// Postage classes.
const (
	PostageFirst  = "first"
	PostageSecond = "second"
)

// Values of Certificate.Sex. An empty Sex leaves the box blank.
const (
	SexMale    = "male"
	SexFemale  = "female"
	SexUnknown = "unknown"
)

// Default template ids, used when an English request does not name one.
// A Welsh or bilingual request gets the same id with its language's
// suffix (DefaultTemplate).
const (
	DefaultLetterTemplate      = "carriage-letter"
	DefaultCertificateTemplate = "baby-loss-certificate"
)

// Languages an envelope's documents can be written in. English and Welsh
// are BCP 47 language tags. A bilingual document is not in one language,
// and no single tag says "Welsh, then English", so it is named as HTTP's
// Content-Language names content for more than one audience: a list of
// tags, here in the order the document gives them.
const (
	LanguageEnglish   = "en"
	LanguageWelsh     = "cy"
	LanguageBilingual = "cy,en"
)

// Languages lists every language a request may ask for, English first.
var Languages = []string{LanguageEnglish, LanguageWelsh, LanguageBilingual}

// LanguageName names a language in English words, with its code, for
// messages: "Welsh (cy)". An unknown language is quoted.
func LanguageName(language string) string {
	switch language {
	case LanguageEnglish:
		return "English (en)"
	case LanguageWelsh:
		return "Welsh (cy)"
	case LanguageBilingual:
		return "Welsh and English (cy,en)"
	}
	return strconv.Quote(language)
}

// DefaultTemplate returns the template id a document of kind (one of the
// Default*Template ids) gets in language when the request names none:
// "baby-loss-certificate" in English, "baby-loss-certificate-cy" in Welsh,
// "baby-loss-certificate-cy-en" bilingual. An unknown language gets the
// English id; validation reports the language.
func DefaultTemplate(kind, language string) string {
	switch language {
	case LanguageWelsh:
		return kind + "-cy"
	case LanguageBilingual:
		return kind + "-cy-en"
	}
	return kind
}

// Envelope is one posted item: a carriage letter followed by one or more
// certificates for the same recipient. EnvelopeID is the idempotency key.
type Envelope struct {
	// SchemaVersion must be 1.
	SchemaVersion int `json:"schemaVersion"`
	// EnvelopeID identifies the envelope; 1 to 64 characters from
	// A-Z a-z 0-9 . _ - (it becomes part of storage keys).
	EnvelopeID string `json:"envelopeId"`
	// Language is the language of the letter and the certificates:
	// LanguageEnglish, LanguageWelsh or LanguageBilingual (Welsh first, as
	// public bodies in Wales set bilingual documents). Empty means English;
	// normalising stores English as empty, so the content hash of a request
	// is the same whether it says "en" or nothing, as before languages were
	// offered.
	Language     string        `json:"language,omitempty"`
	Recipient    Recipient     `json:"recipient"`
	Letter       Letter        `json:"letter"`
	Certificates []Certificate `json:"certificates"`
}

// DocumentLanguage returns the language of the envelope's documents, with
// English for empty.
func (e *Envelope) DocumentLanguage() string {
	if e.Language == "" {
		return LanguageEnglish
	}
	return e.Language
}

// Recipient is who the envelope is addressed to.
type Recipient struct {
	// Name is the first line of the address block, e.g. "Ms A Smith".
	Name string `json:"name"`
	// Address holds the lines printed under the name: 2 to 6 lines (so the
	// block is 3 to 7 lines with the name), the last a UK postcode or a BFPO
	// number.
	Address []string `json:"address"`
}

// Letter chooses the carriage letter's template and format.
type Letter struct {
	// Template is a template id, optionally pinned to a version as
	// "id@version". Empty means the default letter template of the
	// envelope's language at its current version (DefaultTemplate).
	Template string `json:"template,omitempty"`
	// Format is FormatStandard or FormatLargePrint (for people with a
	// recorded communication need). Empty means standard.
	Format string `json:"format,omitempty"`
	// Postage is the Royal Mail class the envelope goes by: PostageFirst or
	// PostageSecond. Empty means second class. Print manifests carry it.
	Postage string `json:"postage,omitempty"`
}

// Certificate holds the eight boxes of the baby loss certificate.
type Certificate struct {
	// Template is a template id, optionally "id@version". Empty means the
	// default certificate template of the envelope's language at its
	// current version (DefaultTemplate).
	Template string `json:"template,omitempty"`
	// Box 1.
	Reference string `json:"reference"`
	// Box 2, a full date YYYY-MM-DD.
	DateOfIssue string `json:"dateOfIssue"`
	// Box 3.
	ParentName string `json:"parentName"`
	// Box 4, optional.
	OtherParentName string `json:"otherParentName,omitempty"`
	// Box 5, optional: a first name, full name or nickname.
	BabyName string `json:"babyName,omitempty"`
	// Box 6, optional: SexMale, SexFemale or SexUnknown.
	Sex string `json:"sex,omitempty"`
	// Box 7, optional: YYYY-MM-DD, YYYY-MM or YYYY.
	DateOfLoss string `json:"dateOfLoss,omitempty"`
	// Box 8, optional free text: a town, a hospital, "Canterbury, Kent".
	PlaceOfLoss string `json:"placeOfLoss,omitempty"`
}
