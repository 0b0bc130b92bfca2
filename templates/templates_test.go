package templates_test

import (
	"bufio"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/quire-print/quire/templates"
)

var update = flag.Bool("update", false, "record the digests of the current template versions as released")

func TestEmbeddedTemplatesLoad(t *testing.T) {
	set, err := templates.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"baby-loss-certificate", "carriage-letter"} {
		if _, err := set.Get(id, 0); err != nil {
			t.Error(err)
		}
	}
	if _, err := set.Resolve("carriage-letter@1"); err != nil {
		t.Error(err)
	}
	if _, err := set.Resolve("carriage-letter@99"); err == nil {
		t.Error("an unknown version resolved")
	}
}

// TestReleasedVersionsNeverChange guards the promise that a copy made
// months later is identical: a released template file may not change.
// A new version gets a new file and, once released, a line in RELEASED.
func TestReleasedVersionsNeverChange(t *testing.T) {
	set, err := templates.Default()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		var b strings.Builder
		b.WriteString("# SHA-256 of every released template version. Never edit a line: release a new version.\n")
		for _, tp := range set.All() {
			fmt.Fprintf(&b, "%s  %s\n", tp.Digest, tp.Ref())
		}
		for _, w := range set.AllWording() {
			fmt.Fprintf(&b, "%s  wording/%s\n", w.Digest, w.Ref())
		}
		if err := os.WriteFile("RELEASED", []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open("RELEASED")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	released := 0
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	for _, line := range lines {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		digest, ref, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("RELEASED: bad line %q", line)
		}
		if wref, ok := strings.CutPrefix(ref, "wording/"); ok {
			w, err := set.Wording(wref)
			if err != nil {
				t.Errorf("released wording %s is gone: %v", wref, err)
				continue
			}
			if w.Digest != digest {
				t.Errorf("wording %s (%s) changed after release: copy it to a new version and change the copy", wref, w.File)
			}
			continue
		}
		tp, err := set.Resolve(ref)
		if err != nil {
			t.Errorf("released template %s is gone: %v", ref, err)
			continue
		}
		if tp.Digest != digest {
			t.Errorf("%s (%s) changed after release: copy it to a new version and change the copy", ref, tp.File)
		}
		for _, w := range tp.Words {
			if !slices.Contains(lines, w.Digest+"  wording/"+w.Ref()) {
				t.Errorf("released template %s uses wording %s, which is not released", ref, w.Ref())
			}
		}
		released++
	}
	if released == 0 {
		t.Error("RELEASED lists no template")
	}
}

func TestValidationPointsAtFileAndLine(t *testing.T) {
	good, err := os.ReadFile("baby-loss-certificate/v1.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, from, to, want string
	}{
		{"unknown key", "title: Certificate of baby loss", "titel: Certificate of baby loss", "field titel not found"},
		{"unknown font face", "display: NotoSerifDisplay-Medium", "display: Comic-Sans", `fonts.display: `},
		{"unknown style", "label: Certificate reference, field: reference, x: 24", "label: Certificate reference, field: reference, label-style: labl, x: 24", `unknown style "labl"`},
		{"unknown field", "field: babyName", "field: babyname", `unknown field "babyname"`},
		{"outside the page", "rect: {x: 12, y: 12, w: 186", "rect: {x: 12, y: 12, w: 196", "outside the printable area"},
		{"version mismatch", "version: 1", "version: 2", "version: is 2 but the file is named v1.yaml"},
		{"undrawable text", "text: Under 24 weeks gestation", "text: Under 24 weeks gestation ☃", "cannot be drawn"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(string(good), c.from, c.to, 1)
			if src == string(good) {
				t.Fatalf("case does not change the file")
			}
			line := 0
			for i, l := range strings.Split(src, "\n") {
				if strings.Contains(l, c.to) {
					line = i + 1
				}
			}
			_, err := templates.LoadFS(fstest.MapFS{"baby-loss-certificate/v1.yaml": {Data: []byte(src)}})
			if err == nil {
				t.Fatal("a broken template loaded")
			}
			want := fmt.Sprintf("templates/baby-loss-certificate/v1.yaml:%d", line)
			if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q should contain %q and %q", err, want, c.want)
			}
		})
	}
}

