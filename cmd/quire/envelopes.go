package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/quire-print/quire/internal/envflag"
	"github.com/quire-print/quire/pipeline/service"
)

// envelopesSettings are quire envelopes' flags: quire serve's queue and
// store settings and reference key, and each subcommand's own.
type envelopesSettings struct {
	cfg     *service.Config
	show    showSettings
	reprint reprintSettings
}

// envelopesFlags defines quire envelopes' flags on a new set writing to w.
func envelopesFlags(w io.Writer) (*envflag.Set, *envelopesSettings) {
	e := envflag.New("envelopes", w)
	s := &envelopesSettings{cfg: storeQueueFlags(e)}
	referenceKeyFlag(e, s.cfg)
	showFlags(e, &s.show)
	reprintFlags(e, &s.reprint)
	return e, s
}

// referenceKeyFlag defines the reference key's flag, shared by quire serve
// (which indexes envelopes) and quire envelopes (which looks them up).
func referenceKeyFlag(e *envflag.Set, c *service.Config) {
	e.String(&c.ReferenceKeyFile, "reference-key-file", "QUIRE_REFERENCE_KEY_FILE", "", "`file` holding the secret key (32 bytes or more) of the index that finds envelopes by certificate reference; empty: no index, lookup by reference off")
}

// envelopeCommand is one subcommand of quire envelopes.
type envelopeCommand struct {
	name, usage, summary string
	run                  func(ctx context.Context, s *envelopesSettings, args []string, stdout, stderr io.Writer) int
}

// envelopeCommands lists quire envelopes' subcommands, each in a file of
// its own (envelopes_<name>.go).
var envelopeCommands = []envelopeCommand{
	{"show", "show [flags] <envelope-id> | --reference <certificate-reference>",
		"where an envelope is: its timeline, from what is stored (no personal data)", runEnvelopesShow},
	{"token", "token <name>", "make a token for the status API: give the token to name, add the line to --status-tokens-file", runEnvelopesToken},
	{"reprint", "reprint [flags] <envelope-id> --reason lost-in-post|damaged|spoiled|other",
		"print an envelope again, same documents, at the next cut-off (lost in the post, damaged, spoiled)", runEnvelopesReprint},
	{"held", "held [flags]", "the envelopes the supplier spoiled whose automatic reprint waits for an operator", runEnvelopesHeld},
	{"dismiss", "dismiss [flags] <envelope-id> --reason not-needed|upstream-will-resend|other",
		"decide not to reprint a held envelope: it leaves the held list", runEnvelopesDismiss},
}

// runEnvelopes implements "quire envelopes": support's view of one
// envelope.
func runEnvelopes(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	env, s := envelopesFlags(stderr)
	fs := env.FlagSet()
	fs.Usage = func() {
		var b strings.Builder
		lead := "Usage:"
		for _, c := range envelopeCommands {
			fmt.Fprintf(&b, "%s quire envelopes %s\n", lead, c.usage)
			lead = "      "
		}
		b.WriteString("\n")
		for _, c := range envelopeCommands {
			fmt.Fprintf(&b, "%-8s %s\n", c.name, c.summary)
		}
		b.WriteString(`
The store and the broker are configured as for quire serve, by the same
flags and environment variables. show, reprint, held and dismiss read the
store; reprint and dismiss also publish an event (--amqp-*); reprint reads
the cut-off schedule (--cutoff*, --bank-holidays) to say when the reprint
is printed; held reads --max-reprints; token needs none. Lookup by
certificate reference needs the same --reference-key-file as quire serve.

Flags:
`)
		fmt.Fprint(stderr, b.String())
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(env, args); !ok {
		return code
	}
	if len(env.Args()) == 0 {
		fs.Usage()
		return 2
	}
	i := slices.IndexFunc(envelopeCommands, func(c envelopeCommand) bool { return c.name == env.Args()[0] })
	if i < 0 {
		fmt.Fprintf(stderr, "quire envelopes: unknown subcommand %q\n\n", env.Args()[0])
		fs.Usage()
		return 2
	}
	return envelopeCommands[i].run(ctx, s, env.Args()[1:], stdout, stderr)
}
