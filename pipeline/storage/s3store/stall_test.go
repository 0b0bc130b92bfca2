package s3store

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const stallTimeout = 100 * time.Millisecond

// stallClient is a client through a stallGuard to srv.
func stallClient(srv *httptest.Server) *http.Client {
	return &http.Client{Transport: stallGuard{rt: srv.Client().Transport, timeout: stallTimeout}}
}

func TestStallGuardFailsAServiceThatDoesNotAnswer(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/half" {
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("part"))
			w.(http.Flusher).Flush()
		}
		<-release
	}))
	defer srv.Close()
	defer close(release)
	c := stallClient(srv)

	start := time.Now()
	_, err := c.Get(srv.URL + "/silent")
	var se *stallError
	if !errors.As(err, &se) {
		t.Fatalf("a service that never answers: %v, want a stall error", err)
	}
	if took := time.Since(start); took > 10*stallTimeout {
		t.Errorf("the request failed after %v", took)
	}

	resp, err := c.Get(srv.URL + "/half")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	if !errors.As(err, &se) {
		t.Errorf("an answer that stops half way: %v, want a stall error", err)
	}
}

// slowReader hands over its bytes only after a pause longer than the
// request timeout, as a caller busy producing them would.
type slowReader struct {
	r     io.Reader
	pause time.Duration
}

func (s *slowReader) Read(p []byte) (int, error) {
	<-time.After(s.pause)
	return s.r.Read(p)
}

func TestStallGuardDoesNotCountTheCallersTime(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(w, r.Body)
	}))
	defer srv.Close()
	c := stallClient(srv)

	// A caller slow to produce what is sent.
	req, err := http.NewRequest(http.MethodPut, srv.URL, &slowReader{r: strings.NewReader("slowly made"), pause: 3 * stallTimeout})
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len("slowly made"))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("a slow caller's upload: %v", err)
	}
	// A caller slow to read the answer.
	<-time.After(3 * stallTimeout)
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(got) != "slowly made" {
		t.Errorf("a slow caller's download = %q, %v", got, err)
	}
}
