// Package shapetest gives tests families that reach beyond the shipped
// faces' Latin, Greek and Cyrillic: each shipped face followed by Debian's
// Noto faces for other scripts and TrueType faces for Chinese, Japanese
// and Korean, read from /usr/share/fonts (scripts/test-services.sh
// installs them). Nothing here is embedded in Quire.
package shapetest

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/quire-print/quire/fonts"
	"github.com/quire-print/quire/renderer/shape"
)

// Faces are the system faces, in the order they are tried, by file.
var Faces = []string{
	"truetype/noto/NotoNaskhArabic-Regular.ttf",
	"truetype/noto/NotoSerifHebrew-Regular.ttf",
	"truetype/noto/NotoSerifBengali-Regular.ttf",
	"truetype/noto/NotoSerifDevanagari-Regular.ttf",
	"truetype/noto/NotoSerifGurmukhi-Regular.ttf",
	"truetype/noto/NotoSerifGujarati-Regular.ttf",
	"truetype/noto/NotoSerifTamil-Regular.ttf",
	"truetype/noto/NotoSerifTelugu-Regular.ttf",
	"truetype/noto/NotoSerifMalayalam-Regular.ttf",
	"truetype/noto/NotoSerifSinhala-Regular.ttf",
	"truetype/noto/NotoSerifThai-Regular.ttf",
	"truetype/noto/NotoSerifEthiopic-Regular.ttf",
	"truetype/noto/NotoSerifArmenian-Regular.ttf",
	"truetype/noto/NotoSerifGeorgian-Regular.ttf",
	"truetype/arphic-gbsn00lp/gbsn00lp.ttf",
	"truetype/arphic-bsmi00lp/bsmi00lp.ttf",
	"opentype/ipafont-mincho/ipam.ttf",
	"truetype/unfonts-core/UnBatang.ttf",
}

// Packages are the Debian packages Faces come from.
const Packages = "fonts-noto-core fonts-arphic-gbsn00lp fonts-arphic-bsmi00lp fonts-ipafont-mincho fonts-unfonts-core"

var load = sync.OnceValues(func() ([]*fonts.Face, error) {
	var out []*fonts.Face
	for _, f := range Faces {
		path := filepath.Join("/usr/share/fonts", f)
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%w (install %s)", err, Packages)
		}
		name := filepath.Base(f)
		face, err := fonts.Load(name[:len(name)-len(filepath.Ext(name))], data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, face)
	}
	return out, nil
})

// Install makes every family the shipped face followed by the system
// faces until the test ends. It fails the test when a face is missing.
func Install(t testing.TB) {
	t.Helper()
	extra, err := load()
	if err != nil {
		t.Fatal(err)
	}
	shape.SetFallback(func(name string) ([]*fonts.Face, error) {
		faces, err := fonts.Fallback(name)
		if err != nil {
			return nil, err
		}
		return append(faces[:len(faces):len(faces)], extra...), nil
	})
	t.Cleanup(func() { shape.SetFallback(fonts.Fallback) })
}
