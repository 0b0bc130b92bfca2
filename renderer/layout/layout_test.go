package layout_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/quire-print/quire/renderer/display"
	"github.com/quire-print/quire/renderer/layout"
	"github.com/quire-print/quire/request"
	"github.com/quire-print/quire/templates"
)

func tmpl(t *testing.T, id string) *templates.Template {
	t.Helper()
	set, err := templates.Default()
	if err != nil {
		t.Fatal(err)
	}
	tp, err := set.Get(id, 0)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

func fullCertificate() request.Certificate {
	return request.Certificate{
		Reference:       "BLC-2026-000123",
		DateOfIssue:     "2026-11-21",
		ParentName:      "Aisha Rahman",
		OtherParentName: "Daniel Rahman",
		BabyName:        "Noor",
		Sex:             "female",
		DateOfLoss:      "2025-03-03",
		PlaceOfLoss:     "Canterbury, Kent",
	}
}

func blankCertificate() request.Certificate {
	return request.Certificate{Reference: "BLC-2026-000124", DateOfIssue: "2026-11-21", ParentName: "Aisha Rahman"}
}

func layCertificate(t *testing.T, c request.Certificate) *display.Document {
	t.Helper()
	d, err := layout.Certificate(tmpl(t, "baby-loss-certificate"), &c, "certificates[0]")
	if err != nil {
		t.Fatalf("layout: %v", err)
	}
	return d
}

func texts(d *display.Document) []*display.Text {
	var out []*display.Text
	for _, pg := range d.Pages {
		for _, it := range pg.Items {
			if t, ok := it.(*display.Text); ok {
				out = append(out, t)
			}
		}
	}
	return out
}

func fieldTexts(d *display.Document, field string) []*display.Text {
	var out []*display.Text
	for _, t := range texts(d) {
		if t.Field == field {
			out = append(out, t)
		}
	}
	return out
}

// boxRect finds the frame of the box whose label starts with "n. ".
func boxRect(t *testing.T, d *display.Document, n int) display.Rect {
	t.Helper()
	var label *display.Text
	for _, tx := range texts(d) {
		if strings.HasPrefix(tx.Text, fmt.Sprintf("%d. ", n)) {
			label = tx
		}
	}
	if label == nil {
		t.Fatalf("no label for box %d", n)
	}
	for _, it := range d.Pages[0].Items {
		if r, ok := it.(*display.Rect); ok && r.Bounds().Contains(label.Bounds()) && r.W < display.A4Width/2+200 && r.H < 100 {
			return r.Bounds()
		}
	}
	t.Fatalf("no frame around box %d", n)
	return display.Rect{}
}

func TestBlankOptionalBoxesAreTidy(t *testing.T) {
	full := layCertificate(t, fullCertificate())
	blank := layCertificate(t, blankCertificate())

	wantLabels := []string{
		"1. Certificate reference", "2. Date of issue", "3. Name and surname of parent",
		"4. Name and surname of any other parent", "5. Name of baby", "6. Sex",
		"7. Date of loss", "8. Place of loss",
	}
	for _, d := range []*display.Document{full, blank} {
		var labels []string
		for _, tx := range texts(d) {
			if tx.Field == "" && len(tx.Text) > 2 && tx.Text[0] >= '1' && tx.Text[0] <= '8' && tx.Text[1] == '.' {
				labels = append(labels, tx.Text)
			}
		}
		if !slices.Equal(labels, wantLabels) {
			t.Errorf("labels = %q, want %q", labels, wantLabels)
		}
	}
	for _, f := range []string{"otherParentName", "babyName", "sex", "dateOfLoss", "placeOfLoss"} {
		if got := fieldTexts(blank, "certificates[0]."+f); len(got) != 0 {
			t.Errorf("blank %s drew %q", f, got[0].Text)
		}
		if got := fieldTexts(full, "certificates[0]."+f); len(got) == 0 {
			t.Errorf("full %s drew nothing", f)
		}
	}
	// Nothing but field text differs: no neighbour shifts when a box is blank.
	strip := func(d *display.Document) []string {
		var out []string
		for _, it := range d.Pages[0].Items {
			if tx, ok := it.(*display.Text); ok && tx.Field != "" {
				continue
			}
			out = append(out, fmt.Sprintf("%T%+v", it, it))
		}
		return out
	}
	if a, b := strip(full), strip(blank); !slices.Equal(a, b) {
		t.Errorf("template items differ between full and blank certificates:\n%q\n%q", a, b)
	}
	for _, tx := range texts(blank) {
		for _, bad := range []string{"null", "N/A", "undefined", "<nil>", "0001-01-01", "January 1"} {
			if strings.Contains(tx.Text, bad) {
				t.Errorf("blank certificate shows %q", tx.Text)
			}
		}
		if strings.Trim(tx.Text, " ,.-/") == "" {
			t.Errorf("blank certificate shows stray punctuation %q", tx.Text)
		}
	}
}

func TestValuesSitInsideTheirBoxes(t *testing.T) {
	c := fullCertificate()
	c.ParentName = "Siobhán Ní Bhriain-Wróblewska Szczepańska-Nguyễn Thị Ánh Tuyết Papadopoulou"
	d := layCertificate(t, c)
	for n, f := range map[int]string{1: "reference", 2: "dateOfIssue", 3: "parentName", 4: "otherParentName", 5: "babyName", 6: "sex", 7: "dateOfLoss", 8: "placeOfLoss"} {
		box := boxRect(t, d, n)
		ts := fieldTexts(d, "certificates[0]."+f)
		if len(ts) == 0 {
			t.Errorf("box %d (%s) is empty", n, f)
		}
		for _, tx := range ts {
			if !box.Contains(tx.Bounds()) {
				t.Errorf("box %d (%s): text %v spills out of %v", n, f, tx.Bounds(), box)
			}
		}
	}
}

func TestLongNamesShrinkThenWrap(t *testing.T) {
	tp := tmpl(t, "baby-loss-certificate")
	style := tp.Formats["standard"]["value"]

	short := layCertificate(t, fullCertificate())
	if got := fieldTexts(short, "certificates[0].parentName"); len(got) != 1 || got[0].Size != style.Size {
		t.Fatalf("a short name should be one line at %g pt, got %+v", style.Size, got)
	}

	// A little too wide: one line, a little smaller (not below 0.9 of the
	// box's size, the sizing rule).
	c := fullCertificate()
	c.ParentName = "Alexandra Wilhelmina Fitzgerald-Montgomery Worthington-Blake"
	got := fieldTexts(layCertificate(t, c), "certificates[0].parentName")
	if len(got) != 1 || got[0].Size >= style.Size || got[0].Size < 0.9*style.Size {
		t.Errorf("a slightly long name should shrink onto one line between %g and %g pt, got %d lines at %g pt", 0.9*style.Size, style.Size, len(got), got[0].Size)
	}

	// Too wide for that: two lines at the box's own size, not one line
	// far smaller than the other names.
	c.ParentName = "Alexandra Wilhelmina Fitzgerald-Montgomery-Smythe Worthington-Blake"
	got = fieldTexts(layCertificate(t, c), "certificates[0].parentName")
	if len(got) != 2 || got[0].Size != style.Size || got[1].Size != style.Size {
		t.Errorf("a longer name should take two lines at %g pt, got %d lines at %g pt", style.Size, len(got), got[0].Size)
	}

	c.ParentName = strings.Repeat("Maximiliana ", 9) + "Featherstonehaugh"
	got = fieldTexts(layCertificate(t, c), "certificates[0].parentName")
	if len(got) != 2 {
		t.Fatalf("a very long name should wrap onto two lines, got %d", len(got))
	}
	if got[0].Size != got[1].Size || got[0].Size < style.MinSize {
		t.Errorf("wrapped lines should share one size ≥ %g pt, got %g and %g", style.MinSize, got[0].Size, got[1].Size)
	}
	if joined := got[0].Text + " " + got[1].Text; joined != c.ParentName {
		t.Errorf("wrapping changed the name: %q", joined)
	}
}

func TestTooLongIsAFieldErrorNotOverflow(t *testing.T) {
	c := fullCertificate()
	c.BabyName = strings.Repeat("Bartholomew ", 30)
	c.BabyName = strings.TrimSpace(c.BabyName)
	c.PlaceOfLoss = strings.Repeat("W", 200) // one unbreakable word
	_, err := layout.Certificate(tmpl(t, "baby-loss-certificate"), &c, "certificates[2]")
	var fe request.Errors
	if !errors.As(err, &fe) {
		t.Fatalf("want request.Errors, got %v", err)
	}
	fields := map[string]string{}
	for _, e := range fe {
		fields[e.Field] = e.Problem
	}
	// Each problem names its real cause, without repeating the value.
	for f, cause := range map[string]string{
		"certificates[2].babyName":    "too long to fit",
		"certificates[2].placeOfLoss": "has a word wider than box",
	} {
		p, ok := fields[f]
		if !ok {
			t.Errorf("no error for %s in %v", f, fe)
			continue
		}
		if !strings.Contains(p, cause) || strings.Contains(p, "Bartholomew") || strings.Contains(p, "WWW") {
			t.Errorf("%s: problem %q should say %q without repeating the value", f, p, cause)
		}
	}
}

func TestUndrawableCharacterIsNamed(t *testing.T) {
	c := fullCertificate()
	c.BabyName = "Mei ཀ"
	_, err := layout.Certificate(tmpl(t, "baby-loss-certificate"), &c, "")
	var fe request.Errors
	if !errors.As(err, &fe) || len(fe) != 1 || fe[0].Field != "babyName" || !strings.Contains(fe[0].Problem, "U+0F40") {
		t.Fatalf("want one error naming babyName and U+0F40, got %v", err)
	}
}

func TestPartialDatesReadNaturally(t *testing.T) {
	for in, want := range map[string]string{
		"2025-03-03": "3 March 2025",
		"2025-03":    "March 2025",
		"2025":       "2025",
		"2024-12-25": "25 December 2024",
	} {
		c := fullCertificate()
		c.DateOfLoss = in
		got := fieldTexts(layCertificate(t, c), "certificates[0].dateOfLoss")
		if len(got) != 1 || got[0].Text != want {
			t.Errorf("date of loss %s reads %+v, want %q", in, got, want)
		}
	}
	got := fieldTexts(layCertificate(t, fullCertificate()), "certificates[0].sex")
	if len(got) != 1 || got[0].Text != "Female" {
		t.Errorf("sex reads %+v, want Female", got)
	}
}

func envelope(certs ...request.Certificate) *request.Envelope {
	return &request.Envelope{
		SchemaVersion: 1,
		EnvelopeID:    "env-1",
		Recipient: request.Recipient{
			Name:    "Ms Aisha Rahman",
			Address: []string{"Flat 2", "14 Harbour Street", "Whitstable", "Kent", "CT5 1AB"},
		},
		Letter:       request.Letter{Format: request.FormatStandard},
		Certificates: certs,
	}
}

func layLetter(t *testing.T, env *request.Envelope) *display.Document {
	t.Helper()
	d, err := layout.Letter(tmpl(t, "carriage-letter"), env)
	if err != nil {
		t.Fatalf("layout: %v", err)
	}
	return d
}

// window is the envelope window of the carriage letter template.
func window(t *testing.T) (block, zone display.Rect) {
	a := tmpl(t, "carriage-letter").Address
	mm := display.MM
	return display.Rect{X: mm(a.X), Y: mm(a.Y), W: mm(a.W), H: mm(a.H)},
		display.Rect{X: mm(a.X - a.Clearance), Y: mm(a.Y - a.Clearance), W: mm(a.W + 2*a.Clearance), H: mm(a.H + 2*a.Clearance)}
}

func TestAddressBlockInTheWindowAndNothingElse(t *testing.T) {
	for _, lines := range [][]string{
		{"1 High Street", "CT1 1AA"},
		{"Flat 2", "14 Harbour Street", "Whitstable", "Kent", "CT5 1AB"},
		{"Flat 12b, Riverside Court", "Block C", "117 Gloucester Road", "Little Snoring", "Fakenham", "NR21 0AA"},
	} {
		env := envelope(fullCertificate())
		env.Recipient.Address = lines
		d := layLetter(t, env)
		block, zone := window(t)
		var got []string
		for _, it := range d.Pages[0].Items {
			tx, isText := it.(*display.Text)
			inZone := zone.Intersects(it.Bounds())
			isAddress := isText && strings.HasPrefix(tx.Field, "recipient.") && block.Contains(tx.Bounds())
			if isText && strings.HasPrefix(tx.Field, "recipient.") && tx.Y < zone.Y+zone.H && !block.Contains(tx.Bounds()) {
				t.Errorf("address line %q at %v is outside the window %v", tx.Text, tx.Bounds(), block)
			}
			if inZone && !isAddress {
				t.Errorf("%T %+v shows through the window", it, it)
			}
			if isAddress {
				got = append(got, tx.Text)
			}
		}
		want := append([]string{env.Recipient.Name}, lines...)
		if !slices.Equal(got, want) {
			t.Errorf("window shows %q, want %q", got, want)
		}
	}
}

func TestAddressTooLongForTheWindow(t *testing.T) {
	env := envelope(fullCertificate())
	env.Recipient.Address = []string{"THE OLD RECTORY AT SAINT MARYS LANE, UPPER SLAUGHTER, MORETON", "Cheltenham", "GL54 2JB"}
	_, err := layout.Letter(tmpl(t, "carriage-letter"), env)
	var fe request.Errors
	if !errors.As(err, &fe) || len(fe) != 1 || fe[0].Field != "recipient.address[0]" || !strings.Contains(fe[0].Problem, "envelope window") {
		t.Fatalf("want one error on recipient.address[0] about the window, got %v", err)
	}
}

func TestLetterWordingFollowsCertificateCount(t *testing.T) {
	one := strings.Join(textOf(layLetter(t, envelope(fullCertificate()))), " ")
	second := fullCertificate()
	second.Reference = "BLC-2026-000125"
	two := strings.Join(textOf(layLetter(t, envelope(fullCertificate(), second))), " ")
	for _, want := range []string{"Your certificate", "reference is BLC-2026-000123", "21 November 2026", "Dear Ms Aisha Rahman,"} {
		if !strings.Contains(one, want) {
			t.Errorf("one-certificate letter lacks %q", want)
		}
	}
	for _, want := range []string{"Your certificates", "the two", "BLC-2026-000123 and BLC-2026-000125"} {
		if !strings.Contains(two, want) {
			t.Errorf("two-certificate letter lacks %q", want)
		}
	}
	if strings.Contains(one, "certificates you asked") || strings.Contains(two, "the certificate you asked") {
		t.Error("letter mixes singular and plural wording")
	}
}

func textOf(d *display.Document) []string {
	var out []string
	for _, tx := range texts(d) {
		out = append(out, tx.Text)
	}
	return out
}

func TestLargePrintLetter(t *testing.T) {
	env := envelope(fullCertificate())
	env.Letter.Format = request.FormatLargePrint
	d := layLetter(t, env)
	if len(d.Pages) < 2 {
		t.Fatalf("large print letter has %d page(s), want at least 2", len(d.Pages))
	}
	for _, tx := range texts(d) {
		if tx.Field == "" && !strings.HasPrefix(tx.Text, "Page ") && tx.Size < 16 {
			t.Errorf("large print text %q is %g pt, want at least 16", tx.Text, tx.Size)
		}
	}
	for i, pg := range d.Pages {
		want := fmt.Sprintf("Page %d of %d", i+1, len(d.Pages))
		found := false
		for _, it := range pg.Items {
			if tx, ok := it.(*display.Text); ok && tx.Text == want {
				found = true
			}
		}
		if !found {
			t.Errorf("page %d lacks %q", i+1, want)
		}
	}
	// Standard print fits on one page, with no page number.
	std := layLetter(t, envelope(fullCertificate()))
	if len(std.Pages) != 1 || slices.ContainsFunc(textOf(std), func(s string) bool { return strings.HasPrefix(s, "Page ") }) {
		t.Errorf("standard letter: %d pages", len(std.Pages))
	}
}

func TestEverythingInsidePrintableArea(t *testing.T) {
	env := envelope(fullCertificate(), blankCertificate())
	env.Letter.Format = request.FormatLargePrint
	for _, d := range []*display.Document{layLetter(t, env), layCertificate(t, fullCertificate())} {
		tp := tmpl(t, d.TemplateID)
		m := tp.Margins
		area := display.Rect{X: display.MM(m.Left), Y: display.MM(m.Top), W: display.A4Width - display.MM(m.Left+m.Right), H: display.A4Height - display.MM(m.Top+m.Bottom)}
		for pi, pg := range d.Pages {
			for _, it := range pg.Items {
				if !area.Contains(it.Bounds()) {
					t.Errorf("%s page %d: %T %+v outside the printable area", d.TemplateID, pi+1, it, it)
				}
			}
		}
	}
}

func BenchmarkLayoutCertificate(b *testing.B) {
	set, _ := templates.Default()
	tp, _ := set.Get("baby-loss-certificate", 0)
	c := fullCertificate()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := layout.Certificate(tp, &c, "certificates[0]"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCodeAreaStaysClear keeps every page's 2D code square, drawn later by
// the batcher, free of anything layout draws.
func TestCodeAreaStaysClear(t *testing.T) {
	long := fullCertificate()
	long.PlaceOfLoss = strings.Repeat("Queen Elizabeth the Queen Mother Hospital, ", 2) + "Margate"
	env := envelope(long, blankCertificate())
	large := envelope(fullCertificate())
	large.Letter.Format = request.FormatLargePrint
	docs := []*display.Document{layCertificate(t, long), layLetter(t, env), layLetter(t, large)}
	for _, d := range docs {
		c := tmpl(t, d.TemplateID).Code
		sq := display.Rect{X: display.MM(c.X), Y: display.MM(c.Y), W: display.MM(c.Size), H: display.MM(c.Size)}
		for pi, pg := range d.Pages {
			for _, it := range pg.Items {
				if r, ok := it.(*display.Rect); ok && r.Bounds().Contains(sq) {
					continue // a frame around the whole page
				}
				if sq.Intersects(it.Bounds()) {
					t.Errorf("%s page %d: %T %+v is on the 2D code's square", d.TemplateID, pi+1, it, it)
				}
			}
		}
	}
}
