//go:build integration

package envelopes_test

import (
	"testing"

	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/s3store/s3test"
)

// The commit protocol on a real S3 server, where Create is a conditional
// PutObject.
func TestS3(t *testing.T) {
	runAll(t, func(t *testing.T) storage.Store { return s3test.New(t, s3test.Config(t)) })
}
