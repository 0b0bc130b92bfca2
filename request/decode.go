package request

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Decode reads an envelope request strictly, normalises it and validates
// it. When anything is wrong it returns a non-nil error of type Errors
// listing every problem at once: first those found while reading the JSON
// (in the order they appear in it), then those found by Validate (in the
// order of the request model).
//
// Reading is strict: a field Quire does not know, a field given twice, a
// value of the wrong JSON type and anything after the closing brace are all
// problems. JSON null, and a field left out, both mean "not given": a
// problem for a required field ("is missing"), a blank box for an optional
// one. Bodies larger than MaxRequestSize are refused unread.
//
// The envelope is returned, normalised, whenever the body is a JSON object,
// even with problems, so a caller can name the envelope in a rejection. It
// is nil only when the body cannot be read as a JSON object at all; the
// problem is then a whole-request one, with an empty Field.
//
// Decode does not lay the request out; a Decoder with a Fitter does, and
// adds what does not fit or cannot be drawn to the same list.
func Decode(data []byte) (*Envelope, error) { return Decoder{}.Decode(data) }

// DecodeCertificate reads a certificate sent on its own, as the preview
// endpoint receives it, with the same strictness as Decode. Fields are named
// without a prefix ("reference", "dateOfLoss"). The certificate is returned,
// normalised, whenever the body is a JSON object.
func DecodeCertificate(data []byte, opts CertificateOptions) (*Certificate, error) {
	return Decoder{}.DecodeCertificate(data, opts)
}

// limit cuts a very long list of problems short, saying how many were left
// out.
func limit(errs Errors) Errors {
	if len(errs) <= maxProblems {
		return errs
	}
	left := len(errs) - (maxProblems - 1)
	errs = errs[:maxProblems-1]
	errs.Add("", "the request has %d more problems not listed here", left)
	return errs
}

// binder copies a parsed JSON document into the request types, recording a
// problem for each value it cannot copy.
type binder struct {
	errs Errors
	// unreadable holds the paths of values that could not be copied.
	// Validation would see them as blank and report them again, less
	// truly ("is missing" for a number sent as a name), so its problems
	// at or under these paths are dropped.
	unreadable []string
}

// member binds one named member of a JSON object.
type member struct {
	name string
	bind func(path string, v *jsonValue)
}

func (b *binder) fail(path, format string, args ...any) {
	b.errs.Add(path, format, args...)
	b.unreadable = append(b.unreadable, path)
}

// unreported returns the problems in errs not at or under an unreadable
// path.
func (b *binder) unreported(errs Errors) Errors {
	var keep Errors
	for _, e := range errs {
		if !b.isUnder(e.Field) {
			keep = append(keep, e)
		}
	}
	return keep
}

func (b *binder) isUnder(path string) bool {
	for _, u := range b.unreadable {
		if path == u || strings.HasPrefix(path, u+".") || strings.HasPrefix(path, u+"[") {
			return true
		}
	}
	return false
}

func (b *binder) wrongType(path string, want string, v *jsonValue) {
	b.fail(path, "must be %s, not %s", want, described[v.kind])
}

// object binds the members of an object, refusing unknown and repeated
// ones. Null members are skipped: null means "not given".
func (b *binder) object(path string, v *jsonValue, members []member) {
	if v.kind != jsonObject {
		b.wrongType(path, "an object ({ … })", v)
		return
	}
	seen := make(map[string]bool)
	for _, m := range v.members {
		if !plainFieldName.MatchString(m.name) {
			if path == "" {
				b.errs.Add("", "the request has a field whose name Quire does not know and cannot show – check the spelling")
			} else {
				b.errs.Add(path, "has a field whose name Quire does not know and cannot show – check the spelling")
			}
			continue
		}
		p := join(path, m.name)
		i := indexOf(members, m.name)
		switch {
		case i < 0:
			b.fail(p, "is not a field Quire knows – check the spelling%s", suggestion(members, m.name))
		case seen[m.name]:
			b.fail(p, "is given more than once")
		case m.value.kind == jsonNull:
			seen[m.name] = true
		default:
			seen[m.name] = true
			members[i].bind(p, m.value)
		}
	}
}

