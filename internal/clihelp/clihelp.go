// Package clihelp reads what a quire binary says about itself: the
// commands "quire help" lists and the flags "quire <command> -help"
// prints, with the environment variable and default of each. The
// configuration reference is generated from it, and the deployment files'
// tests check every flag, variable and listener they name against it, so
// both follow the binary rather than a copied list.
package clihelp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// Flag is one flag as "quire <command> -help" describes it.
type Flag struct {
	// Name is the flag's name, without dashes.
	Name string
	// Arg names the flag's value in the usage ("address", "n"); empty for
	// a boolean flag.
	Arg string
	// Usage is the description, without the environment variable and the
	// default.
	Usage string
	// Env is the environment variable that sets the flag, or "".
	Env string
	// Default is the default as printed (strings quoted), or "" for the
	// zero value.
	Default string
}

// IsListener reports whether f is the address of an HTTP listener: its
// value is named "address" in the usage.
func (f Flag) IsListener() bool { return f.Arg == "address" }

// Command is one command's help: the text before the flags, and the flags.
type Command struct {
	Name  string
	Intro string
	Flags []Flag
}

// Flag returns the flag called name.
func (c Command) Flag(name string) (Flag, bool) {
	for _, f := range c.Flags {
		if f.Name == name {
			return f, true
		}
	}
	return Flag{}, false
}

// ByEnv returns the flag that environment variable env sets.
func (c Command) ByEnv(env string) (Flag, bool) {
	for _, f := range c.Flags {
		if f.Env != "" && f.Env == env {
			return f, true
		}
	}
	return Flag{}, false
}

// Listeners are the flags that set a listener's address.
func (c Command) Listeners() []Flag {
	var out []Flag
	for _, f := range c.Flags {
		if f.IsListener() {
			out = append(out, f)
		}
	}
	return out
}

var (
	flagHead  = regexp.MustCompile(`^  -([^\s=]+)(?: ([^\t]+))?(?:\t(.*))?$`)
	envRef    = regexp.MustCompile(` ?\(env ([A-Z][A-Z0-9_]*)\)`)
	defaultAt = regexp.MustCompile(` \(default (.*)\)$`)
)

// Parse reads the help of command name, as the flag package's
// PrintDefaults writes it after a free-form introduction: a line
// "  -name arg" for each flag, then its usage on lines indented
// "    \t", ending "(default …)" unless the default is the zero value.
// An environment variable is named in the usage as "(env NAME)".
func Parse(name, help string) (Command, error) {
	c := Command{Name: name}
	var intro []string
	var cur *Flag
	var usage []string
	finish := func() {
		if cur == nil {
			return
		}
		u := strings.Join(usage, " ")
		if m := defaultAt.FindStringSubmatch(u); m != nil {
			cur.Default = m[1]
			u = strings.TrimSuffix(u, m[0])
		}
		if m := envRef.FindStringSubmatch(u); m != nil {
			cur.Env = m[1]
			u = strings.Replace(u, m[0], "", 1)
		}
		cur.Usage = strings.TrimSpace(u)
		c.Flags = append(c.Flags, *cur)
		cur, usage = nil, nil
	}
	sc := bufio.NewScanner(strings.NewReader(help))
	for sc.Scan() {
		line := sc.Text()
		if m := flagHead.FindStringSubmatch(line); m != nil {
			finish()
			cur = &Flag{Name: m[1], Arg: m[2]}
			if m[3] != "" {
				usage = append(usage, m[3])
			}
			continue
		}
		if cur != nil {
			if rest, ok := strings.CutPrefix(line, "    \t"); ok {
				usage = append(usage, strings.TrimSpace(rest))
				continue
			}
			finish()
		}
		if len(c.Flags) == 0 {
			intro = append(intro, line)
		}
	}
	finish()
	text := strings.TrimSpace(strings.Join(intro, "\n"))
	c.Intro = strings.TrimSpace(strings.TrimSuffix(text, "Flags:"))
	seen := map[string]bool{}
	for _, f := range c.Flags {
		if seen[f.Name] {
			return c, fmt.Errorf("quire %s -help: flag -%s twice", name, f.Name)
		}
		seen[f.Name] = true
	}
	return c, nil
}

// Commands reads the commands "quire help" lists, in order: the lines
// under "Commands:" that start with two spaces and a name.
func Commands(help string) []string {
	var out []string
	in := false
	for line := range strings.Lines(help) {
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.TrimSpace(line) == "Commands:":
			in = true
		case in && strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "   "):
			out = append(out, strings.Fields(line)[0])
		case in && strings.TrimSpace(line) == "":
			if len(out) > 0 {
				in = false
			}
		}
	}
	return out
}

// Run runs bin with args and an environment without any QUIRE_ variable,
// so that the defaults printed are the binary's own, and returns what it
// wrote to stdout and stderr. A non-zero exit is not an error: "-help"
// exits 2 in some versions.
func Run(ctx context.Context, bin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "QUIRE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		err = nil
	}
	return out.String(), err
}

// Read returns command name's help as bin prints it.
func Read(ctx context.Context, bin, name string) (Command, error) {
	help, err := Run(ctx, bin, name, "-help")
	if err != nil {
		return Command{}, err
	}
	return Parse(name, help)
}

// ModuleRoot is the directory holding go.mod, found from the working
// directory upwards.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("clihelp: no go.mod above the working directory")
		}
		dir = parent
	}
}

// ImageScript is the script that builds what the container image holds,
// relative to the module root; the Dockerfile runs it.
const ImageScript = "scripts/image-root.sh"

// ImageBinary is where ImageScript puts the quire binary, relative to its
// root directory.
const ImageBinary = "rootfs/usr/local/bin/quire"

// BuildImageRoot runs ImageScript with out as its output directory and
// extra environment env (the Dockerfile's build stage ENV), building the
// image's files exactly as the Dockerfile does. It returns the binary's
// path.
func BuildImageRoot(ctx context.Context, out string, env ...string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(root, ImageScript), out)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s: %w\n%s", ImageScript, err, b)
	}
	return filepath.Join(out, ImageBinary), nil
}

// Port returns the port of a listen address "host:port".
func Port(addr string) (string, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("listen address %q: %w", addr, err)
	}
	return port, nil
}
