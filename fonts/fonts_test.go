package fonts_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/quire-print/quire/fonts"
)

// coverage holds names and phrases every face must draw: the languages of
// the people Quire writes to, with their hardest letters.
var coverage = map[string][]string{
	"Polish": {"Łucja Wróblewska-Żółć", "Grzegorz Bąk", "Ćwikła Ęź Ń Śliwiński"},
	"Czech":  {"Antonín Dvořák", "Řezníček Ďáblík Ťuk", "Ňůše Ěš Šťastná"},
	// Comma below (U+0218–U+021B), not the Turkish cedilla: both must print.
	"Romanian":   {"\u0218tefan \u021Aurcanu", "Ștefania Țepeș", "Ș ș Ț ț Ăă Ââ Îî"},
	"Turkish":    {"İpek Şahin", "Ağaoğlu", "Işıl Çelik", "İ ı Ğ ğ Ş ş Öö Üü"},
	"Vietnamese": {"Nguyễn Thị Ánh Tuyết", "Trần Đức Hưng", "ệ ộ ữ ặ ỹ ẫ Ỗ ử ậ ở"},
	"Irish":      {"Siobhán Ní Bhriain", "Órlaith Ó Súilleabháin", "ḃ ċ ḋ ḟ ġ ṁ ṗ ṡ ṫ Ḃ Ċ Ḋ Ḟ Ġ Ṁ Ṗ Ṡ Ṫ"},
	"Greek":      {"Ελένη Παπαδοπούλου", "Ιωάννης Γεωργίου", "Σοφία Οδυσσέας", "ς ΐ ΰ Ώ ά έ ή ί ό ύ ώ ϊ ϋ"},
	"Polytonic":  {"Ἀλέξανδρος", "ᾠδή ῥήτωρ"},
	"Russian":    {"Олена Шевченко", "Анастасия Ёлкина", "Щукин Эльвира Юрьевна"},
	"Ukrainian":  {"Ґанна Їжакевич", "Євгенія Іванівна", "ї є ґ і Ї Є Ґ І ʼ"},
	"Serbian":    {"Ђорђе Џонић", "Љубица Његош", "ђ џ љ њ ћ ј Ђ Џ Љ Њ Ћ Ј"},
	"Others":     {"Zoë Brontë", "Søren Ærø Åberg", "Jürgen Groß", "Ólafur Þórsson Ðorđe", "Aynur Məmmədova", "Ɛsi Ɔkomfo"},
	"Typography": {"Renée O’Connor-Smith", "‘Ann’ “Ann” – — … ‐ ‑", "№ 42 ℅ £5 €5 ₴ ₽ ₺ ₫", "½ · • ′ ″ ‹ › « »"},
	// The sources build these from composites of composites, which gopdf's
	// subsetter (v0.33.0) prints with parts missing unless flattened.
	"Nested": {"Ḉ ḉ Ḓ Ṋ Å ·"},
}

func TestEveryFaceDrawsEveryName(t *testing.T) {
	for _, name := range fonts.Names() {
		f, err := fonts.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		for lang, phrases := range coverage {
			for _, s := range phrases {
				if r, bad := f.Missing(s); bad {
					t.Errorf("%s cannot draw %q (%U) in %s %q", name, r, r, lang, s)
				}
			}
		}
	}
}

// TestEveryFaceCoversWholeBlocks checks whole Unicode blocks the sources
// cover completely, so that a narrower build cannot slip through.
func TestEveryFaceCoversWholeBlocks(t *testing.T) {
	blocks := []struct {
		name     string
		lo, hi   rune
		assigned func(rune) bool // nil: every code point in the block
	}{
		{"Basic Latin (printable)", 0x20, 0x7E, nil},
		{"Latin-1 Supplement (printable)", 0xA0, 0xFF, nil},
		{"Latin Extended-A", 0x100, 0x17F, nil},
		{"Latin Extended-B", 0x180, 0x24F, nil},
		{"IPA Extensions", 0x250, 0x2AF, nil},
		{"Spacing Modifier Letters", 0x2B0, 0x2FF, nil},
		{"Combining Diacritical Marks", 0x300, 0x36F, nil},
		{"Cyrillic", 0x400, 0x4FF, nil},
		{"Cyrillic Supplement", 0x500, 0x52F, nil},
		{"Latin Extended Additional", 0x1E00, 0x1EFF, nil},
		// Assigned Greek characters, without the block's Coptic letters
		// (U+03E2–U+03EF), which Noto Sans and Serif do not draw
		// (unicode.Greek leaves them out already, as they are Coptic script.)
		{"Greek", 0x370, 0x3FF, isGreek},
		{"Greek Extended", 0x1F00, 0x1FFF, isGreek},
	}
	for _, name := range fonts.Names() {
		f, _ := fonts.Get(name)
		for _, b := range blocks {
			var missing []string
			for r := b.lo; r <= b.hi; r++ {
				if (b.assigned == nil || b.assigned(r)) && !f.Has(r) {
					missing = append(missing, fmt.Sprintf("%U", r))
				}
			}
			if len(missing) > 0 {
				t.Errorf("%s lacks %d characters of %s: %s", name, len(missing), b.name, strings.Join(missing, " "))
			}
		}
	}
}

func TestNamesAndGet(t *testing.T) {
	want := []string{fonts.SansBold, fonts.SansRegular, fonts.SerifBold, fonts.SerifRegular, fonts.Display}
	got := fonts.Names()
	if !slices.Equal(got, want) || !slices.IsSorted(got) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	got[0] = "changed"
	if fonts.Names()[0] == "changed" {
		t.Error("Names returned shared storage")
	}
	for _, name := range want {
		f, err := fonts.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name() != name || len(f.Data()) == 0 || f.SFNT() == nil {
			t.Errorf("%s: Name %q, %d bytes, SFNT %v", name, f.Name(), len(f.Data()), f.SFNT())
		}
		if again, _ := fonts.Get(name); again != f {
			t.Errorf("%s was parsed twice", name)
		}
	}
	_, err := fonts.Get("Comic-Sans")
	if err == nil || !strings.Contains(err.Error(), `"Comic-Sans"`) {
		t.Errorf("Get of an unknown face: %v", err)
	}
}

