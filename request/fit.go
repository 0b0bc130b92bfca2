package request

import (
	"fmt"
	"slices"
	"strings"
)

// Fitter answers what only laying a document out can: whether a typeface
// covers every character of a value, and whether each value fits its box
// or the envelope window. The renderer is one. Its problems name fields as
// validation's do, under path for a certificate.
type Fitter interface {
	// FitCertificate returns the problems laying out c would find.
	FitCertificate(c *Certificate, path string) Errors
	// FitLetter returns the problems laying out env's carriage letter
	// would find.
	FitLetter(env *Envelope) Errors
}

// Decoder reads requests as Decode and DecodeCertificate do. With Fit set,
// it also lays the request out and reports what does not fit or cannot be
// drawn in the same list as every other problem, so that a caseworker or a
// parent sees them all at once rather than one round at a time.
//
// Values that already have a problem are left out of the layout (its
// problem with them would say the same thing again, less well), and so is
// a document whose template or format is wrong. Layout problems follow the
// others. The zero Decoder does not lay anything out.
type Decoder struct {
	Fit Fitter
	// FitOnlyWithProblems asks Fit only when the request has another
	// problem. A caller that lays out every valid request anyway (a
	// render worker, the preview) finds the same layout problems there,
	// so a valid request is not laid out twice, and an invalid one still
	// gets every problem at once.
	FitOnlyWithProblems bool
}

// fits reports whether to ask Fit, given the problems found so far.
func (d Decoder) fits(errs Errors) bool {
	return d.Fit != nil && (len(errs) > 0 || !d.FitOnlyWithProblems)
}

// Decode reads an envelope request; see the package function Decode.
func (d Decoder) Decode(data []byte) (*Envelope, error) {
	root, errs := parseJSON(data)
	if root == nil {
		return nil, errs
	}
	var e Envelope
	var b binder
	b.envelope("", root, &e)
	e.normalise()
	errs = append(b.errs, b.unreported(e.Validate())...)
	if d.fits(errs) {
		errs = append(errs, fitEnvelope(d.Fit, &e, errs, &b)...)
	}
	return &e, limit(errs).Err()
}

// DecodeCertificate reads a certificate sent on its own; see the package
// function DecodeCertificate.
func (d Decoder) DecodeCertificate(data []byte, opts CertificateOptions) (*Certificate, error) {
	root, errs := parseJSON(data)
	if root == nil {
		return nil, errs
	}
	var c Certificate
	var b binder
	b.certificate("", root, &c)
	c.normalise(normaliseLanguage(opts.Language))
	errs = append(b.errs, b.unreported(ValidateCertificate(&c, "", opts))...)
	if d.fits(errs) {
		errs = append(errs, fitCertificate(d.Fit, &c, "", errs, &b)...)
	}
	return &c, limit(errs).Err()
}

// flagged reports whether a problem in errs, or a value the binder could
// not read, is about field.
func flagged(errs Errors, b *binder, field string) bool {
	return b.isUnder(field) || slices.ContainsFunc(errs, func(e FieldError) bool { return e.Field == field })
}

// fresh returns the problems in found about fields with no problem yet.
func fresh(found, errs Errors, b *binder) Errors {
	var out Errors
	for _, e := range found {
		if e.Field == "" || !flagged(errs, b, e.Field) {
			out = append(out, e)
		}
	}
	return out
}

func fitEnvelope(fit Fitter, e *Envelope, errs Errors, b *binder) Errors {
	var found Errors
	if !flagged(errs, b, "letter.template") && !flagged(errs, b, "letter.format") &&
		!slices.ContainsFunc(e.Certificates, func(c Certificate) bool { return c.DateOfIssue == "" }) &&
		!slices.ContainsFunc(errs, func(fe FieldError) bool { return strings.HasSuffix(fe.Field, ".dateOfIssue") }) {
		// The letter names every certificate's date of issue, so it can
		// be laid out only when they are all good.
		letter := *e
		letter.Recipient.Name = blankIf(flagged(errs, b, "recipient.name"), e.Recipient.Name)
		letter.Recipient.Address = slices.Clone(e.Recipient.Address)
		for i, line := range letter.Recipient.Address {
			letter.Recipient.Address[i] = blankIf(flagged(errs, b, fmt.Sprintf("recipient.address[%d]", i)), line)
		}
		found = append(found, fresh(fit.FitLetter(&letter), errs, b)...)
	}
	for i := range e.Certificates {
		found = append(found, fitCertificate(fit, &e.Certificates[i], fmt.Sprintf("certificates[%d]", i), append(errs, found...), b)...)
	}
	return found
}

func fitCertificate(fit Fitter, c *Certificate, path string, errs Errors, b *binder) Errors {
	at := func(name string) string {
		if path == "" {
			return name
		}
		return path + "." + name
	}
	if flagged(errs, b, at("template")) {
		return nil
	}
	clean := *c
	for _, f := range []struct {
		name  string
		value *string
	}{
		{"reference", &clean.Reference},
		{"dateOfIssue", &clean.DateOfIssue},
		{"parentName", &clean.ParentName},
		{"otherParentName", &clean.OtherParentName},
		{"babyName", &clean.BabyName},
		{"sex", &clean.Sex},
		{"dateOfLoss", &clean.DateOfLoss},
		{"placeOfLoss", &clean.PlaceOfLoss},
	} {
		*f.value = blankIf(flagged(errs, b, at(f.name)), *f.value)
	}
	return fresh(fit.FitCertificate(&clean, path), errs, b)
}

func blankIf(blank bool, s string) string {
	if blank {
		return ""
	}
	return s
}
