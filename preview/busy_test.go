package preview

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBurstBeyondCapacityIsTurnedAwayQuickly fills the one render slot and
// the one queue place with held-back renders; the next request that needs
// a render gets 503 with Retry-After at once, while cache hits and text
// alternatives are still served.
func TestBurstBeyondCapacityIsTurnedAwayQuickly(t *testing.T) {
	s := newTestServer(t, Options{MaxRenders: 1, MaxQueue: 1, QueueWait: time.Minute})
	// A preview in the cache before the gate goes up.
	wantStatus(t, s.postJSON("/api/v1/preview/certificate.png", `{"babyName":"Cached"}`), http.StatusOK)
	s.gated()
	queued := make(chan struct{}, 1)
	s.h.limit.onQueue = func() { queued <- struct{}{} }

	var wg sync.WaitGroup
	codes := make(chan int, 2)
	post := func(name string) {
		defer wg.Done()
		codes <- s.postJSON("/api/v1/preview/certificate.png", `{"babyName":"`+name+`"}`).Code
	}
	wg.Add(2)
	go post("First") // takes the slot and is held in layout
	<-s.r.started
	go post("Second") // waits in the queue
	<-queued

	start := time.Now()
	busy := s.postJSON("/api/v1/preview/certificate.png", `{"babyName":"Third"}`)
	if d := time.Since(start); d > time.Second {
		t.Errorf("turning away took %v", d)
	}
	wantProblem(t, busy, problemBusy)
	if ra := busy.Header().Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After %q, want 1", ra)
	}
	pdfBusy := s.postJSON("/api/v1/preview/certificate.pdf", `{"babyName":"Fourth"}`)
	wantProblem(t, pdfBusy, problemBusy)
	page := s.postForm("/preview", form("babyName", "Fifth"))
	wantStatus(t, page, http.StatusServiceUnavailable)
	if !strings.Contains(page.Body.String(), "the preview cannot be shown just now") || page.Header().Get("Retry-After") != "1" {
		t.Errorf("the busy page: Retry-After %q\n%s", page.Header().Get("Retry-After"), page.Body.String())
	}

	// What needs no render is still served.
	if w := s.postJSON("/api/v1/preview/certificate.png", `{"babyName":"Cached"}`); w.Code != http.StatusOK {
		t.Errorf("a cached preview while busy: %d", w.Code)
	}
	if w := s.do("GET", "/api/v1/templates", ""); w.Code != http.StatusOK {
		t.Errorf("the template list while busy: %d", w.Code)
	}

	close(s.r.gate) // let the held renders finish
	go func() {
		for range s.r.started {
		}
	}()
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != http.StatusOK {
			t.Errorf("a render admitted before the burst ended with %d, want 200", code)
		}
	}
	if st := s.h.Stats(); st.Rejected != 3 {
		t.Errorf("stats count %d rejected, want 3", st.Rejected)
	}
	close(s.r.started)
}

// TestIdenticalRequestsShareOneRender holds a render back while identical
// requests arrive: one layout serves them all.
func TestIdenticalRequestsShareOneRender(t *testing.T) {
	s := newTestServer(t, Options{}).gated()
	const n = 12
	seen := map[string]int{}
	for _, w := range s.postWhileHeld(robin, n) {
		seen[fmt.Sprint(w.Code, " ", w.Header().Get("ETag"))]++
	}
	if len(seen) != 1 || s.r.layouts.Load() != 1 {
		t.Errorf("%d layouts, answers %v; want 1 layout and %d identical 200s", s.r.layouts.Load(), seen, n+1)
	}
	if st := s.h.Stats(); st.Shared != n || st.Misses != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestGoneClientStopsWaiting(t *testing.T) {
	s := newTestServer(t, Options{MaxRenders: 1, QueueWait: time.Minute}).gated()
	queued := make(chan struct{}, 1)
	s.h.limit.onQueue = func() { queued <- struct{}{} }
	held := make(chan int, 1)
	go func() { held <- s.postJSON("/api/v1/preview/certificate.png", `{"babyName":"Held"}`).Code }()
	<-s.r.started

	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, "POST", "/api/v1/preview/certificate.png", strings.NewReader(`{"babyName":"Gone"}`))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	done := make(chan struct{})
	go func() { s.mux.ServeHTTP(w, req); close(done) }()
	<-queued
	cancel()
	<-done
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("a request whose client went away: %d", w.Code)
	}
	close(s.r.gate)
	if code := <-held; code != http.StatusOK {
		t.Errorf("the held render: %d", code)
	}
	if n := s.r.layouts.Load(); n != 1 {
		t.Errorf("%d layouts: the gone client's preview was drawn anyway", n)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	_, err := New(Options{CacheBytes: -1, MaxRenders: -1, MaxQueue: -1, QueueWait: -1})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"Renderer is required", "CacheBytes", "MaxRenders", "MaxQueue", "QueueWait"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not mention %s:\n%v", want, err)
		}
	}
}

func TestMountServesOnTheGivenMux(t *testing.T) {
	mux := http.NewServeMux()
	h := Mount(mux, realRenderer(t), nil)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/api/v1/templates", nil))
	if w.Code != http.StatusOK || h == nil {
		t.Errorf("GET /api/v1/templates on the mounted mux: %d", w.Code)
	}
	defer func() {
		if recover() == nil {
			t.Error("Mount without a renderer did not panic")
		}
	}()
	Mount(http.NewServeMux(), nil, nil)
}
