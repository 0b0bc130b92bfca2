// Package pdfbench measures the two PDF libraries the design card names,
// unpatched, on the same page: speed, allocation, determinism and whether
// nested composite glyphs survive subsetting. It is its own module so that
// Quire itself depends on neither library as published (Quire uses a
// patched gopdf: third_party/gopdf). Figures and the decision are in
// docs/pdf-library.md.
//
//	cd tools/pdfbench && go test -bench . -benchmem -cpu 1
package pdfbench

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	fpdf "codeberg.org/go-pdf/fpdf"
	"github.com/signintech/gopdf"
)

// Quire's shipped faces (fonts/), or the Debian originals with -orig.
var faces = map[string]string{
	"display": "NotoSerifDisplay-Medium.ttf",
	"serif":   "NotoSerif-Regular.ttf",
	"sans":    "NotoSans-Regular.ttf",
	"bold":    "NotoSans-Bold.ttf",
}

var order = []string{"bold", "display", "sans", "serif"}

func fontDir() string {
	if os.Getenv("PDFBENCH_ORIGINAL_FONTS") != "" {
		return "/usr/share/fonts/truetype/noto"
	}
	return "../../fonts"
}

func load(tb testing.TB) map[string][]byte {
	tb.Helper()
	out := map[string][]byte{}
	for k, f := range faces {
		b, err := os.ReadFile(filepath.Join(fontDir(), f))
		if err != nil {
			tb.Fatal(err)
		}
		out[k] = b
	}
	return out
}

// A certificate-like page: header, eight labels and values, a footer.
var lines = []struct {
	font string
	size float64
	text string
}{
	{"display", 30, "Certificate of baby loss"},
	{"serif", 15, "Under 24 weeks gestation"},
	{"sans", 9.5, "Issued on behalf of the Secretary of State for Health and Social Care"},
	{"bold", 9, "1. Certificate reference"}, {"serif", 15, "BLC-2025-000123"},
	{"bold", 9, "2. Date of issue"}, {"serif", 15, "21 November 2026"},
	{"bold", 9, "3. Name and surname of parent"}, {"serif", 15, "Siobhán Ní Bhriain-Nguyễn"},
	{"bold", 9, "4. Name and surname of any other parent"}, {"serif", 15, "Zofia Łukasiewicz"},
	{"bold", 9, "5. Name of baby"}, {"serif", 15, "Ελένη"},
	{"bold", 9, "6. Sex"}, {"serif", 15, "Female"},
	{"bold", 9, "7. Date of loss"}, {"serif", 15, "March 2025"},
	{"bold", 9, "8. Place of loss"}, {"serif", 15, "Canterbury, Kent"},
	{"sans", 8.5, "This certificate has been produced following a self-declaration by the parent."},
}

// nested holds characters whose glyphs, in Noto as Debian ships it, are
// composites of composites.
const nested = "Ḓ Ṋ ⅕ ḉ"

func gopdfDoc(tb testing.TB, fc *gopdf.FontContainer, text []struct {
	font string
	size float64
	text string
}) []byte {
	var pdf gopdf.GoPdf
	pdf.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4, Unit: gopdf.UnitPT})
	for _, k := range order {
		if err := pdf.AddTTFFontFromFontContainer(k, fc); err != nil {
			tb.Fatal(err)
		}
	}
	pdf.AddPage()
	y := 60.0
	for _, l := range text {
		pdf.SetFont(l.font, "", l.size)
		pdf.SetXY(50, y)
		pdf.Text(l.text)
		y += l.size * 1.6
	}
	var buf bytes.Buffer
	if _, err := pdf.WriteTo(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func fpdfDoc(tb testing.TB, data map[string][]byte, text []struct {
	font string
	size float64
	text string
}) []byte {
	pdf := fpdf.New("P", "pt", "A4", "")
	pdf.SetCreationDate(fixed)
	pdf.SetModificationDate(fixed)
	pdf.SetCatalogSort(true) // objects in a fixed order
	for _, k := range order {
		pdf.AddUTF8FontFromBytes(k, "", data[k])
	}
	pdf.AddPage()
	y := 60.0
	for _, l := range text {
		pdf.SetFont(l.font, "", l.size)
		pdf.Text(50, y, l.text)
		y += l.size * 1.6
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func container(tb testing.TB, data map[string][]byte) *gopdf.FontContainer {
	fc := &gopdf.FontContainer{}
	for _, k := range order {
		if err := fc.AddTTFFontData(k, data[k]); err != nil {
			tb.Fatal(err)
		}
	}
	return fc
}

func BenchmarkGopdfSharedFonts(b *testing.B) {
	data := load(b)
	fc := container(b, data)
	b.ReportAllocs()
	for b.Loop() {
		gopdfDoc(b, fc, lines)
	}
}

func BenchmarkFpdf(b *testing.B) {
	data := load(b)
	b.ReportAllocs()
	for b.Loop() {
		fpdfDoc(b, data, lines)
	}
}

// TestReport writes both libraries' output for the page and for the
// nested composites, says whether each is deterministic, and renders the
// composites with pdftoppm into out/ for a person to look at.
func TestReport(t *testing.T) {
	data := load(t)
	fc := container(t, data)
	g1, g2 := gopdfDoc(t, fc, lines), gopdfDoc(t, fc, lines)
	f1, f2 := fpdfDoc(t, data, lines), fpdfDoc(t, data, lines)
	t.Logf("gopdf: %d bytes, deterministic %v", len(g1), bytes.Equal(g1, g2))
	t.Logf("fpdf:  %d bytes, deterministic %v", len(f1), bytes.Equal(f1, f2))

	big := []struct {
		font string
		size float64
		text string
	}{{"sans", 40, nested}}
	os.MkdirAll("out", 0o755)
	for name, pdf := range map[string][]byte{"gopdf": gopdfDoc(t, container(t, data), big), "fpdf": fpdfDoc(t, data, big)} {
		path := filepath.Join("out", "nested-"+name+".pdf")
		os.WriteFile(path, pdf, 0o644)
		if out, err := exec.Command("pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-x", "0", "-y", "0", "-W", "420", "-H", "90", path, filepath.Join("out", "nested-"+name)).CombinedOutput(); err != nil {
			t.Errorf("pdftoppm: %v %s", err, out)
		}
	}
}
