package batch

import (
	"context"
	"errors"
	"iter"

	"github.com/quire-print/quire/pipeline/batch/printfile"
)

// PrintFiles adapts the print-file assembler of pipeline/batch/printfile
// to Assembler: the batcher's types in, printfile's out, and printfile's
// refusals turned into RefusedError so the batcher leaves the envelope out.
func PrintFiles(a *printfile.Assembler) Assembler { return printFiles{a} }

type printFiles struct{ a *printfile.Assembler }

func (p printFiles) Assemble(ctx context.Context, job PrintJob, list iter.Seq2[PrintEnvelope, error]) (Printed, error) {
	envs := func(yield func(printfile.Envelope, error) bool) {
		for e, err := range list {
			if !yield(printfile.Envelope{Sequence: e.Sequence, ID: e.ID, Request: e.Request, Record: e.Record}, err) || err != nil {
				return
			}
		}
	}
	m, err := p.a.Assemble(ctx, printfile.Batch{ID: job.BatchID, CutOff: job.CutOff, KeyPrefix: job.KeyPrefix}, envs)
	var refused *printfile.RefusedError
	if errors.As(err, &refused) {
		return Printed{}, &RefusedError{EnvelopeID: refused.EnvelopeID, Reason: refused.Reason}
	}
	if err != nil {
		return Printed{}, err
	}
	out := Printed{Pages: m.Totals.Pages, Sheets: m.Totals.Sheets}
	for _, f := range m.Files {
		out.Files = append(out.Files, PrintedFile{Name: f.Name, SHA256: f.SHA256, Size: f.Size})
	}
	if out.ManifestJSON, err = m.JSON(); err != nil {
		return Printed{}, err
	}
	if out.ManifestCSV, err = m.CSV(); err != nil {
		return Printed{}, err
	}
	return out, nil
}
