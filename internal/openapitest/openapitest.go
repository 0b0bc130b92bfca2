// Package openapitest holds an OpenAPI 3.1 description to the HTTP API it
// describes, for tests: the operations it lists are the routes served,
// and each answer's status, content type and JSON body are documented.
package openapitest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/quire-print/quire/pipeline/batch/batchtest"
)

// Spec is one description, read as JSON values, the way a JSON Schema
// validator sees OpenAPI 3.1's schemas.
type Spec struct {
	Doc map[string]any
	url string
	c   *jsonschema.Compiler
}

// Load reads api/<name> from the repository.
func Load(t *testing.T, name string) *Spec {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(batchtest.Root(), "api", name))
	if err != nil {
		t.Fatal(err)
	}
	var y any
	if err := yaml.Unmarshal(data, &y); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(y)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	s := &Spec{Doc: doc.(map[string]any), url: "https://github.com/quire-print/quire/api/" + name}
	s.c = jsonschema.NewCompiler()
	s.c.DefaultDraft(jsonschema.Draft2020)
	if err := s.c.AddResource(s.url, s.Doc); err != nil {
		t.Fatal(err)
	}
	return s
}

// Get follows path through nested objects; nil where it leads nowhere.
func Get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// resolve returns v, or what v's local $ref points at, and its pointer.
func (s *Spec) resolve(v any, pointer string) (any, string) {
	if ref, ok := Get(v, "$ref").(string); ok {
		return Get(s.Doc, strings.Split(strings.TrimPrefix(ref, "#/"), "/")...), ref
	}
	return v, pointer
}

var methods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// CheckRoutes checks that the description lists exactly routes ("GET
// /a/{b}", as the handlers' patterns), that every path parameter is
// declared for each operation (on the path or the operation, directly or
// by $ref), and that
// every operation documents each of the statuses in every.
func (s *Spec) CheckRoutes(t *testing.T, routes []string, every ...string) {
	t.Helper()
	if s.Doc["openapi"] != "3.1.0" {
		t.Errorf("openapi %v, want 3.1.0", s.Doc["openapi"])
	}
	var documented []string
	paths, _ := s.Doc["paths"].(map[string]any)
	for path, item := range paths {
		shared, _ := Get(item, "parameters").([]any)
		for _, m := range methods {
			op := Get(item, m)
			if op == nil {
				continue
			}
			documented = append(documented, strings.ToUpper(m)+" "+path)
			own, _ := Get(op, "parameters").([]any)
			declared := map[string]bool{}
			for _, p := range append(slices.Clone(shared), own...) {
				if p, _ := s.resolve(p, ""); Get(p, "in") == "path" {
					declared[Get(p, "name").(string)] = true
				}
			}
			for _, p := range pathParam.FindAllStringSubmatch(path, -1) {
				if !declared[p[1]] {
					t.Errorf("%s %s: path parameter %s is not declared", m, path, p[1])
				}
			}
			for _, want := range every {
				if Get(op, "responses", want) == nil {
					t.Errorf("%s %s does not document %s", m, path, want)
				}
			}
		}
	}
	slices.Sort(documented)
	if routes = slices.Sorted(slices.Values(routes)); !slices.Equal(documented, routes) {
		t.Errorf("documented %v\nhandled    %v", documented, routes)
	}
}

// Answer is one answer of the API to a call of the operation at
// method and SpecPath (the description's path, e.g. "/a/{b}").
type Answer struct {
	Method, SpecPath string
	Status           int
	Header           http.Header
	Body             []byte
	// OwnSchema: the JSON body is described by a schema of its own
	// elsewhere (for example under schemas/), so it is not validated here.
	OwnSchema bool
}

// CheckAnswer checks that a's status and content type are documented for
// its operation and that a JSON body is valid against the documented
// schema.
func (s *Spec) CheckAnswer(t *testing.T, a Answer) {
	t.Helper()
	resp := []string{"paths", a.SpecPath, strings.ToLower(a.Method), "responses", strconv.Itoa(a.Status)}
	r := Get(s.Doc, resp...)
	if r == nil {
		t.Errorf("%s %s: status %d is not documented", a.Method, a.SpecPath, a.Status)
		return
	}
	r, pointer := s.resolve(r, "#/"+escape(resp...))
	ct, _, _ := strings.Cut(a.Header.Get("Content-Type"), ";")
	if Get(r, "content", ct) == nil {
		t.Errorf("%s %s %d: content type %q is not documented", a.Method, a.SpecPath, a.Status, ct)
		return
	}
	if ct != "application/json" && ct != "application/problem+json" {
		return
	}
	sch, err := s.c.Compile(s.url + pointer + "/content/" + escape(ct) + "/schema")
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(a.Body))
	if err != nil {
		t.Fatalf("%s %s: %v", a.Method, a.SpecPath, err)
	}
	if a.OwnSchema {
		return
	}
	if err := sch.Validate(v); err != nil {
		t.Errorf("%s %s %d: the answer does not match the description: %v\n%s", a.Method, a.SpecPath, a.Status, err, a.Body)
	}
}

// escape joins JSON pointer tokens, escaping "~" and "/".
func escape(tokens ...string) string {
	out := make([]string, len(tokens))
	for i, s := range tokens {
		out[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
	}
	return strings.Join(out, "/")
}
