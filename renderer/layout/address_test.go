package layout_test

import (
	"errors"
	"image"
	"strings"
	"testing"

	"github.com/quire-print/quire/renderer/display"
	"github.com/quire-print/quire/renderer/layout"
	"github.com/quire-print/quire/renderer/raster"
	"github.com/quire-print/quire/request"
)

// addressLines returns the letter's address lines, top to bottom.
func addressLines(d *display.Document) []*display.Text {
	var out []*display.Text
	for _, tx := range texts(d) {
		if strings.HasPrefix(tx.Field, "recipient.") && tx.Y < display.MM(80) {
			out = append(out, tx)
		}
	}
	return out
}

// inked draws one line alone at 300 dpi and returns, for the pixels of
// area, which it covers more than half.
func inked(t *testing.T, tx *display.Text, area display.Rect) []bool {
	t.Helper()
	const width = 2480 // A4 at 300 dpi
	img, err := raster.Draw(&display.Page{Width: display.A4Width, Height: display.A4Height, Items: []display.Item{tx}}, width)
	if err != nil {
		t.Fatal(err)
	}
	scale := width / display.A4Width
	r := image.Rect(int(area.X*scale), int(area.Y*scale), int((area.X+area.W)*scale)+1, int((area.Y+area.H)*scale)+1).Intersect(img.Bounds())
	out := make([]bool, 0, r.Dx()*r.Dy())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			out = append(out, img.Pix[img.PixOffset(x, y)] < 0x80)
		}
	}
	return out
}

// touching counts the pixels both lines cover more than half, each
// drawn alone so that neither hides the other's ink.
func touching(t *testing.T, a, b *display.Text) int {
	t.Helper()
	_, zone := window(t)
	pa, pb := inked(t, a, zone), inked(t, b, zone)
	n := 0
	for i := range pa {
		if pa[i] && pb[i] {
			n++
		}
	}
	return n
}

// TestAddressLinesInkApart sets addresses whose lines have tall marks and
// letters under lines with descenders, side by side, and checks every
// pair of neighbouring lines on the drawn page: no pixel of one line's
// ink touches the next's. The control moves the lower line back to the
// template's leading, where the ink would meet.
func TestAddressLinesInkApart(t *testing.T) {
	cases := []struct {
		name  string
		lines []string
		clash bool // ink meets at the template's leading
		// keep: the lines must keep the template's leading. Glyph boxes
		// are coarser than outlines, so elsewhere lines may part a little
		// more than the pixels show they need.
		keep bool
	}{
		{"stacked marks under descenders", []string{"Flat 9, Gypsy Quay", "A\u0301\u0302\u0301 Ȁ\u0301\u0301 Ŵ\u0302\u0301 Road", "Kent", "CT5 1AB"}, true, false},
		{"marks below over caps", []string{"Ṇ\u0323\u0323 Ẹ\u0323\u0323 Ọ\u0323\u0323 Lane", "Éÿ ÂÊÎ Mill", "CT5 1AB"}, true, false},
		{"Welsh, ink not side by side", []string{"Tŷ Ûna", "Ffordd yr Ŵyn", "Aberystwyth", "SY23 1AA"}, false, true},
		{"Arabic with marks", []string{"شَارِع ٱلْمَلِكَة", "مُحَمَّد عَبْدُ ٱللَّٰه", "London", "E1 6AN"}, false, false},
		{"Devanagari and Bengali", []string{"श्रीमती प्रियंका शर्मा", "क्षत्रिय कृष्णू भवन", "আয়েশা রহমান", "Leicester", "LE1 1AA"}, false, false},
	}
	for _, c := range cases {
		env := envelope(fullCertificate())
		env.Recipient.Name = "Mr Ŵyn Prŷs"
		env.Recipient.Address = c.lines
		d := layLetter(t, env)
		got := addressLines(d)
		if len(got) != len(c.lines)+1 {
			t.Fatalf("%s: %d address lines, want %d", c.name, len(got), len(c.lines)+1)
		}
		block, _ := window(t)
		clashed := false
		for i := 1; i < len(got); i++ {
			if !block.Contains(got[i].Bounds()) {
				t.Errorf("%s: %q at %v leaves the window %v", c.name, got[i].Text, got[i].Bounds(), block)
			}
			if n := touching(t, got[i-1], got[i]); n > 0 {
				t.Errorf("%s: %q touches %q in %d pixels", c.name, got[i-1].Text, got[i].Text, n)
			}
			// The control: at the template's leading (1.18 em), would they touch?
			moved := *got[i]
			moved.Y = got[i-1].Y + 1.18*got[i].Size
			if touching(t, got[i-1], &moved) > 0 {
				clashed = true
				if got[i].Y-got[i-1].Y <= 1.18*got[i].Size+1e-6 {
					t.Errorf("%s: %q keeps the template's leading under %q, where their ink meets", c.name, got[i].Text, got[i-1].Text)
				}
			} else if d := got[i].Y - got[i-1].Y - 1.18*got[i].Size; c.keep && d > 1e-6 {
				t.Errorf("%s: %q is %.2f pt further from %q than the template's leading, though their ink would not meet", c.name, got[i].Text, d, got[i-1].Text)
			}
		}
		if clashed != c.clash {
			t.Errorf("%s: ink meets at the template's leading: %v, want %v (the case no longer tests what it says)", c.name, clashed, c.clash)
		}
	}
}

// A line whose marks stand too tall to part from the line above within
// the window is refused, by name, rather than printed touching it.
func TestAddressLineTooTallIsNamed(t *testing.T) {
	env := envelope(fullCertificate())
	// Six lines and the name fill the window at the smallest size; four
	// marks on a capital (as many as validation allows) under the tail of
	// the Q above need more room than is left.
	env.Recipient.Address = []string{"Flat 2", "Quay Street", "W\u0302\u0301\u0302\u0301 Road", "Little Snoring", "Fakenham", "NR21 0AA"}
	_, err := layout.Letter(tmpl(t, "carriage-letter"), env)
	var fe request.Errors
	if !errors.As(err, &fe) || len(fe) != 1 || fe[0].Field != "recipient.address[2]" || !strings.Contains(fe[0].Problem, "envelope window") {
		t.Fatalf("want one error on recipient.address[2] about the window, got %v", err)
	}
}

// Marks stacked below a line are its own fault, not the next line's.
func TestAddressLineWithMarksBelowIsNamed(t *testing.T) {
	env := envelope(fullCertificate())
	env.Recipient.Address = []string{"Flat 2", "Ẹ\u0323\u0323\u0323 Road", "Ÿ\u0308 Quay", "Little Snoring", "Fakenham", "NR21 0AA"}
	_, err := layout.Letter(tmpl(t, "carriage-letter"), env)
	var fe request.Errors
	if !errors.As(err, &fe) || len(fe) != 1 || fe[0].Field != "recipient.address[1]" || !strings.Contains(fe[0].Problem, "envelope window") {
		t.Fatalf("want one error on recipient.address[1] about the window, got %v", err)
	}
}
