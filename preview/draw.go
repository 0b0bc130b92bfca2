package preview

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"

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
const keyVersion = "preview/2"

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
		pg := &d.Pages[j.page-1]
		drawn := false
		if j.cert != nil {
			drawn, err = h.drawOverBase(&buf, pg, j.width)
		}
		if !drawn && err == nil {
			err = raster.WritePNG(&buf, pg, j.width)
		}
	default:
		err = fmt.Errorf("preview: no such format %q", j.format)
	}
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// drawOverBase draws a certificate page as its template's base, drawn
// once and kept, with the page's values drawn over it: most of the cost
// of a page image is the wording, frames and specimen mark every
// certificate of a template shares. It reports false, having written
// nothing, when the page cannot be drawn that way.
func (h *Handler) drawOverBase(buf *bytes.Buffer, pg *display.Page, width int) (bool, error) {
	shared, values, ok := splitValues(pg)
	if !ok {
		return false, nil
	}
	// Black, the colour values are printed in, always has a ramp, so a
	// blank certificate shares its base with filled-in ones.
	inks := []display.Color{display.Black}
	for _, v := range values {
		if c := v.(*display.Text).Color; !slices.Contains(inks, c) {
			inks = append(inks, c)
		}
	}
	k, err := h.baseKey(shared, inks, width)
	if err != nil {
		return false, err
	}
	base, _, err := h.bases.get(context.Background(), k, func() (*raster.Base, error) {
		return raster.NewBase(&display.Page{Width: pg.Width, Height: pg.Height, Items: shared}, width, inks...)
	})
	if err != nil || base == nil {
		return false, err
	}
	return true, base.WritePNG(buf, values)
}

// splitValues divides a page into the items every certificate of its
// template shares and the text of the values it was filled in with. ok
// is false when something shared is drawn after a value and overlaps it,
// since drawing the values last would then change the page; layout keeps
// values clear of everything but their box, which comes before them.
func splitValues(pg *display.Page) (shared, values []display.Item, ok bool) {
	isValue := func(it display.Item) bool {
		t, ok := it.(*display.Text)
		return ok && t.Field != ""
	}
	for i, it := range pg.Items {
		if !isValue(it) {
			shared = append(shared, it)
			continue
		}
		b := it.Bounds()
		b = display.Rect{X: b.X - 1, Y: b.Y - 1, W: b.W + 2, H: b.H + 2}
		for _, later := range pg.Items[i+1:] {
			if !isValue(later) && later.Bounds().Intersects(b) {
				return nil, nil, false
			}
		}
		values = append(values, it)
	}
	return shared, values, true
}

// baseKey identifies a base by exactly what is drawn on it: the shared
// items, encoded in full, the colours that will be drawn over it, and its
// width. Two templates, or two versions, that draw the same get the same
// base; a page whose shared items differ gets its own.
func (h *Handler) baseKey(shared []display.Item, inks []display.Color, width int) (key, error) {
	s := sha256.New()
	fmt.Fprintf(s, "base\x00%s\x00%d\x00", h.salt, width)
	enc := json.NewEncoder(s)
	for _, it := range shared {
		fmt.Fprintf(s, "%T", it)
		if err := enc.Encode(it); err != nil {
			return key{}, err
		}
	}
	if err := enc.Encode(inks); err != nil {
		return key{}, err
	}
	var k key
	s.Sum(k[:0])
	return k, nil
}
