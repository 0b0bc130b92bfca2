// Package status answers "where is envelope X?" for support staff: it
// reads what Quire has stored about one envelope (its render record and
// cancellation marker, its batch claim, the batch's seal, hand-over and
// receipt, the outcomes the supplier reported, the reprints asked for and
// the reprints held for an operator, and retention's record of deleting
// its personal data) and lays it out as a timeline.
//
// A timeline holds ids, times, template ids and versions, counts, supplier
// names and codes only: never a name, an address, a date of loss, a
// certificate reference or a cancellation's free-text reason. It shows
// what is stored, not every event published: docs/support.md says what it
// can and cannot show.
package status

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/batch/reprint"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
)

// ErrNotFound: nothing is stored for the envelope id. It wraps
// storage.ErrNotFound.
var ErrNotFound = fmt.Errorf("status: %w", storage.ErrNotFound)

// Envelopes reads an envelope's records: *envelopes.Store.
type Envelopes interface {
	Lookup(ctx context.Context, id string) (envelopes.Found, error)
	Deletion(ctx context.Context, id string) (envelopes.Deletion, error)
}

// Ledger reads batch records: *ledger.Store.
type Ledger interface {
	Claim(ctx context.Context, envelopeID string) (ledger.Claim, error)
	Reprints(ctx context.Context, envelopeID string) ([]ledger.Reprint, error)
	RunClaim(ctx context.Context, envelopeID string, run int) (ledger.Claim, error)
	Sealed(ctx context.Context, batchID string) (*ledger.Sealed, error)
	Handover(ctx context.Context, batchID string) (ledger.Handover, error)
	HandOffFailure(ctx context.Context, batchID string) (ledger.HandOffFailure, error)
	Receipt(ctx context.Context, batchID string) (ledger.Receipt, error)
	Outcome(ctx context.Context, batchID, envelopeID, outcome string) (ledger.Outcome, error)
	Hold(ctx context.Context, envelopeID string, run int) (ledger.Hold, error)
	Dismissal(ctx context.Context, envelopeID string, run int) (ledger.Dismissal, error)
}

// Files says whether a stored file is still there: storage.Store. It
// tells that an envelope's personal data is gone when the store's own
// lifecycle rule deleted it, which leaves no record.
type Files interface {
	Stat(ctx context.Context, key string) (storage.Info, error)
}

var (
	_ Envelopes = (*envelopes.Store)(nil)
	_ Ledger    = (*ledger.Store)(nil)
	_ Files     = storage.Store(nil)
)

// Steps of a timeline. Each is stable: tools may match on it.
const (
	StepRendered      = "rendered"        // rendered and durably stored
	StepCancelled     = "cancelled"       // cancelled in time: it will not be printed
	StepCancelRefused = "cancel-refused"  // a cancellation came after the envelope was sealed into a batch
	StepBatching      = "batching"        // claimed by a batch that is being sealed
	StepBatched       = "batched"         // in a sealed batch: it will be printed
	StepLeftOut       = "left-out"        // claimed, then left out of the batch (Code says why)
	StepHandOffFailed = "hand-off-failed" // the batch could not be handed over; operators must resend it
	StepHandedOver    = "handed-over"     // the batch was handed to the supplier
	StepReceived      = "received"        // the supplier acknowledged the batch
	StepPrinted       = "printed"         // the supplier reported it printed
	StepPosted        = "posted"          // … posted
	StepReturned      = "returned"        // … returned undelivered (Code)
	StepSpoiled       = "spoiled"         // … spoiled in production (Code)
	StepReprinted     = "reprinted"       // a reprint was asked for: a new print run begins
	StepHeld          = "held"            // a spoiled envelope's reprint was not made: it waits for a person (Code says why)
	StepDismissed     = "dismissed"       // an operator decided not to make the held reprint (Code: the dismissal's code)
	StepDataDeleted   = "personal-data-deleted"
)

