package preview

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/quire-print/quire/request"
)

// problemBase is where the problem types are explained, one heading each.
const problemBase = "https://github.com/quire-print/quire/blob/main/docs/preview.md#"

// problem is an RFC 9457 problem details object.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Errors names each field or parameter that is wrong, in the words
	// the pipeline uses when it rejects a request.
	Errors request.Errors `json:"errors,omitempty"`
}

// The problems the API can report. Titles are the same for every
// occurrence of a type, as RFC 9457 asks; details vary.
var (
	problemMalformed = problem{
		Type: problemBase + "problem-malformed", Status: http.StatusBadRequest,
		Title: "The request body is not a JSON object",
	}
	problemInvalid = problem{
		Type: problemBase + "problem-invalid-details", Status: http.StatusUnprocessableEntity,
		Title: "Some of the details cannot be shown on a certificate",
	}
	problemBadParameter = problem{
		Type: problemBase + "problem-bad-parameter", Status: http.StatusBadRequest,
		Title: "A query parameter is not right",
	}
	problemNoTemplate = problem{
		Type: problemBase + "problem-no-template", Status: http.StatusNotFound,
		Title: "There is no such template",
	}
	problemTooLarge = problem{
		Type: problemBase + "problem-too-large", Status: http.StatusRequestEntityTooLarge,
		Title: "The request body is too large",
		Detail: "A certificate preview request can be at most " + strconv.Itoa(request.MaxRequestSize) +
			" bytes.",
	}
	problemMediaType = problem{
		Type: problemBase + "problem-media-type", Status: http.StatusUnsupportedMediaType,
		Title:  "The request body must be JSON",
		Detail: "Send the certificate as JSON, with Content-Type: application/json.",
	}
	problemBusy = problem{
		Type: problemBase + "problem-busy", Status: http.StatusServiceUnavailable,
		Title:  "Too many previews are being made right now",
		Detail: "Please try again in a moment.",
	}
	problemInternal = problem{
		Type: problemBase + "problem-internal", Status: http.StatusInternalServerError,
		Title:  "The preview could not be made",
		Detail: "Something went wrong in Quire. It has been logged, without the details you sent.",
	}
)

// retryAfter is how long a client turned away as busy should wait, in
// seconds: a render takes milliseconds, so the queue has cleared by then.
const retryAfter = "1"

// with returns p with a detail and field errors.
func (p problem) with(detail string, errs request.Errors) problem {
	p.Detail, p.Errors = detail, errs
	return p
}

// writeProblem sends p as application/problem+json.
func writeProblem(w http.ResponseWriter, p problem) {
	body, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		// problem holds only strings and ints.
		panic("preview: cannot encode a problem: " + err.Error())
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/problem+json")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	if p.Status == http.StatusServiceUnavailable {
		hdr.Set("Retry-After", retryAfter)
	}
	w.WriteHeader(p.Status)
	_, _ = w.Write(append(body, '\n'))
}
