// Package preview serves specimen previews of Quire's documents over HTTP:
// a JSON API that the upstream application service and content designers
// call, and a page at /preview where a parent fills in the boxes and sees
// the certificate, with and without JavaScript.
//
// Every preview is marked "Specimen – not a certificate" in the image and
// the PDF, comes with a text alternative that says box by box what the
// certificate will say, and is never stored: finished previews live only in
// a bounded in-memory cache, keyed by a hash of what was asked for. Nothing
// a parent types is logged; log lines carry the route, status, timings and
// whether the cache answered.
//
// The API is described in api/openapi.yaml; docs/preview.md says how it
// behaves under load and why.
package preview

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"runtime"
	"time"

	"github.com/quire-print/quire/renderer/display"
	"github.com/quire-print/quire/renderer/raster"
	"github.com/quire-print/quire/request"
	"github.com/quire-print/quire/templates"
)

// Renderer lays out and draws documents. *renderer.Renderer is one; tests
// use others to hold renders back or make them fail.
type Renderer interface {
	// Templates returns every template the renderer can lay out.
	Templates() *templates.Set
	// LayoutCertificate lays out one certificate; field problems come back
	// as request.Errors.
	LayoutCertificate(c *request.Certificate) (*display.Document, error)
	// LayoutLetter lays out an envelope's carriage letter.
	LayoutLetter(env *request.Envelope) (*display.Document, error)
	// WritePDF draws a laid-out document as PDF.
	WritePDF(buf *bytes.Buffer, d *display.Document) error
	// Fitter lays out what a parent sent while it is decoded, so that
	// what does not fit or cannot be drawn is reported with every other
	// problem.
	request.Fitter
}

// Defaults and limits.
const (
	// DefaultCacheBytes is Options.CacheBytes when it is not set.
	DefaultCacheBytes = 24 << 20
	// DefaultQueueWait is Options.QueueWait when it is not set.
	DefaultQueueWait = time.Second
	// DefaultWidth is the width of a page image, in pixels, when a
	// request does not give one: sharp at 400 CSS pixels on a screen with
	// two pixels to a CSS pixel.
	DefaultWidth = 800
	// MinWidth and MaxWidth bound the width a request may ask for. Above
	// MaxWidth the PDF serves better than an image.
	MinWidth = 100
	MaxWidth = 1600

	defaultQueuePerSlot = 8
)

// Options configure a Handler. The zero value of every field but Renderer
// means its default.
type Options struct {
	// Renderer lays out and draws previews. Required.
	Renderer Renderer
	// Logger receives one line per request: route, status, duration and
	// how the cache answered, never what was sent. Nil means slog.Default().
	Logger *slog.Logger
	// CacheBytes bounds the memory held by finished previews, in bytes.
	// Default DefaultCacheBytes (24 MiB: about four hundred page images),
	// small enough that quire serve stays under 150 MB resident within its
	// default memory limit.
	// Half as much again holds each template's unchanging part, drawn
	// once per image width (under 1 MiB at the default width).
	CacheBytes int64
	// MaxRenders is how many previews may be drawn at once. Drawing is
	// CPU-bound, so more than the number of CPUs only adds latency.
	// Default runtime.GOMAXPROCS(0).
	MaxRenders int
	// MaxQueue is how many requests may wait for a render slot; one more
	// is turned away at once with 503 and Retry-After. Default 8 per slot:
	// at about 1.5 ms a render, a full queue clears in about 12 ms, so an
	// admitted request still answers within the 25 ms p99 budget.
	MaxQueue int
	// QueueWait is the longest a request waits for a render slot before
	// it is turned away with 503. Default DefaultQueueWait (1s).
	QueueWait time.Duration
}

// Handler serves the preview API and page. It is safe for concurrent use.
// Mount it on a mux with Register.
type Handler struct {
	r      Renderer
	log    *slog.Logger
	cache  *cache[[]byte]
	bases  *cache[*raster.Base]
	limit  *limiter
	salt   string
	mux    *http.ServeMux
	assets map[string]asset
	// helplines are named at the foot of the page, by its language.
	helplines map[string]helpline
	metrics   *metrics
}

