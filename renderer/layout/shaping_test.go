package layout_test

import (
	"strings"
	"testing"

	"github.com/quire-print/quire/renderer/shape/shapetest"
)

func TestPostcodeStaysOnOneLine(t *testing.T) {
	c := fullCertificate()
	// Wraps, and the natural break would fall between SE1 and 7EH.
	c.PlaceOfLoss = "St Thomas' Hospital Maternity Unit, Lambeth, London SE1 7EH, England"
	got := fieldTexts(layCertificate(t, c), "certificates[0].placeOfLoss")
	if len(got) < 2 {
		t.Fatalf("want the place on more than one line, got %d", len(got))
	}
	for _, l := range got {
		if strings.HasSuffix(l.Text, "SE1") || strings.HasPrefix(l.Text, "7EH") {
			t.Errorf("a line breaks inside the postcode: %q", l.Text)
		}
	}
}

func TestIdeographsBreakWhereTheNameIsTooWide(t *testing.T) {
	shapetest.Install(t)
	c := fullCertificate()
	c.PlaceOfLoss = strings.Repeat("北京市朝阳区", 8) // no spaces: only ideograph breaks
	got := fieldTexts(layCertificate(t, c), "certificates[0].placeOfLoss")
	if len(got) != 2 {
		t.Fatalf("want two lines, got %d", len(got))
	}
	if got[0].Text+got[1].Text != c.PlaceOfLoss {
		t.Errorf("the lines %q and %q do not make the place", got[0].Text, got[1].Text)
	}
}

func TestMarksStayInsideTheBox(t *testing.T) {
	for _, name := range []string{
		"\u0301Ada", // a leading mark, with no letter to sit on
		"A\u0301\u0301\u0301\u0301\u0301 Ȁ\u0301\u0301\u0301", // marks stacked high
		"Ẹ̣̣̣\u0323\u0323 Noor",                               // and low
	} {
		c := fullCertificate()
		c.BabyName = name
		d := layCertificate(t, c)
		box := boxRect(t, d, 5)
		for _, tx := range fieldTexts(d, "certificates[0].babyName") {
			if !box.Contains(tx.Bounds()) {
				t.Errorf("%+q: the line's ink %v leaves box 5 %v", name, tx.Bounds(), box)
			}
			if tx.X <= box.X {
				t.Errorf("%+q: the line starts at %.1f, on or before the box's edge %.1f", name, tx.X, box.X)
			}
		}
	}
}
