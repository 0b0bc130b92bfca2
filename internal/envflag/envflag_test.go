package envflag

import (
	"bytes"
	"errors"
	"flag"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFlagsAfterArguments(t *testing.T) {
	s := New("render", &bytes.Buffer{})
	var out string
	var png bool
	s.String(&out, "o", "", "out", "output directory")
	s.Bool(&png, "png", "", false, "images too")
	if err := s.Parse([]string{"a.json", "-o", "dir", "b.json", "--png", "--", "-c.json"}); err != nil {
		t.Fatal(err)
	}
	if out != "dir" || !png {
		t.Errorf("-o %q --png %v: flags after file arguments were not read", out, png)
	}
	if want := []string{"a.json", "b.json", "-c.json"}; !slices.Equal(s.Args(), want) {
		t.Errorf("Args = %q, want %q", s.Args(), want)
	}
}

func TestEnvironment(t *testing.T) {
	t.Setenv("Q_ADDR", "from-env")
	t.Setenv("Q_N", "7")
	t.Setenv("Q_KEY", "secret-from-env")
	var stderr bytes.Buffer
	s := New("serve", &stderr)
	var addr, key string
	var n int
	var d time.Duration
	s.String(&addr, "addr", "Q_ADDR", "default", "`address`")
	s.Int(&n, "n", "Q_N", 1, "count")
	s.Secret(&key, "key", "Q_KEY", "a key")
	s.Duration(&d, "wait", "Q_WAIT", time.Second, "wait")
	s.FlagSet().PrintDefaults()
	if strings.Contains(stderr.String(), "secret-from-env") {
		t.Error("help shows a secret's value from the environment")
	}
	if err := s.Parse([]string{"--n", "9"}); err != nil {
		t.Fatal(err)
	}
	if addr != "from-env" || n != 9 || key != "secret-from-env" || d != time.Second {
		t.Errorf("addr %q n %d key %q wait %v: want from-env, 9 (the flag wins), the secret, 1s", addr, n, key, d)
	}
	defs := s.Defs()
	if len(defs) != 4 || defs[0] != (Def{Name: "addr", Env: "Q_ADDR", Default: "default", Usage: "`address`", Kind: "string"}) ||
		!defs[2].Secret || defs[3].Default != "1s" {
		t.Errorf("Defs = %+v", defs)
	}
}

func TestBadEnvironment(t *testing.T) {
	t.Setenv("Q_N", "four")
	var stderr bytes.Buffer
	s := New("serve", &stderr)
	var n int
	s.Int(&n, "n", "Q_N", 1, "count")
	err := s.Parse(nil)
	if !errors.Is(err, ErrEnv) || !strings.Contains(stderr.String(), "quire serve: Q_N must be a whole number") {
		t.Errorf("Parse = %v, output %q", err, stderr.String())
	}
}

func TestHelp(t *testing.T) {
	var stderr bytes.Buffer
	s := New("serve", &stderr)
	var n int
	s.Int(&n, "n", "", 1, "count")
	if err := s.Parse([]string{"file", "--help"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help after an argument: %v, want flag.ErrHelp", err)
	}
}