// New returns a Handler, or an error naming every option that is wrong.
func New(opts Options) (*Handler, error) {
	var errs []error
	if opts.Renderer == nil {
		errs = append(errs, errors.New("preview: Options.Renderer is required"))
	}
	if opts.CacheBytes < 0 {
		errs = append(errs, errors.New("preview: Options.CacheBytes cannot be negative"))
	}
	if opts.MaxRenders < 0 {
		errs = append(errs, errors.New("preview: Options.MaxRenders cannot be negative"))
	}
	if opts.MaxQueue < 0 {
		errs = append(errs, errors.New("preview: Options.MaxQueue cannot be negative"))
	}
	if opts.QueueWait < 0 {
		errs = append(errs, errors.New("preview: Options.QueueWait cannot be negative"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.CacheBytes == 0 {
		opts.CacheBytes = DefaultCacheBytes
	}
	if opts.MaxRenders == 0 {
		opts.MaxRenders = runtime.GOMAXPROCS(0)
	}
	if opts.MaxQueue == 0 {
		opts.MaxQueue = defaultQueuePerSlot * opts.MaxRenders
	}
	if opts.QueueWait == 0 {
		opts.QueueWait = DefaultQueueWait
	}
	assets, err := loadAssets()
	if err != nil {
		return nil, err
	}
	h := &Handler{
		r:      opts.Renderer,
		log:    opts.Logger,
		cache:  newCache(opts.CacheBytes, bytesCost),
		bases:  newCache(opts.CacheBytes/2, baseCost),
		limit:  newLimiter(opts.MaxRenders, opts.MaxQueue, opts.QueueWait),
		salt:   buildSalt(),
		assets: assets,
		helplines: map[string]helpline{
			pageEnglish: helplineFrom(opts.Renderer.Templates(), pageEnglish),
			pageWelsh:   helplineFrom(opts.Renderer.Templates(), pageWelsh),
		},
	}
	h.metrics = newMetrics(h.Stats)
	h.mux = http.NewServeMux()
	h.Register(h.mux)
	return h, nil
}

// route is one pattern the Handler serves.
type route struct {
	// pattern is a net/http pattern: "METHOD /path".
	pattern string
	serve   func(h *Handler, w http.ResponseWriter, r *http.Request, rec *record)
}

// routes is every route, in the order of api/openapi.yaml. A test checks
// the two agree.
var routes = []route{
	{"GET /api/v1/templates", (*Handler).listTemplates},
	{"GET /api/v1/templates/{template}/sample.pdf", (*Handler).samplePDF},
	{"GET /api/v1/templates/{template}/sample.png", (*Handler).samplePNG},
	{"GET /api/v1/templates/{template}/sample.json", (*Handler).sampleText},
	{"POST /api/v1/preview/certificate.pdf", (*Handler).certificatePDF},
	{"POST /api/v1/preview/certificate.png", (*Handler).certificatePNG},
	{"POST /api/v1/preview/certificate.json", (*Handler).certificateText},
	{"GET /preview", (*Handler).page},
	{"POST /preview", (*Handler).pagePost},
	{"POST /preview/certificate.pdf", (*Handler).pagePDF},
	{"GET /preview/assets/{name}", (*Handler).asset},
}

// Register adds every preview route to mux. Patterns name their methods
// (GET also answers HEAD), so a wrong method gets 405 from mux.
func (h *Handler) Register(mux *http.ServeMux) {
	for _, rt := range routes {
		mux.Handle(rt.pattern, h.wrap(rt))
	}
}

// Mount serves the preview API and page on mux with the default options,
// logging to logger, and returns the Handler (for its Stats and
// Collector). It is the
// one line quire serve needs. It panics only when r is nil or the
// package's embedded files are broken, which its tests rule out.
func Mount(mux *http.ServeMux, r Renderer, logger *slog.Logger) *Handler {
	h, err := New(Options{Renderer: r, Logger: logger})
	if err != nil {
		panic(err)
	}
	h.Register(mux)
	return h
}

// ServeHTTP serves the preview routes on their own, for a server that
// mounts nothing else.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Stats are running totals since the Handler was made, for metrics.
type Stats struct {
	// Hits were answered from the cache; Misses were drawn; Shared waited
	// for an identical preview another request was drawing.
	Hits, Misses, Shared uint64
	// Evictions made room in the cache; CacheBytes and CacheEntries are
	// what it holds now.
	Evictions    uint64
	CacheBytes   int64
	CacheEntries int
	// Rejected were turned away with 503 because every render slot and
	// queue place was taken, or the wait ran out.
	Rejected uint64
}

// Stats returns the running totals.
func (h *Handler) Stats() Stats {
	s := h.cache.stats()
	s.Rejected = h.limit.rejected.Load()
	return s
}
