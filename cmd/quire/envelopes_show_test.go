package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/quire-print/quire/pipeline/batch/batchtest"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/status"
	"github.com/quire-print/quire/pipeline/storage/fsstore"
	"github.com/quire-print/quire/pipeline/storage/refindex"
)

func runEnvelopesCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runEnvelopes(t.Context(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestEnvelopesShow(t *testing.T) {
	dir := t.TempDir()
	s, err := fsstore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	sealed := batchtest.Seal(t, s, "northprint", batchCutOff, 2)
	id := sealed.Envelopes[1].EnvelopeID
	st := ledger.NewStore(s)
	if _, _, err := st.RecordHandover(t.Context(), ledger.Handover{BatchID: sealed.BatchID, Supplier: "northprint", Adapter: "pull",
		At: batchCutOff.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "reference.key")
	if err := os.WriteFile(keyFile, []byte(strings.Repeat("k", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	x, _ := refindex.ReadKeyFile(keyFile)
	for _, k := range x.Keys(id, []string{"BLC-2025-000201"}) {
		if _, err := s.Put(t.Context(), k, nil); err != nil {
			t.Fatal(err)
		}
	}

	code, out, errOut := runEnvelopesCmd(t, "--data-dir", dir, "show", id)
	if code != 0 || !strings.Contains(out, "where          Handed to the supplier (batch "+sealed.BatchID+", envelope 2 of the batch, supplier northprint)") ||
		!strings.Contains(out, "certificate-2.pdf  certificate  baby-loss-certificate@1") ||
		!strings.Contains(out, "2026-03-02 18:30 GMT  handed-over  first print  "+sealed.BatchID+"  2    northprint") {
		t.Errorf("show: %d\n%s%s", code, out, errOut)
	}
	batchtest.CheckNoPersonalData(t, "quire envelopes show", out)
	if strings.Contains(out, " \n") {
		t.Errorf("show leaves trailing spaces:\n%q", out)
	}

	// The first envelope is spoiled, held for an operator, and reprinted
	// on the operator's word: each print is named as quire envelopes
	// reprint and held name it.
	held := sealed.Envelopes[0].EnvelopeID
	if _, _, err := st.RecordOutcome(t.Context(), ledger.Outcome{BatchID: sealed.BatchID, EnvelopeID: held, Sequence: 1,
		Outcome: ledger.OutcomeSpoiled, Code: "paper-jam", At: batchCutOff.Add(15 * time.Hour), ReportedAt: batchCutOff.Add(15 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.RecordHold(t.Context(), ledger.Hold{EnvelopeID: held, Run: 1, BatchID: sealed.BatchID, Sequence: 1,
		Code: ledger.HoldLimit, HeldAt: batchCutOff.Add(16 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runEnvelopesCmd(t, "--data-dir", dir, "show", held)
	if code != 0 || !regexp.MustCompile(`\n2026-03-03 09:30 GMT  held +reprint 1 \(second print\) +reprint-limit\n`).MatchString(out) ||
		!strings.Contains(out, "where          Spoiled in production; reprint 1 (second print) was not made and waits for a person (reprint-limit)") {
		t.Errorf("show a held envelope: %d\n%s%s", code, out, errOut)
	}
	if _, _, err := st.CreateReprint(t.Context(), ledger.Reprint{EnvelopeID: held, Run: 1, Reason: ledger.ReasonDamaged, Source: ledger.SourceOperator,
		BatchID: sealed.BatchID, Sequence: 1, RequestedAt: batchCutOff.Add(17 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runEnvelopesCmd(t, "--data-dir", dir, "show", held)
	if code != 0 || !regexp.MustCompile(`\n2026-03-03 10:30 GMT  reprinted +reprint 1 \(second print\) +damaged, by the operator\n`).MatchString(out) {
		t.Errorf("show a held envelope reprinted: %d\n%s%s", code, out, errOut)
	}

	// Flags may follow the id; --json is the API's format.
	code, out, errOut = runEnvelopesCmd(t, "--data-dir", dir, "show", id, "--json")
	var tl status.Timeline
	if err := json.Unmarshal([]byte(out), &tl); code != 0 || err != nil || tl.State != status.StepHandedOver || len(tl.Entries) != 3 {
		t.Errorf("show --json: %d %v\n%s%s", code, err, out, errOut)
	}

	code, out, errOut = runEnvelopesCmd(t, "--data-dir", dir, "--reference-key-file", keyFile, "show", "--reference", "blc-2025-000201")
	if code != 0 || !strings.HasPrefix(out, "1 envelope(s) hold a certificate with this reference\n") || !strings.Contains(out, "envelope       "+id) ||
		strings.Contains(out, "BLC-2025") {
		t.Errorf("show --reference: %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runEnvelopesCmd(t, "--data-dir", dir, "--reference-key-file", keyFile, "show", "--reference", "BLC-2025-999999")
	if code != 1 || !strings.HasPrefix(out, "0 envelope(s)") {
		t.Errorf("an unknown reference: %d\n%s", code, out)
	}
	code, _, errOut = runEnvelopesCmd(t, "--data-dir", dir, "show", "--reference", "BLC-2025-000201")
	if code != 2 || !strings.Contains(errOut, "lookup by certificate reference is off") {
		t.Errorf("--reference without a key: %d %s", code, errOut)
	}
	code, _, errOut = runEnvelopesCmd(t, "--data-dir", dir, "show", "E-NOWHERE")
	if code != 1 || !strings.Contains(errOut, "nothing is stored for envelope E-NOWHERE") {
		t.Errorf("an unknown envelope: %d %s", code, errOut)
	}
	if code, _, _ := runEnvelopesCmd(t, "--data-dir", dir, "show"); code != 2 {
		t.Errorf("show without an id: %d, want 2", code)
	}
	if code, _, _ := runEnvelopesCmd(t, "frob"); code != 2 {
		t.Errorf("an unknown subcommand: %d, want 2", code)
	}
	code, out, _ = runEnvelopesCmd(t, "token", "contact-centre")
	if code != 0 || !strings.Contains(out, "line for --status-tokens-file:  contact-centre:") {
		t.Errorf("token: %d %s", code, out)
	}
}
