package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/quire-print/quire/pipeline/batch/batchtest"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/fsstore"
)

func TestEnvelopesReprint(t *testing.T) {
	dir := t.TempDir()
	s, err := fsstore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	sealed := batchtest.Seal(t, s, "northprint", batchCutOff, 2)
	id := sealed.Envelopes[1].EnvelopeID

	// Flags after the envelope id, as operators type them.
	code, out, errOut := runEnvelopesCmd(t, "reprint", "--data-dir", dir, id, "--reason", "lost-in-post")
	if code != 0 {
		t.Fatalf("reprint: %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"envelope " + id + ": reprint 1 asked for (reason lost-in-post, by an operator)",
		"replaces  envelope 2 of batch " + sealed.BatchID, "printed   in the batch of the next cut-off, 20"} {
		if !strings.Contains(out, want) {
			t.Errorf("reprint says\n%s\nwithout %q", out, want)
		}
	}
	st := ledger.NewStore(s)
	if rs, err := st.Reprints(t.Context(), id); err != nil || len(rs) != 1 || rs[0].Source != ledger.SourceOperator {
		t.Errorf("reprints %+v, %v", rs, err)
	}

	// Again: refused, because one is waiting.
	code, _, errOut = runEnvelopesCmd(t, "reprint", "--data-dir", dir, "--reason", "damaged", id)
	if code != 1 || !strings.Contains(errOut, "reprint 1 is already waiting for the next cut-off") || !strings.Contains(errOut, "nothing was changed") {
		t.Errorf("a second reprint: %d %s", code, errOut)
	}

	// After retention deleted the documents: refused with the sentence.
	other := sealed.Envelopes[0].EnvelopeID
	var files []string
	for info, err := range s.List(t.Context(), "envelopes/"+other+"/files/") {
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, info.Key)
	}
	for _, k := range files {
		if err := s.Delete(t.Context(), k); err != nil {
			t.Fatal(err)
		}
	}
	code, _, errOut = runEnvelopesCmd(t, "reprint", "--data-dir", dir, other, "--reason", "lost-in-post")
	if code != 1 || !strings.Contains(errOut, "upstream must send a new envelope request, with a new envelope id") {
		t.Errorf("a reprint past retention: %d %s", code, errOut)
	}
	batchtest.CheckNoPersonalData(t, "quire envelopes reprint", out+errOut)

	// Free text, or no reason: a usage error naming the codes, never
	// quoting what was typed.
	code, _, errOut = runEnvelopesCmd(t, "reprint", "--data-dir", dir, other, "--reason", "Priya rang")
	if code != 2 || strings.Contains(errOut, "Priya") || !strings.Contains(errOut, "lost-in-post, damaged, spoiled, other") {
		t.Errorf("a free-text reason: %d %s", code, errOut)
	}
	if code, _, _ := runEnvelopesCmd(t, "reprint", "--data-dir", dir, other); code != 2 {
		t.Errorf("no reason: exit %d, want 2", code)
	}
}

