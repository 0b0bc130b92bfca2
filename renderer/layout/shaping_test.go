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

// A right-to-left value starts at the box's left edge like any other; on
// more than one line its lines share their right edge, where a
// right-to-left reader starts each line. Left-to-right lines share their
// left edge.
func TestRightToLeftValuesAlign(t *testing.T) {
	c := fullCertificate()
	c.ParentName = "محمد عبد الرحمن بن عبد العزيز آل سعود الهاشمي القرشي الحسيني العلوي الفاطمي المكي المدني"
	c.OtherParentName = "Maximilian Alexander Fitzgerald-Montgomery Wolstenholme-Beauchamp de la Tour d'Auvergne"
	c.BabyName = "نُور"
	d := layCertificate(t, c)

	rtl := fieldTexts(d, "certificates[0].parentName")
	if len(rtl) < 2 {
		t.Fatalf("want the right-to-left name on more than one line, got %d", len(rtl))
	}
	box := boxRect(t, d, 3)
	for _, l := range rtl {
		if right, first := l.X+l.Width, rtl[0].X+rtl[0].Width; right < first-1e-6 || right > first+1e-6 {
			t.Errorf("%q ends at %.2f, the first line at %.2f: the lines' starts do not line up", l.Text, right, first)
		}
		if !box.Contains(l.Bounds()) {
			t.Errorf("%q at %v leaves box 3 %v", l.Text, l.Bounds(), box)
		}
	}
	if last := rtl[len(rtl)-1]; last.X < rtl[0].X+1 {
		t.Errorf("the last line %q starts at %.2f, the box's left edge, not under the first line's start", last.Text, last.X)
	}

	ltr := fieldTexts(d, "certificates[0].otherParentName")
	if len(ltr) < 2 {
		t.Fatalf("want the left-to-right name on more than one line, got %d", len(ltr))
	}
	for _, l := range ltr[1:] {
		if l.X != ltr[0].X {
			t.Errorf("%q starts at %.2f, the first line at %.2f", l.Text, l.X, ltr[0].X)
		}
	}

	// One line: at the box's left edge, under the label, as "Noor" is.
	one := fieldTexts(d, "certificates[0].babyName")
	latin := fieldTexts(layCertificate(t, fullCertificate()), "certificates[0].babyName")
	if len(one) != 1 || len(latin) != 1 || one[0].X != latin[0].X {
		t.Errorf("a one-line right-to-left name starts at %+v, want %.2f as a Latin one", one, latin[0].X)
	}
}
