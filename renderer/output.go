package renderer

import "github.com/quire-print/quire/renderer/rendered"

// Document kinds, as rendered.Document.Kind.
const (
	KindLetter      = rendered.KindLetter
	KindCertificate = rendered.KindCertificate
)

// Envelope is the rendered output of one envelope request: the carriage
// letter first, then one document per certificate in request order. Its
// documents are what storage keeps (pipeline/storage/envelopes).
type Envelope struct {
	EnvelopeID string
	Documents  []rendered.Document
}
