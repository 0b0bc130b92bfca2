//go:build integration

package pull_test

import (
	"testing"

	"github.com/quire-print/quire/pipeline/storage/s3store/s3test"
	"github.com/quire-print/quire/pipeline/supplier/suppliertest"
)

// TestConformanceOnS3 runs the adapter conformance suite with batches in
// MinIO, downloading through the API as a supplier would.
func TestConformanceOnS3(t *testing.T) {
	suppliertest.Run(t, func(t *testing.T) suppliertest.Harness {
		f := newFixtureOn(t, s3test.New(t, s3test.Config(t)))
		return suppliertest.Harness{Store: f.store, Adapter: f.adapter, Received: func(t *testing.T, id string) (map[string][]byte, bool) {
			c := f.client
			c.t = t
			return c.received(id)
		}}
	})
}