func TestEnvelopesHeld(t *testing.T) {
	dir := t.TempDir()
	s, err := fsstore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	sealed := batchtest.Seal(t, s, "northprint", batchCutOff, 1)
	id := sealed.Envelopes[0].EnvelopeID
	st := ledger.NewStore(s)
	if _, _, err := st.RecordHold(t.Context(), ledger.Hold{EnvelopeID: id, Run: 1, BatchID: sealed.BatchID, Sequence: 1,
		Code: ledger.HoldLimit, HeldAt: batchCutOff.Add(26 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runEnvelopesCmd(t, "held", "--data-dir", dir, "--max-reprints", "3")
	if code != 0 || !strings.Contains(out, id+"  1        "+sealed.BatchID+" #1") || !strings.Contains(out, "it has been reprinted automatically 3 times") {
		t.Errorf("held: %d\n%s%s", code, out, errOut)
	}
	// A second one is cancelled since it was held: listed, saying that it
	// will not be printed again.
	sealed2 := batchtest.Seal(t, s, "northprint", batchCutOff.AddDate(0, 0, 1), 1)
	cancelled := sealed2.Envelopes[0].EnvelopeID
	if _, _, err := st.RecordHold(t.Context(), ledger.Hold{EnvelopeID: cancelled, Run: 1, BatchID: sealed2.BatchID, Sequence: 1,
		Code: ledger.HoldLimit, HeldAt: batchCutOff.Add(27 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := envelopes.New(s).Cancel(t.Context(), envelopes.Cancellation{EnvelopeID: cancelled, Code: "requested-by-parent",
		At: batchCutOff.Add(28 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runEnvelopesCmd(t, "held", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "reprint-limit, then it was cancelled, so it is not printed again") {
		t.Errorf("held, one cancelled since: %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runEnvelopesCmd(t, "reprint", "--data-dir", dir, id, "--reason", "spoiled"); code != 0 {
		t.Fatalf("reprint: %d %s%s", code, out, errOut)
	}
	if _, out, _ := runEnvelopesCmd(t, "held", "--data-dir", dir); strings.Contains(out, id) {
		t.Errorf("still held after the operator's reprint:\n%s", out)
	}
}

func TestEnvelopesUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"frobnicate"}, {"reprint"}, {"held", "extra"}} {
		if code, _, _ := runEnvelopesCmd(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code, _, help := runEnvelopesCmd(t, "--help"); code != 0 || !strings.Contains(help, "quire envelopes reprint [flags] <envelope-id> --reason") ||
		!strings.Contains(help, "-reason code") || !strings.Contains(help, "-max-reprints n") {
		t.Errorf("--help: %d %s", code, help)
	}
}

func TestBatchesShowSaysWhichAreReprints(t *testing.T) {
	s, err := fsstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st := ledger.NewStore(s)
	id := ledger.ID(batchCutOff, 1)
	if _, _, err := st.Seal(t.Context(), &ledger.Sealed{BatchID: id, CutOff: batchCutOff, Supplier: "northprint", Attempt: "a", SealedAt: batchCutOff,
		Envelopes: []ledger.Member{{Sequence: 1, EnvelopeID: "E-1", Run: 2}, {Sequence: 2, EnvelopeID: "E-2"}}, Files: []ledger.File{}}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := showBatch(t.Context(), st, id, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "reprint    envelope 1 (E-1) is its reprint 2\n") || strings.Contains(out.String(), "E-2") {
		t.Errorf("show says\n%s", out.String())
	}
}

func TestEnvelopesDismiss(t *testing.T) {
	dir := t.TempDir()
	s, err := fsstore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	sealed := batchtest.Seal(t, s, "northprint", batchCutOff, 2)
	id, notHeld := sealed.Envelopes[0].EnvelopeID, sealed.Envelopes[1].EnvelopeID
	st := ledger.NewStore(s)
	if _, _, err := st.RecordOutcome(t.Context(), ledger.Outcome{BatchID: sealed.BatchID, EnvelopeID: id, Sequence: 1, Outcome: ledger.OutcomeSpoiled,
		Code: "paper-jam", At: batchCutOff.Add(25 * time.Hour), ReportedAt: batchCutOff.Add(25 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.RecordHold(t.Context(), ledger.Hold{EnvelopeID: id, Run: 1, BatchID: sealed.BatchID, Sequence: 1,
		Code: ledger.HoldLimit, HeldAt: batchCutOff.Add(26 * time.Hour)}); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runEnvelopesCmd(t, "dismiss", "--data-dir", dir, id, "--reason", "upstream-will-resend")
	if code != 0 {
		t.Fatalf("dismiss: %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"envelope " + id + ": reprint 1 dismissed (reason upstream-will-resend, at ",
		"spoiled   envelope 1 of batch " + sealed.BatchID + "; nothing more is printed", "quire envelopes reprint " + id} {
		if !strings.Contains(out, want) {
			t.Errorf("dismiss says\n%s\nwithout %q", out, want)
		}
	}
	if d, err := st.Dismissal(t.Context(), id, 1); err != nil || d.Reason != ledger.DismissUpstreamResend {
		t.Errorf("dismissal %+v, %v", d, err)
	}
	if _, out, _ := runEnvelopesCmd(t, "held", "--data-dir", dir); strings.Contains(out, id) {
		t.Errorf("still held after the dismissal:\n%s", out)
	}
	if _, out, _ := runEnvelopesCmd(t, "show", "--data-dir", dir, id); !strings.Contains(out, "dismissed") || !strings.Contains(out, "upstream-will-resend") ||
		!strings.Contains(out, "Nothing more is printed unless an operator asks for a reprint") {
		t.Errorf("show after the dismissal:\n%s", out)
	}
	// Again: the first dismissal stands.
	code, out2, _ := runEnvelopesCmd(t, "dismiss", "--data-dir", dir, id, "--reason", "other")
	if code != 0 || !strings.Contains(out2, "reason upstream-will-resend") {
		t.Errorf("a second dismiss: %d %s", code, out2)
	}

	code, _, errOut = runEnvelopesCmd(t, "dismiss", "--data-dir", dir, notHeld, "--reason", "not-needed")
	if code != 1 || !strings.Contains(errOut, "it is not held for an operator") || !strings.Contains(errOut, "nothing was changed (not-held)") {
		t.Errorf("dismissing an envelope not held: %d %s", code, errOut)
	}
	code, _, errOut = runEnvelopesCmd(t, "dismiss", "--data-dir", dir, id, "--reason", "Priya rang")
	if code != 2 || strings.Contains(errOut, "Priya") || !strings.Contains(errOut, "not-needed, upstream-will-resend, other") {
		t.Errorf("a free-text reason: %d %s", code, errOut)
	}
	if code, _, _ := runEnvelopesCmd(t, "dismiss", "--data-dir", dir, id); code != 2 {
		t.Errorf("no reason: exit %d, want 2", code)
	}
	batchtest.CheckNoPersonalData(t, "quire envelopes dismiss", out+out2+errOut)

	// One whose cancellation stood while it was held: dismissing it says
	// it is never printed again, not how to reprint it.
	sealed2 := batchtest.Seal(t, s, "northprint", batchCutOff.AddDate(0, 0, 1), 1)
	cancelled := sealed2.Envelopes[0].EnvelopeID
	if _, _, err := st.RecordHold(t.Context(), ledger.Hold{EnvelopeID: cancelled, Run: 1, BatchID: sealed2.BatchID, Sequence: 1,
		Code: ledger.HoldLimit, HeldAt: batchCutOff.Add(50 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := envelopes.New(s).Cancel(t.Context(), envelopes.Cancellation{EnvelopeID: cancelled, Code: "requested-by-parent",
		At: batchCutOff.Add(51 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runEnvelopesCmd(t, "dismiss", "--data-dir", dir, cancelled, "--reason", "not-needed")
	if code != 0 || !strings.Contains(out, "it was cancelled too, so it is never printed again") || strings.Contains(out, "still prints it") {
		t.Errorf("dismissing a cancelled envelope: %d\n%s%s", code, out, errOut)
	}

	// A deliberate new decision: the operator reprints it after all.
	if code, out, errOut := runEnvelopesCmd(t, "reprint", "--data-dir", dir, id, "--reason", "lost-in-post"); code != 0 || !strings.Contains(out, "reprint 1 asked for") {
		t.Errorf("reprint after the dismissal: %d %s%s", code, out, errOut)
	}
}
