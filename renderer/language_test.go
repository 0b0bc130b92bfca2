package renderer_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quire-print/quire/internal/pdftest"
	"github.com/quire-print/quire/renderer"
	"github.com/quire-print/quire/request"
)

// pdfText renders env and returns each document's text as pdftotext
// reads it, by document name.
func pdfText(t *testing.T, r *renderer.Renderer, env *request.Envelope) map[string]string {
	t.Helper()
	out, err := r.RenderEnvelope(env)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	texts := map[string]string{}
	for _, d := range out.Documents {
		path := filepath.Join(dir, d.Name)
		if err := os.WriteFile(path, d.PDF, 0o644); err != nil {
			t.Fatal(err)
		}
		texts[d.Name] = pdftest.Run(t, "pdftotext", "-enc", "UTF-8", path, "-")
	}
	return texts
}

// TestWelshAndBilingualDocumentsRead checks, with pdftotext, that the
// Welsh and bilingual letter and certificate say their words in reading
// order: Welsh first, then English, with dates and sex in each language.
func TestWelshAndBilingualDocumentsRead(t *testing.T) {
	r := mustRenderer(t)
	cases := []struct {
		file string
		want map[string][]string
	}{
		{"welsh.json", map[string][]string{
			"letter.pdf": {"GIG Lloegr", "7 Mawrth 2025", "Mrs Siân Llŷr", "Tŷ Gwêl", "LL61 5UJ",
				"Eich tystysgrif", "Annwyl Mrs Siân Llŷr,", "Mae’n wir ddrwg gennym am eich colled.",
				"Beth yw’r dystysgrif", "ar ran yr Ysgrifennydd Gwladol dros Iechyd a Gofal Cymdeithasol",
				"Cyfeirnod eich", "tystysgrif yw BLC-2025-000412.", "Cymorth", "siarad â rhywun", "(dydd", "Llun i ddydd Gwener, 9yb i 4yp)",
				"Gyda’n cydymdeimlad,", "GIG Lloegr"},
			"certificate-1.pdf": {"Tystysgrif colli babi", "Llai na 24 wythnos o feichiogrwydd",
				"Cyhoeddwyd ar ran yr Ysgrifennydd Gwladol dros Iechyd a Gofal Cymdeithasol",
				"1. Cyfeirnod y dystysgrif", "2. Dyddiad cyhoeddi", "BLC-2025-000412", "7 Mawrth 2025",
				"3. Enw a chyfenw’r rhiant", "Siân Llŷr", "4. Enw a chyfenw unrhyw riant arall", "Dafydd ap Gwilym",
				"5. Enw’r babi", "Ŵyn Llŷr", "6. Rhyw", "7. Dyddiad y golled", "Gwryw", "19 Tachwedd 2024",
				"8. Man y golled", "Ysbyty Gwynedd, Bangor", "Mae’r dystysgrif hon wedi’i chynhyrchu"},
		}},
		{"welsh-and-english.json", map[string][]string{
			"letter.pdf": {"GIG Lloegr / NHS England", "7 Mawrth 2025", "7 March 2025", "Mr Emrys Prŷs", "Bryn Côr",
				"Eich tystysgrif", "Annwyl Mr Emrys Prŷs,", "Gyda’n cydymdeimlad,", "GIG Lloegr",
				"Your certificate", "Dear Mr Emrys Prŷs,", "Your certificate", "reference is BLC-2025-000413.",
				"With our sympathy,", "NHS England", "Tudalen 2 o 2 / Page 2 of 2"},
			"certificate-1.pdf": {"Tystysgrif colli babi", "Certificate of baby loss",
				"Llai na 24 wythnos o feichiogrwydd / Under 24 weeks gestation",
				"Cyhoeddwyd ar ran", "Issued on behalf of",
				"1. Cyfeirnod y dystysgrif", "Certificate reference", "2. Dyddiad cyhoeddi", "Date of issue",
				"BLC-2025-000413", "7 Mawrth 2025 / 7 March 2025",
				"3. Enw a chyfenw’r rhiant", "Name and surname of parent", "Emrys Prŷs",
				"Lowri Wên", "Ifôr", "6. Rhyw", "Sex", "7. Dyddiad y golled", "Date of loss",
				"Anhysbys / Unknown", "Mawrth 2025 / March 2025", "Aberystwyth",
				"Nid yw’n dystiolaeth o hunaniaeth", "It is not evidence of identity"},
		}},
		{"welsh-and-english-twins-large-print.json", map[string][]string{
			"letter.pdf": {"Eich tystysgrifau", "Annwyl Ms Ffion Ïolo,", "Amgaeir y tystysgrifau",
				"BLC-2025-000414 a BLC-2025-000415.", "Your certificates", "enclosed the two",
				"BLC-2025-000414 and BLC-2025-000415.", "Tudalen 3 o 3 / Page 3 of 3"},
			"certificate-2.pdf": {"Tâl", "Gwryw / Male", "Gorffennaf 2024 / July 2024"},
		}},
	}
	for _, c := range cases {
		texts := pdfText(t, r, decodeFile(t, filepath.Join("../testdata/requests/valid", c.file)))
		for doc, words := range c.want {
			// pdftotext ends lines where the page does; compare words in
			// order across them.
			text := strings.Join(strings.Fields(texts[doc]), " ")
			var order []string
			for _, w := range words {
				order = append(order, strings.Join(strings.Fields(w), " "))
			}
			checkReadingOrder(t, c.file+": "+doc, text, order)
		}
	}
}

