package preview

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/quire-print/quire/request"
	"github.com/quire-print/quire/templates"
)

// Cache-Control values. Previews of what someone typed are personal:
// no cache on the way may keep them, and the ETag lets the client that
// asked skip a download it already has. Samples are the same for everyone
// and change only with a release, so caches may keep them but must check.
const (
	cachePersonal = "no-store"
	cacheSample   = "public, no-cache"
)

// templateList is the body of GET /api/v1/templates.
type templateList struct {
	Templates []templateInfo `json:"templates"`
}

type templateInfo struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Title string `json:"title"`
	// Version is the current version, the one a request gets when it
	// names no version; Versions lists every version Quire can render.
	Version  int      `json:"version"`
	Versions []int    `json:"versions"`
	Formats  []string `json:"formats"`
	// Language is the request language the template serves: "en", "cy",
	// or "cy,en" (bilingual, Welsh first); Languages the languages its
	// text is in, in the order it gives them.
	Language  string   `json:"language"`
	Languages []string `json:"languages"`
	Samples   samples  `json:"samples"`
}

type samples struct {
	PDF  string `json:"pdf"`
	PNG  string `json:"png"`
	Text string `json:"text"`
}

func (h *Handler) listTemplates(w http.ResponseWriter, r *http.Request, rec *record) {
	set := h.r.Templates()
	var list templateList
	for _, t := range set.Latest() {
		info := templateInfo{ID: t.ID, Kind: t.Kind, Title: t.Title, Version: t.Version, Versions: []int{},
			Language: t.Language, Languages: t.Languages()}
		for _, v := range set.All() {
			if v.ID == t.ID {
				info.Versions = append(info.Versions, v.Version)
			}
		}
		for f := range t.Formats {
			info.Formats = append(info.Formats, f)
		}
		slices.Sort(info.Formats)
		base := "/api/v1/templates/" + url.PathEscape(t.Ref()) + "/sample."
		info.Samples = samples{PDF: base + "pdf", PNG: base + "png", Text: base + "json"}
		list.Templates = append(list.Templates, info)
	}
	body, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		h.internal(w, rec, err)
		return
	}
	body = append(body, '\n')
	sum := sha256.Sum256(append([]byte(h.salt), body...))
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:]) + `"`
	h.send(w, r, "application/json", etag, cacheSample, body)
}

func (h *Handler) samplePDF(w http.ResponseWriter, r *http.Request, rec *record) {
	h.sample(w, r, rec, formatPDF)
}

func (h *Handler) samplePNG(w http.ResponseWriter, r *http.Request, rec *record) {
	h.sample(w, r, rec, formatPNG)
}

func (h *Handler) sampleText(w http.ResponseWriter, r *http.Request, rec *record) {
	h.sample(w, r, rec, formatText)
}

// sample serves a preview of a template filled with made-up details.
func (h *Handler) sample(w http.ResponseWriter, r *http.Request, rec *record, f format) {
	t, err := h.r.Templates().Resolve(r.PathValue("template"))
	if err != nil {
		writeProblem(w, problemNoTemplate.with("There is no template "+strconv.Quote(r.PathValue("template"))+
			": GET /api/v1/templates lists them.", nil))
		return
	}
	rec.template = t.Ref()
	q := r.URL.Query()
	var params request.Errors
	j := job{t: t, format: f}
	if f == formatPNG {
		j.width = intParam(q, "width", DefaultWidth, MinWidth, MaxWidth, "pixels", &params)
		j.page = intParam(q, "page", 1, 1, 99, "", &params)
	}
	format := q.Get("format")
	if format == "" {
		format = request.FormatStandard
	}
	if _, ok := t.Formats[format]; !ok {
		params.Add("format", "must be one of the formats of %s: %s", t.Ref(), strings.Join(sortedKeys(t.Formats), ", "))
	}
	if len(params) > 0 {
		writeProblem(w, problemBadParameter.with("", params))
		return
	}
	switch t.Kind {
	case templates.KindCertificate:
		j.cert = sampleCertificate(t.Ref())
	case templates.KindLetter:
		j.env = sampleEnvelope(t.Ref(), t.Language, format)
	default:
		h.internal(w, rec, fmt.Errorf("template %s is of unknown kind %q", t.Ref(), t.Kind))
		return
	}
	h.serveJob(w, r, rec, j, cacheSample, "specimen-"+t.ID+"-v"+strconv.Itoa(t.Version))
}

