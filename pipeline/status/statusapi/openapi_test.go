package statusapi_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/quire-print/quire/internal/bearer"
	"github.com/quire-print/quire/pipeline/batch/batchtest"
	"github.com/quire-print/quire/pipeline/status/statusapi"
)

const specURL = "https://github.com/quire-print/quire/api/internal.openapi.yaml"

// spec reads api/internal.openapi.yaml as JSON values, the way a JSON
// Schema validator sees OpenAPI 3.1's schemas.
func spec(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(batchtest.Root(), "api", "internal.openapi.yaml"))
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
	return doc.(map[string]any)
}

func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// TestOpenAPIDescribesTheRoutes: the description and the handler list the
// same operations, each needs the token and documents 401, and each
// path's parameters are declared.
func TestOpenAPIDescribesTheRoutes(t *testing.T) {
	doc := spec(t)
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi %v, want 3.1.0", doc["openapi"])
	}
	if get(doc, "components", "securitySchemes", "statusToken", "scheme") != "bearer" || get(doc, "security") == nil {
		t.Error("the description does not require the bearer token everywhere")
	}
	var documented []string
	param := regexp.MustCompile(`\{([^}]+)\}`)
	for path, item := range doc["paths"].(map[string]any) {
		for _, m := range []string{"get", "put", "post", "delete", "patch"} {
			op := get(item, m)
			if op == nil {
				continue
			}
			documented = append(documented, strings.ToUpper(m)+" "+path)
			declared := map[string]bool{}
			params, _ := get(op, "parameters").([]any)
			for _, p := range params {
				if get(p, "in") == "path" {
					declared[get(p, "name").(string)] = true
				}
			}
			for _, p := range param.FindAllStringSubmatch(path, -1) {
				if !declared[p[1]] {
					t.Errorf("%s %s: path parameter %s is not declared", m, path, p[1])
				}
			}
			for _, want := range []string{"200", "401", "429", "503"} {
				if get(op, "responses", want) == nil {
					t.Errorf("%s %s does not document %s", m, path, want)
				}
			}
		}
	}
	slices.Sort(documented)
	routes := slices.Sorted(slices.Values(statusapi.Routes()))
	if !slices.Equal(documented, routes) {
		t.Errorf("documented %v\nhandled    %v", documented, routes)
	}
}

// TestOpenAPIDescribesTheAnswers calls every operation on the real handler
// and checks each answer's status is documented and its body valid
// against the documented schema.
func TestOpenAPIDescribesTheAnswers(t *testing.T) {
	doc := spec(t)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(specURL, doc); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, true)
	off := newFixture(t, false)
	show, lookup := "/internal/v1/envelopes/{envelopeId}", "/internal/v1/envelopes/lookup"
	ref := map[string]string{"reference": "BLC-2025-000201"}
	calls := []struct {
		f                      *fixture
		method, specPath, path string
		token                  string
		body                   any
		status                 int
	}{
		{f, "GET", show, "/internal/v1/envelopes/" + f.sealed.Envelopes[0].EnvelopeID, f.token, nil, 200},
		{f, "GET", show, "/internal/v1/envelopes/" + f.sealed.Envelopes[1].EnvelopeID, f.token, nil, 200}, // spoiled, held, reprinted
		{f, "GET", show, "/internal/v1/envelopes/E-NOWHERE", f.token, nil, 404},
		{f, "GET", show, "/internal/v1/envelopes/a%20b", f.token, nil, 400},
		{f, "GET", show, "/internal/v1/envelopes/E-1", "wrong", nil, 401},
		{f, "POST", lookup, "/internal/v1/envelopes/lookup", f.token, ref, 200},
		{f, "POST", lookup, "/internal/v1/envelopes/lookup", f.token, map[string]string{"reference": "no!"}, 422},
		{f, "POST", lookup, "/internal/v1/envelopes/lookup", f.token, []int{1}, 400},
		{f, "POST", lookup, "/internal/v1/envelopes/lookup", "", ref, 401},
		{off, "POST", lookup, "/internal/v1/envelopes/lookup", off.token, ref, 501},
	}
	// Then unknown tokens from off's address until it is refused: 429.
	for range bearer.FailBurst {
		calls = append(calls, calls[4])
		calls[len(calls)-1].f = off
	}
	calls = append(calls, calls[4], calls[8])
	calls[len(calls)-2].f, calls[len(calls)-2].status = off, 429
	calls[len(calls)-1].f, calls[len(calls)-1].status = off, 429
	for _, call := range calls {
		status, h, body := call.f.do(t, call.method, call.path, call.token, call.body)
		if status != call.status {
			t.Errorf("%s %s: %d, want %d: %s", call.method, call.path, status, call.status, body)
			continue
		}
		resp := []string{"paths", call.specPath, strings.ToLower(call.method), "responses", strconv.Itoa(status)}
		r := get(doc, resp...)
		if r == nil {
			t.Errorf("%s %s: status %d is not documented", call.method, call.specPath, status)
			continue
		}
		pointer := "#/" + escape(resp...)
		if ref, ok := get(r, "$ref").(string); ok {
			r, pointer = get(doc, strings.Split(strings.TrimPrefix(ref, "#/"), "/")...), ref
		}
		ct, _, _ := strings.Cut(h.Get("Content-Type"), ";")
		if get(r, "content", ct) == nil {
			t.Errorf("%s %s %d: content type %q is not documented", call.method, call.specPath, status, ct)
			continue
		}
		sch, err := c.Compile(specURL + pointer + "/content/" + escape(ct) + "/schema")
		if err != nil {
			t.Fatal(err)
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s %s: %v", call.method, call.path, err)
		}
		if err := sch.Validate(v); err != nil {
			t.Errorf("%s %s %d: the answer does not match the description: %v\n%s", call.method, call.path, status, err, body)
		}
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
