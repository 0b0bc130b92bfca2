// Package renderer turns an envelope request into print-ready PDFs: the
// carriage letter and one certificate per baby, laid out from versioned
// templates (package templates) by package layout and drawn by package pdf.
//
// Rendering is deterministic: the same request and template versions give
// byte-identical PDFs.
package renderer

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/quire-print/quire/renderer/display"
	"github.com/quire-print/quire/renderer/layout"
	"github.com/quire-print/quire/renderer/pdf"
	"github.com/quire-print/quire/renderer/rendered"
	"github.com/quire-print/quire/request"
	"github.com/quire-print/quire/templates"
)

// Renderer renders envelopes. It is safe for concurrent use; make one per
// process, since making one parses every font.
type Renderer struct {
	templates *templates.Set
	pdf       *pdf.Writer
}

// New returns a Renderer with the embedded templates and fonts.
func New() (*Renderer, error) {
	set, err := templates.Default()
	if err != nil {
		return nil, err
	}
	w, err := pdf.New(pdf.Options{})
	if err != nil {
		return nil, err
	}
	return &Renderer{templates: set, pdf: w}, nil
}

// Templates returns the templates the renderer lays out with.
func (r *Renderer) Templates() *templates.Set { return r.templates }

// RenderEnvelope validates env, lays out its letter and certificates and
// draws them as PDF. Every problem with the request, including text that
// would not fit its box, comes back at once as request.Errors; any other
// error is Quire's fault, not the requester's.
func (r *Renderer) RenderEnvelope(env *request.Envelope) (*Envelope, error) {
	docs, err := r.LayoutEnvelope(env)
	if err != nil {
		return nil, err
	}
	return r.Draw(env.EnvelopeID, docs)
}

// Render is RenderEnvelope's documents alone: what a render worker stores
// (pipeline/worker.Renderer).
func (r *Renderer) Render(env *request.Envelope) ([]rendered.Document, error) {
	out, err := r.RenderEnvelope(env)
	if err != nil {
		return nil, err
	}
	return out.Documents, nil
}

// Draw draws laid-out documents as PDF, naming them as RenderEnvelope does.
func (r *Renderer) Draw(envelopeID string, docs []*display.Document) (*Envelope, error) {
	out := &Envelope{EnvelopeID: envelopeID, Documents: make([]rendered.Document, len(docs))}
	var buf bytes.Buffer
	for i, d := range docs {
		buf.Reset()
		if err := r.pdf.Write(&buf, d); err != nil {
			return nil, err
		}
		out.Documents[i] = rendered.Document{
			Kind:            d.Kind,
			Name:            documentName(d.Kind, i),
			TemplateID:      d.TemplateID,
			TemplateVersion: d.TemplateVersion,
			Pages:           len(d.Pages),
			Sheets:          d.Sheets(),
			PDF:             bytes.Clone(buf.Bytes()),
		}
	}
	return out, nil
}

func documentName(kind string, i int) string {
	if kind == KindLetter {
		return "letter.pdf"
	}
	return fmt.Sprintf("certificate-%d.pdf", i)
}

