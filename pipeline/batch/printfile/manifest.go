package printfile

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ManifestVersion is the version of the manifest format written here
// (schemas/batch-manifest.v1.schema.json). ParseManifest refuses others.
const ManifestVersion = 1

// Manifest describes one batch's print files, envelope by envelope and
// page by page. It holds no names or addresses: where an envelope goes is
// said by its postcode district only.
type Manifest struct {
	SchemaVersion int    `json:"schemaVersion"`
	BatchID       string `json:"batchId"`
	// CutOff is the cut-off the batch was made at.
	CutOff time.Time `json:"cutOff"`
	// CreatedAt is when the print files were finished.
	CreatedAt time.Time `json:"createdAt"`
	// Files are the print files in print order.
	Files []File `json:"files"`
	// Envelopes are in batch (and print) order.
	Envelopes []Entry `json:"envelopes"`
	Totals    Totals  `json:"totals"`
}

// File is one print file of a batch.
type File struct {
	// Name is the file's name within the batch, e.g. "print-0001.pdf";
	// it is stored at the batch's key prefix followed by Name.
	Name string `json:"name"`
	// Postage is the postage class of every envelope in the file,
	// "first" or "second": a file never mixes classes, and the files of
	// first-class envelopes come first. Empty in manifests written
	// before files were split by class.
	Postage string `json:"postage,omitempty"`
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"`
	Pages   int    `json:"pages"`
	Sheets  int    `json:"sheets"`
	// Envelopes counts the envelopes in the file, which are those with
	// sequence numbers FirstSequence to LastSequence of the batch's list.
	Envelopes     int `json:"envelopes"`
	FirstSequence int `json:"firstSequence"`
	LastSequence  int `json:"lastSequence"`
}

// Entry is one envelope of a batch.
type Entry struct {
	Sequence   int    `json:"sequence"`
	EnvelopeID string `json:"envelopeId"`
	// PostcodeDistrict is the outward code ("SW1A"), or "BFPO": enough to
	// sort post, far too coarse to find a home.
	PostcodeDistrict string `json:"postcodeDistrict"`
	// Postage is the Royal Mail class: "first" or "second".
	Postage string `json:"postage"`
	// File names the print file holding the envelope, all of it.
	File string `json:"file"`
	// FirstPage and LastPage are the envelope's pages in that file,
	// counted from 1.
	FirstPage int `json:"firstPage"`
	LastPage  int `json:"lastPage"`
	Sheets    int `json:"sheets"`
	// Documents are the letter, then the certificates.
	Documents []Document `json:"documents"`
	// Pages lists the envelope's pages in order.
	Pages []Page `json:"pages"`
	// Reprint is set when the envelope is printed again (its first print
	// was spoiled, lost or damaged): the reprint's number, from 1, with
	// ReprintOf the batch of the print it replaces. The documents are the
	// same; the 2D codes are this batch's. Both are left out for a first
	// print.
	Reprint   int    `json:"reprint,omitempty"`
	ReprintOf string `json:"reprintOf,omitempty"`
}

// Document is one document of an envelope.
type Document struct {
	// Kind is "letter" or "certificate".
	Kind string `json:"kind"`
	// Template is "id@version".
	Template string `json:"template"`
	// Language is the document's language, from its template: "en",
	// "cy", or "cy,en" for bilingual (Welsh first), so the supplier can
	// check its inserts. Empty in manifests written before languages.
	Language string `json:"language,omitempty"`
	Pages    int    `json:"pages"`
	Sheets   int    `json:"sheets"`
	// SHA256 is the hash of the document as rendered and stored (without
	// the 2D code), from its render record.
	SHA256 string `json:"sha256"`
}

// Page is one printed page.
type Page struct {
	// Code is the payload of the page's 2D code (Code.String).
	Code string `json:"code"`
	// Kind is the kind of document the page belongs to, "letter" or
	// "certificate": certificates print on different paper.
	Kind string `json:"kind"`
	// Sheet is the sheet of the envelope the page prints on, from 1.
	Sheet int `json:"sheet"`
}

// Totals add up a batch.
type Totals struct {
	Envelopes int `json:"envelopes"`
	Pages     int `json:"pages"`
	Sheets    int `json:"sheets"`
	// ByPostage counts by postage class ("first", "second").
	ByPostage map[string]Count `json:"byPostage"`
	// ByKind counts by document kind ("letter", "certificate"): what each
	// paper stock is needed for. Its Envelopes count documents.
	ByKind map[string]Count `json:"byKind"`
}

// Count is one line of Totals. In ByKind, Envelopes counts documents.
type Count struct {
	Envelopes int `json:"envelopes"`
	Pages     int `json:"pages"`
	Sheets    int `json:"sheets"`
}

// JSON encodes m as the batch's manifest.json.
func (m *Manifest) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("printfile: manifest: %w", err)
	}
	return append(b, '\n'), nil
}

