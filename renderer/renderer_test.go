package renderer_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/signintech/gopdf"

	"github.com/quire-print/quire/internal/pdftest"
	"github.com/quire-print/quire/internal/samples"
	"github.com/quire-print/quire/internal/variety"
	"github.com/quire-print/quire/renderer"
	"github.com/quire-print/quire/renderer/layout"
	"github.com/quire-print/quire/renderer/rendered"
	"github.com/quire-print/quire/renderer/shape/shapetest"
	"github.com/quire-print/quire/request"
)

var update = flag.Bool("update", false, "rewrite golden files")

var newRenderer = sync.OnceValues(renderer.New)

func mustRenderer(t testing.TB) *renderer.Renderer {
	t.Helper()
	r, err := newRenderer()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func decodeFile(t testing.TB, path string) *request.Envelope {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return decodeBytes(t, path, data)
}

// decodeBytes decodes a request; name says which, if it is refused.
func decodeBytes(t testing.TB, name string, data []byte) *request.Envelope {
	t.Helper()
	env, err := request.Decode(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return env
}

// expectedWords lists, in reading order, the words each document must
// show: every filled field of every certificate, as its template writes
// it in its language, and the letter's address.
func expectedWords(t *testing.T, r *renderer.Renderer, env *request.Envelope, d rendered.Document, index int) []string {
	t.Helper()
	if d.Kind == renderer.KindLetter {
		return append([]string{env.Recipient.Name}, env.Recipient.Address...)
	}
	c := &env.Certificates[index-1]
	tp, err := r.Templates().Get(d.TemplateID, d.TemplateVersion)
	if err != nil {
		t.Fatal(err)
	}
	var words []string
	for _, f := range []string{"reference", "dateOfIssue", "parentName", "otherParentName", "babyName", "sex", "dateOfLoss", "placeOfLoss"} {
		v, _ := layout.BoxValue(tp, c, f)
		words = append(words, strings.Fields(v)...)
	}
	return words
}

func TestRenderedPDFsPassRealTools(t *testing.T) {
	r := mustRenderer(t)
	dir := t.TempDir()
	for _, file := range samples.Files(t, "valid") {
		env := decodeFile(t, file)
		out, err := r.RenderEnvelope(env)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if want := 1 + len(env.Certificates); len(out.Documents) != want {
			t.Fatalf("%s: %d documents, want %d", file, len(out.Documents), want)
		}
		for i, d := range out.Documents {
			name := fmt.Sprintf("%s: %s", filepath.Base(file), d.Name)
			path := filepath.Join(dir, env.EnvelopeID+"-"+d.Name)
			if err := os.WriteFile(path, d.PDF, 0o644); err != nil {
				t.Fatal(err)
			}
			pdftest.Run(t, "qpdf", "--check", path)
			pdftest.CheckFonts(t, name, pdftest.Run(t, "pdffonts", path))
			checkInfo(t, name, pdftest.Run(t, "pdfinfo", path), d, env)
			checkReadingOrder(t, name, pdftest.Run(t, "pdftotext", "-enc", "UTF-8", path, "-"), expectedWords(t, r, env, d, i))
		}
	}
}

// checkInfo checks page count and size, and that metadata carries no
// personal data.
func checkInfo(t *testing.T, name, out string, d rendered.Document, env *request.Envelope) {
	t.Helper()
	if !strings.Contains(out, fmt.Sprintf("Pages:           %d\n", d.Pages)) {
		t.Errorf("%s: pdfinfo disagrees with %d pages:\n%s", name, d.Pages, out)
	}
	if !strings.Contains(out, "Page size:       595.28 x 841.89 pts (A4)") {
		t.Errorf("%s: not A4:\n%s", name, out)
	}
	personal := []string{env.Recipient.Name}
	for _, c := range env.Certificates {
		personal = append(personal, c.ParentName, c.BabyName, c.OtherParentName, c.PlaceOfLoss)
	}
	for _, p := range personal {
		if p != "" && strings.Contains(out, p) {
			t.Errorf("%s: metadata holds personal data", name)
		}
	}
}

// checkReadingOrder finds each word in the extracted text, each after the
// one before.
func checkReadingOrder(t *testing.T, name, text string, words []string) {
	t.Helper()
	rest := text
	for _, w := range words {
		i := strings.Index(rest, w)
		if i < 0 {
			if strings.Contains(text, w) {
				t.Errorf("%s: %q is out of reading order", name, w)
			} else {
				t.Errorf("%s: %q is missing from the text:\n%s", name, w, text)
			}
			return
		}
		rest = rest[i+len(w):]
	}
}

func TestRenderingIsDeterministic(t *testing.T) {
	r := mustRenderer(t)
	var sums []string
	for _, file := range samples.Files(t, "valid") {
		a, err := r.RenderEnvelope(decodeFile(t, file))
		if err != nil {
			t.Fatal(err)
		}
		b, err := r.RenderEnvelope(decodeFile(t, file))
		if err != nil {
			t.Fatal(err)
		}
		for i := range a.Documents {
			if !bytes.Equal(a.Documents[i].PDF, b.Documents[i].PDF) {
				t.Errorf("%s %s: two renderings differ", file, a.Documents[i].Name)
			}
			sum := sha256.Sum256(a.Documents[i].PDF)
			sums = append(sums, fmt.Sprintf("%s  %s/%s", hex.EncodeToString(sum[:]), filepath.Base(file), a.Documents[i].Name))
		}
	}
	// The golden digests catch any change to output for the same request
	// and template version: a copy made months later must be identical.
	golden := "../testdata/golden/render.sha256"
	got := strings.Join(sums, "\n") + "\n"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./renderer -run Deterministic -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("rendered output changed. Copies of documents already posted must be identical to the originals, so this needs a reason: "+
			"a template change needs a new template version; a deliberate renderer or dependency change needs -update and a commit message saying why.\ngot:\n%s\nwant:\n%s", got, want)
	}
}

// Font subsets come from a cache once made (third_party/gopdf,
// subset_cache.go). A cached subset must give exactly the bytes a fresh
// one would, and the cache must keep to its bound.
func TestFontSubsetCacheKeepsOutputAndBound(t *testing.T) {
	r := mustRenderer(t)
	var envs []*request.Envelope
	for _, file := range samples.Files(t, "valid") {
		envs = append(envs, decodeFile(t, file))
	}
	sample, err := os.ReadFile(filepath.Join(samples.Dir(), "valid", "two-parents-all-boxes.json"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		body, err := variety.Request(sample, "cache-test", i)
		if err != nil {
			t.Fatal(err)
		}
		envs = append(envs, decodeBytes(t, fmt.Sprintf("varied request %d", i), body))
	}
	render := func() [][]byte {
		var out [][]byte
		for _, env := range envs {
			e, err := r.RenderEnvelope(env)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range e.Documents {
				out = append(out, d.PDF)
			}
		}
		return out
	}
	const bound = 256 << 10
	defer gopdf.SetSubsetCacheBytes(gopdf.SetSubsetCacheBytes(0))
	fresh := render()
	gopdf.SetSubsetCacheBytes(bound)
	for pass := range 2 { // filling the cache, then (partly) from it
		for i, pdf := range render() {
			if !bytes.Equal(pdf, fresh[i]) {
				t.Fatalf("pass %d: document %d differs from the one made without the cache", pass, i)
			}
		}
		entries, size := gopdf.SubsetCacheSize()
		if entries == 0 || size > bound {
			t.Errorf("pass %d: the cache holds %d subsets in %d bytes, want some, in at most %d", pass, entries, size, bound)
		}
	}
}

func TestUnprintableRequestsAreRefused(t *testing.T) {
	r := mustRenderer(t)
	for _, file := range samples.Files(t, "unprintable") {
		env := decodeFile(t, file)
		_, err := r.RenderEnvelope(env)
		var fe request.Errors
		if !errors.As(err, &fe) {
			t.Errorf("%s: want field errors, got %v", file, err)
			continue
		}
		goldenPath := strings.TrimSuffix(file, ".json") + ".errors.json"
		got, _ := json.MarshalIndent(fe, "", "  ")
		got = append(got, '\n')
		if *update {
			os.WriteFile(goldenPath, got, 0o644)
		}
		want, err := os.ReadFile(goldenPath)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: errors\n%s\nwant\n%s", file, got, want)
		}
	}
}

func TestDocumentsInEnvelopeOrder(t *testing.T) {
	r := mustRenderer(t)
	out, err := r.RenderEnvelope(decodeFile(t, "../testdata/requests/valid/twins.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range out.Documents {
		names = append(names, d.Kind+":"+d.Name)
	}
	want := []string{"letter:letter.pdf", "certificate:certificate-1.pdf", "certificate:certificate-2.pdf"}
	if !slices.Equal(names, want) {
		t.Errorf("documents %q, want %q", names, want)
	}
}

// BenchmarkRenderEnvelope renders a letter and one certificate with every
// box filled: the unit of Quire's main job. Target: ≤ 2 ms CPU and ≤ 1 MB
// allocated per envelope on one core. Three cases: the same request each
// time (font subsets come from the cache), a different family each time
// (as in real traffic), and that with the subset cache off.
func BenchmarkRenderEnvelope(b *testing.B) {
	r := mustRenderer(b)
	path := "../testdata/requests/valid/two-parents-all-boxes.json"
	env := decodeFile(b, path)
	if len(env.Certificates) != 1 {
		b.Fatalf("sample has %d certificates, want 1", len(env.Certificates))
	}
	sample, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	varied := make([]*request.Envelope, 1000)
	for i := range varied {
		body, err := variety.Request(sample, "bench", i)
		if err != nil {
			b.Fatal(err)
		}
		varied[i] = decodeBytes(b, fmt.Sprintf("varied request %d", i), body)
	}
	run := func(b *testing.B, next func(i int) *request.Envelope) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := r.RenderEnvelope(next(i)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	}
	b.Run("same", func(b *testing.B) { run(b, func(int) *request.Envelope { return env }) })
	b.Run("varied", func(b *testing.B) { run(b, func(i int) *request.Envelope { return varied[i%len(varied)] }) })
	b.Run("uncached", func(b *testing.B) {
		defer gopdf.SetSubsetCacheBytes(gopdf.SetSubsetCacheBytes(0))
		run(b, func(i int) *request.Envelope { return varied[i%len(varied)] })
	})
	// scripts: the varied families with parents' and babies' names in
	// Arabic, Bengali and Chinese, set with Debian's faces for them.
	b.Run("scripts", func(b *testing.B) {
		shapetest.Install(b)
		scripts := make([]*request.Envelope, len(varied))
		for i, v := range varied {
			e := *v
			e.Certificates = slices.Clone(v.Certificates)
			c := &e.Certificates[0]
			c.ParentName = scriptName(3 * i)
			c.OtherParentName = scriptName(3*i + 1)
			c.BabyName = scriptName(3*i + 2)
			scripts[i] = &e
		}
		run(b, func(i int) *request.Envelope { return scripts[i%len(scripts)] })
	})
}

// scriptName makes the i-th of many different names in Arabic (with and
// without vowel marks), Bengali, Chinese, or Latin mixed with one of them,
// for BenchmarkRenderEnvelope/scripts.
func scriptName(i int) string {
	pick := func(parts []string, k int) string { return parts[k%len(parts)] }
	arabic := []string{"محمد", "فاطمة", "عَائِشَة", "يوسف", "مريم", "خالد", "زينب", "عُمَر", "إبراهيم", "نور", "سارة"}
	bengali := []string{"আয়েশা", "মোহাম্মদ", "সুমাইয়া", "রাফিদ", "নুসরাত", "রহমান", "হাসান", "আক্তার", "চৌধুরী", "জাহান", "ইসলাম"}
	chinese := []string{"王", "李", "陈", "张", "刘", "黄", "小明", "美玲", "思远", "伟", "子涵", "欣怡", "浩然", "雨桐"}
	k := i / 4
	switch i % 4 {
	case 0:
		return pick(arabic, k) + " " + pick(arabic, k/len(arabic)+3)
	case 1:
		return pick(bengali, k) + " " + pick(bengali, k/len(bengali)+5)
	case 2:
		return pick(chinese[:6], k) + pick(chinese[6:], k/6)
	}
	return "Amira " + pick(arabic, k) + " " + pick(chinese[:6], k) + pick(chinese[6:], k/3) + " " + pick(bengali, k/2)
}

// TestDecodingWithTheRendererReportsEveryProblem checks that a request
// read with the renderer as its request.Fitter gets the layout's problems
// (a script no typeface covers, a name too long for its box) in the same
// list as validation's, rather than only once validation has nothing left
// to say.
func TestDecodingWithTheRendererReportsEveryProblem(t *testing.T) {
	r := mustRenderer(t)
	data := []byte(`{
  "schemaVersion": 1,
  "envelopeId": "env-all-at-once",
  "recipient": {"name": "Ms Jo Bloggs", "address": ["1 Station Road", "Ludlow", "SY8 1AA"]},
  "certificates": [{"reference": "BLC-1", "dateOfIssue": "2025-03-03",
    "parentName": "Jo 𐀀𐀁", "otherParentName": "Kim\u3164Lee", "babyName": "` + strings.Repeat("WWWWWWWWW ", 10)[:99] + `",
    "sex": "boy"}]
}`)
	_, err := request.Decoder{Fit: r}.Decode(data)
	var fe request.Errors
	if !errors.As(err, &fe) {
		t.Fatalf("got %v, want field errors", err)
	}
	want := map[string]string{
		"certificates[0].sex":             "must be",
		"certificates[0].otherParentName": "U+3164 HANGUL FILLER",
		"certificates[0].parentName":      "Quire cannot print the Linear B script yet",
		"certificates[0].babyName":        "too long",
	}
	for _, e := range fe {
		if w, ok := want[e.Field]; ok && strings.Contains(e.Problem, w) {
			delete(want, e.Field)
		}
	}
	if len(want) > 0 {
		t.Errorf("missing problems %v in\n%v", want, fe)
	}
	if len(fe) != 4 {
		t.Errorf("got %d problems, want 4 (one per field):\n%v", len(fe), fe)
	}

	// A request with no problems is not refused for laying it out.
	ok, err := os.ReadFile("../testdata/requests/valid/two-parents-all-boxes.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (request.Decoder{Fit: r}).Decode(ok); err != nil {
		t.Errorf("a valid request: %v", err)
	}
}

// TestLayoutNamesAnInvisibleCharacterForWhatItIs: laid out without being
// validated first, a Hangul filler is refused as an invisible character,
// with where it is, not blamed on the typefaces with an empty quote.
func TestLayoutNamesAnInvisibleCharacterForWhatItIs(t *testing.T) {
	r := mustRenderer(t)
	c := &request.Certificate{ParentName: "Kim\u3164Lee"}
	fe := r.FitCertificate(c, "")
	if len(fe) != 1 {
		t.Fatalf("got %v, want one problem", fe)
	}
	if fe[0].Field != "parentName" || !strings.Contains(fe[0].Problem, "invisible character (U+3164 HANGUL FILLER) at character 4") ||
		!strings.Contains(fe[0].ForParent(), "after “Kim”") {
		t.Errorf("got %v (%q)", fe, fe[0].ForParent())
	}
}
