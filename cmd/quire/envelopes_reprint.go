package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/quire-print/quire/internal/envflag"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/batch/reprint"
	"github.com/quire-print/quire/pipeline/batch/schedule"
	"github.com/quire-print/quire/pipeline/storage"
)

// reprintSettings are quire envelopes reprint's and held's own flags: the
// cut-off schedule (to say when a reprint is printed), the reprint limit
// (to say why one is held) and the reason.
type reprintSettings struct {
	batch  batchSettings
	reason string
}

func reprintFlags(e *envflag.Set, s *reprintSettings) {
	scheduleFlags(e, &s.batch)
	e.String(&s.reason, "reason", "", "", "reprint: why, one of "+strings.Join(ledger.ReprintReasons, ", ")+
		"; dismiss: one of "+strings.Join(ledger.DismissReasons, ", ")+" (a `code`; no free text)")
}

const reprintUsage = `Usage: quire envelopes reprint [flags] <envelope-id> --reason lost-in-post|damaged|spoiled|other

Prints an envelope again, with the same documents, in the batch of the next
cut-off: the family said it never arrived or arrived damaged, or the supplier
spoiled it and the automatic reprints are used up (quire envelopes held).
Refused, with the reason and what to do, when the envelope is not in a sealed
batch yet, was cancelled, came back undelivered (upstream sends a new
envelope with the corrected address), has had its documents deleted by
retention (upstream sends a new envelope request), or already has a reprint
waiting. Upstream hears of it by an envelope.reprint-requested event.`

// runEnvelopesReprint implements "quire envelopes reprint".
func runEnvelopesReprint(ctx context.Context, s *envelopesSettings, args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || s.reprint.reason == "" {
		fmt.Fprintln(stderr, reprintUsage)
		return 2
	}
	id := args[0]
	if err := ledger.ValidReprintReason(s.reprint.reason); err != nil {
		fmt.Fprintf(stderr, "quire envelopes reprint: --reason must be one of %s (a code: no free text)\n", strings.Join(ledger.ReprintReasons, ", "))
		return 2
	}
	rp, _, closeRP, code := openReprinter(ctx, s, "reprint", stderr)
	if rp == nil {
		return code
	}
	defer closeRP()
	w, err := rp.Operator(ctx, id, s.reprint.reason)
	if err != nil {
		printRefusal(stderr, "reprint", err)
		return 1
	}
	fmt.Fprintf(stdout, "envelope %s: reprint %d asked for (reason %s, by an operator)\n", id, w.Run, w.Reason)
	fmt.Fprintf(stdout, "  replaces  envelope %d of batch %s\n", w.Sequence, w.BatchID)
	next := "the next cut-off"
	if sched, err := s.reprint.batch.schedule(); err == nil {
		if sc, err := schedule.New(sched); err == nil {
			if t, ok := sc.Next(w.RequestedAt); ok {
				next = "the next cut-off, " + london(t)
			}
		}
	}
	fmt.Fprintf(stdout, "  printed   in the batch of %s, with the same documents and new page codes\n", next)
	return 0
}

// openReprinter opens the store and the event publisher for the operator
// command cmd ("reprint", "dismiss") and returns a Reprinter on them, with
// the store and a function that closes the publisher. When it cannot, it
// says why on stderr and returns a nil Reprinter and the exit code.
func openReprinter(ctx context.Context, s *envelopesSettings, cmd string, stderr io.Writer) (*reprint.Reprinter, storage.Store, func(), int) {
	if err := s.cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "quire envelopes: invalid configuration:\n%v\n", indent(err))
		return nil, nil, nil, 2
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := openStore(ctx, *s.cfg)
	if err != nil {
		fmt.Fprintf(stderr, "quire envelopes %s: %v\n", cmd, err)
		return nil, nil, nil, 1
	}
	events, closeEvents, err := eventsPublisher(*s.cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "quire envelopes %s: %v\n", cmd, err)
		return nil, nil, nil, 1
	}
	// No Retention: quire serve's supplier API tells retention of every
	// hold, and an operator's reprint is printed and posted like any other.
	rp, err := reprint.New(reprint.Config{Store: st, Events: events, Logger: log})
	if err != nil {
		closeEvents()
		fmt.Fprintf(stderr, "quire envelopes %s: %v\n", cmd, err)
		return nil, nil, nil, 1
	}
	return rp, st, closeEvents, 0
}

// printRefusal says why operator command cmd failed, and that nothing
// changed when the reprint rules refused it.
func printRefusal(stderr io.Writer, cmd string, err error) {
	fmt.Fprintf(stderr, "quire envelopes %s: %v\n", cmd, err)
	var refused *reprint.RefusedError
	if errors.As(err, &refused) {
		fmt.Fprintf(stderr, "nothing was changed (%s)\n", refused.Code)
	}
}

// runEnvelopesHeld implements "quire envelopes held".
func runEnvelopesHeld(ctx context.Context, s *envelopesSettings, args []string, stdout, stderr io.Writer) int {
	if len(args) != 0 {
		fmt.Fprintln(stderr, "Usage: quire envelopes held [flags]\n\nLists the envelopes the supplier reported spoiled whose reprint was not made\nautomatically, why, and what to do. quire envelopes reprint or dismiss takes one off the list.")
		return 2
	}
	if err := s.cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "quire envelopes: invalid configuration:\n%v\n", indent(err))
		return 2
	}
	st, err := openStore(ctx, *s.cfg)
	if err != nil {
		fmt.Fprintf(stderr, "quire envelopes held: %v\n", err)
		return 1
	}
	if err := listHeld(ctx, ledger.NewStore(st), s.reprint.batch.maxReprints, stdout); err != nil {
		fmt.Fprintf(stderr, "quire envelopes held: %v\n", err)
		return 1
	}
	return 0
}

func listHeld(ctx context.Context, st *ledger.Store, maxReprints int, w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ENVELOPE\tREPRINT\tSPOILED IN\tHELD\tWHY")
	for h, err := range st.Holds(ctx) {
		if err != nil {
			return err
		}
		why := reprint.HoldSentence(h.Hold, maxReprints)
		if h.Cancelled && h.Code != ledger.HoldCancelled {
			// Cancelled since: the reprint would be refused.
			why = h.Code + ", then " + reprint.HoldSentence(ledger.Hold{Code: ledger.HoldCancelled}, maxReprints)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s #%d\t%s\t%s\n", h.EnvelopeID, h.Run, h.BatchID, h.Sequence, london(h.HeldAt), why)
	}
	return tw.Flush()
}
