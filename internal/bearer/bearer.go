// Package bearer makes and checks the bearer tokens of Quire's
// authenticated APIs (the supplier's pull API, the admin status API): a
// token is 256 random bits in base64url after a short prefix that says
// what it is for, and only its SHA-256 is configured, so a leaked
// configuration grants nothing.
package bearer

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
)

// MaxHeader is the longest Authorization header read; longer ones are
// refused without hashing.
const MaxHeader = 512

// New returns a new random token (256 bits, base64url) starting with
// prefix, and the hash to configure for it. Give the token to its user
// and keep only the hash.
func New(prefix string) (token, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	token = prefix + base64.RawURLEncoding.EncodeToString(b)
	return token, Hash(token)
}

// Hash returns the lowercase hex SHA-256 of token.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

var hashShape = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ErrHashShape is returned for a configured hash that is not 64 lowercase
// hex digits.
var ErrHashShape = errors.New("a token hash must be 64 lowercase hex digits (the SHA-256 of the token, not the token)")

// ValidHash reports whether h is a token hash as Hash makes them.
func ValidHash(h string) error {
	if !hashShape.MatchString(h) {
		return ErrHashShape
	}
	return nil
}

// Set is the configured token hashes, each with the name of whoever holds
// it. The zero value accepts nothing. Add before use; Match is then safe
// for concurrent use.
type Set struct {
	entries []entry
}

type entry struct {
	name string
	hash [sha256.Size]byte
}

// Add accepts the token whose hash is hash, for name.
func (s *Set) Add(name, hash string) error {
	if err := ValidHash(hash); err != nil {
		return err
	}
	e := entry{name: name}
	_, _ = hex.Decode(e.hash[:], []byte(hash))
	s.entries = append(s.entries, e)
	return nil
}

// Len is the number of hashes in the set.
func (s *Set) Len() int { return len(s.entries) }

// Match returns the name of the token the request's Authorization header
// carries ("Bearer <token>"). Every hash is compared, in constant time,
// whatever matches, so the time taken says nothing about which tokens
// exist.
func (s *Set) Match(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || token == "" || len(h) > MaxHeader {
		return "", false
	}
	sum := sha256.Sum256([]byte(token))
	found := ""
	for _, e := range s.entries {
		if subtle.ConstantTimeCompare(sum[:], e.hash[:]) == 1 {
			found = e.name
		}
	}
	return found, found != ""
}

// ReadFile reads a file of token hashes, one "name:sha256" a line; blank
// lines and lines starting with # are skipped. Errors name the line,
// never its content.
func ReadFile(path string) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	s := &Set{}
	var errs []error
	seen := map[string]bool{}
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hash, ok := strings.Cut(line, ":")
		name, hash = strings.TrimSpace(name), strings.TrimSpace(hash)
		switch {
		case !ok || !nameShape.MatchString(name):
			errs = append(errs, fmt.Errorf("%s:%d: a line must be name:sha256, the name 1 to 64 characters from a-z A-Z 0-9 . _ @ -", path, n+1))
		case seen[hash]:
			errs = append(errs, fmt.Errorf("%s:%d: a token hash is listed twice", path, n+1))
		default:
			if err := s.Add(name, hash); err != nil {
				errs = append(errs, fmt.Errorf("%s:%d: %w", path, n+1, err))
			}
		}
		seen[hash] = true
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if s.Len() == 0 {
		return nil, fmt.Errorf("token file %s lists no token", path)
	}
	return s, nil
}

var nameShape = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)
