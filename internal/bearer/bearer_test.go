package bearer_test

import (
	"net/http/httptest"
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
