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

// run dispatches to a subcommand and returns the process exit code:
// 0 success, 1 failure, 2 usage error.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	case "render":
		return runRender(rest, stdout, stderr)
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "submit":
		return runSubmit(ctx, rest, stdout, stderr)
	case "demo":
		return runDemo(ctx, rest, stdout, stderr)
	case "load":
		return runLoad(ctx, rest, stdout, stderr)
	case "batches":
		return runBatches(ctx, rest, stdout, stderr)
	case "previewload":
		return runPreviewLoad(ctx, rest, stdout, stderr)
	default:
		_ = ctx
		_ = rest
		fmt.Fprintf(stderr, "quire: unknown command %q\n\n", cmd)
		usage(stderr)
		return 2
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Quire turns approved certificate requests into printed, posted paper.

Usage: quire <command> [flags] [args]

Commands:
  render   render request files into PDFs (and page images)
  serve    run render workers and the HTTP endpoints (embedded defaults without a broker)
  submit   hand envelope requests or a cancellation to RabbitMQ or a running serve
  demo     the whole flow on the embedded defaults, in one command
  load     load harness: envelopes/s and latency through RabbitMQ and S3
  batches  print batches for operators: list, show, re-send to the supplier, make supplier tokens
  help     show this help
`)
}
