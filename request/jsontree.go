package request

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"unicode/utf8"
)

// MaxRequestSize is the largest request body, in bytes, that Decode and
// DecodeCertificate read. A real envelope of eight certificates is a few
// kilobytes; anything near this size is a mistake or an attack. HTTP
// handlers should stop reading at MaxRequestSize+1 bytes.
const MaxRequestSize = 64 << 10

// maxDepth bounds how deeply arrays and objects may nest. A request nests
// four deep (certificates, a certificate, a field); more is never a request.
const maxDepth = 32

// maxProblems bounds the list Decode returns. A real request cannot have
// this many problems; a hostile one (thousands of unknown fields) could, and
// the list travels in status events.
const maxProblems = 100

// jsonKind is the type of a JSON value.
type jsonKind int

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

// described says what a value of this kind is, for "must be text, not …".
var described = map[jsonKind]string{
	jsonNull:   "null",
	jsonBool:   "a yes/no value (true or false)",
	jsonNumber: "a number",
	jsonString: "text",
	jsonArray:  "a list",
	jsonObject: "an object",
}

// jsonValue is a parsed JSON value that keeps what encoding/json's generic
// decoding loses and strict decoding needs: the order of object members and
// any member given twice.
type jsonValue struct {
	kind    jsonKind
	text    string // a string, or a number as written
	items   []*jsonValue
	members []jsonMember
}

type jsonMember struct {
	name  string
	value *jsonValue
}

// parseJSON reads data as one JSON object. Problems with the document as a
// whole come back as Errors with an empty field, and a nil value.
func parseJSON(data []byte) (*jsonValue, Errors) {
	var errs Errors
	if len(data) > MaxRequestSize {
		errs.Add("", "the request is larger than %d KiB, the most Quire reads", MaxRequestSize>>10)
		return nil, errs
	}
	if len(bytes.Trim(data, " \t\r\n")) == 0 {
		errs.Add("", "the request is empty")
		return nil, errs
	}
	if !utf8.Valid(data) {
		// encoding/json would quietly turn bad bytes into U+FFFD.
		line, col := position(data, invalidUTF8Offset(data))
		errs.Add("", "the request is not valid UTF-8 text (the problem is at line %d, column %d)", line, col)
		return nil, errs
	}
	var raw json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		errs.Add("", "%s", syntaxProblem(data, err))
		return nil, errs
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := readValue(dec, 0)
	if err != nil {
		errs.Add("", "%s", err)
		return nil, errs
	}
	if v.kind != jsonObject {
		errs.Add("", "the request must be a JSON object ({ … }), not %s", described[v.kind])
		return nil, errs
	}
	return v, nil
}

// syntaxProblem turns encoding/json's syntax error into words, giving the
// position but not the character found there, which may be part of a name.
func syntaxProblem(data []byte, err error) string {
	var syn *json.SyntaxError
	if !errors.As(err, &syn) {
		return "the request is not valid JSON"
	}
	// Decoding one value succeeds when all that is wrong is what follows it.
	dec := json.NewDecoder(bytes.NewReader(data))
	var first json.RawMessage
	if dec.Decode(&first) == nil && dec.InputOffset() < syn.Offset {
		line, col := position(data, dec.InputOffset())
		return fmt.Sprintf("the request has more data after its end (after line %d, column %d)", line, col)
	}
	if syn.Offset >= int64(len(data)) {
		return "the request is not valid JSON – it stops before its end"
	}
	// Offset counts the bytes read, so the bad byte is the one before it.
	line, col := position(data, syn.Offset-1)
	return fmt.Sprintf("the request is not valid JSON (the problem is at line %d, column %d)", line, col)
}

// position returns the 1-based line and column (in characters) of a byte
// offset in data.
func position(data []byte, offset int64) (line, col int) {
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
	return line, col
}

// invalidUTF8Offset returns the offset of the first byte of data that is
// not valid UTF-8.
func invalidUTF8Offset(data []byte) int64 {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return int64(i)
		}
		i += size
	}
	return int64(len(data))
}

var errTooDeep = fmt.Errorf("the request nests lists and objects more than %d deep, which no request needs", maxDepth)

// readValue reads one value from dec, which has already been checked to
// hold valid JSON.
func readValue(dec *json.Decoder, depth int) (*jsonValue, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case nil:
		return &jsonValue{kind: jsonNull}, nil
	case bool:
		return &jsonValue{kind: jsonBool}, nil
	case json.Number:
		return &jsonValue{kind: jsonNumber, text: string(t)}, nil
	case string:
		return &jsonValue{kind: jsonString, text: t}, nil
	case json.Delim:
		v := &jsonValue{kind: jsonArray}
		if t == '{' {
			v.kind = jsonObject
		}
		for dec.More() {
			var name string
			if v.kind == jsonObject {
				key, err := dec.Token()
				if err != nil {
					return nil, err
				}
				name = key.(string) // JSON object keys are always strings
			}
			item, err := readValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			if v.kind == jsonObject {
				v.members = append(v.members, jsonMember{name, item})
			} else {
				v.items = append(v.items, item)
			}
		}
		if _, err := dec.Token(); err != nil { // the closing ] or }
			return nil, err
		}
		return v, nil
	}
	return nil, fmt.Errorf("the request holds a JSON token Quire cannot read")
}

// plainFieldName matches member names that can be shown in a path as they
// are. Any other name is not shown: a path must stay readable, and a name
// with spaces or odd characters may be a value sent by mistake.
var plainFieldName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,63}$`)
