package templates_test

import (
	"bufio"
	"flag"
	"fmt"
	"os"
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
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		digest, ref, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("RELEASED: bad line %q", line)
		}
		tp, err := set.Resolve(ref)
		if err != nil {
			t.Errorf("released template %s is gone: %v", ref, err)
			continue
		}
		if tp.Digest != digest {
			t.Errorf("%s (%s) changed after release: copy it to a new version and change the copy", ref, tp.File)
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
