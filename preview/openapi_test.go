package preview

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/quire-print/quire/schemas"
)

// docURL is where api/openapi.yaml sits in the repository, as a URL, so
// that its relative $ref to ../schemas/ resolves to those schemas' $ids.
const docURL = "https://github.com/quire-print/quire/api/openapi.yaml"

var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// apiDoc is api/openapi.yaml, read as JSON Schema's validator reads JSON,
// with a compiler for the schemas in it.
type apiDoc struct {
	root     map[string]any
	compiler *jsonschema.Compiler
}

func loadAPIDoc(t *testing.T) *apiDoc {
	t.Helper()
	data, err := os.ReadFile("../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var y any
	if err := yaml.Unmarshal(data, &y); err != nil {
		t.Fatalf("api/openapi.yaml: %v", err)
	}
	j, err := json.Marshal(y)
	if err != nil {
		t.Fatalf("api/openapi.yaml is not JSON-compatible: %v", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	root := doc.(map[string]any)
	if root["openapi"] != "3.1.0" {
		t.Fatalf("openapi %v, want 3.1.0", root["openapi"])
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(docURL, doc); err != nil {
		t.Fatal(err)
	}
	files, _ := fs.Glob(schemas.FS, "*.json")
	for _, name := range files {
		data, _ := schemas.FS.ReadFile(name)
		s, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource(s.(map[string]any)["$id"].(string), s); err != nil {
			t.Fatal(err)
		}
	}
	return &apiDoc{root: root, compiler: c}
}

// resolve follows a local $ref ("#/components/responses/Busy").
func (d *apiDoc) resolve(t *testing.T, v any) map[string]any {
	t.Helper()
	m, _ := v.(map[string]any)
	for m != nil {
		ref, ok := m["$ref"].(string)
		if !ok || !strings.HasPrefix(ref, "#/") {
			return m
		}
		var cur any = d.root
		for _, part := range strings.Split(ref[2:], "/") {
			cur = cur.(map[string]any)[part]
		}
		if cur == nil {
			t.Fatalf("$ref %s leads nowhere", ref)
		}
		m = cur.(map[string]any)
	}
	return m
}

// previewTags are the tags of the operations package preview serves. An
// operation with none of them belongs to another part of Quire, whose
// own tests check it.
var previewTags = []string{"templates", "preview", "page"}

// operations returns every documented operation of package preview as a
// net/http pattern ("GET /api/v1/templates") with its OpenAPI object.
func (d *apiDoc) operations() map[string]map[string]any {
	ops := map[string]map[string]any{}
	for path, item := range d.root["paths"].(map[string]any) {
		for _, m := range methods {
			op, ok := item.(map[string]any)[m].(map[string]any)
			if !ok {
				continue
			}
			tags, _ := op["tags"].([]any)
			if slices.ContainsFunc(tags, func(tag any) bool { return slices.Contains(previewTags, tag.(string)) }) {
				ops[strings.ToUpper(m)+" "+path] = op
			}
		}
	}
	return ops
}

// schema compiles the schema at a JSON pointer into the document.
func (d *apiDoc) schema(t *testing.T, pointer string) *jsonschema.Schema {
	t.Helper()
	s, err := d.compiler.Compile(docURL + "#" + pointer)
	if err != nil {
		t.Fatalf("schema at %s: %v", pointer, err)
	}
	return s
}

// TestOpenAPIDescribesEveryRoute: every documented path and method is a
// route the Handler serves, and every route is documented.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	doc := loadAPIDoc(t)
	var documented, served []string
	for op := range doc.operations() {
		documented = append(documented, op)
	}
	for _, rt := range routes {
		served = append(served, rt.pattern)
	}
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Errorf("api/openapi.yaml documents\n  %s\nbut the Handler serves\n  %s",
			strings.Join(documented, "\n  "), strings.Join(served, "\n  "))
	}
	// Each route is really registered under its pattern.
	s := newTestServer(t, Options{})
	for _, rt := range routes {
		method, path, _ := strings.Cut(rt.pattern, " ")
		path = strings.NewReplacer("{template}", "baby-loss-certificate", "{name}", "preview.css").Replace(path)
		_, pattern := s.mux.Handler(httptest.NewRequest(method, path, nil))
		if pattern != rt.pattern {
			t.Errorf("%s %s is served by %q, want %q", method, path, pattern, rt.pattern)
		}
	}
}

// exchange is one sample request and the status it should get.
type exchange struct {
	op          string // the documented operation, a route pattern
	target      string
	contentType string
	body        string
	header      []string
	want        int
}

// TestOpenAPIMatchesResponses sends sample requests to every operation:
// each answer's status, media type, headers and JSON body must be as
// documented, and every documented status must be produced by a sample.
func TestOpenAPIMatchesResponses(t *testing.T) {
	doc := loadAPIDoc(t)
	ops := doc.operations()
	s := newTestServer(t, Options{})

	// ETags to send back.
	etag := func(method, target, body string) string {
		t.Helper()
		h := []string{}
		if body != "" {
			h = []string{"Content-Type", "application/json"}
		}
		w := s.do(method, target, body, h...)
		wantStatus(t, w, http.StatusOK)
		return w.Header().Get("ETag")
	}
	const jsonType = "application/json"
	const formType = "application/x-www-form-urlencoded"
	big := `{"placeOfLoss":"` + strings.Repeat(" ", 70000) + `"}`
	bigForm := "placeOfLoss=" + strings.Repeat("x", 70000)
	var exchanges []exchange
	add := func(op string, want int, target, contentType, body string, header ...string) {
		exchanges = append(exchanges, exchange{op, target, contentType, body, header, want})
	}
	const (
		list    = "GET /api/v1/templates"
		spdf    = "GET /api/v1/templates/{template}/sample.pdf"
		spng    = "GET /api/v1/templates/{template}/sample.png"
		stxt    = "GET /api/v1/templates/{template}/sample.json"
		cpdf    = "POST /api/v1/preview/certificate.pdf"
		cpng    = "POST /api/v1/preview/certificate.png"
		ctxt    = "POST /api/v1/preview/certificate.json"
		page    = "GET /preview"
		post    = "POST /preview"
		pagePDF = "POST /preview/certificate.pdf"
		asset   = "GET /preview/assets/{name}"
	)
	add(list, 200, "/api/v1/templates", "", "")
	add(list, 304, "/api/v1/templates", "", "", "If-None-Match", etag("GET", "/api/v1/templates", ""))
	for _, op := range []struct{ pattern, ext string }{{spdf, "pdf"}, {spng, "png"}, {stxt, "json"}} {
		base := "/api/v1/templates/baby-loss-certificate/sample." + op.ext
		add(op.pattern, 200, base, "", "")
		add(op.pattern, 200, "/api/v1/templates/carriage-letter@1/sample."+op.ext+"?format=large-print", "", "")
		add(op.pattern, 304, base, "", "", "If-None-Match", etag("GET", base, ""))
		add(op.pattern, 400, base+"?format=huge", "", "")
		add(op.pattern, 404, "/api/v1/templates/nothing/sample."+op.ext, "", "")
	}
	add(spng, 400, "/api/v1/templates/baby-loss-certificate/sample.png?width=50", "", "")
	for _, op := range []struct{ pattern, ext string }{{cpdf, "pdf"}, {cpng, "png"}, {ctxt, "json"}} {
		target := "/api/v1/preview/certificate." + op.ext
		add(op.pattern, 200, target, jsonType, robin)
		add(op.pattern, 200, target, jsonType, `{}`)
		add(op.pattern, 304, target, jsonType, robin, "If-None-Match", etag("POST", target, robin))
		add(op.pattern, 400, target, jsonType, `{"babyName":`)
		add(op.pattern, 413, target, jsonType, big)
		add(op.pattern, 415, target, "text/plain", robin)
		add(op.pattern, 422, target, jsonType, `{"sex":"girl"}`)
		add(op.pattern, 200, target+"?language=cy,en", jsonType, robin)
		add(op.pattern, 400, target+"?language=fr", jsonType, robin)
		add(op.pattern, 422, target+"?language=cy", jsonType, `{"template":"baby-loss-certificate@1"}`)
	}
	add(stxt, 200, "/api/v1/templates/carriage-letter-cy-en/sample.json?format=large-print", "", "")
	add(cpng, 400, "/api/v1/preview/certificate.png?width=0", jsonType, robin)
	add(page, 200, "/preview", "", "")
	add(page, 200, "/preview?lang=cy", "", "")
	add(page, 200, "/preview", "", "", "Accept-Language", "cy-GB, en;q=0.5")
	add(post, 200, "/preview", formType, "lang=cy&language=cy,en&babyName=Robin")
	add(post, 200, "/preview", formType, "babyName=Robin")
	add(post, 200, "/preview", formType, "babyName=Robin&partial=1")
	add(post, 400, "/preview", formType, "babyName=%zz")
	add(post, 413, "/preview", formType, bigForm)
	add(post, 422, "/preview", formType, "dateOfLoss-day=1&dateOfLoss-year=2024")
	add(pagePDF, 200, "/preview/certificate.pdf", formType, "babyName=Robin")
	add(pagePDF, 400, "/preview/certificate.pdf", formType, "babyName=%zz")
	add(pagePDF, 413, "/preview/certificate.pdf", formType, bigForm)
	add(pagePDF, 422, "/preview/certificate.pdf", formType, "sex=girl")
	add(asset, 200, s.h.assetURL("preview.css"), "", "")
	add(asset, 200, s.h.assetURL("preview.js"), "", "")
	add(asset, 304, "/preview/assets/preview.css", "", "", "If-None-Match", etag("GET", "/preview/assets/preview.css", ""))
	add(asset, 404, "/preview/assets/other.css", "", "")

	seen := map[string]bool{}
	for _, ex := range exchanges {
		seen[ex.op+" "+strconv.Itoa(ex.want)] = true
		method, _, _ := strings.Cut(ex.op, " ")
		header := ex.header
		if ex.contentType != "" {
			header = append([]string{"Content-Type", ex.contentType}, header...)
		}
		w := s.do(method, ex.target, ex.body, header...)
		t.Run(fmt.Sprintf("%s %s %d", method, ex.target[:min(len(ex.target), 60)], ex.want), func(t *testing.T) {
			if w.Code != ex.want {
				t.Fatalf("status %d, want %d; body:\n%.500s", w.Code, ex.want, w.Body.String())
			}
			checkResponse(t, doc, ex.op, ops[ex.op], w)
		})
	}

	// 503: a held render fills the only slot and the wait is over at once.
	busy := newTestServer(t, Options{MaxRenders: 1, MaxQueue: 1, QueueWait: time.Nanosecond}).gated()
	held := make(chan struct{})
	go func() {
		busy.postJSON("/api/v1/preview/certificate.png", `{"babyName":"Held"}`)
		close(held)
	}()
	<-busy.r.started
	for _, ex := range []exchange{
		{op: spdf, target: "/api/v1/templates/baby-loss-certificate/sample.pdf"},
		{op: spng, target: "/api/v1/templates/carriage-letter/sample.png"},
		{op: cpdf, target: "/api/v1/preview/certificate.pdf", contentType: jsonType, body: robin},
		{op: cpng, target: "/api/v1/preview/certificate.png", contentType: jsonType, body: robin},
		{op: page, target: "/preview"},
		{op: post, target: "/preview", contentType: formType, body: "babyName=Robin"},
		{op: pagePDF, target: "/preview/certificate.pdf", contentType: formType, body: "babyName=Robin"},
	} {
		seen[ex.op+" 503"] = true
		method, _, _ := strings.Cut(ex.op, " ")
		var header []string
		if ex.contentType != "" {
			header = []string{"Content-Type", ex.contentType}
		}
		w := busy.do(method, ex.target, ex.body, header...)
		t.Run(method+" "+ex.target+" busy", func(t *testing.T) {
			if w.Code != http.StatusServiceUnavailable {
				t.Fatalf("status %d, want 503", w.Code)
			}
			checkResponse(t, doc, ex.op, ops[ex.op], w)
		})
	}
	close(busy.r.gate)
	<-held

	// Every documented status has been seen.
	for pattern, op := range ops {
		for code := range op["responses"].(map[string]any) {
			if !seen[pattern+" "+code] {
				t.Errorf("%s: no sample request gets the documented %s", pattern, code)
			}
		}
	}
}

// checkResponse checks one answer against its documented response.
func checkResponse(t *testing.T, doc *apiDoc, pattern string, op map[string]any, w *httptest.ResponseRecorder) {
	t.Helper()
	responses := op["responses"].(map[string]any)
	resp := doc.resolve(t, responses[strconv.Itoa(w.Code)])
	if resp == nil {
		t.Fatalf("%s answered %d, which is not documented", pattern, w.Code)
	}
	headers, _ := resp["headers"].(map[string]any)
	for name, h := range headers {
		got := w.Header().Get(name)
		if got == "" {
			t.Errorf("header %s is documented but missing", name)
			continue
		}
		schema, _ := doc.resolve(t, h)["schema"].(map[string]any)
		if c, ok := schema["const"]; ok && got != c {
			t.Errorf("header %s is %q, documented as %q", name, got, c)
		}
	}
	content, _ := resp["content"].(map[string]any)
	if content == nil {
		if w.Body.Len() != 0 {
			t.Errorf("a %d with a body, documented without one", w.Code)
		}
		return
	}
	mt, _, err := mime.ParseMediaType(w.Header().Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", w.Header().Get("Content-Type"), err)
	}
	if _, ok := content[mt]; !ok {
		t.Fatalf("answered %s, documented as one of %v", mt, slices.Collect(func(yield func(string) bool) {
			for k := range content {
				if !yield(k) {
					return
				}
			}
		}))
	}
	if !strings.HasSuffix(mt, "json") {
		return
	}
	body, err := jsonschema.UnmarshalJSON(bytes.NewReader(w.Body.Bytes()))
	if err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	pointer := responsePointer(doc, pattern, w.Code, mt)
	if err := doc.schema(t, pointer).Validate(body); err != nil {
		t.Errorf("the body does not match its schema (%s): %v\n%s", pointer, err, w.Body.String())
	}
}

// responsePointer finds the JSON pointer of a response's schema, so that
// the compiler resolves its $refs where they stand.
func responsePointer(doc *apiDoc, pattern string, code int, mt string) string {
	esc := strings.NewReplacer("~", "~0", "/", "~1")
	method, path, _ := strings.Cut(pattern, " ")
	ref, _ := doc.root["paths"].(map[string]any)[path].(map[string]any)[strings.ToLower(method)].(map[string]any)["responses"].(map[string]any)[strconv.Itoa(code)].(map[string]any)["$ref"].(string)
	if ref != "" {
		return ref[1:] + "/content/" + esc.Replace(mt) + "/schema"
	}
	return "/paths/" + esc.Replace(path) + "/" + strings.ToLower(method) + "/responses/" + strconv.Itoa(code) + "/content/" + esc.Replace(mt) + "/schema"
}

// TestOpenAPIRequestExamples: every example request body in the
// description is valid by its schema and previews with 200.
func TestOpenAPIRequestExamples(t *testing.T) {
	doc := loadAPIDoc(t)
	s := newTestServer(t, Options{})
	const pointer = "/components/requestBodies/Certificate/content/application~1json"
	schema := doc.schema(t, pointer+"/schema")
	media := doc.root["components"].(map[string]any)["requestBodies"].(map[string]any)["Certificate"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)
	examples := media["examples"].(map[string]any)
	if len(examples) == 0 {
		t.Fatal("no examples")
	}
	for name, ex := range examples {
		value := ex.(map[string]any)["value"]
		if err := schema.Validate(value); err != nil {
			t.Errorf("example %s does not match the certificate preview schema: %v", name, err)
		}
		body, _ := json.Marshal(value)
		for _, target := range []string{"/api/v1/preview/certificate.png", "/api/v1/preview/certificate.pdf", "/api/v1/preview/certificate.json"} {
			if w := s.postJSON(target, string(body)); w.Code != http.StatusOK {
				t.Errorf("example %s to %s: %d\n%s", name, target, w.Code, w.Body.String())
			}
		}
	}
}
