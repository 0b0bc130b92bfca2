package request

import (
	"fmt"
	"strings"
)

// FieldError is one problem with one field of a request.
type FieldError struct {
	// Field is the JSON path of the field, e.g. "certificates[1].dateOfLoss"
	// or "recipient.address[3]". Empty for a problem with the whole request.
	Field string `json:"field"`
	// Problem says what is wrong, in plain words, without repeating the value.
	Problem string `json:"problem"`
	// Char describes a problem with particular characters, so that it can
	// be worded for another reader (ForParent); its Rule is NoCharRule for
	// any other problem. It is not encoded: it quotes the value.
	Char CharProblem `json:"-"`
}

// String returns the problem on one line, after its field when it has one:
// "certificates[0].sex: must be …".
func (e FieldError) String() string {
	if e.Field == "" {
		return e.Problem
	}
	return e.Field + ": " + e.Problem
}

// Errors is every problem found in one request. It is returned as an error
// only when it is not empty.
type Errors []FieldError

// Error joins the problems one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.String()
	}
	return strings.Join(lines, "\n")
}

// Add appends a problem with field.
func (es *Errors) Add(field, format string, args ...any) {
	*es = append(*es, FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
}

// Err returns es as an error, or nil when there is no problem.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}
