package storage

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits on keys, in bytes. S3 takes keys of up to 1024 bytes; MaxKeyLen
// leaves room for a store's own prefix of up to MaxPrefixLen. MaxSegmentLen
// is the usual limit on a file name.
const (
	MaxKeyLen     = 768
	MaxPrefixLen  = 1024 - MaxKeyLen
	MaxSegmentLen = 255
)

// ValidKey reports whether key may name an object, and if not, why. Every
// Store applies the same rules, so a key that works on one works on all:
//   - 1 to MaxKeyLen bytes of UTF-8, without control characters or '\';
//   - segments separated by '/', none empty (no leading, trailing or double
//     '/'), none "." or "..", none longer than MaxSegmentLen.
//
// These rules make a key a safe relative file path as well as an S3 key.
func ValidKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	}
	if len(key) > MaxKeyLen {
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidKey, MaxKeyLen)
	}
	if err := validChars(key); err != nil {
		return err
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "":
			return fmt.Errorf("%w: %q has an empty segment", ErrInvalidKey, key)
		case ".", "..":
			return fmt.Errorf("%w: %q has a %q segment", ErrInvalidKey, key, seg)
		}
		if len(seg) > MaxSegmentLen {
			return fmt.Errorf("%w: a segment is longer than %d bytes", ErrInvalidKey, MaxSegmentLen)
		}
	}
	return nil
}

// ValidPrefix reports whether prefix may be listed: empty, or a string whose
// part up to its last '/' is a valid key and whose remainder is the start of
// a segment.
func ValidPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if len(prefix) > MaxKeyLen {
		return fmt.Errorf("%w: prefix longer than %d bytes", ErrInvalidKey, MaxKeyLen)
	}
	if err := validChars(prefix); err != nil {
		return err
	}
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		if err := ValidKey(prefix[:i]); err != nil {
			return fmt.Errorf("prefix %q: %w", prefix, err)
		}
	}
	return nil
}

func validChars(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: not UTF-8", ErrInvalidKey)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fmt.Errorf("%w: %q holds %q", ErrInvalidKey, s, r)
		}
	}
	return nil
}
