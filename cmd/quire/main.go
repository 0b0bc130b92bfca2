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
	"syscall"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

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
  help     show this help
`)
}
