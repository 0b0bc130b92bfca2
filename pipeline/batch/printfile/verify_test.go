package printfile_test

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/quire-print/quire/internal/pdftest"
	"github.com/quire-print/quire/pipeline/batch/printfile"
	"github.com/quire-print/quire/pipeline/batch/printfile/printfiletest"
)

// printed lists the codes of every page of m in print order, as they
// would be read from correctly printed files.
func printed(m *printfile.Manifest) []string {
	var codes []string
	for _, e := range m.Envelopes {
		for _, p := range e.Pages {
			codes = append(codes, p.Code)
		}
	}
	return codes
}

func TestVerify(t *testing.T) {
	envs := makeBatch(t, 5)
	m, err := newAssembler(t, newStore(t), 2).Assemble(t.Context(), batch("B1"), list(envs))
	if err != nil {
		t.Fatal(err)
	}
	good := printed(m)
	if err := printfile.Verify(m, good); err != nil {
		t.Fatalf("correct codes: %v", err)
	}
	// Page positions: envelope 1 is pages 1-2 of print-0001.pdf (bfpo),
	// envelope 2 pages 3-5 (large print: a two-page letter).
	if e := m.Envelopes[1]; e.FirstPage != 3 || len(e.Pages) != 3 {
		t.Fatalf("envelope 2 is pages %d-%d; the cases below expect 3-5", e.FirstPage, e.LastPage)
	}

	swap := slices.Clone(good)
	swap[2], swap[3] = swap[3], swap[2]
	other := slices.Clone(good)
	other[4] = strings.Replace(other[4], "|B1|", "|B2|", 1)
	cases := map[string]struct {
		codes []string
		want  printfile.MismatchError
		text  string
	}{
		"swapped pages": {swap, printfile.MismatchError{File: "print-0001.pdf", FilePage: 3, Sequence: 2, Page: 1, Want: good[2], Got: good[3]},
			"print-0001.pdf page 3: expected envelope 2 page 1 (\"Q1|B1|2|1|3\"), found envelope 2 page 2 of 3 of batch B1"},
		"page from another batch": {other, printfile.MismatchError{File: "print-0001.pdf", FilePage: 5, Sequence: 2, Page: 3, Want: good[4], Got: other[4]},
			"of batch B2"},
		"missing page": {slices.Delete(slices.Clone(good), 1, 2), printfile.MismatchError{File: "print-0001.pdf", FilePage: 2, Sequence: 1, Page: 2, Want: good[1], Got: good[2]},
			"expected envelope 1 page 2"},
		"unreadable code": {append(slices.Clone(good[:1]), append([]string{""}, good[2:]...)...), printfile.MismatchError{File: "print-0001.pdf", FilePage: 2, Sequence: 1, Page: 2, Want: good[1]},
			"missing or its code is unreadable"},
		"pages run out": {good[:len(good)-1], printfile.MismatchError{File: m.Files[2].Name, FilePage: m.Files[2].Pages, Sequence: 5, Page: len(m.Envelopes[4].Pages), Want: good[len(good)-1]},
			"is missing"},
		"extra page": {append(slices.Clone(good), good[0]), printfile.MismatchError{File: m.Files[2].Name, FilePage: m.Files[2].Pages + 1, Got: good[0]},
			"an extra page"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := printfile.Verify(m, c.codes)
			var mm *printfile.MismatchError
			if !errors.As(err, &mm) || !errors.Is(err, printfile.ErrMismatch) {
				t.Fatalf("got %v, want a mismatch", err)
			}
			if *mm != c.want {
				t.Errorf("got  %+v\nwant %+v", *mm, c.want)
			}
			if !strings.Contains(err.Error(), c.text) {
				t.Errorf("message %q does not say %q", err, c.text)
			}
		})
	}
	if err := printfile.VerifyFile(m, "print-0009.pdf", nil); err == nil {
		t.Error("VerifyFile accepted a file the batch does not have")
	}
}

// TestVerifyCatchesShuffledPDF swaps two pages of a real assembled file
// with qpdf, reads the codes back from the rasterised pages, and expects
// Verify to name the first page out of place.
func TestVerifyCatchesShuffledPDF(t *testing.T) {
	envs := makeBatch(t, 4)
	st := newStore(t)
	m, err := newAssembler(t, st, 0).Assemble(t.Context(), batch("B1"), list(envs))
	if err != nil {
		t.Fatal(err)
	}
	f := m.Files[0]
	path := fetch(t, st, "batches/B1/"+f.Name)
	// Swap the last page of envelope 1 with the first of envelope 2.
	shuffled := filepath.Join(t.TempDir(), "shuffled.pdf")
	pdftest.Run(t, "qpdf", path, "--pages", path, "1,3,2,4-z", "--", shuffled)

	r := mustRenderer(t)
	if err := printfile.VerifyFile(m, f.Name, printfiletest.ReadCodes(t, path, r.Templates())); err != nil {
		t.Fatalf("the file as assembled: %v", err)
	}
	codes := printfiletest.ReadCodes(t, shuffled, r.Templates())
	if len(codes) != f.Pages || slices.Contains(codes, "") {
		t.Fatalf("read %d codes from %d pages: %q", len(codes), f.Pages, codes)
	}
	err = printfile.VerifyFile(m, f.Name, codes)
	var mm *printfile.MismatchError
	if !errors.As(err, &mm) {
		t.Fatalf("the shuffled file passed: %v", err)
	}
	if mm.File != f.Name || mm.FilePage != 2 || mm.Sequence != 1 || mm.Page != 2 || mm.Got != m.Envelopes[1].Pages[0].Code {
		t.Errorf("mismatch %+v; want page 2 of %s, envelope 1 page 2 expected, envelope 2 page 1 found", *mm, f.Name)
	}
	t.Log(err)
}

// TestVerifyRefusesMixedClasses: a print file whose envelopes, as the
// manifest lists them, are not all of its postage class is refused before
// any page is compared.
func TestVerifyRefusesMixedClasses(t *testing.T) {
	envs := makeBatch(t, 4)
	m, err := newAssembler(t, newStore(t), 0).Assemble(t.Context(), batch("B1"), list(envs))
	if err != nil {
		t.Fatal(err)
	}
	good := printed(m)
	m.Envelopes[1].Postage = "second" // in print-0001.pdf, a first-class file
	err = printfile.Verify(m, good)
	if !errors.Is(err, printfile.ErrMixedPostage) || !strings.Contains(err.Error(), "print-0001.pdf is for first-class envelopes; envelope 2 is second class") {
		t.Errorf("got %v, want the mixed file refused", err)
	}
	m.Files[0].Postage = "" // as written before files were split by class
	if err := printfile.VerifyFile(m, "print-0001.pdf", good); !errors.Is(err, printfile.ErrMixedPostage) {
		t.Errorf("got %v, want a file without a class refused when its envelopes mix classes", err)
	}
}