// LayoutEnvelope validates env and lays out its documents, letter first,
// without drawing them.
func (r *Renderer) LayoutEnvelope(env *request.Envelope) ([]*display.Document, error) {
	errs := env.Validate()
	docs := make([]*display.Document, 0, 1+len(env.Certificates))

	lang := env.DocumentLanguage()
	letterT, err := r.resolveIn(env.Letter.Template, request.DefaultLetterTemplate, templates.KindLetter, lang)
	if err != nil {
		errs.Add("letter.template", "%v", err)
	} else if d, err := layout.Letter(letterT, env); err != nil {
		if !merge(&errs, err) {
			return nil, err
		}
	} else {
		docs = append(docs, d)
	}
	for i := range env.Certificates {
		c := &env.Certificates[i]
		path := fmt.Sprintf("certificates[%d]", i)
		t, err := r.resolveIn(c.Template, request.DefaultCertificateTemplate, templates.KindCertificate, lang)
		if err != nil {
			errs.Add(path+".template", "%v", err)
			continue
		}
		d, err := layout.Certificate(t, c, path)
		if err != nil {
			if !merge(&errs, err) {
				return nil, err
			}
			continue
		}
		docs = append(docs, d)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return docs, nil
}

// LayoutCertificate lays out one certificate on its own, as a preview
// does: field errors name fields without a "certificates[i]." prefix.
// The caller validates c first.
func (r *Renderer) LayoutCertificate(c *request.Certificate) (*display.Document, error) {
	t, err := r.resolve(c.Template, request.DefaultCertificateTemplate, templates.KindCertificate)
	if err != nil {
		return nil, request.Errors{{Field: "template", Problem: err.Error()}}
	}
	return layout.Certificate(t, c, "")
}

// LayoutLetter lays out only env's carriage letter, as a preview of the
// letter template does. The caller validates env first.
func (r *Renderer) LayoutLetter(env *request.Envelope) (*display.Document, error) {
	t, err := r.resolveIn(env.Letter.Template, request.DefaultLetterTemplate, templates.KindLetter, env.DocumentLanguage())
	if err != nil {
		return nil, request.Errors{{Field: "letter.template", Problem: err.Error()}}
	}
	return layout.Letter(t, env)
}

// FitCertificate lays c out and returns its field problems: a character
// no typeface draws, a value too long for its box. It makes the Renderer
// a request.Fitter, so that decoding reports them with every other
// problem. Fields are named under path. Any other failure (a template
// bug) is left for the render that follows to report.
func (r *Renderer) FitCertificate(c *request.Certificate, path string) request.Errors {
	t, err := r.resolve(c.Template, request.DefaultCertificateTemplate, templates.KindCertificate)
	if err != nil {
		field := "template"
		if path != "" {
			field = path + ".template"
		}
		return request.Errors{{Field: field, Problem: err.Error()}}
	}
	_, err = layout.Certificate(t, c, path)
	return fieldProblems(err)
}

// FitLetter lays out env's carriage letter and returns its field
// problems, as FitCertificate does for a certificate.
func (r *Renderer) FitLetter(env *request.Envelope) request.Errors {
	_, err := r.LayoutLetter(env)
	return fieldProblems(err)
}

// fieldProblems returns the field problems in err, or nil.
func fieldProblems(err error) request.Errors {
	var fe request.Errors
	if errors.As(err, &fe) {
		return fe
	}
	return nil
}

// WritePDF draws a laid-out document as PDF.
func (r *Renderer) WritePDF(buf *bytes.Buffer, d *display.Document) error {
	return r.pdf.Write(buf, d)
}

func (r *Renderer) resolve(ref, def, kind string) (*templates.Template, error) {
	if ref == "" {
		ref = def
	}
	t, err := r.templates.Resolve(ref)
	if err != nil {
		return nil, err
	}
	if t.Kind != kind {
		return nil, fmt.Errorf("template %s is a %s, not a %s", t.Ref(), t.Kind, kind)
	}
	return t, nil
}

// resolveIn resolves a template as resolve does, and refuses one that is
// not in language: an envelope's documents are all in its language.
// An empty ref gets the default template of the language.
func (r *Renderer) resolveIn(ref, def, kind, language string) (*templates.Template, error) {
	if ref == "" {
		ref = request.DefaultTemplate(def, language)
	}
	t, err := r.resolve(ref, def, kind)
	if err != nil {
		return nil, err
	}
	if t.Language != language {
		return nil, fmt.Errorf("template %s is in %s, but the envelope's language is %s", t.Ref(), request.LanguageName(t.Language), request.LanguageName(language))
	}
	return t, nil
}

// merge adds layout's field errors to errs, skipping fields validation has
// already complained about. It reports false when err is not about fields.
func merge(errs *request.Errors, err error) bool {
	var fe request.Errors
	if !errors.As(err, &fe) {
		return false
	}
	for _, e := range fe {
		if !slices.ContainsFunc(*errs, func(x request.FieldError) bool { return x.Field == e.Field }) {
			*errs = append(*errs, e)
		}
	}
	return true
}
