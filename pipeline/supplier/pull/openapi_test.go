package pull_test

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

	"github.com/quire-print/quire/pipeline/batch/batchtest"
	"github.com/quire-print/quire/pipeline/supplier/pull"
)

const specURL = "https://github.com/quire-print/quire/api/supplier.openapi.yaml"

// spec reads api/supplier.openapi.yaml as JSON values, the way a JSON
// Schema validator sees OpenAPI 3.1's schemas.
func spec(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(batchtest.Root(), "api", "supplier.openapi.yaml"))
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

var methods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

// TestOpenAPIDescribesTheRoutes: the description and the handler list the
// same operations, and each path's parameters are declared.
func TestOpenAPIDescribesTheRoutes(t *testing.T) {
	doc := spec(t)
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi %v, want 3.1.0", doc["openapi"])
	}
	if get(doc, "components", "securitySchemes", "supplierToken", "scheme") != "bearer" || get(doc, "security") == nil {
		t.Error("the description does not require the bearer token everywhere")
	}
	var documented []string
	param := regexp.MustCompile(`\{([^}]+)\}`)
	for path, item := range doc["paths"].(map[string]any) {
		declared := map[string]bool{}
		for _, p := range append(refs(doc, get(item, "parameters")), nil) {
			if get(p, "in") == "path" {
				declared[get(p, "name").(string)] = true
			}
		}
		for _, m := range methods {
			op := get(item, m)
			if op == nil {
				continue
			}
			documented = append(documented, strings.ToUpper(m)+" "+path)
			for _, p := range refs(doc, get(op, "parameters")) {
				if get(p, "in") == "path" {
					declared[get(p, "name").(string)] = true
				}
			}
			for _, want := range []string{"200", "401", "429"} {
				if get(op, "responses", want) == nil {
					t.Errorf("%s %s does not document %s", m, path, want)
				}
			}
		}
		for _, p := range param.FindAllStringSubmatch(path, -1) {
			if !declared[p[1]] {
				t.Errorf("%s: path parameter %s is not declared", path, p[1])
			}
		}
	}
	slices.Sort(documented)
	routes := slices.Sorted(slices.Values(pull.Routes()))
	if !slices.Equal(documented, routes) {
		t.Errorf("documented %v\nhandled    %v", documented, routes)
	}
}

// refs resolves a list of objects that may be local $refs.
func refs(doc map[string]any, list any) []any {
	var out []any
	items, _ := list.([]any)
	for _, it := range items {
		if ref, ok := get(it, "$ref").(string); ok {
			it = get(doc, strings.Split(strings.TrimPrefix(ref, "#/"), "/")...)
		}
		out = append(out, it)
	}
	return out
}

// TestOpenAPIDescribesTheAnswers calls every operation on the real handler
// and checks each answer's status is documented and its JSON body is valid
// against the documented schema.
func TestOpenAPIDescribesTheAnswers(t *testing.T) {
	doc := spec(t)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(specURL, doc); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	s := f.delivered(t, 2)
	base := pull.BasePath + "/batches/" + s.BatchID
	outcome := map[string]any{"outcomes": []pull.Report{{Sequence: 1, EnvelopeID: s.Envelopes[0].EnvelopeID, Outcome: "printed", At: f.clock.Now()}}}
	type call struct {
		method, specPath, path string
		client                 Client
		body                   any
		status                 int
	}
	calls := []call{
		{"GET", "/supplier/v1/batches", pull.BasePath + "/batches", f.client, nil, 200},
		{"GET", "/supplier/v1/batches", pull.BasePath + "/batches", Client{t, f.server.URL, "wrong"}, nil, 401},
		{"GET", "/supplier/v1/batches/{batchId}", base, f.client, nil, 200},
		{"GET", "/supplier/v1/batches/{batchId}", base, f.other, nil, 404},
		{"GET", "/supplier/v1/batches/{batchId}/manifest", base + "/manifest", f.client, nil, 200},
		{"GET", "/supplier/v1/batches/{batchId}/files/{name}", base + "/files/manifest.csv", f.client, nil, 200},
		{"GET", "/supplier/v1/batches/{batchId}/files/{name}", base + "/files/nothing.pdf", f.client, nil, 404},
		{"POST", "/supplier/v1/batches/{batchId}/receipt", base + "/receipt", f.client, nil, 200},
		{"POST", "/supplier/v1/batches/{batchId}/outcomes", base + "/outcomes", f.client, outcome, 200},
		{"POST", "/supplier/v1/batches/{batchId}/outcomes", base + "/outcomes", f.client, map[string]any{"outcomes": []any{map[string]any{"sequence": 7}}}, 422},
		{"POST", "/supplier/v1/batches/{batchId}/outcomes", base + "/outcomes", f.client, []int{1}, 400},
	}
	// Then unknown tokens until this address (all calls come from
	// 127.0.0.1) has used up its failures (one is above), after which
	// every operation refuses an unknown token with 429.
	var refused []call
	for _, c := range calls {
		if c.status == 200 {
			c.client, c.status = Client{t, f.server.URL, "wrong"}, 429
			refused = append(refused, c)
		}
	}
	for range pull.FailBurst - 1 {
		calls = append(calls, call{"GET", "/supplier/v1/batches", pull.BasePath + "/batches", Client{t, f.server.URL, "wrong"}, nil, 401})
	}
	calls = append(calls, refused...)
	for _, call := range calls {
		status, h, body := call.client.Do(call.method, call.path, call.body)
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
		if ct != "application/json" && ct != "application/problem+json" {
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
		if call.specPath == "/supplier/v1/batches/{batchId}/manifest" {
			continue // the manifest's own schema is schemas/batch-manifest.v1.schema.json
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
