package fonts_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"

	"github.com/quire-print/quire/fonts"
)

// Names and phrases every face must draw: the languages of the people
// Quire writes to, with their hardest letters.
var coverage = []string{
	"Łucja Wróblewska-Żółć, Grzegorz Bąk, Ćwikła Ęź Ń",              // Polish
	"Antonín Dvořák, Řezníček Ďáblík Ťuk Ňůše Ěš",                   // Czech
	"Ștefan Țurcanu, Ștefania Țepeș, Ș ș Ț ț Ăă Ââ Îî",              // Romanian, comma below
	"İpek Şahin, Ağaoğlu, Işıl Çelik, Ğğ Öö Üü ı",                   // Turkish
	"Nguyễn Thị Ánh Tuyết, Trần Đức Hưng, ệ ộ ữ ặ ỹ ẫ Ỗ",            // Vietnamese, stacked marks
	"Siobhán Ní Bhriain, Órlaith Ó Súilleabháin, ḃ ċ ḋ ḟ ġ ṁ ṗ ṡ ṫ", // Irish
	"Ελένη Παπαδοπούλου, Ιωάννης Γεωργίου, ς ΐ ΰ Ώ",                 // Greek
	"Олена Шевченко, Анастасия Ёлкина, ї є ґ Ї Є Ґ",                 // Russian, Ukrainian
	"Ђорђе Џонић, Љубица Њего, ђ џ љ њ ћ ј",                         // Serbian
	"Zoë Brontë, Renée O’Connor-Smith – “Ann” … № ½ · ß Æ ø å",      // typography
	"Ḓ Ṋ ḉ Ḉ Å", // composites of composites in the sources
}

func TestEveryFaceCoversEveryName(t *testing.T) {
	for _, name := range fonts.Names() {
		f, err := fonts.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range coverage {
			if r, bad := f.Missing(s); bad {
				t.Errorf("%s cannot draw %q (%U) in %q", name, r, r, s)
			}
		}
	}
}

func TestShippedFaces(t *testing.T) {
	want := []string{fonts.SansBold, fonts.SansRegular, fonts.SerifBold, fonts.SerifRegular, fonts.Display}
	got := fonts.Names()
	if fmt.Sprint(got) != fmt.Sprint([]string{"NotoSans-Bold", "NotoSans-Regular", "NotoSerif-Bold", "NotoSerif-Regular", "NotoSerifDisplay-Medium"}) {
		t.Errorf("faces %v", got)
	}
	for _, n := range want {
		if _, err := fonts.Get(n); err != nil {
			t.Error(err)
		}
	}
	if _, err := fonts.Get("Comic-Sans"); err == nil {
		t.Error("an unknown face was found")
	}
}

func TestMissingFindsUndrawable(t *testing.T) {
	f, _ := fonts.Get(fonts.SerifRegular)
	for _, s := range []string{"Mei 美", "😀", "فاطمة", "नमस्ते"} {
		r, bad := f.Missing(s)
		if !bad {
			t.Errorf("%q: nothing missing", s)
		}
		if f.Has(r) {
			t.Errorf("%q: Missing returned %U, which the face has", s, r)
		}
	}
	if _, bad := f.Missing("Anna Smith"); bad {
		t.Error("plain Latin reported missing")
	}
}

func TestWidthIsTheSumOfAdvances(t *testing.T) {
	f, _ := fonts.Get(fonts.SansRegular)
	// Noto Sans: H and i are 0.741 and 0.258 em wide (units per em 1000).
	if a := f.Advance('H'); math.Abs(a-0.741) > 1e-9 {
		t.Errorf("advance of H = %v", a)
	}
	if w := f.Width("Hi", 10); math.Abs(w-(0.741+0.258)*10) > 1e-9 {
		t.Errorf("width of Hi at 10 pt = %v", w)
	}
	if f.Advance('美') != 0 || f.Width("美", 10) != 0 {
		t.Error("a missing character has width")
	}
	if f.Ascent() <= f.CapHeight() || f.CapHeight() <= f.XHeight() || f.XHeight() <= 0 || f.Descent() <= 0 {
		t.Errorf("implausible metrics: ascent %v cap %v x %v descent %v", f.Ascent(), f.CapHeight(), f.XHeight(), f.Descent())
	}
}

// TestNoCompositeGlyphs guards against PDF subsetters that lose the parts
// of composite glyphs: the build flattens every one.
func TestNoCompositeGlyphs(t *testing.T) {
	for _, name := range fonts.Names() {
		f, _ := fonts.Get(name)
		n, composites, err := countComposites(f.Data())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n < 1000 || composites != 0 {
			t.Errorf("%s: %d glyphs, %d composite", name, n, composites)
		}
	}
}

// countComposites reads the glyf table: a glyph whose numberOfContours is
// negative is a composite.
func countComposites(data []byte) (glyphs, composites int, err error) {
	tables := map[string][]byte{}
	num := int(binary.BigEndian.Uint16(data[4:]))
	for i := range num {
		rec := data[12+16*i:]
		off, length := binary.BigEndian.Uint32(rec[8:]), binary.BigEndian.Uint32(rec[12:])
		tables[string(rec[:4])] = data[off : off+length]
	}
	head, maxp, loca, glyf := tables["head"], tables["maxp"], tables["loca"], tables["glyf"]
	if head == nil || maxp == nil || loca == nil || glyf == nil {
		return 0, 0, fmt.Errorf("missing a table")
	}
	long := binary.BigEndian.Uint16(head[50:]) == 1
	glyphs = int(binary.BigEndian.Uint16(maxp[4:]))
	offset := func(i int) uint32 {
		if long {
			return binary.BigEndian.Uint32(loca[4*i:])
		}
		return 2 * uint32(binary.BigEndian.Uint16(loca[2*i:]))
	}
	for i := range glyphs {
		start, end := offset(i), offset(i+1)
		if end > start && int16(binary.BigEndian.Uint16(glyf[start:])) < 0 {
			composites++
		}
	}
	return glyphs, composites, nil
}

func BenchmarkWidth(b *testing.B) {
	f, _ := fonts.Get(fonts.SerifRegular)
	b.ReportAllocs()
	for b.Loop() {
		f.Width("Siobhán Ní Bhriain-Nguyễn Thị Ánh Tuyết", 15)
	}
}