// suggestion names the known field that differs from name only in letter
// case ("babyname" for "babyName"), the commonest slip.
func suggestion(members []member, name string) string {
	for _, m := range members {
		if strings.EqualFold(m.name, name) {
			return " (did you mean " + m.name + "?)"
		}
	}
	return ""
}

func indexOf(members []member, name string) int {
	for i, m := range members {
		if m.name == name {
			return i
		}
	}
	return -1
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func (b *binder) text(dst *string) func(string, *jsonValue) {
	return func(path string, v *jsonValue) {
		if v.kind != jsonString {
			b.wrongType(path, "text", v)
			return
		}
		*dst = v.text
	}
}

// whole binds a whole number. JSON does not tell 1 from 1.0, and neither
// does JSON Schema, so neither does Quire.
func (b *binder) whole(dst *int) func(string, *jsonValue) {
	return func(path string, v *jsonValue) {
		if v.kind != jsonNumber {
			b.wrongType(path, "a whole number", v)
			return
		}
		f, err := strconv.ParseFloat(v.text, 64)
		if err != nil || f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
			b.fail(path, "must be a whole number")
			return
		}
		*dst = int(f)
	}
}

// list binds each item of a JSON array.
func (b *binder) list(path string, v *jsonValue, item func(path string, v *jsonValue)) {
	if v.kind != jsonArray {
		b.wrongType(path, "a list ([ … ])", v)
		return
	}
	for i, it := range v.items {
		item(fmt.Sprintf("%s[%d]", path, i), it)
	}
}

func (b *binder) envelope(path string, v *jsonValue, e *Envelope) {
	b.object(path, v, []member{
		{"schemaVersion", b.whole(&e.SchemaVersion)},
		{"envelopeId", b.text(&e.EnvelopeID)},
		{"language", b.text(&e.Language)},
		{"recipient", func(p string, v *jsonValue) { b.recipient(p, v, &e.Recipient) }},
		{"letter", func(p string, v *jsonValue) { b.letter(p, v, &e.Letter) }},
		{"certificates", func(p string, v *jsonValue) {
			e.Certificates = []Certificate{}
			b.list(p, v, func(p string, v *jsonValue) {
				var c Certificate
				b.certificate(p, v, &c)
				e.Certificates = append(e.Certificates, c)
			})
		}},
	})
}

func (b *binder) recipient(path string, v *jsonValue, r *Recipient) {
	b.object(path, v, []member{
		{"name", b.text(&r.Name)},
		{"address", func(p string, v *jsonValue) {
			r.Address = []string{}
			b.list(p, v, func(p string, v *jsonValue) {
				var line string
				b.text(&line)(p, v)
				r.Address = append(r.Address, line)
			})
		}},
	})
}

func (b *binder) letter(path string, v *jsonValue, l *Letter) {
	b.object(path, v, []member{
		{"template", b.text(&l.Template)},
		{"format", b.text(&l.Format)},
		{"postage", b.text(&l.Postage)},
	})
}

func (b *binder) certificate(path string, v *jsonValue, c *Certificate) {
	b.object(path, v, []member{
		{"template", b.text(&c.Template)},
		{"reference", b.text(&c.Reference)},
		{"dateOfIssue", b.text(&c.DateOfIssue)},
		{"parentName", b.text(&c.ParentName)},
		{"otherParentName", b.text(&c.OtherParentName)},
		{"babyName", b.text(&c.BabyName)},
		{"sex", b.text(&c.Sex)},
		{"dateOfLoss", b.text(&c.DateOfLoss)},
		{"placeOfLoss", b.text(&c.PlaceOfLoss)},
	})
}
