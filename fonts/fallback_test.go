package fonts_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/quire-print/quire/fonts"
)

// scriptNames are names and places in each script Quire prints besides
// Latin, Greek and Cyrillic, with the face of each style that must draw
// them.
var scriptNames = []struct {
	lang        string
	text        string
	serif, sans string // the family prefix of the face that must draw text
}{
	{"Arabic, with vowel marks", "فَاطِمَة الزَّهْرَاء", "NotoNaskhArabic", "NotoSansArabic"},
	{"Urdu", "عائشہ بی بی چودھری، لاہور", "NotoNaskhArabic", "NotoSansArabic"},
	{"Persian", "پرستو ژاله گلی", "NotoNaskhArabic", "NotoSansArabic"},
	{"Pashto", "ښکلا ځلمی ګل", "NotoNaskhArabic", "NotoSansArabic"},
	{"Hebrew", "נוֹעָה כֹּהֵן", "NotoSerifHebrew", "NotoSansHebrew"},
	{"Hindi", "अनन्या शर्मा", "NotoSerifDevanagari", "NotoSansDevanagari"},
	{"Bengali", "আয়েশা রহমান", "NotoSerifBengali", "NotoSansBengali"},
	{"Punjabi", "ਹਰਪ੍ਰੀਤ ਕੌਰ", "NotoSerifGurmukhi", "NotoSansGurmukhi"},
	{"Gujarati", "પ્રિયા પટેલ", "NotoSerifGujarati", "NotoSansGujarati"},
	{"Tamil", "கார்த்திகா சுப்பிரமணியம்", "NotoSerifTamil", "NotoSansTamil"},
	{"Telugu", "శ్రీనివాస్ రెడ్డి", "NotoSerifTelugu", "NotoSansTelugu"},
	{"Malayalam", "ലക്ഷ്മി നായർ", "NotoSerifMalayalam", "NotoSansMalayalam"},
	{"Sinhala", "නිමාලි පෙරේරා", "NotoSerifSinhala", "NotoSansSinhala"},
	{"Thai", "สมศรี ใจดี", "NotoSerifThai", "NotoSansThai"},
	{"Amharic", "ሰላም ተስፋዬ", "NotoSerifEthiopic", "NotoSansEthiopic"},
	{"Armenian", "Անահիտ Պետրոսյան", "NotoSerifArmenian", "NotoSansArmenian"},
	{"Georgian", "ნინო ბერიძე", "NotoSerifGeorgian", "NotoSansGeorgian"},
	{"Chinese, simplified", "王秀英 张伟 刘喆", "NotoSerifCJK", "NotoSansCJK"},
	{"Chinese, traditional", "陳美玲 黃志強 鄭麗華", "NotoSerifCJK", "NotoSansCJK"},
	{"Japanese", "さくら 山田花子 タナカ・ユウキ", "NotoSerifCJK", "NotoSansCJK"},
	{"Korean", "김민준 이서연 박지훈", "NotoSerifCJK", "NotoSansCJK"},
}

// TestFallbackDrawsEveryScript checks that each script's sample is drawn,
// letter by letter, by the script face of the right style.
func TestFallbackDrawsEveryScript(t *testing.T) {
	for _, primary := range fonts.Names() {
		chain, err := fonts.Fallback(primary)
		if err != nil {
			t.Fatal(err)
		}
		serif := !strings.HasPrefix(primary, "NotoSans-")
		for _, tc := range scriptNames {
			if r, bad := fonts.Uncovered(primary, tc.text); bad {
				t.Errorf("%s: no face draws %q (%U) of %s %q", primary, r, r, tc.lang, tc.text)
				continue
			}
			want := tc.sans
			if serif {
				want = tc.serif
			}
			for _, r := range tc.text {
				f := first(chain, r)
				if r == ' ' {
					continue // drawn by the primary face
				}
				if f == nil || !strings.HasPrefix(f.Name(), want+"-") {
					t.Errorf("%s: %q of %s is drawn by %v, want a %s face", primary, r, tc.lang, f, want)
					break
				}
			}
		}
	}
}

func first(chain []*fonts.Face, r rune) *fonts.Face {
	for _, f := range chain {
		if f.Has(r) {
			return f
		}
	}
	return nil
}

