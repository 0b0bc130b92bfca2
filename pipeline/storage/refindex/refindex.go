// Package refindex keeps the index that finds envelopes by certificate
// reference without writing a reference anywhere in clear:
//
//	references/<HMAC-SHA256(key, reference)>/<envelope-id>   (empty object)
//
// A certificate reference is personal data, and a short one: a plain
// SHA-256 of it could be reversed by trying every reference, so the index
// is keyed with a secret that lives in the configuration, not in the
// store. Whoever can read the bucket but not the key learns how many
// envelopes each unknown digest has, and nothing else.
//
// Entries are written when an envelope is committed (envelopes.Commit),
// one per certificate reference, and deleted by retention with the
// envelope's other personal data (Entries lists them by envelope).
package refindex

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/quire-print/quire/pipeline/storage"
)

// Prefix is where the index lives.
const Prefix = "references/"

// MinKeyLen is the shortest key accepted, in bytes: 256 bits.
const MinKeyLen = 32

// ErrNoKey is returned by Lookup on a nil *Index: without the key no
// reference can be looked up.
var ErrNoKey = errors.New("lookup by certificate reference is off: no reference key is configured (--reference-key-file or QUIRE_REFERENCE_KEY_FILE)")

// ErrReference is returned for a reference that cannot be one.
var ErrReference = errors.New("reference: must be 1 to 32 characters, using only letters A–Z, digits 0–9 and hyphens")

// Index computes the index's keys with one secret. A nil *Index is an
// index that is off: Keys returns nothing and Lookup ErrNoKey. It is safe
// for concurrent use.
type Index struct {
	key []byte
}

// New returns an Index keyed with key, which must be at least MinKeyLen
// bytes of secret randomness.
func New(key []byte) (*Index, error) {
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("refindex: the reference key must be at least %d bytes, got %d (make one with: head -c 32 /dev/urandom | base64)", MinKeyLen, len(key))
	}
	return &Index{key: bytes.Clone(key)}, nil
}

// ReadKeyFile reads a key from a file: its content with surrounding white
// space removed (so a base64 line from the command in New's error is a
// good key as it is). An empty path is no key: nil, nil.
func ReadKeyFile(path string) (*Index, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("refindex: reading the reference key: %w", err)
	}
	return New(bytes.TrimSpace(data))
}

var referenceShape = regexp.MustCompile(`^[A-Z0-9-]{1,32}$`)

// Normalise returns ref as the request normaliser stores it: without
// surrounding space, letters in capitals. It refuses what cannot be a
// reference, without repeating it.
func Normalise(ref string) (string, error) {
	ref = strings.ToUpper(strings.TrimSpace(ref))
	if !referenceShape.MatchString(ref) {
		return "", ErrReference
	}
	return ref, nil
}

// digest returns the hex HMAC-SHA256 of a normalised reference.
func (x *Index) digest(ref string) string {
	m := hmac.New(sha256.New, x.key)
	m.Write([]byte(ref))
	return hex.EncodeToString(m.Sum(nil))
}

// Key is the index entry saying that envelope id has a certificate whose
// reference has the given digest.
func Key(digest, envelopeID string) string { return Prefix + digest + "/" + envelopeID }

// Keys returns the index entries to write for envelope id, whose
// certificates carry refs: one per distinct reference. References that
// cannot be one are skipped (the request validator has refused them
// already). A nil Index returns none.
func (x *Index) Keys(envelopeID string, refs []string) []string {
	if x == nil {
		return nil
	}
	var keys []string
	seen := map[string]bool{}
	for _, r := range refs {
		n, err := Normalise(r)
		if err != nil || seen[n] {
			continue
		}
		seen[n] = true
		keys = append(keys, Key(x.digest(n), envelopeID))
	}
	return keys
}

// Lookup returns the ids of the envelopes with a certificate whose
// reference is ref, in lexical order: usually one, more if the same
// certificate was sent again under a new envelope id. Errors never repeat
// the reference.
func (x *Index) Lookup(ctx context.Context, s storage.Store, ref string) ([]string, error) {
	if x == nil {
		return nil, ErrNoKey
	}
	n, err := Normalise(ref)
	if err != nil {
		return nil, err
	}
	prefix := Prefix + x.digest(n) + "/"
	var ids []string
	for info, err := range s.List(ctx, prefix) {
		if err != nil {
			return nil, fmt.Errorf("refindex: listing the index: %w", err)
		}
		ids = append(ids, strings.TrimPrefix(info.Key, prefix))
	}
	return ids, nil
}

// ValidKey reports whether key is an index entry for envelope id, as Keys
// makes them.
func ValidKey(key, envelopeID string) bool {
	d, ok := strings.CutPrefix(key, Prefix)
	if !ok {
		return false
	}
	d, ok = strings.CutSuffix(d, "/"+envelopeID)
	return ok && len(d) == 2*sha256.Size && strings.Trim(d, "0123456789abcdef") == ""
}

// Entries returns every index entry, by the envelope it names, for
// retention to delete an envelope's entries without knowing its
// references (or the key). It lists the whole index: one list request per
// thousand entries, and the index holds only envelopes whose personal
// data is still kept.
func Entries(ctx context.Context, s storage.Store) (map[string][]string, error) {
	byEnvelope := map[string][]string{}
	for info, err := range s.List(ctx, Prefix) {
		if err != nil {
			return nil, fmt.Errorf("refindex: listing the index: %w", err)
		}
		i := strings.LastIndexByte(info.Key, '/')
		id := info.Key[i+1:]
		byEnvelope[id] = append(byEnvelope[id], info.Key)
	}
	return byEnvelope, nil
}
