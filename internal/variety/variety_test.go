package variety_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/quire-print/quire/internal/samples"
	"github.com/quire-print/quire/internal/variety"
	"github.com/quire-print/quire/request"
)

// Every varied request is valid, and they differ.
func TestRequestsAreValidAndVaried(t *testing.T) {
	sample, err := os.ReadFile(filepath.Join(samples.Dir(), "valid", "two-parents-all-boxes.json"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	nonASCII := 0
	for i := range 600 {
		body, err := variety.Request(sample, "v-1", i)
		if err != nil {
			t.Fatal(err)
		}
		env, err := request.Decode(body)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		c := env.Certificates[0]
		who := c.ParentName + "|" + c.OtherParentName + "|" + c.BabyName + "|" + env.Recipient.Address[0]
		seen[who] = true
		for _, r := range who {
			if r > 0x7f {
				nonASCII++
				break
			}
		}
	}
	if len(seen) < 500 {
		t.Errorf("600 requests name %d different people and addresses, want at least 500", len(seen))
	}
	if nonASCII < 60 || nonASCII > 300 {
		t.Errorf("%d of 600 requests have a letter outside ASCII, want between 60 and 300", nonASCII)
	}
}
