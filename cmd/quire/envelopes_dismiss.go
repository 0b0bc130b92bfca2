package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
)

const dismissUsage = `Usage: quire envelopes dismiss [flags] <envelope-id> --reason not-needed|upstream-will-resend|other

Records an operator's decision not to reprint an envelope held for one
(quire envelopes held): the family no longer needs it (not-needed), upstream
sends a new envelope request with a new envelope id instead
(upstream-will-resend), or another reason (other). The envelope leaves the
held list, and upstream hears of it by an envelope.reprint-dismissed event.
Its personal data goes at the end of the retention period, counted from the
hold, as the hold scheduled it. An operator can still reprint it later with
quire envelopes reprint, while its documents are kept. Refused when the
envelope is not held. Asking again changes nothing.`

// runEnvelopesDismiss implements "quire envelopes dismiss".
func runEnvelopesDismiss(ctx context.Context, s *envelopesSettings, args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || s.reprint.reason == "" {
		fmt.Fprintln(stderr, dismissUsage)
		return 2
	}
	id := args[0]
	if err := ledger.ValidDismissReason(s.reprint.reason); err != nil {
		fmt.Fprintf(stderr, "quire envelopes dismiss: --reason must be one of %s (a code: no free text)\n", strings.Join(ledger.DismissReasons, ", "))
		return 2
	}
	rp, st, closeRP, code := openReprinter(ctx, s, "dismiss", stderr)
	if rp == nil {
		return code
	}
	defer closeRP()
	d, err := rp.Dismiss(ctx, id, s.reprint.reason)
	if err != nil {
		printRefusal(stderr, "dismiss", err)
		return 1
	}
	fmt.Fprintf(stdout, "envelope %s: reprint %d dismissed (reason %s, at %s)\n", id, d.Run, d.Reason, london(d.DismissedAt))
	fmt.Fprintf(stdout, "  spoiled   envelope %d of batch %s; nothing more is printed\n", d.Sequence, d.BatchID)
	switch _, err := envelopes.New(st).Cancellation(ctx, id); {
	case err == nil:
		fmt.Fprintf(stdout, "  cancelled it was cancelled too, so it is never printed again\n")
	case errors.Is(err, storage.ErrNotFound):
		fmt.Fprintf(stdout, "  later     quire envelopes reprint %s --reason <code> still prints it, while its documents are kept\n", id)
	default:
		fmt.Fprintf(stderr, "quire envelopes dismiss: the dismissal is recorded, but reading the envelope's cancellation failed: %v\n", err)
		return 1
	}
	return 0
}
