package storage_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/quire-print/quire/pipeline/storage"
)

func TestValidKey(t *testing.T) {
	good := []string{"a", "envelopes/E-1/record.json", "a/b/c", "x.y", "...", ".hidden", "café/☕", strings.Repeat("k", storage.MaxSegmentLen)}
	for _, k := range good {
		if err := storage.ValidKey(k); err != nil {
			t.Errorf("ValidKey(%q) = %v", k, err)
		}
	}
	bad := []string{"", "/a", "a/", "a//b", ".", "..", "a/./b", "a/..", "a\\b", "a\x00", "a\nb", "a\x7f", "\xc3", strings.Repeat("k", storage.MaxSegmentLen+1)}
	for _, k := range bad {
		if err := storage.ValidKey(k); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("ValidKey(%q) = %v, want ErrInvalidKey", k, err)
		}
	}
}

func TestValidPrefix(t *testing.T) {
	for _, p := range []string{"", "a", "a/", "envelopes/E", "a/b/", "a/."} {
		if err := storage.ValidPrefix(p); err != nil {
			t.Errorf("ValidPrefix(%q) = %v", p, err)
		}
	}
	for _, p := range []string{"/", "/a", "a//", "../x", "a/../", "a\\"} {
		if err := storage.ValidPrefix(p); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("ValidPrefix(%q) = %v, want ErrInvalidKey", p, err)
		}
	}
}