// Entry is one step of a timeline.
type Entry struct {
	Step string `json:"step"`
	// At is when it happened: by Quire's clock, or for outcomes by the
	// supplier's. Zero (left out of JSON) when no time is stored.
	At time.Time `json:"at,omitzero"`
	// Run counts the envelope's prints: 1 is the first print, 2 the
	// second (its reprint 1), and so on. Zero for steps before printing
	// is planned (rendered, cancelled).
	Run int `json:"run,omitempty"`
	// Reprint is the same print as numbered by reprint requests, events
	// and quire envelopes reprint and held: Run-1, so zero (left out) for
	// the first print. A held step is about the reprint that was not made.
	Reprint  int    `json:"reprint,omitempty"`
	BatchID  string `json:"batchId,omitempty"`
	Sequence int    `json:"sequence,omitempty"`
	Supplier string `json:"supplier,omitempty"`
	// Code is a stable reason code: a cancellation's, why the envelope
	// was left out, the supplier's for returned and spoiled, a reprint's
	// reason (ledger.ReprintReasons), why a reprint was held (the
	// ledger.Hold* codes), or why it was dismissed
	// (ledger.DismissReasons).
	Code string `json:"code,omitempty"`
	// Source says who asked for a reprint: "supplier" (automatically, on
	// a spoiled report) or "operator" (quire envelopes reprint).
	Source string `json:"source,omitempty"`
}

// PrintName names print run for a person: "first print", or "reprint n
// (second print)" where n is the number reprint requests, events and
// quire envelopes reprint and held use.
func PrintName(run int) string {
	if run <= 1 {
		return "first print"
	}
	return fmt.Sprintf("reprint %d (%s print)", run-1, ordinal(run))
}

