// Command gen writes docs/configuration.md; "go generate
// ./internal/configref" runs it.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/quire-print/quire/internal/configref"
)

func main() {
	if err := configref.Write(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "configref:", err)
		os.Exit(1)
	}
}
