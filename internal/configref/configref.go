// Package configref writes docs/configuration.md, the configuration
// reference, from what the quire binary says of its commands and flags
// (package clihelp): regenerate it with
//
//	go generate ./internal/configref
//
// and its test fails while the committed file differs from what the
// binary says.
package configref

//go:generate go run ./gen

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/quire-print/quire/internal/clihelp"
)

// Path is the reference's path from the module root.
const Path = "docs/configuration.md"

// Build builds quire into dir and returns the binary's path.
func Build(ctx context.Context, dir string) (string, error) {
	root, err := clihelp.ModuleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "quire")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/quire")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/quire: %w\n%s", err, b)
	}
	return bin, nil
}

// Generate returns the reference for binary bin: every command "quire
// help" lists, quire serve first, each with its usage and a table of its
// flags.
func Generate(ctx context.Context, bin string) ([]byte, error) {
	help, err := clihelp.Run(ctx, bin, "help")
	if err != nil {
		return nil, err
	}
	names := slices.DeleteFunc(clihelp.Commands(help), func(n string) bool { return n == "help" })
	if !slices.Contains(names, "serve") {
		return nil, fmt.Errorf("quire help lists no serve command:\n%s", help)
	}
	names = append([]string{"serve"}, slices.DeleteFunc(names, func(n string) bool { return n == "serve" })...)

	var b bytes.Buffer
	b.WriteString(`# Configuration reference

Generated from the flag definitions of the ` + "`quire`" + ` binary by
` + "`go generate ./internal/configref`" + `: edit the flags, not this file (a test
fails while it is out of date).

A flag given on the command line wins over its environment variable; a
variable wins over the default. Secrets (S3 keys, supplier tokens) are
best given by the environment: ` + "`--help`" + ` never shows their values.
`)
	for _, name := range names {
		c, err := clihelp.Read(ctx, bin, name)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "\n## quire %s\n\n", name)
		if c.Intro != "" {
			fmt.Fprintf(&b, "```text\n%s\n```\n\n", c.Intro)
		}
		if len(c.Flags) == 0 {
			b.WriteString("No flags.\n")
			continue
		}
		b.WriteString("| flag | environment | default | meaning |\n|---|---|---|---|\n")
		for _, f := range c.Flags {
			flagCell := "`--" + f.Name + "`"
			if f.Arg != "" {
				flagCell = "`--" + f.Name + " " + f.Arg + "`"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", flagCell, code(f.Env), code(f.Default), cell(f.Usage))
		}
	}
	return b.Bytes(), nil
}

// Write builds quire and writes the reference to Path under the module
// root.
func Write(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "quire-configref")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := Build(ctx, dir)
	if err != nil {
		return err
	}
	doc, err := Generate(ctx, bin)
	if err != nil {
		return err
	}
	root, err := clihelp.ModuleRoot()
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(root, Path), doc, 0o644)
}

func code(s string) string {
	if s == "" {
		return ""
	}
	return "`" + strings.ReplaceAll(s, "|", `\|`) + "`"
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
