package fonts

import (
	"testing"
)

func TestPlaceMarks(t *testing.T) {
	f, err := Get(SerifRegular)
	if err != nil {
		t.Fatal(err)
	}
	one := func(s string) MarkShift {
		t.Helper()
		m := f.PlaceMarks(s)
		if len(m) != 1 {
			t.Fatalf("%+q: %d marks moved, want 1", s, len(m))
		}
		return m[0]
	}

	grave := one("E\u0300")
	if grave.At != 1 {
		t.Errorf("E + grave: the mark is at byte %d, want 1", grave.At)
	}
	// A capital's accent goes above it: raised by about the difference
	// between capital and lower-case height.
	if lift := f.CapHeight() - f.XHeight(); grave.DY < lift-0.05 || grave.DY > lift+0.05 {
		t.Errorf("E + grave: raised %.3f em, want about %.3f", grave.DY, lift)
	}
	if low := f.PlaceMarks("e\u0300"); len(low) == 1 && low[0].DY > 0.05 {
		t.Errorf("e + grave: raised %.3f em, want a lower-case accent to stay about where it is", low[0].DY)
	}

	// Yoruba Ẹ̀: the dot below does not lift the grave, which still sits
	// on the E.
	yoruba := f.PlaceMarks("Ẹ\u0300")
	if len(yoruba) != 1 || yoruba[0].DY != grave.DY || yoruba[0].At != len("Ẹ") {
		t.Errorf("Ẹ + grave: %+v, want the grave raised as on E (%+v)", yoruba, grave)
	}
	below := f.PlaceMarks("E\u0323\u0300")
	if len(below) != 2 || below[1].DY != grave.DY || below[0].DY != 0 {
		t.Errorf("E + dot below + grave: %+v, want the dot centred at its height and the grave as on E", below)
	}

	// Two marks above stack: the second goes on the first (mkmk).
	stack := f.PlaceMarks("E\u0301\u0300")
	if len(stack) != 2 || stack[1].DY < stack[0].DY+0.1 {
		t.Errorf("E + acute + grave: %+v, want the grave well above the acute", stack)
	}

	for _, s := range []string{"", "Emily", "Èmílọ", "Ẹ̀"[:len("Ẹ")], "Nguyễn"} {
		if m := f.PlaceMarks(s); m != nil {
			t.Errorf("%+q has no combining mark, but PlaceMarks gave %+v", s, m)
		}
	}
	// A mark with nothing before it stays where it is.
	if m := f.PlaceMarks("\u0300a"); m != nil {
		t.Errorf("a leading mark was moved: %+v", m)
	}
	if n := testing.AllocsPerRun(100, func() { f.PlaceMarks("Ọláolúwa Adéṣọlá") }); n != 0 {
		t.Errorf("PlaceMarks allocates %v times for text with no combining mark", n)
	}
}

func TestEveryFaceHasMarkAttachment(t *testing.T) {
	for _, name := range Names() {
		f, err := Get(name)
		if err != nil {
			t.Fatal(err)
		}
		a := f.attach
		if a == nil || len(a.marks) < 100 || len(a.bases) < 1000 || len(a.mkmk) == 0 {
			t.Errorf("%s: attachment data looks thin: %d marks, %d base anchors, %d mark-to-mark lookups",
				name, len(a.marks), len(a.bases), len(a.mkmk))
			continue
		}
		for r := range a.marks {
			if !isMark(r) || !f.Has(r) {
				t.Errorf("%s: %U has a mark anchor but is not a mark the face draws", name, r)
			}
		}
	}
}

func TestReadAttachmentRefusesGarbage(t *testing.T) {
	for _, bad := range []string{"mark 0300 1 2", "base XYZ 1 2 3", "mkmk 1 filter 0300", "glyph 0041", "mkmk 0 mark1 0300 1"} {
		if _, err := readAttachment([]byte(bad + "\n")); err == nil {
			t.Errorf("%q was read without error", bad)
		}
	}
}