func (h *Handler) certificatePDF(w http.ResponseWriter, r *http.Request, rec *record) {
	h.certificate(w, r, rec, formatPDF)
}

func (h *Handler) certificatePNG(w http.ResponseWriter, r *http.Request, rec *record) {
	h.certificate(w, r, rec, formatPNG)
}

func (h *Handler) certificateText(w http.ResponseWriter, r *http.Request, rec *record) {
	h.certificate(w, r, rec, formatText)
}

// certificate serves a preview of the certificate in the request body,
// in the language the query asks for.
func (h *Handler) certificate(w http.ResponseWriter, r *http.Request, rec *record, f format) {
	var params request.Errors
	width := 0
	if f == formatPNG {
		width = intParam(r.URL.Query(), "width", DefaultWidth, MinWidth, MaxWidth, "pixels", &params)
	}
	lang, asked := languageParam(r.URL.Query(), &params)
	if len(params) > 0 {
		writeProblem(w, problemBadParameter.with("", params))
		return
	}
	if !isJSON(r.Header.Get("Content-Type")) {
		writeProblem(w, problemMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, request.MaxRequestSize))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeProblem(w, problemTooLarge)
		return
	case err != nil:
		// The client went away or stopped sending; nobody will read this.
		writeProblem(w, problemMalformed.with("The request body could not be read.", nil))
		return
	}
	c, err := h.decoder().DecodeCertificate(body, request.CertificateOptions{Preview: true, Language: lang})
	if err != nil {
		var errs request.Errors
		errors.As(err, &errs)
		if c == nil {
			writeProblem(w, problemMalformed.with(detailFor(errs), errs))
		} else {
			writeProblem(w, problemInvalid.with(detailFor(errs), errs))
		}
		return
	}
	if asked {
		if errs := h.checkLanguage(c, lang); errs != nil {
			writeProblem(w, problemInvalid.with(detailFor(errs), errs))
			return
		}
	}
	j, err := h.certificateJob(c, f, width)
	if err != nil {
		h.fail(w, rec, err)
		return
	}
	h.serveJob(w, r, rec, j, cachePersonal, "specimen-certificate")
}

// decoder reads what a parent or a service sends. A certificate with any
// problem is laid out as it is read, so that what does not fit or cannot
// be drawn is reported with the rest; a valid one is laid out once, when
// its preview is drawn, which finds the same problems.
func (h *Handler) decoder() request.Decoder {
	return request.Decoder{Fit: h.r, FitOnlyWithProblems: true}
}

// certificateJob resolves c's template and pins c to it, so that "", the
// id and id@current-version all make the same preview. A template that
// does not resolve is reported in the renderer's own words.
func (h *Handler) certificateJob(c *request.Certificate, f format, width int) (job, error) {
	ref := c.Template
	if ref == "" {
		ref = request.DefaultCertificateTemplate
	}
	t, err := h.r.Templates().Resolve(ref)
	if err != nil || t.Kind != templates.KindCertificate {
		_, err := h.r.LayoutCertificate(c)
		if err == nil {
			err = fmt.Errorf("preview: template %q did not resolve, yet laid out", ref)
		}
		return job{}, err
	}
	pinned := *c
	pinned.Template = t.Ref()
	j := job{t: t, cert: &pinned, format: f}
	if f == formatPNG {
		j.width, j.page = width, 1
	}
	return j, nil
}

// serveJob answers a conditional request from the ETag alone, without
// drawing anything, or sends the preview.
func (h *Handler) serveJob(w http.ResponseWriter, r *http.Request, rec *record, j job, cacheControl, filename string) {
	k := h.key(j)
	etag := `"` + base64.RawURLEncoding.EncodeToString(k[:]) + `"`
	if notModified(r, etag) {
		writeNotModified(w, etag, cacheControl)
		return
	}
	body, how, err := h.get(r.Context(), j)
	rec.cache = how
	if err != nil {
		h.fail(w, rec, err)
		return
	}
	switch j.format {
	case formatPDF:
		w.Header().Set("Content-Disposition", `inline; filename="`+filename+`.pdf"`)
		h.send(w, r, "application/pdf", etag, cacheControl, body)
	case formatPNG:
		h.send(w, r, "image/png", etag, cacheControl, body)
	default:
		h.send(w, r, "application/json", etag, cacheControl, body)
	}
}