// TestWelshDiacriticsPrint checks that every Welsh letter with a diacritic
// (ŵ ŷ â ê î ô û ï ë, and the capitals) prints in every box and in the
// address of a Welsh and a bilingual envelope, as pdftotext reads them back.
func TestWelshDiacriticsPrint(t *testing.T) {
	r := mustRenderer(t)
	for _, lang := range []string{request.LanguageWelsh, request.LanguageBilingual} {
		env := &request.Envelope{
			SchemaVersion: 1, EnvelopeID: "diacritics", Language: lang,
			Recipient: request.Recipient{Name: "Mr Ŵyn Prŷs", Address: []string{"Tŷ Ûna", "Ffordd Ëos", "Caerdydd", "CF10 1AA"}},
			Certificates: []request.Certificate{{
				Reference: "BLC-2025-000001", DateOfIssue: "2025-03-07",
				ParentName: "Gwenllïan Dŵr Prŷs", OtherParentName: "Îfan Ûna Môn-Tîr",
				BabyName: "Ëos Tâl Gwên Llûn", PlaceOfLoss: "Llanfair Ŷnys, Ôl Ŵern Âl Êl Ïo Noël",
			}},
		}
		texts := pdfText(t, r, env)
		all := texts["letter.pdf"] + texts["certificate-1.pdf"]
		for _, ch := range strings.Split("ŵŷâêîôûïëŴŶÂÊÎÔÛÏË", "") {
			if !strings.Contains(all, ch) {
				t.Errorf("%s: %q does not read back from the PDFs", lang, ch)
			}
		}
		checkReadingOrder(t, lang+" certificate", texts["certificate-1.pdf"],
			[]string{"Gwenllïan Dŵr Prŷs", "Îfan Ûna Môn-Tîr", "Ëos Tâl Gwên Llûn", "Llanfair Ŷnys, Ôl Ŵern Âl Êl Ïo Noël"})
		checkReadingOrder(t, lang+" letter", texts["letter.pdf"], []string{"Mr Ŵyn Prŷs", "Tŷ Ûna", "Ffordd Ëos", "siarad â rhywun"})
	}
}

// TestPDFsSayTheirLanguage checks the catalog's /Lang: Welsh and bilingual
// documents say "cy", so a screen reader reads them in Welsh; English
// ones say nothing, as before languages were offered.
func TestPDFsSayTheirLanguage(t *testing.T) {
	r := mustRenderer(t)
	for file, want := range map[string]string{
		"welsh.json":                     "/Lang (cy)",
		"welsh-and-english.json":         "/Lang (cy)",
		"two-parents-all-boxes.json":     "",
		"one-parent-blank-optional.json": "",
	} {
		out, err := r.RenderEnvelope(decodeFile(t, filepath.Join("../testdata/requests/valid", file)))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range out.Documents {
			got := ""
			if i := bytes.Index(d.PDF, []byte("/Lang (")); i >= 0 {
				got = string(d.PDF[i : i+bytes.IndexByte(d.PDF[i:], ')')+1])
			}
			if got != want {
				t.Errorf("%s %s: %q, want %q", file, d.Name, got, want)
			}
		}
	}
}
