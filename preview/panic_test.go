package preview

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/quire-print/quire/renderer/display"
	"github.com/quire-print/quire/request"
)

// panickyRenderer panics in its first certificate layout.
type panickyRenderer struct {
	Renderer
	panicked atomic.Bool
}

func (p *panickyRenderer) LayoutCertificate(c *request.Certificate) (*display.Document, error) {
	if p.panicked.CompareAndSwap(false, true) {
		var pages []display.Page
		_ = pages[len(c.BabyName)] // index out of range
	}
	return p.Renderer.LayoutCertificate(c)
}

// TestPanicWhileDrawingAnswers500ToEveryWaiter holds a render that will
// panic while identical requests wait for it: each gets 500, the panic is
// logged with its stack but without what was typed, and the next identical
// request draws the preview afresh instead of waiting on a stuck entry.
func TestPanicWhileDrawingAnswers500ToEveryWaiter(t *testing.T) {
	s := newTestServer(t, Options{Renderer: &panickyRenderer{Renderer: realRenderer(t)}}).gated()
	body := `{"babyName":"Wren Example"}`
	for _, w := range s.postWhileHeld(body, 5) {
		if w.Code != http.StatusInternalServerError {
			t.Errorf("a request on the panicking preview: %d, want 500", w.Code)
		}
	}
	log := s.log.String()
	if !strings.Contains(log, "index out of range") || !strings.Contains(log, "stack=") {
		t.Errorf("the panic is not logged with its stack:\n%s", log)
	}
	if strings.Contains(log, "Wren") {
		t.Errorf("the log holds what was typed:\n%s", log)
	}

	s.r.gate, s.r.started = nil, nil
	if w := s.postJSON("/api/v1/preview/certificate.png", body); w.Code != http.StatusOK {
		t.Fatalf("the same preview after the panic: %d", w.Code)
	}
	if st := s.h.Stats(); st.CacheEntries != 1 {
		t.Errorf("the cache holds %d entries after the retry, want 1", st.CacheEntries)
	}
	// The render slot the panicking render held was given back.
	if got := len(s.h.limit.slots); got != 0 {
		t.Errorf("%d render slots still taken", got)
	}
}
