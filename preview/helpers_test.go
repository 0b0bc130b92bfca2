package preview

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/quire-print/quire/internal/syncbuf"
	"github.com/quire-print/quire/renderer"
	"github.com/quire-print/quire/renderer/display"
	"github.com/quire-print/quire/request"
)

var sharedRenderer = sync.OnceValues(renderer.New)

func realRenderer(t testing.TB) *renderer.Renderer {
	t.Helper()
	r, err := sharedRenderer()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// countingRenderer counts layouts, so tests can tell a cache hit from a
// render. When gate is set, each certificate layout first says it has
// started and then waits for gate to let it go on.
type countingRenderer struct {
	Renderer
	layouts atomic.Int32
	started chan struct{}
	gate    chan struct{}
}

func (c *countingRenderer) LayoutCertificate(cert *request.Certificate) (*display.Document, error) {
	c.layouts.Add(1)
	if c.gate != nil {
		c.started <- struct{}{}
		<-c.gate
	}
	return c.Renderer.LayoutCertificate(cert)
}

func (c *countingRenderer) LayoutLetter(env *request.Envelope) (*display.Document, error) {
	c.layouts.Add(1)
	return c.Renderer.LayoutLetter(env)
}

// testServer is a Handler on a mux, as quire serve mounts it, with its
// log lines kept.
type testServer struct {
	t   testing.TB
	h   *Handler
	r   *countingRenderer
	mux *http.ServeMux
	log *syncbuf.Buffer
}

func newTestServer(t testing.TB, opts Options) *testServer {
	t.Helper()
	cr := &countingRenderer{Renderer: realRenderer(t)}
	if opts.Renderer != nil {
		cr.Renderer = opts.Renderer
	}
	opts.Renderer = cr
	buf := &syncbuf.Buffer{}
	opts.Logger = slog.New(slog.NewTextHandler(buf, nil))
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	return &testServer{t: t, h: h, r: cr, mux: mux, log: buf}
}

// gated makes every certificate layout wait until the test lets it go.
func (s *testServer) gated() *testServer {
	s.r.started = make(chan struct{})
	s.r.gate = make(chan struct{})
	return s
}

// do sends one request; headers are name, value pairs.
func (s *testServer) do(method, target, body string, headers ...string) *httptest.ResponseRecorder {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	s.mux.ServeHTTP(w, req)
	return w
}

// postJSON posts a certificate to the API.
func (s *testServer) postJSON(target, body string, headers ...string) *httptest.ResponseRecorder {
	s.t.Helper()
	return s.do(http.MethodPost, target, body, append([]string{"Content-Type", "application/json"}, headers...)...)
}

// postForm posts the preview page's form.
func (s *testServer) postForm(target, form string) *httptest.ResponseRecorder {
	s.t.Helper()
	return s.do(http.MethodPost, target, form, "Content-Type", "application/x-www-form-urlencoded")
}

func wantStatus(t testing.TB, w *httptest.ResponseRecorder, status int) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d; body:\n%s", w.Code, status, w.Body.String())
	}
}

// postWhileHeld posts body to the PNG route once, and once that render is
// held at the gate, n times more; when all n wait on the held render, it
// lets the render go on. It returns the n+1 answers. s must be gated.
func (s *testServer) postWhileHeld(body string, n int) []*httptest.ResponseRecorder {
	waiting := make(chan struct{}, n)
	s.h.cache.onWait = func() { waiting <- struct{}{} }
	var wg sync.WaitGroup
	answers := make(chan *httptest.ResponseRecorder, n+1)
	post := func() {
		defer wg.Done()
		answers <- s.postJSON("/api/v1/preview/certificate.png", body)
	}
	wg.Add(1)
	go post()
	<-s.r.started
	for range n {
		wg.Add(1)
		go post()
	}
	for range n {
		<-waiting
	}
	close(s.r.gate)
	wg.Wait()
	close(answers)
	var all []*httptest.ResponseRecorder
	for w := range answers {
		all = append(all, w)
	}
	return all
}
