package schemas_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/schemas"
)

// The reason codes the print-event schema allows per reprint event type
// are the ones the ledger writes: a code added to one and not the other
// would make a valid event fail validation, or let the schema promise a
// code Quire never sends.
func TestReprintCodesMatchTheLedger(t *testing.T) {
	data, err := schemas.FS.ReadFile("envelope-print-event.v1.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		AllOf []struct {
			If struct {
				Properties struct {
					Type struct {
						Const string `json:"const"`
					} `json:"type"`
				} `json:"properties"`
			} `json:"if"`
			Then struct {
				Properties struct {
					Reason struct {
						Properties struct {
							Code struct {
								Enum []string `json:"enum"`
							} `json:"code"`
						} `json:"properties"`
					} `json:"reason"`
				} `json:"properties"`
			} `json:"then"`
		} `json:"allOf"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	enums := map[string][]string{}
	for _, c := range s.AllOf {
		if typ := c.If.Properties.Type.Const; typ != "" {
			enums[typ] = c.Then.Properties.Reason.Properties.Code.Enum
		}
	}
	for typ, want := range map[string][]string{
		"envelope.reprint-requested": ledger.ReprintReasons,
		"envelope.reprint-held":      ledger.HoldCodes,
		"envelope.reprint-dismissed": ledger.DismissReasons,
	} {
		got := slices.Sorted(slices.Values(enums[typ]))
		if w := slices.Sorted(slices.Values(want)); !slices.Equal(got, w) {
			t.Errorf("%s: the schema allows codes %q; the ledger has %q", typ, got, w)
		}
	}
}
