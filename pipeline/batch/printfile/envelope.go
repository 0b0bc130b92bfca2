package printfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/renderer/display"
	"github.com/quire-print/quire/request"
)

// prepared is one envelope ready for its print file: its pages with their
// codes, and its manifest entry without the file placement.
type prepared struct {
	pages []display.Page
	entry Entry
}

// prepare lays e out again with the template versions its record names,
// checks that every document draws to exactly the bytes the record
// describes, and stamps a 2D code on every page. buf is scratch space.
func (a *Assembler) prepare(batchID string, e Envelope, buf *bytes.Buffer) (prepared, error) {
	refuse := func(format string, args ...any) (prepared, error) {
		return prepared{}, &RefusedError{Sequence: e.Sequence, EnvelopeID: e.ID, Reason: fmt.Sprintf(format, args...)}
	}
	rec := e.Record
	req := e.Request
	switch {
	case rec.EnvelopeID != e.ID || req.EnvelopeID != e.ID:
		return refuse("the record is for %q and the request for %q", rec.EnvelopeID, req.EnvelopeID)
	case rec.Status != envelopes.StatusRendered:
		return refuse("the record's status is %q, not %q", rec.Status, envelopes.StatusRendered)
	case len(rec.Documents) != 1+len(req.Certificates):
		return refuse("the record lists %d documents; the request makes %d", len(rec.Documents), 1+len(req.Certificates))
	case rec.RequestHash != req.ContentHash():
		// Cheap, and it names the problem: the request is not the one
		// rendered. The byte comparison below would catch it too.
		return refuse("the request's content hash differs from the record's")
	}
	district := request.PostcodeDistrict(lastLine(req.Recipient.Address))
	if district == "" {
		return refuse("the address does not end in a postcode")
	}
	postage := req.Letter.Postage
	if postage == "" {
		postage = request.PostageSecond
	}
	if PostageRank(postage) == len(postageClasses) {
		return refuse("the postage class is %q, not %q or %q", postage, request.PostageFirst, request.PostageSecond)
	}

	// Pin every document to the template version the record names, on a
	// copy: the caller's request is not ours to change.
	pinned := *req
	pinned.Certificates = slices.Clone(req.Certificates)
	pinned.Letter.Template = ref(rec.Documents[0])
	for i := range pinned.Certificates {
		pinned.Certificates[i].Template = ref(rec.Documents[i+1])
	}
	docs, err := a.cfg.Renderer.LayoutEnvelope(&pinned)
	if err != nil {
		// Field errors name fields and never quote values; anything else
		// may quote what was being laid out, so only its kind is said.
		var fe request.Errors
		if errors.As(err, &fe) {
			return refuse("the stored request no longer lays out: %v", fe)
		}
		return refuse("the stored request no longer lays out: the renderer failed")
	}
	if len(docs) != len(rec.Documents) {
		return refuse("laid out %d documents; the record lists %d", len(docs), len(rec.Documents))
	}

	entry := Entry{Sequence: e.Sequence, EnvelopeID: e.ID, PostcodeDistrict: district, Postage: postage,
		Reprint: e.Reprint, ReprintOf: e.ReprintOf}
	total := 0
	for i, d := range docs {
		r := rec.Documents[i]
		switch {
		case d.Kind != r.Kind || d.TemplateID != r.TemplateID || d.TemplateVersion != r.TemplateVersion:
			return refuse("document %d is a %s from %s@%d; the record says a %s from %s", i+1, d.Kind, d.TemplateID, d.TemplateVersion, r.Kind, ref(r))
		case len(d.Pages) != r.Pages || d.Sheets() != r.Sheets:
			return refuse("document %d has %d pages on %d sheets; the record says %d on %d", i+1, len(d.Pages), d.Sheets(), r.Pages, r.Sheets)
		case d.Duplex:
			// A print file is printed one page to a side of its own
			// sheet: a duplex document needs blank backs or a job ticket
			// agreed with the supplier first.
			return refuse("document %d is duplex, which print files do not support yet", i+1)
		}
		buf.Reset()
		if err := a.cfg.Renderer.WritePDF(buf, d); err != nil {
			// It drew when it was rendered; the error may quote text.
			return refuse("document %d no longer draws: the PDF backend failed", i+1)
		}
		sum := sha256.Sum256(buf.Bytes())
		if got := hex.EncodeToString(sum[:]); got != r.SHA256 || int64(buf.Len()) != r.Size {
			return refuse("document %d draws to %d bytes with SHA-256 %s; the record says %d bytes with %s", i+1, buf.Len(), got, r.Size, r.SHA256)
		}
		entry.Documents = append(entry.Documents, Document{Kind: d.Kind, Template: ref(r), Language: d.Language, Pages: r.Pages, Sheets: r.Sheets, SHA256: r.SHA256})
		entry.Sheets += r.Sheets
		total += len(d.Pages)
	}

	pages := make([]display.Page, 0, total)
	for di, d := range docs {
		t, err := a.cfg.Renderer.Templates().Get(d.TemplateID, d.TemplateVersion)
		if err != nil {
			return refuse("template %s@%d: %v", d.TemplateID, d.TemplateVersion, err)
		}
		if t.Code == nil {
			return refuse("template %s has no square for the 2D code", t.Ref())
		}
		for pi, pg := range d.Pages {
			n := len(pages) + 1
			code := Code{BatchID: batchID, Sequence: e.Sequence, Page: n, Pages: total}.String()
			img, err := codeImage(code, "code-"+strconv.Itoa(e.Sequence)+"-"+strconv.Itoa(n), *t.Code)
			if err != nil {
				return refuse("%v", err)
			}
			if it := overlap(pg, img.Bounds()); it != nil {
				return refuse("page %d of document %d has a %T where the 2D code goes", pi+1, di+1, it)
			}
			pg.Items = append(pg.Items, img)
			pages = append(pages, pg)
			// No document is duplex (checked above), so page n prints on
			// sheet n.
			entry.Pages = append(entry.Pages, Page{Code: code, Kind: d.Kind, Sheet: n})
		}
	}
	return prepared{pages: pages, entry: entry}, nil
}

// overlap returns an item of pg drawn on sq, if any. A rectangle around
// sq, such as a frame around the page, is not on it: the templates keep the
// square clear (templates/validate.go, TestCodeAreaStaysClear) and this is
// the last guard.
func overlap(pg display.Page, sq display.Rect) display.Item {
	for _, it := range pg.Items {
		if r, ok := it.(*display.Rect); ok && r.Bounds().Contains(sq) {
			continue
		}
		if sq.Intersects(it.Bounds()) {
			return it
		}
	}
	return nil
}

func ref(d envelopes.Document) string { return d.TemplateID + "@" + strconv.Itoa(d.TemplateVersion) }

func lastLine(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return lines[len(lines)-1]
}