// ParseManifest reads a manifest.json. It is strict: unknown fields, a
// schema version it does not know, and totals, page ranges or codes that
// do not add up are refused rather than half-read.
func ParseManifest(data []byte) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("printfile: manifest: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("printfile: manifest: data after the manifest")
	}
	if m.SchemaVersion != ManifestVersion {
		return nil, fmt.Errorf("printfile: manifest: schema version %d; this Quire reads %d", m.SchemaVersion, ManifestVersion)
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return &m, nil
}

// check tests that m is consistent: envelopes in order, each once and in
// one file, files in order, each of one postage class with first class
// first, page ranges contiguous, codes as each envelope's position says,
// totals right.
func (m *Manifest) check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("printfile: manifest of %s: "+format, append([]any{m.BatchID}, args...)...)
	}
	if err := ValidBatchID(m.BatchID); err != nil {
		return err
	}
	var sum Totals
	ids := map[string]bool{}
	names := map[string]bool{}
	prevSeq, ei := 0, 0
	prevClass := ""
	for _, f := range m.Files {
		if names[f.Name] {
			return bad("file %q is listed twice", f.Name)
		}
		names[f.Name] = true
		got := File{Name: f.Name}
		for ; ei < len(m.Envelopes) && m.Envelopes[ei].File == f.Name; ei++ {
			e := m.Envelopes[ei]
			if e.Sequence <= prevSeq {
				return bad("envelope %d comes after %d", e.Sequence, prevSeq)
			}
			prevSeq = e.Sequence
			if ids[e.EnvelopeID] {
				return bad("envelope id %s is listed twice", e.EnvelopeID)
			}
			if e.Reprint < 0 || (e.Reprint == 0) != (e.ReprintOf == "") || (e.ReprintOf != "" && ValidBatchID(e.ReprintOf) != nil) {
				return bad("envelope %d: a reprint needs its number and the id of the batch it reprints", e.Sequence)
			}
			ids[e.EnvelopeID] = true
			if got.Envelopes == 0 {
				got.FirstSequence = e.Sequence
				got.Postage = e.Postage
			}
			if err := samePostage(f, got, e); err != nil {
				return bad("%w", err)
			}
			got.Envelopes++
			got.LastSequence = e.Sequence
			if len(e.Pages) == 0 || e.FirstPage != got.Pages+1 || e.LastPage != got.Pages+len(e.Pages) {
				return bad("envelope %d: pages %d to %d of %s, expected %d to %d",
					e.Sequence, e.FirstPage, e.LastPage, e.File, got.Pages+1, got.Pages+len(e.Pages))
			}
			docPages, sheets := 0, 0
			for _, d := range e.Documents {
				docPages += d.Pages
				sheets += d.Sheets
				addCount(&sum.ByKind, d.Kind, Count{Envelopes: 1, Pages: d.Pages, Sheets: d.Sheets})
			}
			if docPages != len(e.Pages) || sheets != e.Sheets {
				return bad("envelope %d: documents add up to %d pages and %d sheets, not %d and %d",
					e.Sequence, docPages, sheets, len(e.Pages), e.Sheets)
			}
			var kinds []string
			for _, d := range e.Documents {
				for range d.Pages {
					kinds = append(kinds, d.Kind)
				}
			}
			for i, p := range e.Pages {
				want := Code{BatchID: m.BatchID, Sequence: e.Sequence, Page: i + 1, Pages: len(e.Pages)}.String()
				if p.Code != want || p.Kind != kinds[i] {
					return bad("envelope %d page %d: code %q of a %s, expected %q of a %s", e.Sequence, i+1, p.Code, p.Kind, want, kinds[i])
				}
			}
			got.Pages += len(e.Pages)
			got.Sheets += e.Sheets
			c := Count{Envelopes: 1, Pages: len(e.Pages), Sheets: e.Sheets}
			addCount(&sum.ByPostage, e.Postage, c)
			sum.Envelopes++
			sum.Pages += c.Pages
			sum.Sheets += c.Sheets
		}
		if got.Envelopes == 0 {
			return bad("file %s holds no envelopes", f.Name)
		}
		if prevClass != "" && PostageRank(got.Postage) < PostageRank(prevClass) {
			return bad("file %s of %s-class envelopes comes after a file of %s class: first-class files come first", f.Name, got.Postage, prevClass)
		}
		prevClass = got.Postage
		if err := sameFile(f, got); err != nil {
			return bad("%w", err)
		}
	}
	if ei < len(m.Envelopes) {
		e := m.Envelopes[ei]
		return bad("envelope %d is in %q, which is not the next file", e.Sequence, e.File)
	}
	if !sameTotals(sum, m.Totals) {
		return bad("totals do not add up")
	}
	return nil
}

