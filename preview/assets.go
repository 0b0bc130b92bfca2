package preview

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

// webFS holds the page's template, style sheet and script.
//
//go:embed web
var webFS embed.FS

// asset is a static file the page links to.
type asset struct {
	body        []byte
	contentType string
	// version is a hash of body: asset URLs carry it, so a browser may
	// keep a file for a year and still get a new one after a release.
	version string
}

func loadAssets() (map[string]asset, error) {
	assets := map[string]asset{}
	err := fs.WalkDir(webFS, "web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".html") {
			return err
		}
		body, err := webFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		name := path.Base(p)
		assets[name] = asset{
			body:        body,
			contentType: mime.TypeByExtension(path.Ext(name)),
			version:     base64.RawURLEncoding.EncodeToString(sum[:12]),
		}
		return nil
	})
	return assets, err
}

// assetURL is where the page finds an asset, versioned.
func (h *Handler) assetURL(name string) string {
	return "/preview/assets/" + name + "?v=" + h.assets[name].version
}

// asset serves the page's style sheet and script. A request for the
// current version may be cached for a year; any other must check back.
func (h *Handler) asset(w http.ResponseWriter, r *http.Request, rec *record) {
	a, ok := h.assets[r.PathValue("name")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	cacheControl := "public, no-cache"
	if r.URL.Query().Get("v") == a.version {
		cacheControl = "public, max-age=31536000, immutable"
	}
	h.send(w, r, a.contentType, `"`+a.version+`"`, cacheControl, a.body)
}
