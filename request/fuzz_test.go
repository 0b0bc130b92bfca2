package request

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// fieldPath is the shape of every FieldError.Field Quire reports: JSON
// member names joined by dots, with list indexes in brackets.
var fieldPath = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*(\[[0-9]+\])*(\.[A-Za-z_][A-Za-z0-9_-]*(\[[0-9]+\])*)*$`)

// FuzzDecode checks that Decode never panics, that every problem it returns
// names its field (or is about the request as a whole and says so), and that
// an envelope it accepts is stable: encoding it and decoding it again gives
// the same envelope and the same content hash.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("../testdata/requests/*/*.json")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(validJSON))
	f.Add([]byte(`{"certificates":[{"dateOfLoss":"2025-02","dateOfIssue":"2025-02-01"}]}`))
	f.Add([]byte(`{"recipient":{"address":["NFA","bfpo1"]}}`))
	f.Add([]byte(`{"a":{"b":[{"c":null}]}}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Decode(data)
		if err != nil {
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %v (%T) is not Errors", err, err)
			}
			if len(errs) == 0 || len(errs) > maxProblems {
				t.Fatalf("%d problems", len(errs))
			}
			for _, fe := range errs {
				if fe.Problem == "" {
					t.Errorf("%q has no problem", fe.Field)
				}
				if fe.Field == "" && !strings.HasPrefix(fe.Problem, "the request ") {
					t.Errorf("problem %q names no field", fe.Problem)
				}
				if fe.Field != "" && !fieldPath.MatchString(fe.Field) {
					t.Errorf("field %q is not a JSON path", fe.Field)
				}
			}
			return
		}
		if e == nil {
			t.Fatal("no error and no envelope")
		}
		again, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		e2, err := Decode(again)
		if err != nil {
			t.Fatalf("the accepted envelope, encoded again, is refused: %v", err)
		}
		if !reflect.DeepEqual(e, e2) || e.ContentHash() != e2.ContentHash() {
			t.Fatalf("decoding is not stable:\n%+v\n%+v", e, e2)
		}
	})
}
