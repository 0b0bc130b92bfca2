package printfile

import (
	"cmp"
	"errors"
	"fmt"
)

// ErrMismatch is wrapped by the errors of Verify and VerifyFile. The error
// is a *MismatchError.
var ErrMismatch = errors.New("pages do not match the manifest")

// MismatchError describes the first page whose code differs from the
// manifest.
type MismatchError struct {
	// File and FilePage say where the page is: the print file and the
	// page in it, from 1.
	File     string
	FilePage int
	// Sequence and Page say which envelope and page the manifest expects
	// there; Want is that page's code. Sequence is 0 past the last
	// expected page (an extra page).
	Sequence int
	Page     int
	Want     string
	// Got is the code read from the page; "" when pages ran out first, or
	// the code could not be read.
	Got string
}

func (e *MismatchError) Error() string {
	switch {
	case e.Sequence == 0:
		return fmt.Sprintf("printfile: %s page %d: an extra page with code %q; the manifest expects no more pages", e.File, e.FilePage, e.Got)
	case e.Got == "":
		return fmt.Sprintf("printfile: %s page %d: envelope %d page %d (%q) is missing or its code is unreadable", e.File, e.FilePage, e.Sequence, e.Page, e.Want)
	}
	found := fmt.Sprintf("%q", e.Got)
	if c, err := ParseCode(e.Got); err == nil {
		found = fmt.Sprintf("envelope %d page %d of %d of batch %s", c.Sequence, c.Page, c.Pages, c.BatchID)
	}
	return fmt.Sprintf("printfile: %s page %d: expected envelope %d page %d (%q), found %s", e.File, e.FilePage, e.Sequence, e.Page, e.Want, found)
}

// Unwrap returns ErrMismatch.
func (e *MismatchError) Unwrap() error { return ErrMismatch }

// Verify checks the codes read from every printed page of the batch, in
// print order (the files in manifest order, each from its first page), against
// m. The first page that differs is reported as a *MismatchError naming
// the envelope and page expected there: a page missing, added, swapped with
// another or from another batch is caught. Use "" for a page whose code
// could not be read.
func Verify(m *Manifest, codes []string) error {
	i := 0
	for _, f := range m.Files {
		n := min(f.Pages, len(codes)-i)
		if err := VerifyFile(m, f.Name, codes[i:i+n]); err != nil {
			return err
		}
		i += n
	}
	if i < len(codes) {
		last := m.Files[len(m.Files)-1]
		return &MismatchError{File: last.Name, FilePage: last.Pages + 1, Got: codes[i]}
	}
	return nil
}

// VerifyFile checks the codes read from the pages of one print file, in
// order, against m, as Verify does. A file whose envelopes, as m lists
// them, are not all of the file's postage class is refused with an error
// wrapping ErrMixedPostage before any page is compared: its mail could
// not be sorted and paid as one.
func VerifyFile(m *Manifest, name string, codes []string) error {
	if err := oneClass(m, name); err != nil {
		return err
	}
	found := false
	page := 0
	for _, e := range m.Envelopes {
		if e.File != name {
			if found {
				break // envelopes of a file are contiguous
			}
			continue
		}
		found = true
		for i, p := range e.Pages {
			var got string
			if page < len(codes) {
				got = codes[page]
			}
			page++
			if got != p.Code {
				return &MismatchError{File: name, FilePage: page, Sequence: e.Sequence, Page: i + 1, Want: p.Code, Got: got}
			}
		}
	}
	if !found {
		return fmt.Errorf("printfile: batch %s has no file %q", m.BatchID, name)
	}
	if page < len(codes) {
		return &MismatchError{File: name, FilePage: page + 1, Got: codes[page]}
	}
	return nil
}

// oneClass checks that the envelopes m lists in file name are all of the
// file's postage class or, in a manifest whose files say none, of one
// class.
func oneClass(m *Manifest, name string) error {
	f := File{Name: name}
	for _, x := range m.Files {
		if x.Name == name {
			f = x
			break
		}
	}
	for _, e := range m.Envelopes {
		if e.File != name {
			continue
		}
		f.Postage = cmp.Or(f.Postage, e.Postage) // the first envelope's, if the file says none
		if err := samePostage(f, f, e); err != nil {
			return fmt.Errorf("printfile: batch %s: %w", m.BatchID, err)
		}
	}
	return nil
}
