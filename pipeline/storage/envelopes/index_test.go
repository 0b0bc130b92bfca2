package envelopes_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/fsstore"
	"github.com/quire-print/quire/pipeline/storage/refindex"
)

// TestCommitWritesIndexKeys: the reference index entries go in with the
// envelope, once, and a key that is not one is refused before anything is
// written.
func TestCommitWritesIndexKeys(t *testing.T) {
	ctx := context.Background()
	s, err := fsstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	x, _ := refindex.New(bytes.Repeat([]byte("k"), refindex.MinKeyLen))
	st := envelopes.New(s)

	bad := renderedEnv("E-X", "Parent", 0, t0)
	bad.IndexKeys = []string{"references/R1/E-X"}
	if _, _, err := st.Commit(ctx, bad); !errors.Is(err, envelopes.ErrInvalid) {
		t.Fatalf("a key in clear: %v, want ErrInvalid", err)
	}

	r := renderedEnv("E-1", "Parent", 0, t0)
	r.IndexKeys = x.Keys("E-1", []string{"R1"})
	if _, created, err := st.Commit(ctx, r); err != nil || !created {
		t.Fatalf("commit: %v %v", created, err)
	}
	ids, err := x.Lookup(ctx, s, "r1")
	if err != nil || len(ids) != 1 || ids[0] != "E-1" {
		t.Fatalf("lookup: %v %v", ids, err)
	}
	for info, err := range s.List(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains([]byte(info.Key), []byte("R1")) {
			t.Errorf("key %s names the reference", info.Key)
		}
	}
}
