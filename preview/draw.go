package preview

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/quire-print/quire/renderer/display"
	"github.com/quire-print/quire/renderer/raster"
	"github.com/quire-print/quire/request"
	"github.com/quire-print/quire/templates"
)

// format is what a preview is drawn as.
type format string

const (
	formatPDF  format = "pdf"
	formatPNG  format = "png"
	formatText format = "json" // the text alternative
)

// job is one preview to make: a certificate or a letter, laid out with
// template t and drawn as format.
type job struct {
	t      *templates.Template
	cert   *request.Certificate // for a certificate; its Template is t.Ref()
	env    *request.Envelope    // for a letter; its Letter.Template is t.Ref()
	format format
	width  int // PNG only
	page   int // PNG only, counted from 1
}

// keyVersion changes whenever the same job would come out differently
// for a reason no template version or build records: bump it when the
// specimen mark or the text alternative changes.
const keyVersion = "preview/1"

// buildSalt identifies the build, so that a release that draws
// differently gives different ETags. Builds without version control
// information (go build -buildvcs=false) rely on keyVersion and the
// template digests alone.
func buildSalt() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return keyVersion
	}
	salt := keyVersion + " " + info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
			salt += " " + s.Value
		}
	}
	return salt
}

// key is the SHA-256 of everything that decides the preview's bytes: the
// build, the template's exact version and file digest, the output format
// and size, and the normalised input encoded canonically (encoding/json
// writes struct fields in order). Requests that differ only in spacing,
// key order or letter case normalise to the same input and share a key.
func (h *Handler) key(j job) key {
	s := sha256.New()
	fmt.Fprintf(s, "%s\x00%s\x00%s\x00%s\x00%d\x00%d\x00", h.salt, j.t.Ref(), j.t.Digest, j.format, j.width, j.page)
	enc := json.NewEncoder(s)
	var err error
	if j.cert != nil {
		err = enc.Encode(j.cert)
	} else {
		err = enc.Encode(j.env)
	}
	if err != nil {
		// The request types hold only strings, ints and slices of them.
		panic("preview: cannot encode a preview's input: " + err.Error())
	}
	var k key
	s.Sum(k[:0])
	return k
}

// get returns the preview for j from the cache, or draws it, waiting for a
// render slot. Text alternatives take no slot: they are only laid out.
func (h *Handler) get(ctx context.Context, j job) ([]byte, outcome, error) {
	return h.cache.get(ctx, h.key(j), func() ([]byte, error) {
		if j.format != formatText {
			if err := h.limit.acquire(ctx); err != nil {
				if errors.Is(err, errBusy) {
					return nil, err
				}
				return nil, errAbandoned
			}
			defer h.limit.release()
		}
		return h.draw(j)
	})
}

// badPage reports a page number beyond the document; it is the caller's
// mistake, like a width out of range.
type badPage struct{ pages int }

func (e badPage) Error() string {
	return fmt.Sprintf("must be a page number from 1 to %d", e.pages)
}

// draw lays out j's document, marks it as a specimen and draws it. Field
// problems found while laying out come back as request.Errors.
func (h *Handler) draw(j job) ([]byte, error) {
	var d *display.Document
	var err error
	if j.cert != nil {
		d, err = h.r.LayoutCertificate(j.cert)
	} else {
		d, err = h.r.LayoutLetter(j.env)
	}
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	switch j.format {
	case formatText:
		var alt *TextAlternative
		if j.cert != nil {
			if alt, err = certificateText(j.t, j.cert); err != nil {
				return nil, err
			}
		} else {
			alt = letterText(j.t, d)
		}
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		if err := enc.Encode(alt); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	if err := markSpecimen(d); err != nil {
		return nil, err
	}
	switch j.format {
	case formatPDF:
		err = h.r.WritePDF(&buf, d)
	case formatPNG:
		if j.page < 1 || j.page > len(d.Pages) {
			return nil, badPage{len(d.Pages)}
		}
		err = raster.WritePNG(&buf, &d.Pages[j.page-1], j.width)
	default:
		err = fmt.Errorf("preview: no such format %q", j.format)
	}
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
