package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/quire-print/quire/internal/envflag"
	"github.com/quire-print/quire/pipeline/broker"
	"github.com/quire-print/quire/pipeline/service"
)

// deadLetterSettings are quire deadletters' flags.
type deadLetterSettings struct {
	amqpURL, caFile, prefix string
	messageID, envelopeID   string
	all, showPersonal, yes  bool
	limit                   int
	timeout                 time.Duration
}

// deadLettersFlags defines quire deadletters' flags on a new set writing to w.
func deadLettersFlags(w io.Writer) (*envflag.Set, *deadLetterSettings) {
	e := envflag.New("deadletters", w)
	s := &deadLetterSettings{}
	e.String(&s.amqpURL, "amqp-url", "QUIRE_AMQP_URL", "", "RabbitMQ `URL` (amqp://user:pass@host:5672/vhost, or amqps:// for TLS); required")
	e.String(&s.caFile, "amqp-ca-file", "QUIRE_AMQP_CA_FILE", "", "PEM `file` of the authorities an amqps:// broker's certificate is checked against; empty: the system's")
	e.String(&s.prefix, "amqp-prefix", "QUIRE_AMQP_PREFIX", service.DefaultPrefix, "`prefix` of every RabbitMQ exchange and queue name")
	e.String(&s.messageID, "message-id", "", "", "select the dead letter with this message `id`")
	e.String(&s.envelopeID, "envelope", "", "", "select the dead letters of this envelope `id`")
	e.Bool(&s.all, "all", "", false, "select every dead letter (show, replay, discard)")
	e.Bool(&s.showPersonal, "show-personal-data", "", false, "show: print the body as it is, names, addresses and dates included (otherwise they are redacted)")
	e.Bool(&s.yes, "yes", "", false, "discard: confirm that the selected dead letters are to be deleted for good")
	e.Int(&s.limit, "limit", "", 10000, "look at the oldest `n` dead letters at most")
	e.Duration(&s.timeout, "timeout", "", 2*time.Minute, "give up after this `duration`")
	return e, s
}