func TestMissingFindsWhatTheFaceCannotDraw(t *testing.T) {
	f, _ := fonts.Get(fonts.SerifRegular)
	for _, tc := range []struct {
		s    string
		want rune
	}{
		{"Mei 美玲", '美'},
		{"Baby 😀", 0x1F600},
		{"فاطمة", 'ف'},
		{"नमस्ते", 'न'},
		{"Anna\nSmith", '\n'},
		{"Anna\rSmith", '\r'},
		{"Anna\x00", 0},
		{"Ann\xffa", 0xFFFD}, // invalid UTF-8
		{"Ⲁⲛⲛⲁ", 'Ⲁ'},        // Coptic is not shipped
	} {
		r, bad := f.Missing(tc.s)
		if !bad || r != tc.want {
			t.Errorf("Missing(%q) = %U, %v; want %U, true", tc.s, r, bad, tc.want)
		}
		if f.Has(r) || f.Advance(r) != 0 {
			t.Errorf("Missing(%q) returned %U, which the face has", tc.s, r)
		}
	}
	for _, s := range []string{"", "Anna Smith", " ", "\u00A0", "Ștefan Țurcanu"} {
		if r, bad := f.Missing(s); bad {
			t.Errorf("Missing(%q) = %U, true; want nothing missing", s, r)
		}
	}
}

func TestWidthIsTheSumOfAdvances(t *testing.T) {
	// Advances from the source fonts' hmtx tables (ttx -t hmtx), 1000
	// units per em.
	for _, tc := range []struct {
		face  string
		s     string
		units int
	}{
		{fonts.SansRegular, "Hi", 741 + 258},
		// Ș t e f a n space N í
		{fonts.SerifRegular, "Ștefan Ní", 544 + 352 + 535 + 369 + 563 + 645 + 260 + 763 + 320},
		// Ε λ έ ν η
		{fonts.SansBold, "Ελένη", 560 + 615 + 555 + 595 + 657},
	} {
		f, _ := fonts.Get(tc.face)
		for _, size := range []float64{1, 10, 11.5} {
			want := float64(tc.units) * size / 1000
			if got := f.Width(tc.s, size); math.Abs(got-want) > 1e-9 {
				t.Errorf("%s: Width(%q, %v) = %v, want %v", tc.face, tc.s, size, got, want)
			}
		}
		var sum float64
		for _, r := range tc.s {
			sum += f.Advance(r)
		}
		if want := float64(tc.units) / 1000; math.Abs(sum-want) > 1e-9 {
			t.Errorf("%s: advances of %q sum to %v em, want %v", tc.face, tc.s, sum, want)
		}
	}

	f, _ := fonts.Get(fonts.SansRegular)
	if f.Width("H美i", 10) != f.Width("Hi", 10) {
		t.Error("a missing character has width")
	}
	if f.Advance('\u0301') != 0 || !f.Has('\u0301') {
		t.Error("the combining acute should be drawable with no advance")
	}
}

func TestVerticalMetrics(t *testing.T) {
	for _, name := range fonts.Names() {
		f, _ := fonts.Get(name)
		// Noto: ascender 1069, descender -293, cap height 714, x-height
		// 536 to 546 units of 1000.
		if f.Ascent() != 1.069 || f.Descent() != 0.293 || f.CapHeight() != 0.714 ||
			f.XHeight() < 0.5 || f.XHeight() > 0.55 {
			t.Errorf("%s: ascent %v, descent %v, cap height %v, x-height %v",
				name, f.Ascent(), f.Descent(), f.CapHeight(), f.XHeight())
		}
	}
}

// TestMeasuringDoesNotAllocate guards the layout hot path.
func TestMeasuringDoesNotAllocate(t *testing.T) {
	f, _ := fonts.Get(fonts.SerifRegular)
	s := "Siobhán Ní Bhriain · Nguyễn Thị Ánh Tuyết · Ελένη · Олена 美"
	allocs := testing.AllocsPerRun(100, func() {
		f.Width(s, 12)
		f.Missing(s)
		f.Has('ệ')
		f.Advance('ệ')
	})
	if allocs != 0 {
		t.Errorf("measuring allocates %v times per run", allocs)
	}
}

func TestConcurrentUse(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		for _, name := range fonts.Names() {
			wg.Go(func() {
				f, err := fonts.Get(name)
				if err != nil {
					t.Error(err)
					return
				}
				if f.Width("Ștefan", 10) <= 0 {
					t.Errorf("%s: no width", name)
				}
			})
		}
	}
	wg.Wait()
}

func BenchmarkWidth(b *testing.B) {
	f, _ := fonts.Get(fonts.SerifRegular)
	s := "Siobhán Ní Bhriain-Nguyễn Thị Ánh Tuyết"
	b.ReportAllocs()
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		f.Width(s, 15)
	}
}

func ExampleFace_Width() {
	f, err := fonts.Get(fonts.Display)
	if err != nil {
		panic(err)
	}
	header := "Certificate of baby loss"
	if r, bad := f.Missing(header); bad {
		fmt.Printf("cannot print %U\n", r)
		return
	}
	fmt.Printf("%.2f pt\n", f.Width(header, 24))
	// Output: 261.89 pt
}

func isGreek(r rune) bool { return unicode.Is(unicode.Greek, r) }
