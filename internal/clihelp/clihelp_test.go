package clihelp_test

import (
	"bytes"
	"flag"
	"reflect"
	"testing"
	"time"

	"github.com/quire-print/quire/internal/clihelp"
)

// TestParseRoundTrip writes a flag set's help with the flag package, as
// quire's commands do, and reads it back.
func TestParseRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(&buf)
	fs.String("listen", "127.0.0.1:8080", "HTTP `address` for /metrics (env QUIRE_LISTEN)")
	fs.String("s3-access-key", "", "S3 access `key`; prefer the environment variable (env QUIRE_S3_ACCESS_KEY)")
	fs.Bool("v", false, "verbose")
	fs.Bool("s3-path-style", true, "path-style bucket addressing\nover two lines (env QUIRE_S3_PATH_STYLE)")
	fs.Int("concurrency", 8, "envelopes handled at once (`n`) (env QUIRE_CONCURRENCY)")
	fs.Duration("shutdown-timeout", 30*time.Second, "how long a stop waits (env QUIRE_SHUTDOWN_TIMEOUT)")
	buf.WriteString("Usage: quire serve [flags]\n\nRuns it.\n\nFlags:\n")
	fs.PrintDefaults()

	c, err := clihelp.Parse("serve", buf.String())
	if err != nil {
		t.Fatal(err)
	}
	if c.Intro != "Usage: quire serve [flags]\n\nRuns it." {
		t.Errorf("intro %q", c.Intro)
	}
	want := []clihelp.Flag{
		{Name: "concurrency", Arg: "n", Usage: "envelopes handled at once (n)", Env: "QUIRE_CONCURRENCY", Default: "8"},
		{Name: "listen", Arg: "address", Usage: "HTTP address for /metrics", Env: "QUIRE_LISTEN", Default: `"127.0.0.1:8080"`},
		{Name: "s3-access-key", Arg: "key", Usage: "S3 access key; prefer the environment variable", Env: "QUIRE_S3_ACCESS_KEY"},
		{Name: "s3-path-style", Usage: "path-style bucket addressing over two lines", Env: "QUIRE_S3_PATH_STYLE", Default: "true"},
		{Name: "shutdown-timeout", Arg: "duration", Usage: "how long a stop waits", Env: "QUIRE_SHUTDOWN_TIMEOUT", Default: "30s"},
		{Name: "v", Usage: "verbose"},
	}
	if !reflect.DeepEqual(c.Flags, want) {
		t.Errorf("flags:\n got %+v\nwant %+v", c.Flags, want)
	}
	if l := c.Listeners(); len(l) != 1 || l[0].Name != "listen" {
		t.Errorf("listeners %+v, want listen", l)
	}
	if f, ok := c.ByEnv("QUIRE_CONCURRENCY"); !ok || f.Name != "concurrency" {
		t.Errorf("ByEnv(QUIRE_CONCURRENCY) = %+v, %v", f, ok)
	}
}

func TestCommands(t *testing.T) {
	help := `Quire does things.

Usage: quire <command> [flags] [args]

Commands:
  render   render request files
           over two lines
  serve    run it
  help     show this help

More text:
  not a command
`
	if got, want := clihelp.Commands(help), []string{"render", "serve", "help"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Commands = %q, want %q", got, want)
	}
}
