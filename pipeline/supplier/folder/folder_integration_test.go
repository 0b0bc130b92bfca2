//go:build integration

package folder_test

import (
	"testing"

	"github.com/quire-print/quire/pipeline/storage/s3store/s3test"
	"github.com/quire-print/quire/pipeline/supplier/folder"
	"github.com/quire-print/quire/pipeline/supplier/suppliertest"
)

// TestConformanceOnS3 runs the adapter conformance suite with batches in
// MinIO.
func TestConformanceOnS3(t *testing.T) {
	suppliertest.Run(t, func(t *testing.T) suppliertest.Harness {
		s := s3test.New(t, s3test.Config(t))
		dir := t.TempDir()
		a, err := folder.New(folder.Config{Dir: dir}, s)
		if err != nil {
			t.Fatal(err)
		}
		return suppliertest.Harness{Store: s, Adapter: a, Received: func(t *testing.T, id string) (map[string][]byte, bool) {
			return received(t, dir, id)
		}}
	})
}
