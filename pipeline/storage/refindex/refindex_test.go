package refindex_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/quire-print/quire/pipeline/storage/fsstore"
	"github.com/quire-print/quire/pipeline/storage/refindex"
)

var key = bytes.Repeat([]byte("k"), refindex.MinKeyLen)

func TestKeysRevealNoReference(t *testing.T) {
	x, err := refindex.New(key)
	if err != nil {
		t.Fatal(err)
	}
	keys := x.Keys("E-1", []string{"AB-12", " ab-12 ", "CD-34", "not a reference!"})
	if len(keys) != 2 {
		t.Fatalf("keys %q: want one per distinct valid reference", keys)
	}
	for _, k := range keys {
		if !refindex.ValidKey(k, "E-1") || strings.Contains(strings.ToUpper(k), "AB-12") || strings.Contains(strings.ToUpper(k), "CD-34") {
			t.Errorf("key %q", k)
		}
	}
	other, _ := refindex.New(bytes.Repeat([]byte("o"), refindex.MinKeyLen))
	if slices.Equal(other.Keys("E-1", []string{"AB-12"}), keys[:1]) {
		t.Error("two keys give the same index entry")
	}
	if refindex.ValidKey(keys[0], "E-2") || refindex.ValidKey("references/ab/E-1", "E-1") {
		t.Error("ValidKey accepts a key for another envelope, or a short digest")
	}
	var off *refindex.Index
	if off.Keys("E-1", []string{"AB-12"}) != nil {
		t.Error("an index without a key names entries")
	}
}

func TestLookupAndEntries(t *testing.T) {
	ctx := context.Background()
	s, err := fsstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	x, _ := refindex.New(key)
	for id, refs := range map[string][]string{"E-1": {"AB-12"}, "E-2": {"AB-12", "CD-34"}, "E-3": {"EF-56"}} {
		for _, k := range x.Keys(id, refs) {
			if _, err := s.Put(ctx, k, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	for ref, want := range map[string][]string{"ab-12": {"E-1", "E-2"}, "CD-34": {"E-2"}, "ZZ-99": nil} {
		got, err := x.Lookup(ctx, s, ref)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("Lookup(%s) = %v, %v; want %v", ref, got, err, want)
		}
	}
	if _, err := x.Lookup(ctx, s, "AB/12"); !errors.Is(err, refindex.ErrReference) || strings.Contains(err.Error(), "AB/12") {
		t.Errorf("a malformed reference: %v", err)
	}
	var off *refindex.Index
	if _, err := off.Lookup(ctx, s, "AB-12"); !errors.Is(err, refindex.ErrNoKey) {
		t.Errorf("lookup without a key: %v", err)
	}
	entries, err := refindex.Entries(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries["E-1"]) != 1 || len(entries["E-2"]) != 2 || len(entries["E-3"]) != 1 || len(entries) != 3 {
		t.Errorf("entries %v", entries)
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	good := filepath.Join(dir, "good")
	_ = os.WriteFile(short, []byte("too short\n"), 0o600)
	_ = os.WriteFile(good, append(key, '\n'), 0o600)
	if _, err := refindex.ReadKeyFile(short); err == nil {
		t.Error("a short key was accepted")
	}
	if x, err := refindex.ReadKeyFile(""); x != nil || err != nil {
		t.Errorf("no file: %v, %v; want no index and no error", x, err)
	}
	x, err := refindex.ReadKeyFile(good)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := refindex.New(key)
	if !slices.Equal(x.Keys("E-1", []string{"AB-12"}), want.Keys("E-1", []string{"AB-12"})) {
		t.Error("the trailing newline is part of the key")
	}
}
