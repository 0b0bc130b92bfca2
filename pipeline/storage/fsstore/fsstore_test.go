package fsstore_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/fsstore"
	"github.com/quire-print/quire/pipeline/storage/storagetest"
)

func newStore(t *testing.T) storage.Store {
	s, err := fsstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, newStore)
}

// The store notices content that changed on disk behind its back, even
// when size and modification time were kept.
func TestDetectsCorruption(t *testing.T) {
	dir := t.TempDir()
	s, err := fsstore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := s.Put(ctx, "envelopes/e1/letter.pdf", []byte("%PDF original")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "objects", "envelopes", "e1", "letter.pdf")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("X"), 3); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Chtimes(path, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}

	if _, err := s.Get(ctx, "envelopes/e1/letter.pdf"); !errors.Is(err, storage.ErrChecksum) {
		t.Errorf("Get of corrupted object = %v, want ErrChecksum", err)
	}
	rc, _, err := s.Open(ctx, "envelopes/e1/letter.pdf")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadAll(rc); !errors.Is(err, storage.ErrChecksum) {
		t.Errorf("reading corrupted object = %v, want ErrChecksum", err)
	}
}

// The checksum cache is only a cache: without it the store reads the file.
func TestChecksumCacheLost(t *testing.T) {
	dir := t.TempDir()
	s, err := fsstore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	put, err := s.Put(ctx, "a/b", []byte("content"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "sums")); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stat(ctx, "a/b")
	if err != nil {
		t.Fatal(err)
	}
	if st.SHA256 != put.SHA256 {
		t.Errorf("Stat SHA-256 %s, want %s", st.SHA256, put.SHA256)
	}
	if got, err := s.Get(ctx, "a/b"); err != nil || string(got) != "content" {
		t.Errorf("Get = %q, %v", got, err)
	}
}

// Nothing is left in tmp/ after writes, whether they succeed or fail.
func TestNoTemporaryLeftovers(t *testing.T) {
	dir := t.TempDir()
	s, err := fsstore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	s.Put(ctx, "k", []byte("x"))
	s.Create(ctx, "k", []byte("y"))
	s.PutStream(ctx, "k2", strings.NewReader("short"), 10, strings.Repeat("0", 64))
	s.Put(ctx, "k/below", []byte("a key below an object"))
	entries, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left in tmp/: %s", e.Name())
	}
}

// A key cannot be an object and a folder of objects at once on a file
// system; the store says so rather than failing obscurely.
func TestKeyIsFolder(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	if _, err := s.Put(ctx, "a/b", []byte("x")); err != nil {
		t.Fatal(err)
	}
	for _, op := range []func() error{
		func() error { _, err := s.Put(ctx, "a", []byte("y")); return err },
		func() error { _, err := s.Create(ctx, "a", []byte("y")); return err },
		func() error { _, err := s.Put(ctx, "a/b/c", []byte("y")); return err },
	} {
		err := op()
		if err == nil || !strings.Contains(err.Error(), "folder") {
			t.Errorf("got %v, want an error saying the key is a folder", err)
		}
	}
	if got, err := s.Get(ctx, "a/b"); err != nil || string(got) != "x" {
		t.Errorf("Get(a/b) = %q, %v", got, err)
	}
}

// Objects hold personal data: only the owner may read them.
func TestPermissions(t *testing.T) {
	dir := t.TempDir()
	s, err := fsstore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(t.Context(), "envelopes/e/letter.pdf", []byte("x")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"objects", "objects/envelopes", "objects/envelopes/e", "objects/envelopes/e/letter.pdf"} {
		st, err := os.Stat(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v, want no access for group or others", p, st.Mode().Perm())
		}
	}
}

// Deleting the last object of a directory removes the directory, while
// other writers may be about to put files in it: no write may fail or be
// lost because of that.
func TestPutDeleteRace(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				key := fmt.Sprintf("envelopes/E/files/%d-%d", w, i)
				if _, err := s.Put(ctx, key, []byte("x")); err != nil {
					t.Errorf("Put: %v", err)
					return
				}
				if i%2 == 0 {
					if got, err := s.Get(ctx, key); err != nil || string(got) != "x" {
						t.Errorf("Get(%s) after Put = %q, %v", key, got, err)
						return
					}
				}
				if err := s.Delete(ctx, key); err != nil {
					t.Errorf("Delete: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	for info, err := range s.List(ctx, "") {
		t.Errorf("left after the race: %+v, %v", info, err)
	}
}
