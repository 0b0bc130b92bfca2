package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/quire-print/quire/internal/envflag"
	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/broker"
	"github.com/quire-print/quire/pipeline/cancel"
	"github.com/quire-print/quire/pipeline/service"
)

// runSubmit implements "quire submit": hands envelope requests, or a
// cancellation, to RabbitMQ when --amqp-url is set, otherwise to a running
// embedded "quire serve" through its loopback intake endpoint.
func runSubmit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e, st := submitFlags(stderr)
	fs := e.FlagSet()
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: quire submit [flags] <request.json>...
       quire submit [flags] --cancel <envelopeId> --reason <code> [--note <text>]

Publishes envelope requests (message id = envelope id) or a cancellation.
With --amqp-url they go to RabbitMQ; without, to a quire serve running the
embedded queue, through the intake endpoint of its admin listener, --server.

Flags:
`)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(e, args); !ok {
		return code
	}
	amqpURL, prefix, caFile, server, token, cancelID, code, note, timeout := st.amqpURL, st.prefix, st.caFile, st.server, st.token, st.cancelID, st.code, st.note, st.timeout
	args = e.Args()
	type message struct {
		name, kind, id string
		body           []byte
	}
	var msgs []message
	switch {
	case cancelID != "" && len(args) > 0:
		fmt.Fprintln(stderr, "quire submit: give either --cancel or request files, not both")
		return 2
	case cancelID != "":
		body, err := cancel.Encode(cancel.Request{EnvelopeID: cancelID, Code: code, Reason: note})
		if err != nil {
			fmt.Fprintf(stderr, "quire submit: the cancellation is not valid:\n%v\n", indent(err))
			return 2
		}
		msgs = append(msgs, message{"cancel " + cancelID, pipeline.KindCancel, "", body})
	case len(args) == 0:
		fs.Usage()
		return 2
	default:
		if code != "" || note != "" {
			fmt.Fprintln(stderr, "quire submit: --reason and --note go with --cancel")
			return 2
		}
		for _, file := range args {
			body, err := os.ReadFile(file)
			if err != nil {
				fmt.Fprintf(stderr, "quire submit: %v\n", err)
				return 1
			}
			// The envelope id is the message id, so a re-submitted file is
			// recognisable as the same message. The request is not
			// validated here: Quire's answer is the status event.
			msgs = append(msgs, message{file, pipeline.KindRender, service.EnvelopeID(body), body})
		}
	}

	ctx, cancelCtx := context.WithTimeout(ctx, timeout)
	defer cancelCtx()
	var publish func(ctx context.Context, kind, id string, body []byte) error
	where := server
	if amqpURL != "" {
		tlsCfg, err := service.AMQPTLS(caFile)
		if err != nil {
			fmt.Fprintf(stderr, "quire submit: %v\n", err)
			return 2
		}
		b, err := broker.New(broker.Config{URL: amqpURL, Prefix: prefix, ConnectionName: "quire submit", TLS: tlsCfg})
		if err != nil {
			fmt.Fprintf(stderr, "quire submit: %v\n", err)
			return 2
		}
		defer b.Close()
		publish = func(ctx context.Context, kind, id string, body []byte) error {
			return b.PublishMessage(ctx, broker.Message{Kind: kind, MessageID: id, Body: body})
		}
		where = "RabbitMQ"
	} else {
		publish = service.IntakeClient{BaseURL: server, Token: token}.Submit
	}
	status := 0
	for _, m := range msgs {
		if err := publish(ctx, m.kind, m.id, m.body); err != nil {
			fmt.Fprintf(stderr, "%s: not submitted: %v\n", m.name, err)
			status = 1
			continue
		}
		id := m.id
		if id == "" {
			id = "(no valid envelope id: Quire will reject it)"
		}
		if m.kind == pipeline.KindCancel {
			id = cancelID
		}
		fmt.Fprintf(stdout, "%s: submitted to %s as %s, envelope %s\n", m.name, where, m.kind, id)
	}
	return status
}

type submitSettings struct {
	amqpURL, prefix, caFile, server, token, cancelID, code, note string
	timeout                                                      time.Duration
}

// submitFlags defines quire submit's flags on a new set writing to w.
func submitFlags(w io.Writer) (*envflag.Set, *submitSettings) {
	e := envflag.New("submit", w)
	st := &submitSettings{}
	e.String(&st.amqpURL, "amqp-url", "QUIRE_AMQP_URL", "", "RabbitMQ `URL` to publish to; empty: the embedded serve at --server")
	e.String(&st.caFile, "amqp-ca-file", "QUIRE_AMQP_CA_FILE", "", "PEM `file` of the authorities an amqps:// broker's certificate is checked against; empty: the system's")
	e.String(&st.prefix, "amqp-prefix", "QUIRE_AMQP_PREFIX", service.DefaultPrefix, "`prefix` of the RabbitMQ exchange and queue names")
	e.String(&st.server, "server", "QUIRE_SERVER", "http://"+service.DefaultListen, "`URL` of a running embedded quire serve's admin listener")
	e.Secret(&st.token, "intake-token", "QUIRE_INTAKE_TOKEN", "`token` the serve's intake requires (--intake-token-sha256 there); prefer the environment variable")
	e.Duration(&st.timeout, "timeout", "QUIRE_SUBMIT_TIMEOUT", 30*time.Second, "give up after this `duration`")
	e.String(&st.cancelID, "cancel", "", "", "cancel the envelope with this `id` instead of submitting requests")
	e.String(&st.code, "reason", "", "", "reason `code` for --cancel, e.g. requested-by-parent")
	e.String(&st.note, "note", "", "", "optional short explanation for --cancel, without personal data (`text`)")
	return e, st
}
