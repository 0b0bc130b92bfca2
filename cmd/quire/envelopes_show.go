package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/quire-print/quire/internal/bearer"
	"github.com/quire-print/quire/internal/envflag"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/status"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/refindex"
)

// showSettings are quire envelopes show's own flags.
type showSettings struct {
	reference string
	json      bool
}

func showFlags(e *envflag.Set, s *showSettings) {
	e.String(&s.reference, "reference", "", "", "show: find the envelopes by certificate `reference` instead of by id (needs --reference-key-file)")
	e.Bool(&s.json, "json", "", false, "show: print the timeline as JSON (the status API's format)")
}

// runEnvelopesShow implements "quire envelopes show".
func runEnvelopesShow(ctx context.Context, s *envelopesSettings, args []string, stdout, stderr io.Writer) int {
	if (len(args) == 1) == (s.show.reference != "") || len(args) > 1 {
		fmt.Fprintln(stderr, "Usage: quire envelopes show [flags] <envelope-id>\n       quire envelopes show [flags] --reference <certificate-reference>")
		return 2
	}
	if err := s.cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "quire envelopes: invalid configuration:\n%v\n", indent(err))
		return 2
	}
	refs, err := refindex.ReadKeyFile(s.cfg.ReferenceKeyFile)
	if err != nil {
		fmt.Fprintf(stderr, "quire envelopes show: %v\n", err)
		return 2
	}
	if s.show.reference != "" && refs == nil {
		fmt.Fprintf(stderr, "quire envelopes show: %v\n", refindex.ErrNoKey)
		return 2
	}
	st, err := openStore(ctx, *s.cfg)
	if err != nil {
		fmt.Fprintf(stderr, "quire envelopes show: %v\n", err)
		return 1
	}
	b := status.New(envelopes.New(st), ledger.NewStore(st), st)

	ids := args
	if s.show.reference != "" {
		if ids, err = refs.Lookup(ctx, st, s.show.reference); err != nil {
			fmt.Fprintf(stderr, "quire envelopes show: %v\n", err)
			return 1
		}
	}
	var timelines []*status.Timeline
	for _, id := range ids {
		tl, err := b.Timeline(ctx, id)
		switch {
		case s.show.reference != "" && errors.Is(err, status.ErrNotFound):
			continue // an index entry whose commit never completed
		case errors.Is(err, status.ErrNotFound):
			fmt.Fprintf(stderr, "quire envelopes show: nothing is stored for envelope %s: it has not arrived yet, was rejected (see quire deadletters and the rejected event), or the id is wrong\n", id)
			return 1
		case err != nil:
			fmt.Fprintf(stderr, "quire envelopes show: %v\n", err)
			return 1
		}
		timelines = append(timelines, tl)
	}
	if s.show.json {
		var v any = timelines
		if s.show.reference == "" {
			v = timelines[0]
		} else if timelines == nil {
			v = []*status.Timeline{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return 1
		}
	} else {
		if s.show.reference != "" {
			// The reference is not repeated: the terminal may be shared or
			// copied into a note.
			fmt.Fprintf(stdout, "%d envelope(s) hold a certificate with this reference\n", len(timelines))
		}
		for i, tl := range timelines {
			if i > 0 || s.show.reference != "" {
				fmt.Fprintln(stdout)
			}
			if err := printTimeline(stdout, tl); err != nil {
				return 1
			}
		}
	}
	if len(timelines) == 0 {
		return 1
	}
	return 0
}

// printTimeline writes a timeline for a person: where the envelope is in
// a sentence, its documents, then each step with its time in London.
func printTimeline(out io.Writer, tl *status.Timeline) error {
	var w bytes.Buffer
	data := "kept"
	if tl.PersonalDataDeleted {
		data = "deleted (documents and request); the record below remains"
	}
	fmt.Fprintf(&w, "envelope       %s\nwhere          %s\npersonal data  %s\n", tl.EnvelopeID, tl.Summary, data)
	tw := tabwriter.NewWriter(&w, 0, 4, 2, ' ', 0)
	if len(tl.Documents) > 0 {
		fmt.Fprintln(tw, "\nDOCUMENT\tKIND\tTEMPLATE\tPAGES\tSHEETS")
		for _, d := range tl.Documents {
			fmt.Fprintf(tw, "%s\t%s\t%s@%d\t%d\t%d\n", d.Name, d.Kind, d.TemplateID, d.TemplateVersion, d.Pages, d.Sheets)
		}
	}
	// PRINT names the print as quire envelopes reprint and held, and the
	// events, number it ("reprint 1"), with which print it is.
	fmt.Fprintln(tw, "\nWHEN\tSTEP\tPRINT\tBATCH\tNO.\tSUPPLIER\tCODE")
	for _, e := range tl.Entries {
		when := "(time not stored)"
		if !e.At.IsZero() {
			when = london(e.At)
		}
		which := ""
		if e.Run > 0 {
			which = status.PrintName(e.Run)
		}
		code := e.Code
		if e.Source != "" {
			code += ", by the " + e.Source
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", when, e.Step, which, e.BatchID, blank(e.Sequence), e.Supplier, code)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Empty last columns leave padding behind: not for a terminal that
	// may be copied into a note.
	for line := range strings.Lines(w.String()) {
		if _, err := io.WriteString(out, strings.TrimRight(line, " \n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// blank returns n, or nothing for zero.
func blank(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// runEnvelopesToken implements "quire envelopes token <name>".
func runEnvelopesToken(_ context.Context, _ *envelopesSettings, args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "Usage: quire envelopes token <name>  (the person or tool the token is for, e.g. contact-centre)")
		return 2
	}
	token, hash := bearer.New("qi_")
	fmt.Fprintf(stdout, "token (give to %s, once): %s\nline for --status-tokens-file:  %s:%s\n", args[0], token, args[0], hash)
	return 0
}