func TestPlaceholders(t *testing.T) {
	got, err := templates.Placeholders("Dear {recipient.name}, see {copy-url}.")
	if err != nil || strings.Join(got, ",") != "recipient.name,copy-url" {
		t.Errorf("got %q, %v", got, err)
	}
	for _, bad := range []string{"a {b", "a } b", "a {b {c}"} {
		if _, err := templates.Placeholders(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestWording checks the wording files load and what templates may say
// of them, each problem pointing at its file and line.
func TestWording(t *testing.T) {
	set, err := templates.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"baby-loss-certificate-cy", "baby-loss-certificate-cy-en", "carriage-letter-cy", "carriage-letter-cy-en"} {
		tp, err := set.Get(id, 0)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(tp.Title, "{") || tp.Language == "en" || len(tp.Words) != len(tp.Languages()) {
			t.Errorf("%s: title %q, language %q, %d wordings", id, tp.Title, tp.Language, len(tp.Words))
		}
	}
	cy, err := set.Wording("cy@1")
	if err != nil {
		t.Fatal(err)
	}
	if got := cy.Date(2024, 11, 19); got != "19 Tachwedd 2024" {
		t.Errorf("Welsh date %q", got)
	}
	if got := cy.Date(2025, 3, 0); got != "Mawrth 2025" {
		t.Errorf("Welsh month %q", got)
	}
	if got := cy.JoinAnd([]string{"BLC-1", "BLC-2", "BLC-3"}); got != "BLC-1, BLC-2 a BLC-3" {
		t.Errorf("Welsh list %q", got)
	}
	if got := cy.JoinAnd([]string{"BLC-1", "ABC-2"}); got != "BLC-1 ac ABC-2" {
		t.Errorf("Welsh list before a vowel %q", got)
	}

	good, err := os.ReadFile("baby-loss-certificate-cy/v1.yaml")
	if err != nil {
		t.Fatal(err)
	}
	words := fstest.MapFS{}
	for _, w := range set.AllWording() {
		data, err := os.ReadFile(strings.TrimPrefix(w.File, "templates/"))
		if err != nil {
			t.Fatal(err)
		}
		words["wording/"+w.Language+"/v1.yaml"] = &fstest.MapFile{Data: data}
	}
	cases := []struct{ name, from, to, want string }{
		{"unknown wording", "wording: [cy@1]", "wording: [cy@9]", `no wording "cy@9"`},
		{"unknown entry", "{cy:box.sex}", "{cy:box.sexx}", `has no entry "box.sexx"`},
		{"language not in wording", "{cy:box.sex}", "{en:box.sex}", `names language "en"`},
		{"wording for another language", "language: cy\n", "language: cy,en\n", "one wording per language"},
		{"unknown issuer", "issuer: secretary-of-state", "issuer: welsh-government", `no entry "issuer.welsh-government"`},
		{"unknown language", "language: cy\n", "language: fr\n", "language: must be en, cy, cy,en"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(string(good), c.from, c.to, 1)
			if src == string(good) {
				t.Fatal("case does not change the file")
			}
			fsys := fstest.MapFS{"baby-loss-certificate-cy/v1.yaml": {Data: []byte(src)}}
			maps.Copy(fsys, words)
			_, err := templates.LoadFS(fsys)
			if err == nil || !strings.Contains(err.Error(), "templates/baby-loss-certificate-cy/v1.yaml:") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one at file:line containing %q", err, c.want)
			}
		})
	}
	bad := strings.Replace(string(words["wording/cy/v1.yaml"].Data), "Tachwedd, Rhagfyr]", "Tachwedd]", 1)
	_, err = templates.LoadFS(fstest.MapFS{"wording/cy/v1.yaml": {Data: []byte(bad)}})
	if err == nil || !strings.Contains(err.Error(), "templates/wording/cy/v1.yaml:") || !strings.Contains(err.Error(), "12 months") {
		t.Errorf("eleven months: %v", err)
	}
}
