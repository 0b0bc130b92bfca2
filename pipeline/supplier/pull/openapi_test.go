package pull_test

import (
	"testing"

	"github.com/quire-print/quire/internal/openapitest"
	"github.com/quire-print/quire/pipeline/supplier/pull"
)

// TestOpenAPIDescribesTheRoutes: the description and the handler list the
// same operations, and each path's parameters are declared.
func TestOpenAPIDescribesTheRoutes(t *testing.T) {
	spec := openapitest.Load(t, "supplier.openapi.yaml")
	if openapitest.Get(spec.Doc, "components", "securitySchemes", "supplierToken", "scheme") != "bearer" || openapitest.Get(spec.Doc, "security") == nil {
		t.Error("the description does not require the bearer token everywhere")
	}
	spec.CheckRoutes(t, pull.Routes(), "200", "401", "429")
}

// TestOpenAPIDescribesTheAnswers calls every operation on the real handler
// and checks each answer's status is documented and its JSON body is valid
// against the documented schema.
func TestOpenAPIDescribesTheAnswers(t *testing.T) {
	spec := openapitest.Load(t, "supplier.openapi.yaml")
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
		spec.CheckAnswer(t, openapitest.Answer{Method: call.method, SpecPath: call.specPath, Status: status, Header: h, Body: body,
			// The manifest's own schema is schemas/batch-manifest.v1.schema.json.
			OwnSchema: call.specPath == "/supplier/v1/batches/{batchId}/manifest"})
	}
}
