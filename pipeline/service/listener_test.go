package service_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/quire-print/quire/internal/syncbuf"
	"github.com/quire-print/quire/internal/tlstest"
	"github.com/quire-print/quire/pipeline/service"
	"github.com/quire-print/quire/pipeline/supplier/pull"
)

// run runs s until the test ends.
func run(t *testing.T, s *service.Service) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func do(t *testing.T, c *http.Client, method, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestListenersByAudience: with an address each, every audience's routes
// answer on its own listener only, and each listener's /readyz checks only
// what its audience needs: with the store gone, the public listener stays
// ready, the supplier and admin listeners do not, and no body shows the
// error's text.
func TestListenersByAudience(t *testing.T) {
	r, err := service.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	token, hash := pull.NewToken()
	s, err := service.New(service.Config{
		DataDir: dir, Logger: slog.New(slog.DiscardHandler),
		Public: service.Listener{Addr: "127.0.0.1:0"}, Supplier: service.Listener{Addr: "127.0.0.1:0"}, Admin: service.Listener{Addr: "127.0.0.1:0"},
		Batching: service.BatchConfig{Supplier: "northprint", Tokens: []pull.Credentials{{Supplier: "northprint", TokenSHA256: []string{hash}}}},
	}, r)
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)
	public, supplier, admin := s.URL(service.Public), s.URL(service.Supplier), s.URL(service.Admin)
	if public == supplier || public == admin || supplier == admin || s.Addr() != strings.TrimPrefix(admin, "http://") {
		t.Fatalf("listeners: public %s, supplier %s, admin %s, Addr %s", public, supplier, admin, s.Addr())
	}
	c := http.DefaultClient
	for _, tt := range []struct {
		base, method, path string
		want               int
	}{
		{public, "GET", "/preview", 200},
		{public, "GET", "/api/v1/templates", 200},
		{public, "GET", "/metrics", 404},
		{public, "GET", pull.BasePath + "/batches", 404},
		{public, "POST", service.IntakePath + "envelope.render", 404},
		{supplier, "GET", pull.BasePath + "/batches", 200},
		{supplier, "GET", "/preview", 404},
		{supplier, "GET", "/metrics", 404},
		{supplier, "POST", service.IntakePath + "envelope.render", 404},
		{admin, "GET", "/metrics", 200},
		{admin, "GET", "/preview", 404},
		{admin, "GET", pull.BasePath + "/batches", 404},
	} {
		if code, body := do(t, c, tt.method, tt.base+tt.path, token); code != tt.want {
			t.Errorf("%s %s%s: %d, want %d: %.200s", tt.method, tt.base, tt.path, code, tt.want, body)
		}
	}
	for base, want := range map[string]string{public: "service: ok\n", supplier: "service: ok\nstorage: ok\n", admin: "service: ok\nbroker: ok\nstorage: ok\n"} {
		if code, body := do(t, c, "GET", base+"/readyz", ""); code != 200 || body != want {
			t.Errorf("%s/readyz: %d %q, want 200 %q", base, code, body, want)
		}
		if code, _ := do(t, c, "GET", base+"/healthz", ""); code != 200 {
			t.Errorf("%s/healthz: %d", base, code)
		}
	}

	// The store's directory vanishes, at once: a removal could race the
	// batcher's first writes.
	if err := os.Rename(dir, dir+".gone"); err != nil {
		t.Fatal(err)
	}
	if code, body := do(t, c, "GET", public+"/readyz", ""); code != 200 {
		t.Errorf("public /readyz with the store gone: %d %q, want 200: the preview needs no storage", code, body)
	}
	for _, base := range []string{supplier, admin} {
		code, body := do(t, c, "GET", base+"/readyz", "")
		if code != 503 || !strings.Contains(body, "storage: not ready") {
			t.Errorf("%s/readyz with the store gone: %d %q", base, code, body)
		}
		if strings.Contains(body, dir) || strings.Contains(body, "/tmp") || strings.Contains(body, "no such file") {
			t.Errorf("%s/readyz shows the error's text: %q", base, body)
		}
	}
}

// TestAudienceOff: an audience whose address is "off" is served nowhere.
func TestAudienceOff(t *testing.T) {
	s, err := service.New(service.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Public: service.Listener{Addr: service.ListenerOff},
		Logger: slog.New(slog.DiscardHandler)}, fakeRenderer{})
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)
	if s.URL(service.Public) != "" || s.URL(service.Admin) == "" {
		t.Errorf("public %q, admin %q", s.URL(service.Public), s.URL(service.Admin))
	}
}

// TestPublicTLS: the public listener speaks TLS with the certificate
// files, picks up renewed files without a restart, and the start log warns
// of no plain-HTTP listener, since the admin one is on loopback.
func TestPublicTLS(t *testing.T) {
	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	certFile, keyFile := ca.WriteFiles(t, dir, "first")
	var logs syncbuf.Buffer
	s, err := service.New(service.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0",
		Public: service.Listener{Addr: "127.0.0.1:0", CertFile: certFile, KeyFile: keyFile},
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}, fakeRenderer{})
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)
	base := s.URL(service.Public)
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("public URL %q", base)
	}
	served := func() string {
		t.Helper()
		// A new transport for each, so each makes a new handshake.
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
		resp, err := c.Get(base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("/readyz over TLS: %d", resp.StatusCode)
		}
		return resp.TLS.PeerCertificates[0].Subject.CommonName
	}
	if cn := served(); cn != "first" {
		t.Errorf("serves %q", cn)
	}
	ca.WriteFiles(t, dir, "renewed")
	if cn := served(); cn != "renewed" {
		t.Errorf("after renewal, serves %q, want renewed", cn)
	}
	if resp, err := http.Get("http://" + strings.TrimPrefix(base, "https://") + "/readyz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Errorf("plain HTTP on the TLS listener: %d", resp.StatusCode)
		}
	}
	logs.WaitFor(t, "quire serve: running", 1)
	if strings.Contains(logs.String(), "plain HTTP") {
		t.Errorf("a warning of plain HTTP with every listener on loopback or TLS:\n%s", logs.String())
	}
}

// TestPlainHTTPWarning: a listener on every interface without TLS is
// named in a warning at start.
func TestPlainHTTPWarning(t *testing.T) {
	var logs syncbuf.Buffer
	s, err := service.New(service.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Public: service.Listener{Addr: "0.0.0.0:0"},
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}, fakeRenderer{})
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)
	logs.WaitFor(t, "quire serve: running", 1)
	out := logs.String()
	if !strings.Contains(out, "level=WARN msg=\"quire serve: listener speaks plain HTTP") || !strings.Contains(out, "listener=public") ||
		strings.Contains(out, "listener=admin") {
		t.Errorf("want one warning, for the public listener:\n%s", out)
	}
}
