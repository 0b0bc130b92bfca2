// Command quire turns approved certificate requests into print-ready PDFs.
//
// Usage:
//
//	quire <command> [flags] [args]
//
// Run "quire help" for the list of commands.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/quire-print/quire/cmd/quire/internal/loadtest"
	"github.com/quire-print/quire/internal/buildinfo"
	"github.com/quire-print/quire/internal/envflag"
)

func main() {
	if os.Getenv("GOGC") == "" {
		// Quire's live heap is small (tens of MB) and its garbage is
		// mostly short-lived render and HTTP buffers: collecting at 4×
		// the live heap instead of 2× costs a few tens of MB and saves
		// ~7% of the CPU an envelope takes (docs/pipeline.md). GOGC in
		// the environment still decides, as for any Go program.
		debug.SetGCPercent(defaultGCPercent)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// defaultGCPercent is the GOGC Quire runs with when none is set.
const defaultGCPercent = 300

// command is one of quire's commands.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) int
	// flags defines the command's flags on a new set writing to w, for
	// documentation to walk (envflag.Set.Defs); nil for a command whose
	// flags are not defined through envflag.
	flags func(w io.Writer) *envflag.Set
}

// commands lists every command, in the order "quire help" shows them.
func commands() []command {
	return []command{
		{"render", "render request files into PDFs (and page images)", runRender,
			func(w io.Writer) *envflag.Set { s, _ := renderFlags(w); return s }},
		{"serve", "run render workers, batching, the preview and the HTTP listeners (embedded defaults without a broker)", runServe,
			func(w io.Writer) *envflag.Set { s, _ := serveFlags(w); return s }},
		{"submit", "hand envelope requests or a cancellation to RabbitMQ or a running serve", runSubmit,
			func(w io.Writer) *envflag.Set { s, _ := submitFlags(w); return s }},
		{"demo", "the whole flow on the embedded defaults, in one command", runDemo,
			func(w io.Writer) *envflag.Set { s, _ := demoFlags(w); return s }},
		{"batches", "print batches for operators: list, show, re-send to the supplier, make tokens", runBatches,
			func(w io.Writer) *envflag.Set { s, _, _, _ := batchesFlags(w); return s }},
		{"deadletters", "dead letters for support: list, show (personal data redacted), replay to the intake, discard", runDeadLetters,
			func(w io.Writer) *envflag.Set { s, _ := deadLettersFlags(w); return s }},
		{"envelopes", "one envelope for support: where it is (show, by id or certificate reference), reprint it, those held, dismiss one; status API tokens", runEnvelopes,
			func(w io.Writer) *envflag.Set { s, _ := envelopesFlags(w); return s }},
		{"load", "load harness: envelopes/s and latency through RabbitMQ and S3", runLoad, nil},
		{"previewload", "load harness: the preview endpoints under many clients", loadtest.RunPreview, nil},
		{"version", "show the version, VCS revision and Go version (also --version)", runVersion, nil},
		{"help", "show this help, or a command's (quire help <command>)", nil, nil},
	}
}

// run dispatches to a command and returns the process exit code: 0
// success, 1 failure, 2 usage error.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) == 1 && name == "help" {
			// "quire help serve" is "quire serve --help".
			for _, c := range commands() {
				if c.name == rest[0] && c.run != nil {
					return c.run(ctx, []string{"--help"}, stdout, stdout)
				}
			}
		}
		usage(stdout)
		return 0
	case "-version", "--version":
		name = "version"
	}
	for _, c := range commands() {
		if c.name == name && c.run != nil {
			return c.run(ctx, rest, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "quire: unknown command %q\n\n", name)
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, "Quire turns approved certificate requests into printed, posted paper.\n\nUsage: quire <command> [flags] [args]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun \"quire <command> --help\" for a command's flags.\n")
}

// runVersion implements "quire version" and "quire --version".
func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
			fmt.Fprintln(stdout, "Usage: quire version\n\nShows the module version, the VCS revision and the Go version this binary was built with.")
			return 0
		}
		fmt.Fprintln(stderr, "Usage: quire version (it takes no arguments)")
		return 2
	}
	fmt.Fprintln(stdout, buildinfo.Read())
	return 0
}