// fail reports an error from laying out or drawing a preview.
func (h *Handler) fail(w http.ResponseWriter, rec *record, err error) {
	var errs request.Errors
	var page badPage
	switch {
	case errors.As(err, &errs):
		writeProblem(w, problemInvalid.with(detailFor(errs), errs))
	case errors.As(err, &page):
		writeProblem(w, problemBadParameter.with("", request.Errors{{Field: "page", Problem: page.Error()}}))
	case errors.Is(err, errBusy):
		writeProblem(w, problemBusy)
	case errors.Is(err, errAbandoned), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The client has gone or its deadline passed; say so to anyone
		// still listening, as a busy server would.
		writeProblem(w, problemBusy)
	default:
		h.internal(w, rec, err)
	}
}

// internal reports Quire's own failure. The error is logged: errors from
// the renderer name templates and fields, never values.
func (h *Handler) internal(w http.ResponseWriter, rec *record, err error) {
	h.logFailure(rec, err)
	writeProblem(w, problemInternal)
}

// logFailure logs why a preview could not be made, with the stack when
// drawing it panicked.
func (h *Handler) logFailure(rec *record, err error) {
	var p *drawPanic
	if errors.As(err, &p) {
		h.log.Error("preview failed", "err", err, "template", rec.template, "stack", string(p.stack))
		return
	}
	h.log.Error("preview failed", "err", err, "template", rec.template)
}

// send writes a successful response.
func (h *Handler) send(w http.ResponseWriter, r *http.Request, contentType, etag, cacheControl string, body []byte) {
	if notModified(r, etag) {
		writeNotModified(w, etag, cacheControl)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", contentType)
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	hdr.Set("ETag", etag)
	hdr.Set("Cache-Control", cacheControl)
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func writeNotModified(w http.ResponseWriter, etag, cacheControl string) {
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", cacheControl)
	w.WriteHeader(http.StatusNotModified)
}

// notModified reports whether r's If-None-Match names etag. The
// comparison is weak, as RFC 9110 asks for If-None-Match. "*" matches
// only for GET and HEAD, where the resource always exists; a POST's
// preview exists only once it has been drawn.
//
// For POST this answers 304 where RFC 9110 §13.1.2 would answer 412: a
// preview POST is safe and idempotent (a query with a body, like the HTTP
// QUERY method), and 304 tells the page's script to keep the image it
// has, which is what the ETag is for.
func notModified(r *http.Request, etag string) bool {
	for _, v := range r.Header.Values("If-None-Match") {
		for tag := range strings.SplitSeq(v, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
				return true
			}
			if strings.TrimPrefix(tag, "W/") == etag {
				return true
			}
		}
	}
	return false
}

// isJSON reports whether a Content-Type is application/json.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// intParam reads a whole-number query parameter within [lo, hi],
// recording a problem when it is not one.
func intParam(q url.Values, name string, def, lo, hi int, unit string, errs *request.Errors) int {
	s := q.Get(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		if unit != "" {
			unit = " of " + unit
		}
		errs.Add(name, "must be a whole number%s from %d to %d", unit, lo, hi)
		return def
	}
	return n
}

// languageParam reads the language query parameter, as a request's
// language is written; asked is false when there is none, and the
// language is then English unless the body names a template.
func languageParam(q url.Values, errs *request.Errors) (lang string, asked bool) {
	s, ok := q["language"]
	if !ok {
		return request.LanguageEnglish, false
	}
	lang = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s[0])), " ", "")
	if lang == "" {
		return request.LanguageEnglish, false
	}
	if p := request.LanguageProblem(lang); p != "" {
		errs.Add("language", "%s", p)
		return request.LanguageEnglish, false
	}
	return lang, true
}

// checkLanguage refuses a certificate whose named template is not in the
// language the preview asks for, in the words the renderer uses for an
// envelope.
func (h *Handler) checkLanguage(c *request.Certificate, lang string) request.Errors {
	t, err := h.r.Templates().Resolve(c.Template)
	if err != nil || t.Language == lang {
		return nil // an unknown template is reported when laid out
	}
	return request.Errors{{Field: "template", Problem: fmt.Sprintf("template %s is in %s, but the preview asks for %s",
		t.Ref(), request.LanguageName(t.Language), request.LanguageName(lang))}}
}

// detailFor sums up field problems in a sentence.
func detailFor(errs request.Errors) string {
	if len(errs) == 1 {
		return "There is 1 problem with the details sent."
	}
	return fmt.Sprintf("There are %d problems with the details sent.", len(errs))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
