// Package rendered holds what the renderer makes and storage keeps: a
// rendered document, its PDF and what made it. It imports nothing, so that
// storage and the pipeline can take the renderer's output as it is without
// depending on templates or fonts.
package rendered

// Document kinds.
const (
	KindLetter      = "letter"
	KindCertificate = "certificate"
)

// Document is one rendered, print-ready PDF.
type Document struct {
	// Kind is KindLetter or KindCertificate.
	Kind string
	// Name is a file name unique within the envelope: "letter.pdf",
	// "certificate-1.pdf", "certificate-2.pdf", …
	Name string
	// TemplateID and TemplateVersion record exactly which template laid the
	// document out, so a later copy can be made identical to this one.
	TemplateID      string
	TemplateVersion int
	// Pages is the number of A4 pages; Sheets the number of sheets of paper
	// they print on.
	Pages  int
	Sheets int
	// PDF is the document itself.
	PDF []byte
}