// ordinal spells n-th for the small numbers a print run has, and writes
// it in figures past them.
func ordinal(n int) string {
	words := []string{"", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"}
	if n > 0 && n < len(words) {
		return words[n]
	}
	suffix := "th"
	if n%100 < 11 || n%100 > 13 {
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return strconv.Itoa(n) + suffix
}

// Document is one rendered document, without its content.
type Document struct {
	Name            string `json:"name"`
	Kind            string `json:"kind"`
	TemplateID      string `json:"templateId"`
	TemplateVersion int    `json:"templateVersion"`
	Pages           int    `json:"pages"`
	Sheets          int    `json:"sheets"`
}

// Timeline is what is stored about one envelope, oldest first.
type Timeline struct {
	EnvelopeID string `json:"envelopeId"`
	// State is the step that says where the envelope is now.
	State string `json:"state"`
	// Summary says the same in a sentence for a person.
	Summary string `json:"summary"`
	// Documents are in envelope order; empty if it was never rendered.
	Documents []Document `json:"documents"`
	Entries   []Entry    `json:"entries"`
	// PersonalDataDeleted is true once retention (or the store's
	// lifecycle rule) has deleted the rendered documents and request.
	PersonalDataDeleted bool `json:"personalDataDeleted"`
}

// Builder builds timelines. It is safe for concurrent use.
type Builder struct {
	envs   Envelopes
	ledger Ledger
	files  Files
}

// New returns a Builder reading envs and l, and files (nil: not asked)
// for whether an envelope's documents are still stored.
func New(envs Envelopes, l Ledger, files Files) *Builder {
	return &Builder{envs: envs, ledger: l, files: files}
}

// Timeline returns envelope id's timeline, an error wrapping ErrNotFound
// if nothing is stored for it (it has not arrived, was rejected, or the id
// is wrong), or one wrapping envelopes.ErrInvalid if id cannot be an
// envelope id.
func (b *Builder) Timeline(ctx context.Context, id string) (*Timeline, error) {
	if err := envelopes.ValidID(id); err != nil {
		return nil, err
	}
	found, err := b.envs.Lookup(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("status: %s: %w", id, err)
	}
	if found.Record == nil && found.Cancellation == nil {
		return nil, fmt.Errorf("%w: nothing is stored for envelope %s", ErrNotFound, id)
	}
	t := &Timeline{EnvelopeID: id, Documents: []Document{}}
	if rec := found.Record; rec != nil {
		t.Entries = append(t.Entries, Entry{Step: StepRendered, At: rec.RenderedAt})
		for _, d := range rec.Documents {
			t.Documents = append(t.Documents, Document{Name: d.Name, Kind: d.Kind, TemplateID: d.TemplateID,
				TemplateVersion: d.TemplateVersion, Pages: d.Pages, Sheets: d.Sheets})
		}
	}
	runs, err := b.printRuns(ctx, id)
	if err != nil {
		return nil, err
	}
	// Whether the latest run is in a sealed batch, and when the reprint
	// after it was held: a cancellation is weighed against them
	// (ledger.Store.CheckCancel), so one that comes while a reprint waits,
	// or once it is held, stands.
	inBatch := false
	var heldAt time.Time
	for _, r := range runs {
		es, printed, err := b.runEntries(ctx, id, r)
		if err != nil {
			return nil, err
		}
		t.Entries = append(t.Entries, es...)
		inBatch, heldAt = printed, time.Time{}
		for _, e := range es {
			if e.Step == StepHeld {
				heldAt = e.At
			}
		}
	}
	if c := found.Cancellation; c != nil {
		// Code only: the free-text reason may not be repeated. A
		// cancellation stored while the envelope is in a sealed batch was
		// too late (ledger.Store.CheckCancel), unless its reprint was held
		// by then: nothing more was to be printed.
		step := StepCancelled
		if inBatch && (heldAt.IsZero() || c.At.Before(heldAt)) {
			step = StepCancelRefused
		}
		t.Entries = append(t.Entries, Entry{Step: step, At: c.At, Code: c.Code})
	}
	if e, ok, err := b.deletion(ctx, id, found.Record); err != nil {
		return nil, err
	} else if ok {
		t.Entries = append(t.Entries, e)
		t.PersonalDataDeleted = true
	}
	t.Entries = oldestFirst(t.Entries)
	t.State, t.Summary = summarise(t.Entries)
	return t, nil
}

// oldestFirst sorts entries, walked run by run, oldest first; a step with
// no time stored goes last, and steps at the same time keep the order they
// were walked in. A print run's start (held, dismissed, reprinted) is never put
// before the steps of the run it follows: the supplier's clock times
// those, Quire's the hold and the request, and a supplier whose clock is
// ahead would otherwise have the hold come before the spoiled report that
// caused it.
func oldestFirst(entries []Entry) []Entry {
	type keyed struct {
		e   Entry
		key time.Time
	}
	ks := make([]keyed, len(entries))
	latest := map[int]time.Time{} // the latest key of each run so far
	for i, e := range entries {
		key := e.At
		if prev := latest[e.Run-1]; (e.Step == StepHeld || e.Step == StepDismissed || e.Step == StepReprinted) && !key.IsZero() && prev.After(key) {
			key = prev
		}
		if e.Run > 0 && key.After(latest[e.Run]) {
			latest[e.Run] = key
		}
		ks[i] = keyed{e, key}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int {
		if a.key.IsZero() || b.key.IsZero() {
			return boolCmp(a.key.IsZero(), b.key.IsZero())
		}
		return a.key.Compare(b.key)
	})
	out := make([]Entry, len(ks))
	for i, k := range ks {
		out[i] = k.e
	}
	return out
}

// paren returns " (code)", or nothing without a code.
func paren(code string) string {
	if code == "" {
		return ""
	}
	return " (" + code + ")"
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// printRun is one time the envelope was sent to print: the first, from
// its render, and then one per reprint, each with its own batch claim.
type printRun struct {
	n     int
	claim ledger.Claim
	// claimed is false for a reprint asked for and not yet in a batch.
	claimed bool
	// requested is when a reprint was asked for, and reason why; zero
	// for the first run.
	requested time.Time
	reason    string
	source    string
}

// printRuns returns the envelope's print runs, in order: the first, if a
// batch claimed it, then one per reprint asked for (ledger.Reprint, whose
// run n is print run n+1 here), claimed or not yet.
func (b *Builder) printRuns(ctx context.Context, id string) ([]printRun, error) {
	c, err := b.ledger.Claim(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil // a reprint needs a first print in a sealed batch
	} else if err != nil {
		return nil, fmt.Errorf("status: %s: %w", id, err)
	}
	runs := []printRun{{n: 1, claim: c, claimed: true}}
	rs, err := b.ledger.Reprints(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("status: %s: %w", id, err)
	}
	for _, r := range rs {
		pr := printRun{n: r.Run + 1, requested: r.RequestedAt, reason: r.Reason, source: r.Source}
		switch c, err := b.ledger.RunClaim(ctx, id, r.Run); {
		case err == nil:
			pr.claim, pr.claimed = c, true
		case !errors.Is(err, storage.ErrNotFound):
			return nil, fmt.Errorf("status: %s: %w", id, err)
		}
		runs = append(runs, pr)
	}
	return runs, nil
}

// runEntries walks one print run: the reprint request, if it is one; the
// claim and the seal; the hand-over (or its failure) and the receipt; the
// outcomes the supplier reported. printed reports whether the run's batch
// holds the envelope.
func (b *Builder) runEntries(ctx context.Context, id string, r printRun) (entries []Entry, printed bool, err error) {
	batchID := r.claim.BatchID
	add := func(e Entry) {
		e.Run, e.Reprint, e.BatchID = r.n, r.n-1, batchID
		entries = append(entries, e)
	}
	failed := func(err error) ([]Entry, bool, error) {
		return nil, false, fmt.Errorf("status: %s, batch %s: %w", id, batchID, err)
	}
	if r.n > 1 {
		add(Entry{Step: StepReprinted, At: r.requested, Code: r.reason, Source: r.source})
	}
	if !r.claimed {
		return entries, false, nil
	}
	s, err := b.ledger.Sealed(ctx, batchID)
	if errors.Is(err, storage.ErrNotFound) {
		add(Entry{Step: StepBatching, At: r.claim.ClaimedAt})
		return entries, false, nil
	} else if err != nil {
		return failed(err)
	}
	m, ok := s.Member(id)
	if !ok || m.Run != r.n-1 {
		code := ledger.LeftMissing
		for _, l := range s.Left {
			if l.EnvelopeID == id && l.Run == r.n-1 {
				code = l.Code
			}
		}
		add(Entry{Step: StepLeftOut, At: s.SealedAt, Supplier: s.Supplier, Code: code})
		return entries, false, nil
	}
	in := Entry{Sequence: m.Sequence, Supplier: s.Supplier}
	step := func(name string, at time.Time, code string) {
		e := in
		e.Step, e.At, e.Code = name, at, code
		add(e)
	}
	step(StepBatched, s.SealedAt, "")
	if h, err := b.ledger.Handover(ctx, batchID); err == nil {
		step(StepHandedOver, h.At, "")
	} else if !errors.Is(err, storage.ErrNotFound) {
		return failed(err)
	} else if f, err := b.ledger.HandOffFailure(ctx, batchID); err == nil {
		// The adapter's error is not repeated: it is for operators, in
		// quire batches show.
		step(StepHandOffFailed, f.At, "")
	} else if !errors.Is(err, storage.ErrNotFound) {
		return failed(err)
	}
	if rc, err := b.ledger.Receipt(ctx, batchID); err == nil {
		step(StepReceived, rc.At, "")
	} else if !errors.Is(err, storage.ErrNotFound) {
		return failed(err)
	}
	for _, o := range []string{ledger.OutcomePrinted, ledger.OutcomePosted, ledger.OutcomeReturned, ledger.OutcomeSpoiled} {
		rep, err := b.ledger.Outcome(ctx, batchID, id, o)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		} else if err != nil {
			return failed(err)
		}
		step(o, rep.At, rep.Code)
		if o == ledger.OutcomeSpoiled {
			// A spoiled print is reprinted, or its reprint (ledger run
			// r.n) held for a person: the request is the next run's.
			switch h, err := b.ledger.Hold(ctx, id, r.n); {
			case err == nil:
				entries = append(entries, Entry{Step: StepHeld, At: h.HeldAt, Run: r.n + 1, Reprint: r.n, Code: h.Code})
			case !errors.Is(err, storage.ErrNotFound):
				return failed(err)
			}
			switch d, err := b.ledger.Dismissal(ctx, id, r.n); {
			case err == nil:
				entries = append(entries, Entry{Step: StepDismissed, At: d.DismissedAt, Run: r.n + 1, Reprint: r.n, Code: d.Reason})
			case !errors.Is(err, storage.ErrNotFound):
				return failed(err)
			}
		}
	}
	return entries, true, nil
}

// deletion returns the step saying the envelope's personal data is gone:
// retention's record of it, or, without one, a rendered envelope whose
// request file is no longer stored (the store's lifecycle rule deleted
// it, with no time recorded).
func (b *Builder) deletion(ctx context.Context, id string, rec *envelopes.Record) (Entry, bool, error) {
	d, err := b.envs.Deletion(ctx, id)
	if err == nil {
		return Entry{Step: StepDataDeleted, At: d.At}, true, nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return Entry{}, false, fmt.Errorf("status: %s: %w", id, err)
	}
	if rec == nil || b.files == nil {
		return Entry{}, false, nil
	}
	if _, err := b.files.Stat(ctx, rec.Request.Key); errors.Is(err, storage.ErrNotFound) {
		return Entry{Step: StepDataDeleted}, true, nil
	} else if err != nil {
		return Entry{}, false, fmt.Errorf("status: %s: %w", id, err)
	}
	return Entry{}, false, nil
}

// summarise returns the state, the latest step that says where the
// envelope is, and a sentence saying it to a person.
func summarise(entries []Entry) (string, string) {
	var last *Entry
	for i := range entries {
		if s := entries[i].Step; s != StepCancelRefused && s != StepDataDeleted {
			last = &entries[i] // the others do not move the envelope
		}
	}
	if last == nil {
		return "", "Nothing is stored that says where it is."
	}
	e := *last
	where := fmt.Sprintf("batch %s, envelope %d of the batch, supplier %s", e.BatchID, e.Sequence, e.Supplier)
	day := e.At.UTC().Format("2 January 2006")
	var s string
	switch e.Step {
	case StepRendered:
		s = "Rendered and stored; waiting for the next cut-off to be put into a print batch."
	case StepCancelled:
		s = "Cancelled (" + e.Code + "): it will not be printed."
		if heldLast(entries) {
			return e.Step, "Cancelled (" + e.Code + ") while its reprint waited for a person: it will not be printed again."
		}
	case StepBatching:
		s = "Being put into print batch " + e.BatchID + " now; ask again in a few minutes."
	case StepBatched:
		s = "Sealed into a print batch (" + where + "); waiting to be handed to the supplier."
	case StepLeftOut:
		s = "Left out of print batch " + e.BatchID + " (" + e.Code + "): it will not be printed from that batch."
		if e.Code != ledger.LeftCancelled {
			s += " It needs an operator."
		}
	case StepHandOffFailed:
		s = "Its print batch " + e.BatchID + " could not be handed to the supplier; an operator must resend it (quire batches resend)."
	case StepHandedOver, StepReceived:
		s = "Handed to the supplier (" + where + "); not yet reported printed."
	case StepPrinted:
		s = "Printed (" + where + "); not yet reported posted."
	case StepPosted:
		s = "Posted on " + day + " (" + where + ")."
	case StepReturned:
		s = "Returned undelivered, reported " + day + paren(e.Code) + "."
	case StepSpoiled:
		s = "Spoiled in production, reported " + day + paren(e.Code) + "; it needs a reprint."
	case StepReprinted:
		who := "by an operator"
		if e.Source == ledger.SourceSupplier {
			who = "automatically, as the supplier reported the print before it spoiled"
		}
		return e.Step, capital(PrintName(e.Run)) + " was asked for " + who + paren(e.Code) + "; it goes into the batch of the next cut-off."
	case StepHeld:
		return e.Step, held(entries, e)
	case StepDismissed:
		s := "Spoiled in production; " + PrintName(e.Run) + " was not made: an operator decided not to print it again (" + e.Code + "). "
		if slices.ContainsFunc(entries, func(x Entry) bool { return x.Step == StepCancelled || x.Step == StepCancelRefused }) {
			return e.Step, s + "It was cancelled, so it will not be printed again."
		}
		return e.Step, s + "Nothing more is printed unless an operator asks for a reprint (quire envelopes reprint)."
	default:
		s = "Last step: " + e.Step + "."
	}
	if e.Run > 1 {
		s += " That print is the envelope's " + PrintName(e.Run) + "."
	}
	return e.Step, s
}

// held says why a spoiled envelope's reprint e was not made and what to
// do: the same sentence as the envelope.reprint-held event and quire
// envelopes held, with the number of automatic reprints made.
func held(entries []Entry, e Entry) string {
	automatic := 0
	cancelled := false
	for _, x := range entries {
		switch {
		case x.Step == StepReprinted && x.Source == ledger.SourceSupplier:
			automatic++
		case (x.Step == StepCancelled || x.Step == StepCancelRefused) && !x.At.Before(e.At):
			cancelled = true
		}
	}
	s := "Spoiled in production; " + PrintName(e.Run) + " was not made and waits for a person (" + e.Code + "): " +
		reprint.HoldSentence(ledger.Hold{Code: e.Code}, automatic) + "."
	if cancelled && e.Code != ledger.HoldCancelled {
		s += " It was cancelled since, so it will not be printed again."
	}
	return s
}

// heldLast reports whether the envelope's latest print run is a reprint
// that was held and not asked for since.
func heldLast(entries []Entry) bool {
	run, held := 0, false
	for _, e := range entries {
		switch {
		case e.Run > run:
			run, held = e.Run, e.Step == StepHeld
		case e.Run == run && e.Step == StepReprinted:
			held = false
		}
	}
	return held
}

// capital returns s with its first letter in capitals.
func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