// TestFallbackOrder checks each style's list: the face named first, then
// script faces of the same style and, where there is one, weight.
func TestFallbackOrder(t *testing.T) {
	for _, tc := range []struct {
		primary string
		want    []string // faces that must follow the primary, in this order
	}{
		{fonts.SerifRegular, []string{"NotoNaskhArabic-Regular", "NotoSerifHebrew-Regular", "NotoSerifBengali-Regular", "NotoSerifCJK-Regular"}},
		{fonts.SerifBold, []string{"NotoNaskhArabic-Bold", "NotoSerifHebrew-Bold", "NotoSerifBengali-Bold", "NotoSerifCJK-Regular"}},
		{fonts.Display, []string{"NotoNaskhArabic-Regular", "NotoSerifBengali-Regular", "NotoSerifCJK-Regular"}},
		{fonts.SansRegular, []string{"NotoSansArabic-Regular", "NotoSansHebrew-Regular", "NotoSansBengali-Regular", "NotoSansCJK-Regular"}},
		{fonts.SansBold, []string{"NotoSansArabic-Bold", "NotoSansHebrew-Bold", "NotoSansBengali-Bold", "NotoSansCJK-Regular"}},
	} {
		chain, err := fonts.Fallback(tc.primary)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range chain {
			names = append(names, f.Name())
		}
		if names[0] != tc.primary {
			t.Errorf("Fallback(%s) starts with %s", tc.primary, names[0])
		}
		at := 0
		for _, w := range tc.want {
			i := slices.Index(names[at:], w)
			if i < 0 {
				t.Errorf("Fallback(%s) = %v: no %s after position %d", tc.primary, names, w, at)
				break
			}
			at += i + 1
		}
		if len(names) != 16 || len(slices.Compact(slices.Sorted(slices.Values(names)))) != 16 {
			t.Errorf("Fallback(%s) = %v, want the primary and 15 different script faces", tc.primary, names)
		}
		bold := strings.HasSuffix(tc.primary, "-Bold")
		for _, n := range names[1:] {
			if serif := !strings.HasPrefix(tc.primary, "NotoSans-"); serif == strings.HasPrefix(n, "NotoSans") {
				t.Errorf("Fallback(%s) has %s, of the other style", tc.primary, n)
			}
			if !strings.Contains(n, "CJK") && strings.HasSuffix(n, "-Bold") != bold {
				t.Errorf("Fallback(%s) has %s, of the other weight", tc.primary, n)
			}
		}

		again, _ := fonts.Fallback(tc.primary)
		if &again[0] == &chain[0] || again[1] != chain[1] {
			t.Errorf("Fallback(%s) shares its slice or parsed a face twice", tc.primary)
		}
	}

	// A script face falls back to nothing; an unknown face is an error.
	chain, err := fonts.Fallback("NotoSerifBengali-Regular")
	if err != nil || len(chain) != 1 || chain[0].Name() != "NotoSerifBengali-Regular" {
		t.Errorf("Fallback of a script face = %v, %v", chain, err)
	}
	if _, err := fonts.Fallback("Comic-Sans"); err == nil || !strings.Contains(err.Error(), `"Comic-Sans"`) {
		t.Errorf("Fallback of an unknown face: %v", err)
	}
}

// TestUncoveredScriptsAreNamed checks what no face draws: such text must be
// refused, naming its script.
func TestUncoveredScriptsAreNamed(t *testing.T) {
	for _, tc := range []struct {
		text   string
		want   rune
		script string
	}{
		{"Tenzin བསྟན་འཛིན", 'བ', "Tibetan"},
		{"Baby 😀", 0x1F600, "Common"},
		{"ᎣᏏᏲ", 'Ꭳ', "Cherokee"},
		{"ⴰⵣⵓⵍ", 'ⴰ', "Tifinagh"},
		{"Ⲁⲛⲛⲁ", 'Ⲁ', "Coptic"},
		{"𠀋", 0x2000B, "Han"}, // CJK Extension B: outside the sets kept
		{"Anna\nSmith", '\n', "Common"},
	} {
		for _, primary := range fonts.Names() {
			r, bad := fonts.Uncovered(primary, tc.text)
			if !bad || r != tc.want {
				t.Errorf("Uncovered(%s, %q) = %U, %v; want %U", primary, tc.text, r, bad, tc.want)
			}
			if fonts.Covers(primary, tc.want) {
				t.Errorf("Covers(%s, %U) is true", primary, tc.want)
			}
		}
		if got := fonts.Script(tc.want); got != tc.script {
			t.Errorf("Script(%U) = %q, want %q", tc.want, got, tc.script)
		}
	}
	if fonts.Covers("Comic-Sans", 'a') {
		t.Error("an unknown face covers a")
	}
	if got := fonts.Script(0x0378); got != "Unknown" {
		t.Errorf("Script of an unassigned code point = %q", got)
	}
	if got := fonts.Script('ব'); got != "Bengali" {
		t.Errorf("Script(ব) = %q", got)
	}
}

// TestFaceSizes keeps the shipped fonts from growing unnoticed: each size
// limit is about a third above what the build makes now (SOURCES.md).
func TestFaceSizes(t *testing.T) {
	total := 0
	for _, name := range fonts.All() {
		f, err := fonts.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		limit := 550_000
		if strings.Contains(name, "CJK") {
			limit = 8_000_000
		}
		if n := len(f.Data()); n > limit || n < 10_000 {
			t.Errorf("%s is %d bytes, want 10,000 to %d", name, n, limit)
		}
		total += len(f.Data())
	}
	if total > 30_000_000 {
		t.Errorf("the faces total %d bytes, want at most 30 MB", total)
	}
}

func TestEveryFaceLoads(t *testing.T) {
	all := fonts.All()
	if len(all) != 5+14*4+2 {
		t.Errorf("All() has %d faces: %v", len(all), all)
	}
	for _, name := range all {
		f, err := fonts.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name() != name || f.SFNT() == nil || f.Ascent() <= 0 || f.Descent() <= 0 {
			t.Errorf("%s: Name %q, SFNT %v, ascent %v, descent %v", name, f.Name(), f.SFNT(), f.Ascent(), f.Descent())
		}
		if _, bad := f.Missing(" "); bad {
			t.Errorf("%s has no space", name)
		}
	}
}

func BenchmarkCovers(b *testing.B) {
	s := "Nguyễn আয়েশা فَاطِمَة 王秀英"
	fonts.Uncovered(fonts.SerifRegular, s) // parse the faces first
	b.ReportAllocs()
	for b.Loop() {
		fonts.Uncovered(fonts.SerifRegular, s)
	}
}
