// Package cancel reads and writes cancellation messages: "cancel envelope X,
// for this reason", which upstream publishes with kind
// pipeline.KindCancel (schemas/envelope-cancel.v1.schema.json).
//
// A cancel carries no personal data: an envelope id, a reason code and an
// optional short explanation that upstream promises holds no names,
// addresses or dates.
package cancel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/request"
)

// SchemaVersion is the version of the cancel message this package reads.
const SchemaVersion = 1

// MaxSize is the largest cancel message read; anything longer is refused
// unread.
const MaxSize = 4 << 10

// Request is one cancellation message.
type Request struct {
	SchemaVersion int `json:"schemaVersion"`
	// EnvelopeID is the envelope to cancel, whether or not Quire has seen
	// it yet.
	EnvelopeID string `json:"envelopeId"`
	// Code is a stable reason code, 1 to 64 of a-z 0-9 -, starting with a
	// letter or digit, e.g. "requested-by-parent".
	Code string `json:"code"`
	// Reason is an optional explanation, at most envelopes.MaxReasonLen
	// characters on one line, without personal data.
	Reason string `json:"reason,omitempty"`
}

var codeShape = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// Decode reads a cancel message strictly: unknown fields, a second JSON
// value or a wrong type are problems. Every problem comes back at once as
// request.Errors, which names fields and never repeats their values. The
// request is returned (possibly partial) whenever the body is a JSON
// object, so a caller can name the envelope in a log.
func Decode(data []byte) (*Request, error) {
	if len(data) > MaxSize {
		return nil, request.Errors{{Problem: fmt.Sprintf("is larger than %d bytes", MaxSize)}}
	}
	var r Request
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, request.Errors{{Field: fieldOf(err), Problem: problemOf(err)}}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, request.Errors{{Problem: "has data after the JSON object"}}
	}
	return &r, r.Validate().Err()
}

// fieldOf names the field a decoding error is about, when it says.
func fieldOf(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Field
	}
	return ""
}

// problemOf turns a decoding error into words that do not repeat the
// input: encoding/json's own messages can quote it.
func problemOf(err error) string {
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te):
		return "has the wrong type: expected " + te.Type.String()
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return "has a field that is not part of a cancel message"
	default:
		return "is not a JSON object"
	}
}

// Validate reports every problem with r.
func (r *Request) Validate() request.Errors {
	var errs request.Errors
	if r.SchemaVersion != SchemaVersion {
		errs.Add("schemaVersion", "must be %d", SchemaVersion)
	}
	if envelopes.ValidID(r.EnvelopeID) != nil {
		errs.Add("envelopeId", "must be 1 to 64 characters from A-Z a-z 0-9 . _ - and not \".\" or \"..\"")
	}
	if !codeShape.MatchString(r.Code) {
		errs.Add("code", "must be 1 to 64 characters from a-z 0-9 -, starting with a letter or digit")
	}
	if n := utf8.RuneCountInString(r.Reason); n > envelopes.MaxReasonLen {
		errs.Add("reason", "cannot be longer than %d characters", envelopes.MaxReasonLen)
	}
	if strings.ContainsFunc(r.Reason, unicode.IsControl) || !utf8.ValidString(r.Reason) {
		errs.Add("reason", "must be text on one line")
	}
	return errs
}

// Encode returns r as JSON, with SchemaVersion filled in, after checking it.
func Encode(r Request) ([]byte, error) {
	r.SchemaVersion = SchemaVersion
	if err := r.Validate().Err(); err != nil {
		return nil, err
	}
	return json.Marshal(r)
}
