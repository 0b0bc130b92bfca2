package bearer_test

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quire-print/quire/internal/bearer"
)

func TestNewTokenMatchesItsHash(t *testing.T) {
	token, hash := bearer.New("qx_")
	if !strings.HasPrefix(token, "qx_") || len(token) != 3+43 {
		t.Fatalf("token %q: want qx_ and 43 base64url characters", token)
	}
	if bearer.ValidHash(hash) != nil || bearer.Hash(token) != hash {
		t.Fatalf("hash %q does not match the token", hash)
	}
	if other, _ := bearer.New("qx_"); other == token {
		t.Fatal("two tokens are the same")
	}
}

func TestSetMatch(t *testing.T) {
	alice, aliceHash := bearer.New("qa_")
	bob, bobHash := bearer.New("qa_")
	var s bearer.Set
	if err := s.Add("alice", aliceHash); err != nil {
		t.Fatal(err)
	}
	if err := s.Add("bob", bobHash); err != nil {
		t.Fatal(err)
	}
	if err := s.Add("carol", strings.ToUpper(bobHash)); err == nil {
		t.Error("an upper-case hash was accepted")
	}
	for _, c := range []struct {
		header, want string
	}{
		{"Bearer " + alice, "alice"},
		{"Bearer " + bob, "bob"},
		{"Bearer " + alice + "x", ""},
		{alice, ""},
		{"Bearer ", ""},
		{"", ""},
		{"Bearer " + aliceHash, ""}, // the hash is not the token
		{"Bearer " + strings.Repeat("a", bearer.MaxHeader), ""},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if c.header != "" {
			r.Header.Set("Authorization", c.header)
		}
		got, ok := s.Match(r)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("%.20q: got %q %v, want %q", c.header, got, ok, c.want)
		}
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	token, hash := bearer.New("qa_")
	good := filepath.Join(dir, "good")
	_ = os.WriteFile(good, []byte("# support desk\n\nalice.smith:"+hash+"\n"), 0o600)
	s, err := bearer.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	if name, ok := s.Match(r); !ok || name != "alice.smith" {
		t.Errorf("match %q %v", name, ok)
	}
	for content, want := range map[string]string{
		"":                          "lists no token",
		"alice " + hash:             ":1: a line must be name:sha256",
		"alice:" + token:            ":1: a token hash must be",
		"a:" + hash + "\nb:" + hash: ":2: a token hash is listed twice",
		"bad name:" + hash + "\n":   ":1: a line must be",
	} {
		p := filepath.Join(dir, "bad")
		_ = os.WriteFile(p, []byte(content), 0o600)
		_, err := bearer.ReadFile(p)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), token) {
			t.Errorf("%q: %v, want %q", content, err, want)
		}
	}
}