// ErrMixedPostage is wrapped by the error for a print file that holds
// envelopes of more than one postage class, or of another class than the
// file says: the supplier would post some at the wrong price.
var ErrMixedPostage = errors.New("a print file mixes postage classes")

// samePostage checks that envelope e, in file f whose envelopes so far are
// counted in got, is of f's postage class.
func samePostage(f, got File, e Entry) error {
	switch {
	case f.Postage != "" && e.Postage != f.Postage:
		return fmt.Errorf("file %s is for %s-class envelopes; envelope %d is %s class: %w", f.Name, f.Postage, e.Sequence, e.Postage, ErrMixedPostage)
	case e.Postage != got.Postage:
		return fmt.Errorf("file %s holds %s- and %s-class envelopes (envelope %d): %w", f.Name, got.Postage, e.Postage, e.Sequence, ErrMixedPostage)
	}
	return nil
}

func sameFile(f, counted File) error {
	if f.Envelopes != counted.Envelopes || f.Pages != counted.Pages || f.Sheets != counted.Sheets ||
		f.FirstSequence != counted.FirstSequence || f.LastSequence != counted.LastSequence {
		return fmt.Errorf("file %s says %d envelopes (%d to %d), %d pages, %d sheets; its envelopes add up to %d (%d to %d), %d, %d",
			f.Name, f.Envelopes, f.FirstSequence, f.LastSequence, f.Pages, f.Sheets,
			counted.Envelopes, counted.FirstSequence, counted.LastSequence, counted.Pages, counted.Sheets)
	}
	return nil
}

func addCount(m *map[string]Count, key string, c Count) {
	if *m == nil {
		*m = map[string]Count{}
	}
	t := (*m)[key]
	t.Envelopes += c.Envelopes
	t.Pages += c.Pages
	t.Sheets += c.Sheets
	(*m)[key] = t
}

func sameTotals(a, b Totals) bool {
	eq := func(x, y map[string]Count) bool {
		if len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if y[k] != v {
				return false
			}
		}
		return true
	}
	return a.Envelopes == b.Envelopes && a.Pages == b.Pages && a.Sheets == b.Sheets &&
		eq(a.ByPostage, b.ByPostage) && eq(a.ByKind, b.ByKind)
}

// CSVHeader is the first row of the manifest's CSV form.
var CSVHeader = []string{
	"batch_id", "sequence", "envelope_id", "postcode_district", "postage",
	"file", "first_page", "last_page", "pages", "sheets",
	"page_kinds", "document_sha256", "document_languages",
	"file_envelopes", "file_pages", "file_sheets",
	"reprint", "reprint_of",
}

// WriteCSV writes m as CSV, one row per envelope in batch order, for
// spreadsheets and inserter job files: the columns of CSVHeader.
// page_kinds lists each page's document kind, document_sha256 each
// document's hash and document_languages each document's language ("en",
// "cy", "cy,en"), separated by ';'. Codes are not listed: page i of an
// envelope of n pages carries "Q1|<batch_id>|<sequence>|<i>|<n>". Every
// row of a file has the file's postage class, and file_envelopes,
// file_pages and file_sheets repeat the file's totals on each of its rows;
// the batch's totals are in the JSON form only. reprint and reprint_of are
// empty for a first print, and the reprint's number and the batch it
// reprints otherwise.
func (m *Manifest) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return fmt.Errorf("printfile: manifest CSV: %w", err)
	}
	files := make(map[string]File, len(m.Files))
	for _, f := range m.Files {
		files[f.Name] = f
	}
	for _, e := range m.Envelopes {
		f := files[e.File]
		kinds := make([]string, len(e.Pages))
		for i, p := range e.Pages {
			kinds[i] = p.Kind
		}
		sums := make([]string, len(e.Documents))
		langs := make([]string, len(e.Documents))
		for i, d := range e.Documents {
			sums[i], langs[i] = d.SHA256, d.Language
		}
		row := []string{
			m.BatchID, strconv.Itoa(e.Sequence), e.EnvelopeID, e.PostcodeDistrict, e.Postage,
			e.File, strconv.Itoa(e.FirstPage), strconv.Itoa(e.LastPage), strconv.Itoa(len(e.Pages)), strconv.Itoa(e.Sheets),
			strings.Join(kinds, ";"), strings.Join(sums, ";"), strings.Join(langs, ";"),
			strconv.Itoa(f.Envelopes), strconv.Itoa(f.Pages), strconv.Itoa(f.Sheets),
			"", e.ReprintOf,
		}
		if e.Reprint > 0 {
			row[len(row)-2] = strconv.Itoa(e.Reprint)
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("printfile: manifest CSV: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("printfile: manifest CSV: %w", err)
	}
	return nil
}

// CSV returns m as CSV (see WriteCSV).
func (m *Manifest) CSV() ([]byte, error) {
	var buf bytes.Buffer
	if err := m.WriteCSV(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