// runDeadLetters implements "quire deadletters".
func runDeadLetters(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e, s := deadLettersFlags(stderr)
	fs := e.FlagSet()
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: quire deadletters [flags] list
       quire deadletters [flags] show    --message-id <id> | --envelope <id> | --all
       quire deadletters [flags] replay  --message-id <id> | --envelope <id> | --all
       quire deadletters [flags] discard --message-id <id> | --envelope <id> | --all --yes

list     the dead letters: message id, envelope id, kind, reason, attempt, when
show     the selected dead letters in full: reason, field problems, body with
         personal data redacted (--show-personal-data to see it)
replay   publish the selected dead letters to the intake again, as first
         attempts, once their cause is fixed (a template released, a bug
         fixed); each is removed from the dead-letter queue only after
         RabbitMQ has confirmed the replay
discard  delete the selected dead letters for good (needs --yes)

Works on RabbitMQ's dead-letter queue. The embedded queue keeps its dead
letters inside the quire serve process that holds it; they go when it exits.

Flags:
`)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(e, args); !ok {
		return code
	}
	if len(e.Args()) != 1 {
		fs.Usage()
		return 2
	}
	cmd := e.Args()[0]
	selectors := 0
	for _, on := range []bool{s.messageID != "", s.envelopeID != "", s.all} {
		if on {
			selectors++
		}
	}
	switch {
	case cmd != "list" && cmd != "show" && cmd != "replay" && cmd != "discard":
		fs.Usage()
		return 2
	case selectors > 1:
		fmt.Fprintln(stderr, "quire deadletters: give one of --message-id, --envelope and --all")
		return 2
	case cmd != "list" && selectors == 0:
		fmt.Fprintf(stderr, "quire deadletters %s: say which dead letters: --message-id, --envelope or --all\n", cmd)
		return 2
	case cmd == "discard" && !s.yes:
		fmt.Fprintln(stderr, "quire deadletters discard: deleting dead letters cannot be undone; add --yes to confirm")
		return 2
	case s.showPersonal && cmd != "show":
		fmt.Fprintln(stderr, "quire deadletters: --show-personal-data goes with show")
		return 2
	case s.amqpURL == "":
		fmt.Fprintln(stderr, "quire deadletters: --amqp-url (or QUIRE_AMQP_URL) is required: the embedded queue's dead letters live inside the quire serve process that holds them")
		return 2
	}
	tlsCfg, err := service.AMQPTLS(s.caFile)
	if err != nil {
		fmt.Fprintf(stderr, "quire deadletters: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	b, err := broker.New(broker.Config{URL: s.amqpURL, Prefix: s.prefix, ConnectionName: "quire deadletters", Logger: log, TLS: tlsCfg})
	if err != nil {
		fmt.Fprintf(stderr, "quire deadletters: %v\n", err)
		return 2
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()

	selected := func(d broker.DeadLetter) bool {
		switch {
		case s.messageID != "":
			return d.MessageID == s.messageID
		case s.envelopeID != "":
			return service.EnvelopeID(d.Body) == s.envelopeID
		}
		return true
	}
	var (
		tw      = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		matched int
	)
	if cmd == "list" {
		fmt.Fprintln(tw, "MESSAGE ID\tENVELOPE\tKIND\tREASON\tATTEMPT\tDEAD-LETTERED\tFROM")
	}
	res, err := b.WalkDeadLetters(ctx, s.limit, func(d broker.DeadLetter) broker.Action {
		if !selected(d) {
			return broker.Keep
		}
		matched++
		envID := service.EnvelopeID(d.Body)
		switch cmd {
		case "list":
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.MessageID, dash(envID), d.Kind, d.Reason.Code, d.Attempt, when(d.At), dash(d.OriginQueue))
		case "show":
			showDeadLetter(stdout, d, envID, s.showPersonal)
		case "replay":
			log.Info("quire deadletters: replaying", "message_id", d.MessageID, "envelope_id", envID, "kind", d.Kind, "reason", d.Reason.Code)
			return broker.Replay
		case "discard":
			log.Info("quire deadletters: discarding", "message_id", d.MessageID, "envelope_id", envID, "kind", d.Kind, "reason", d.Reason.Code)
			return broker.Discard
		}
		return broker.Keep
	})
	_ = tw.Flush()
	if err != nil {
		fmt.Fprintf(stderr, "quire deadletters %s: %v\n", cmd, err)
		if res.Replayed+res.Discarded > 0 {
			fmt.Fprintf(stderr, "before that: %d replayed, %d discarded\n", res.Replayed, res.Discarded)
		}
		return 1
	}
	left := res.Seen - res.Replayed - res.Discarded
	switch cmd {
	case "list", "show":
		fmt.Fprintf(stdout, "%d of %d dead letters shown\n", matched, res.Seen)
	case "replay":
		fmt.Fprintf(stdout, "%d replayed to the intake; %d left in the dead-letter queue\n", res.Replayed, left)
	case "discard":
		fmt.Fprintf(stdout, "%d discarded; %d left in the dead-letter queue\n", res.Discarded, left)
	}
	if matched == 0 && cmd != "list" {
		fmt.Fprintln(stderr, "quire deadletters: no dead letter matched")
		return 1
	}
	return 0
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// when shows a time on the clocks the cut-offs are set by.
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return london(t)
}

func showDeadLetter(w io.Writer, d broker.DeadLetter, envID string, personal bool) {
	fmt.Fprintf(w, "message        %s\nenvelope       %s\nkind           %s\nreason         %s",
		d.MessageID, dash(envID), d.Kind, d.Reason.Code)
	if d.Reason.Detail != "" {
		fmt.Fprintf(w, ": %s", d.Reason.Detail)
	}
	fmt.Fprintln(w)
	for _, f := range d.Reason.Fields {
		fmt.Fprintf(w, "  %s\n", f.String())
	}
	fmt.Fprintf(w, "attempt        %d\ndead-lettered  %s\nfrom queue     %s\npublished      %s\n",
		d.Attempt, when(d.At), dash(d.OriginQueue), when(d.Published))
	if personal {
		fmt.Fprintln(w, "body (as published, personal data included):")
		if utf8.Valid(d.Body) {
			fmt.Fprintf(w, "%s\n\n", d.Body)
		} else {
			fmt.Fprintf(w, "%q\n\n", d.Body)
		}
		return
	}
	fmt.Fprintln(w, "body (personal data redacted; --show-personal-data to see it):")
	fmt.Fprintf(w, "%s\n\n", redactBody(d.Body))
}

// safeFields are the request and cancellation fields whose values hold no
// personal data. Every other value is redacted. A certificate reference
// is redacted too: it identifies a family's certificate.
var safeFields = map[string]bool{
	"schemaVersion": true, "envelopeId": true, "template": true, "format": true, "postage": true, "code": true,
}

// knownFields are every field name of a request or a cancellation. Other
// names are replaced as well: a hostile or mistaken body could carry
// personal data in its keys.
var knownFields = map[string]bool{
	"schemaVersion": true, "envelopeId": true, "recipient": true, "name": true, "address": true, "letter": true,
	"template": true, "format": true, "postage": true, "certificates": true, "reference": true, "dateOfIssue": true,
	"parentName": true, "otherParentName": true, "babyName": true, "sex": true, "dateOfLoss": true, "placeOfLoss": true,
	"code": true, "reason": true,
}

const redacted = "[redacted]"

var idLike = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)

// redactBody returns body as indented JSON with every value that may be
// personal data replaced, keeping the shape (which fields, how many
// address lines and certificates) a support person needs to see what is
// wrong. A body that is not JSON is not shown at all.
func redactBody(body []byte) string {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return fmt.Sprintf("[%d bytes, not a JSON document: redacted]", len(body))
	}
	out, err := json.MarshalIndent(redactValue(v, false), "", "  ")
	if err != nil {
		return redacted
	}
	return string(out)
}

func redactValue(v any, safe bool) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		unknown := 0
		for k, x := range v {
			if !knownFields[k] {
				unknown++
				out[fmt.Sprintf("[unknown field %d]", unknown)] = redactValue(x, false)
				continue
			}
			out[k] = redactValue(x, safeFields[k])
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = redactValue(x, false)
		}
		return out
	case nil, bool:
		return v
	case string:
		// Even a safe field is shown only when it looks like the id or
		// word it should be: a mistaken body may put a name anywhere.
		if safe && idLike.MatchString(v) {
			return v
		}
		return redacted
	case json.Number:
		if safe {
			return v
		}
		return redacted
	}
	return redacted
}
