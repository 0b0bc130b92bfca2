package statusapi_test

import (
	"testing"

	"github.com/quire-print/quire/internal/bearer"
	"github.com/quire-print/quire/internal/openapitest"
	"github.com/quire-print/quire/pipeline/status/statusapi"
)

// TestOpenAPIDescribesTheRoutes: the description and the handler list the
// same operations, each needs the token and documents 401, and each
// path's parameters are declared.
func TestOpenAPIDescribesTheRoutes(t *testing.T) {
	spec := openapitest.Load(t, "internal.openapi.yaml")
	if openapitest.Get(spec.Doc, "components", "securitySchemes", "statusToken", "scheme") != "bearer" || openapitest.Get(spec.Doc, "security") == nil {
		t.Error("the description does not require the bearer token everywhere")
	}
	spec.CheckRoutes(t, statusapi.Routes(), "200", "401", "429", "503")
}

// TestOpenAPIDescribesTheAnswers calls every operation on the real handler
// and checks each answer's status is documented and its body valid
// against the documented schema.
func TestOpenAPIDescribesTheAnswers(t *testing.T) {
	spec := openapitest.Load(t, "internal.openapi.yaml")
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
		spec.CheckAnswer(t, openapitest.Answer{Method: call.method, SpecPath: call.specPath, Status: status, Header: h, Body: body})
	}
}
