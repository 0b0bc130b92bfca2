// Package envflag defines command-line flags that an environment variable
// can also set, and keeps every definition, so that help, documentation and
// deployment files can be checked against one list.
//
// A flag given on the command line wins over its environment variable,
// which wins over the default. Flags may come before or after the
// positional arguments ("quire render a.json -o out"); "--" ends the flags.
package envflag

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

// Def is one flag's definition, as documentation shows it.
type Def struct {
	// Name is the flag's name, without dashes: "s3-endpoint".
	Name string
	// Env is the environment variable that sets it: "QUIRE_S3_ENDPOINT";
	// empty for a flag without one.
	Env string
	// Default is the default value as text, before the environment is
	// read; empty for an empty string. Never a secret's value.
	Default string
	// Usage says what the flag does; a word in `backquotes` names its
	// value, as in the flag package.
	Usage string
	// Kind is the value's type: "string", "int", "bool", "duration" or
	// "float".
	Kind string
	// Secret is true for a flag whose value is never shown (keys, tokens):
	// set it through the environment.
	Secret bool
}

// Set is a flag set whose flags may have environment variables. Its
// methods define flags; Parse reads the command line, then the
// environment. A Set is for one goroutine.
type Set struct {
	fs      *flag.FlagSet
	defs    []Def
	errs    []error
	secrets []func()
	args    []string
}

// New returns an empty set for command name (e.g. "serve"), writing usage
// and errors to output.
func New(name string, output io.Writer) *Set {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(output)
	return &Set{fs: fs}
}

// FlagSet is the underlying flag set, for setting Usage and printing
// defaults.
func (s *Set) FlagSet() *flag.FlagSet { return s.fs }

// Defs returns every flag defined, in the order defined.
func (s *Set) Defs() []Def { return append([]Def(nil), s.defs...) }

// Args returns the positional arguments after Parse.
func (s *Set) Args() []string { return s.args }

func (s *Set) usage(d Def) string {
	s.defs = append(s.defs, d)
	if d.Env == "" {
		return d.Usage
	}
	return fmt.Sprintf("%s (env %s)", d.Usage, d.Env)
}

// lookup returns the environment's value for env, if env is set.
func lookup(env string) (string, bool) {
	if env == "" {
		return "", false
	}
	return os.LookupEnv(env)
}

// String defines a string flag; env (may be empty) overrides def.
func (s *Set) String(p *string, name, env, def, usage string) {
	u := s.usage(Def{Name: name, Env: env, Default: def, Usage: usage, Kind: "string"})
	if v, ok := lookup(env); ok {
		def = v
	}
	s.fs.StringVar(p, name, def, u)
}

// Secret defines a string flag whose value, from env or the command line,
// is never shown as a default in help: env is read after parsing, when
// the flag is not given.
func (s *Set) Secret(p *string, name, env, usage string) {
	s.fs.StringVar(p, name, "", s.usage(Def{Name: name, Env: env, Usage: usage, Kind: "string", Secret: true}))
	s.secrets = append(s.secrets, func() {
		if v, ok := lookup(env); ok && *p == "" {
			*p = v
		}
	})
}

// Int defines a whole-number flag.
func (s *Set) Int(p *int, name, env string, def int, usage string) {
	u := s.usage(Def{Name: name, Env: env, Default: strconv.Itoa(def), Usage: usage, Kind: "int"})
	if v, ok := lookup(env); ok {
		if n, err := strconv.Atoi(v); err != nil {
			s.errs = append(s.errs, fmt.Errorf("%s must be a whole number, not %q", env, v))
		} else {
			def = n
		}
	}
	s.fs.IntVar(p, name, def, u)
}

// Float defines a decimal-number flag.
func (s *Set) Float(p *float64, name, env string, def float64, usage string) {
	u := s.usage(Def{Name: name, Env: env, Default: strconv.FormatFloat(def, 'g', -1, 64), Usage: usage, Kind: "float"})
	if v, ok := lookup(env); ok {
		if f, err := strconv.ParseFloat(v, 64); err != nil {
			s.errs = append(s.errs, fmt.Errorf("%s must be a number, not %q", env, v))
		} else {
			def = f
		}
	}
	s.fs.Float64Var(p, name, def, u)
}

// Bool defines a true/false flag.
func (s *Set) Bool(p *bool, name, env string, def bool, usage string) {
	u := s.usage(Def{Name: name, Env: env, Default: strconv.FormatBool(def), Usage: usage, Kind: "bool"})
	if v, ok := lookup(env); ok {
		if b, err := strconv.ParseBool(v); err != nil {
			s.errs = append(s.errs, fmt.Errorf("%s must be true or false, not %q", env, v))
		} else {
			def = b
		}
	}
	s.fs.BoolVar(p, name, def, u)
}

// Duration defines a duration flag ("30s", "2m").
func (s *Set) Duration(p *time.Duration, name, env string, def time.Duration, usage string) {
	u := s.usage(Def{Name: name, Env: env, Default: def.String(), Usage: usage, Kind: "duration"})
	if v, ok := lookup(env); ok {
		if d, err := time.ParseDuration(v); err != nil {
			s.errs = append(s.errs, fmt.Errorf("%s must be a duration like 30s or 2m, not %q", env, v))
		} else {
			def = d
		}
	}
	s.fs.DurationVar(p, name, def, u)
}

// ErrEnv is wrapped by Parse's error when an environment variable cannot
// be read as its flag's type.
var ErrEnv = errors.New("unreadable environment variable")

// Parse reads args, in which flags and positional arguments may be mixed,
// then fills in secrets from the environment. It returns flag.ErrHelp for
// -h or --help (usage has been written), a flag error (written too), or an
// error wrapping ErrEnv for an environment variable that cannot be read
// (written to the output as "quire <name>: ...").
func (s *Set) Parse(args []string) error {
	var pos []string
	for {
		if err := s.fs.Parse(args); err != nil {
			return err
		}
		rest := s.fs.Args()
		if len(rest) == 0 {
			break
		}
		// The flag package stops at the first positional argument, or
		// after "--": after "--" everything is positional.
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	s.args = pos
	for _, f := range s.secrets {
		f()
	}
	if err := errors.Join(s.errs...); err != nil {
		fmt.Fprintf(s.fs.Output(), "quire %s: %v\n", s.fs.Name(), err)
		return fmt.Errorf("%w: %w", ErrEnv, err)
	}
	return nil
}
