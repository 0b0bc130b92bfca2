package pull_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quire-print/quire/pipeline/supplier/pull"
)

// from sends GET path to the API as if from the client address addr
// ("192.0.2.7:4711"), with token (none if empty).
func (f *fixture) from(addr, token, path string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", pull.BasePath+path, nil)
	r.RemoteAddr = addr
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	f.api.ServeHTTP(w, r)
	return w
}

// statuses sends n requests from addr with token and returns their
// statuses, e.g. "401 401 429".
func (f *fixture) statuses(n int, addr, token string) string {
	var out []string
	for range n {
		out = append(out, strconv.Itoa(f.from(addr, token, "/batches").Code))
	}
	return strings.Join(out, " ")
}

func repeat(status string, n int) string {
	return strings.TrimSpace(strings.Repeat(status+" ", n))
}

const (
	attacker  = "192.0.2.7:4711"
	elsewhere = "198.51.100.9:443"
)

func lockouts(f *fixture) int {
	return strings.Count(f.logs.String(), "too many failed authentications")
}

// TestFailedAuthenticationsAreLimited: after FailBurst unknown tokens an
// address's unknown tokens are refused with 429 and Retry-After, while a
// valid token is still served and other addresses are not affected; one more try is allowed every
// FailEvery, and the whole budget once the bucket has refilled. The
// lockout is logged once.
func TestFailedAuthenticationsAreLimited(t *testing.T) {
	f := newFixture(t)
	if got, want := f.statuses(pull.FailBurst+1, attacker, "qs_guessed"), repeat("401", pull.FailBurst)+" 429"; got != want {
		t.Fatalf("unknown tokens from one address: %s, want %s", got, want)
	}
	w := f.from(attacker, "qs_guessed", "/batches")
	var p struct {
		Status int
		Code   string
	}
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Content-Type") != "application/problem+json" ||
		json.Unmarshal(w.Body.Bytes(), &p) != nil || p.Status != 429 || p.Code != "too-many-requests" {
		t.Errorf("refusal: %d %v %s", w.Code, w.Header(), w.Body)
	}
	if got, want := w.Header().Get("Retry-After"), fmt.Sprint(int(pull.FailEvery/time.Second)); got != want {
		t.Errorf("Retry-After %q, want %q", got, want)
	}
	// The same address with a valid token: served, and not counted. A
	// supplier behind a shared address is not locked out by a stranger.
	if got := f.statuses(3, attacker, f.client.Token); got != "200 200 200" {
		t.Errorf("a valid token from the locked-out address: %s", got)
	}
	// Another address, with the valid token and with a bad one: unaffected.
	if got := f.statuses(3, elsewhere, f.client.Token); got != "200 200 200" {
		t.Errorf("a valid token from another address: %s", got)
	}
	if got := f.statuses(1, elsewhere, "qs_guessed"); got != "401" {
		t.Errorf("an unknown token from another address: %s", got)
	}
	// Refusals are not counted: however many, one more try is allowed
	// after FailEvery, not later.
	f.statuses(100, attacker, "qs_guessed")
	f.clock.Advance(pull.FailEvery - 1500*time.Millisecond)
	if w := f.from(attacker, "qs_guessed", "/batches"); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "2" {
		t.Errorf("1.5 s before the next try: %d, Retry-After %q, want 2 (whole seconds, rounded up)", w.Code, w.Header().Get("Retry-After"))
	}
	f.clock.Advance(1500 * time.Millisecond)
	if got := f.statuses(1, attacker, f.client.Token); got != "200" {
		t.Errorf("a valid token from that address once it may try again: %s", got)
	}
	if got := f.statuses(3, attacker, "qs_guessed"); got != "401 429 429" {
		t.Errorf("unknown tokens once it may try again: %s, want one try", got)
	}
	if n := lockouts(f); n != 1 || !strings.Contains(f.logs.String(), "addr=192.0.2.7 ") {
		t.Errorf("%d lockouts logged, want 1, with the address:\n%s", n, f.logs)
	}
	// Refilled: the whole budget again, and a new lockout is logged.
	f.clock.Advance(pull.FailBurst * pull.FailEvery)
	if got, want := f.statuses(pull.FailBurst+1, attacker, "qs_guessed"), repeat("401", pull.FailBurst)+" 429"; got != want {
		t.Errorf("after the bucket refilled: %s, want %s", got, want)
	}
	if n := lockouts(f); n != 2 {
		t.Errorf("%d lockouts logged, want 2:\n%s", n, f.logs)
	}
}

// TestSuccessesAreNotCounted: only failures use up the budget.
func TestSuccessesAreNotCounted(t *testing.T) {
	f := newFixture(t)
	got := f.statuses(pull.FailBurst-1, attacker, "qs_guessed") + " " +
		f.statuses(50, attacker, f.client.Token) + " " + f.statuses(2, attacker, "qs_guessed")
	want := repeat("401", pull.FailBurst-1) + " " + repeat("200", 50) + " 401 429"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if n := lockouts(f); n != 1 {
		t.Errorf("%d lockouts logged, want 1", n)
	}
}

// TestFailuresCountPerAddress: the port does not matter, an IPv4 address
// is the same mapped into IPv6, and an IPv6 address counts by its /64.
func TestFailuresCountPerAddress(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"192.0.2.7:4711", "192.0.2.7:80", true},
		{"192.0.2.7:4711", "[::ffff:192.0.2.7]:80", true},
		{"192.0.2.7:4711", "192.0.2.8:4711", false},
		{"[2001:db8:1:2::1]:443", "[2001:db8:1:2:ffff:ffff:ffff:ffff]:443", true},
		{"[2001:db8:1:2::1]:443", "[2001:db8:1:3::1]:443", false},
	} {
		f := newFixture(t)
		f.statuses(pull.FailBurst, c.a, "qs_guessed")
		want := 401
		if c.same {
			want = 429
		}
		if w := f.from(c.b, "qs_guessed", "/batches"); w.Code != want {
			t.Errorf("%s locked out; %s: %d, want %d", c.a, c.b, w.Code, want)
		}
	}
}

// TestClientTableIsBounded: an attacker with ever new addresses does not
// grow the table past MaxClients; the addresses that failed most are
// remembered longest; and addresses whose buckets have refilled are
// forgotten.
func TestClientTableIsBounded(t *testing.T) {
	f := newFixture(t)
	f.statuses(pull.FailBurst, attacker, "qs_guessed")
	for i := range 2 * pull.MaxClients {
		addr := fmt.Sprintf("10.%d.%d.%d:1234", i>>16&255, i>>8&255, i&255)
		if w := f.from(addr, "qs_guessed", "/batches"); w.Code != http.StatusUnauthorized {
			t.Fatalf("%s: %d", addr, w.Code)
		}
	}
	if n := f.api.Clients(); n > pull.MaxClients {
		t.Errorf("%d clients remembered, want at most %d", n, pull.MaxClients)
	}
	if w := f.from(attacker, "qs_guessed", "/batches"); w.Code != http.StatusTooManyRequests {
		t.Errorf("the locked-out address was forgotten: %d", w.Code)
	}
	f.clock.Advance(pull.FailBurst * pull.FailEvery)
	f.statuses(1, elsewhere, "qs_guessed")
	if n := f.api.Clients(); n != 1 {
		t.Errorf("%d clients remembered once every bucket refilled, want 1", n)
	}
}
