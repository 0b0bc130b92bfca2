package request

import (
	"strings"

	"golang.org/x/text/unicode/norm"
)

// normalise puts a decoded envelope into the one form Quire prints, stores
// and hashes, so that requests that differ only in spacing, composition of
// accents or letter case are the same request. It never makes a bad value
// good: validation runs on the result and sees the same problems.
//
// EnvelopeID is left exactly as sent. It is the upstream service's key, and
// status events must echo it byte for byte; an id with spaces is refused
// rather than quietly changed.
func (e *Envelope) normalise() {
	e.Recipient.Name = cleanText(e.Recipient.Name)
	for i, line := range e.Recipient.Address {
		e.Recipient.Address[i] = cleanText(line)
	}
	if n := len(e.Recipient.Address); n > 0 {
		if pc, ok := NormalisePostcode(e.Recipient.Address[n-1]); ok {
			e.Recipient.Address[n-1] = pc
		}
	}
	e.Language = normaliseLanguage(e.Language)
	e.Letter.Template = cleanText(e.Letter.Template)
	if e.Letter.Template == "" {
		e.Letter.Template = DefaultTemplate(DefaultLetterTemplate, e.Language)
	}
	e.Letter.Format = cleanText(e.Letter.Format)
	if e.Letter.Format == "" {
		e.Letter.Format = FormatStandard
	}
	e.Letter.Postage = cleanText(e.Letter.Postage)
	if e.Letter.Postage == "" {
		e.Letter.Postage = PostageSecond
	}
	for i := range e.Certificates {
		e.Certificates[i].normalise(e.Language)
	}
}

// normaliseLanguage writes a language as Quire stores it: lower case (BCP
// 47 tags ignore case), without spaces after the comma of a bilingual
// list ("cy, en" is HTTP's own spelling), and English, the default, as
// empty.
func normaliseLanguage(s string) string {
	s = strings.ReplaceAll(lowerASCII(cleanText(s)), " ", "")
	if s == LanguageEnglish {
		return ""
	}
	return s
}

// normalise puts a certificate into its printed form; see Envelope.normalise.
// language is the envelope's, which chooses the default template.
func (c *Certificate) normalise(language string) {
	c.Template = cleanText(c.Template)
	if c.Template == "" {
		c.Template = DefaultTemplate(DefaultCertificateTemplate, language)
	}
	c.Reference = upperASCII(cleanText(c.Reference))
	c.DateOfIssue = cleanText(c.DateOfIssue)
	c.ParentName = cleanText(c.ParentName)
	c.OtherParentName = cleanText(c.OtherParentName)
	c.BabyName = cleanText(c.BabyName)
	c.Sex = lowerASCII(cleanText(c.Sex))
	c.DateOfLoss = cleanText(c.DateOfLoss)
	c.PlaceOfLoss = cleanText(c.PlaceOfLoss)
}

// cleanText composes s to Unicode NFC, so an accented letter sent as a
// letter plus a combining accent is stored, measured and drawn as the one
// character the fonts know, then trims it and turns every run of white
// space (tabs, line breaks and no-break spaces included) into one space.
func cleanText(s string) string {
	return strings.Join(strings.Fields(norm.NFC.String(s)), " ")
}

// upperASCII upper-cases a-z only. strings.ToUpper would also turn letters
// such as the Turkish "ı" into "I", making an invalid reference look valid.
func upperASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

// lowerASCII lower-cases A-Z only, for the same reason as upperASCII (the
// Kelvin sign "K" lower-cases to "k").
func lowerASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r - 'A' + 'a'
		}
		return r
	}, s)
}
