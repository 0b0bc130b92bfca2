package preview

import (
	"bytes"
	"testing"

	"github.com/quire-print/quire/renderer/display"
	"github.com/quire-print/quire/renderer/raster"
	"github.com/quire-print/quire/request"
	"github.com/quire-print/quire/templates"
)

// layoutSample lays out template t with the made-up details.
func layoutSample(t *testing.T, r Renderer, tmpl *templates.Template, format string) *display.Document {
	t.Helper()
	var d *display.Document
	var err error
	if tmpl.Kind == templates.KindCertificate {
		d, err = r.LayoutCertificate(sampleCertificate(tmpl.Ref()))
	} else {
		d, err = r.LayoutLetter(sampleEnvelope(tmpl.Ref(), tmpl.Language, format))
	}
	if err != nil {
		t.Fatalf("%s: %v", tmpl.Ref(), err)
	}
	return d
}

// TestSpecimenMarkIsClearOfEveryTemplate checks, for every version of
// every template and format, that the banners land in empty space inside
// the printable area, and that the watermark is drawn before (beneath)
// everything else. A new template version that puts something where the
// mark goes fails here, before a parent sees a banner over a box.
func TestSpecimenMarkIsClearOfEveryTemplate(t *testing.T) {
	r := realRenderer(t)
	for _, tmpl := range r.Templates().All() {
		for format := range tmpl.Formats {
			t.Run(tmpl.Ref()+"/"+format, func(t *testing.T) {
				d := layoutSample(t, r, tmpl, format)
				before := make([][]display.Item, len(d.Pages))
				for i, pg := range d.Pages {
					before[i] = pg.Items
				}
				if err := markSpecimen(d); err != nil {
					t.Fatal(err)
				}
				p := placements[tmpl.Kind]
				words := specimenWords(tmpl.Kind, tmpl.Language)
				if d.Title != words {
					t.Errorf("title %q, want %q", d.Title, words)
				}
				water := marksFor(tmpl.Language).watermark
				m := tmpl.Margins
				printable := display.Rect{X: display.MM(m.Left), Y: display.MM(m.Top),
					W: display.A4Width - display.MM(m.Left+m.Right), H: display.A4Height - display.MM(m.Top+m.Bottom)}
				for i, pg := range d.Pages {
					n := len(p.watermark)
					if len(pg.Items) != n+len(before[i])+len(p.banners) {
						t.Fatalf("page %d: %d items, want %d", i+1, len(pg.Items), n+len(before[i])+len(p.banners))
					}
					for row, it := range pg.Items[:n] {
						if tx, ok := it.(*display.Text); !ok || tx.Text != water[row%len(water)] || !printable.Contains(tx.Bounds()) {
							t.Errorf("page %d: drawn first %#v, want the watermark inside the printable area", i+1, it)
						}
					}
					for _, it := range pg.Items[n+len(before[i]):] {
						banner, ok := it.(*display.Text)
						if !ok || banner.Text != words {
							t.Fatalf("page %d: drawn last %#v, want the banner", i+1, it)
						}
						b := banner.Bounds()
						if !printable.Contains(b) {
							t.Errorf("page %d: the banner at %.0f pt lies outside the printable area", i+1, banner.Y)
						}
						if c := tmpl.Code; c != nil {
							code := display.Rect{X: display.MM(c.X), Y: display.MM(c.Y), W: display.MM(c.Size), H: display.MM(c.Size)}
							if b.Intersects(code) {
								t.Errorf("page %d: the banner at %.0f pt covers the 2D code's square", i+1, banner.Y)
							}
						}
						for _, under := range before[i] {
							if overlaps(b, under) {
								t.Errorf("page %d: the banner at %.0f pt overlaps %#v", i+1, banner.Y, under)
							}
						}
					}
				}
			})
		}
	}
}

// overlaps reports whether a banner would hide any of item. A frame that
// the banner sits wholly inside (the certificate's border) does not count,
// unless it is small enough to be a box.
func overlaps(banner display.Rect, item display.Item) bool {
	b := item.Bounds()
	if !banner.Intersects(b) {
		return false
	}
	if r, ok := item.(*display.Rect); ok && r.Fill == nil && b.Contains(banner) {
		return b.W*b.H < display.A4Width*display.A4Height/2
	}
	return true
}

func TestSpecimenMarkRefusesAnUnknownKind(t *testing.T) {
	if err := markSpecimen(&display.Document{Kind: "poster"}); err == nil {
		t.Error("marked a kind of document it has no place for")
	}
}

// TestCertificateImagesAreDrawnOverABase: a certificate's image is its
// template's base with the values drawn over it, the base made once, and
// it looks as the whole page drawn at once does.
func TestCertificateImagesAreDrawnOverABase(t *testing.T) {
	s := newTestServer(t, Options{})
	r := realRenderer(t)
	for i, body := range []string{robin, `{"otherParentName":"Wróblewska-Szczepańska Łucja","dateOfLoss":"2024-03-27"}`, `{}`} {
		w := s.postJSON("/api/v1/preview/certificate.png", body)
		wantStatus(t, w, 200)
		got := decodePNG(t, w.Body.Bytes())

		c, err := request.DecodeCertificate([]byte(body), request.CertificateOptions{Preview: true})
		if err != nil {
			t.Fatal(err)
		}
		d, err := r.LayoutCertificate(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := markSpecimen(d); err != nil {
			t.Fatal(err)
		}
		if _, _, ok := splitValues(&d.Pages[0]); !ok {
			t.Fatalf("%s: the values cannot be drawn last", body)
		}
		var whole bytes.Buffer
		if err := raster.WritePNG(&whole, &d.Pages[0], DefaultWidth); err != nil {
			t.Fatal(err)
		}
		want := decodePNG(t, whole.Bytes())
		if got.Bounds() != want.Bounds() {
			t.Fatalf("%s: %v, want %v", body, got.Bounds(), want.Bounds())
		}
		off := 0
		for y := range want.Bounds().Dy() {
			for x := range want.Bounds().Dx() {
				r1, g1, b1, _ := got.At(x, y).RGBA()
				r2, g2, b2, _ := want.At(x, y).RGBA()
				// The palettes may ramp different inks (a blank page
				// has no black), and so round differently, most where
				// the edges of two inks meet.
				if far(r1, r2) || far(g1, g2) || far(b1, b2) {
					off++
				}
			}
		}
		if off > 50 {
			t.Errorf("%s: %d pixels differ by more than 12 from the page drawn whole", body, off)
		}
		if st := s.h.bases.stats(); st.Misses != 1 || st.Hits != uint64(i) {
			t.Errorf("after %d previews the bases were made %d times and reused %d times, want once and %d", i+1, st.Misses, st.Hits, i)
		}
	}
}

func far(a, b uint32) bool {
	d := int(a>>8) - int(b>>8)
	return d > 12 || d < -12
}
