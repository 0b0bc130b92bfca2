//go:build integration

package printfile_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"

	"github.com/quire-print/quire/internal/pdftest"
	"github.com/quire-print/quire/pipeline/batch/printfile"
	"github.com/quire-print/quire/pipeline/batch/printfile/printfiletest"
	"github.com/quire-print/quire/pipeline/storage/s3store/s3test"
)

// TestAssembleOnMinIO runs the batcher's path on the test MinIO: envelopes
// committed to S3 and read back, print files streamed to S3, then
// downloaded as a supplier would and checked against the manifest, byte
// by byte and code by code.
func TestAssembleOnMinIO(t *testing.T) {
	st := s3test.New(t, s3test.Config(t))
	envs := makeBatchIn(t, st, 7)
	tmp := t.TempDir()
	m, err := newAssemblerIn(t, st, 3, tmp).Assemble(t.Context(), batch("B-minio"), list(envs))
	if err != nil {
		t.Fatal(err)
	}
	assertEmpty(t, tmp)
	if len(m.Files) != 3 {
		t.Fatalf("%d files, want 3", len(m.Files))
	}
	r := mustRenderer(t)
	var codes []string
	for _, f := range m.Files {
		rc, info, err := st.Open(t.Context(), "batches/B-minio/"+f.Name)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		n, err := io.Copy(h, rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); n != f.Size || got != f.SHA256 || info.SHA256 != f.SHA256 {
			t.Errorf("%s: downloaded %d bytes %s (stored as %s); the manifest says %d %s", f.Name, n, got, info.SHA256, f.Size, f.SHA256)
		}
		path := fetch(t, st, "batches/B-minio/"+f.Name)
		pdftest.Run(t, "qpdf", "--check", path)
		codes = append(codes, printfiletest.ReadCodes(t, path, r.Templates())...)
	}
	if err := printfile.Verify(m, codes); err != nil {
		t.Error(err)
	}
	// Nothing but the print files was written under the batch's prefix.
	var keys []string
	for info, err := range st.List(t.Context(), "batches/") {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, info.Key)
	}
	if len(keys) != len(m.Files) {
		t.Errorf("objects under batches/: %q, want the %d print files", keys, len(m.Files))
	}
}
