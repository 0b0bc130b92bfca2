package certfile_test

import (
	"crypto/tls"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/quire-print/quire/internal/certfile"
	"github.com/quire-print/quire/internal/syncbuf"
	"github.com/quire-print/quire/internal/tlstest"
)

// served returns the common name of the certificate a TLS server on ln
// presents to a client that trusts ca.
func served(t *testing.T, addr string, ca *tlstest.CA) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
}

func TestReloadsChangedFiles(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t)
	certFile, keyFile := ca.WriteFiles(t, dir, "first")
	var logs syncbuf.Buffer
	r, err := certfile.New(certFile, keyFile, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: r.GetCertificate})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	addr := ln.Addr().String()
	if cn := served(t, addr, ca); cn != "first" {
		t.Fatalf("serves %q, want first", cn)
	}

	ca.WriteFiles(t, dir, "renewed")
	if cn := served(t, addr, ca); cn != "renewed" {
		t.Errorf("after the files changed, serves %q, want renewed", cn)
	}
	if !strings.Contains(logs.String(), "TLS certificate reloaded") {
		t.Errorf("the reload is not logged:\n%s", logs.String())
	}

	// A key that does not match: the last good certificate stays, and the
	// failure is logged once.
	other, _ := ca.Issue(t, "mismatched")
	if err := os.WriteFile(certFile, other, 0o600); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if cn := served(t, addr, ca); cn != "renewed" {
			t.Errorf("with a mismatched pair, serves %q, want the last good one", cn)
		}
	}
	if n := strings.Count(logs.String(), "cannot be loaded"); n != 1 {
		t.Errorf("the bad pair was logged %d times, want 1:\n%s", n, logs.String())
	}
	// Fixed: served again.
	ca.WriteFiles(t, dir, "fixed")
	if cn := served(t, addr, ca); cn != "fixed" {
		t.Errorf("after the fix, serves %q", cn)
	}
}

func TestNewRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t)
	certFile, _ := ca.WriteFiles(t, dir, "x")
	if _, err := certfile.New(certFile, certFile, nil); err == nil {
		t.Error("a certificate as its own key was accepted")
	}
	if _, err := certfile.New(dir+"/missing.pem", certFile, nil); err == nil {
		t.Error("a missing file was accepted")
	}
}

func TestPool(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t)
	pool, err := certfile.Pool(ca.WriteCA(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	if !pool.Equal(ca.Pool()) {
		t.Error("the pool does not hold the authority")
	}
	if err := os.WriteFile(dir+"/empty.pem", []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := certfile.Pool(dir + "/empty.pem"); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("a file without certificates: %v", err)
	}
}
