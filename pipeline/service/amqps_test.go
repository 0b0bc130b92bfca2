package service_test

import (
	"crypto/tls"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/quire-print/quire/internal/tlstest"
	"github.com/quire-print/quire/pipeline/service"
)

// amqpHeader opens every AMQP 0-9-1 connection.
const amqpHeader = "AMQP\x00\x00\x09\x01"

// fakeBroker accepts TLS connections with a certificate from ca and
// reports, for each, the error of the handshake or the first 8 bytes the
// client sent after it.
func fakeBroker(t *testing.T, ca *tlstest.CA) (addr string, got <-chan string) {
	t.Helper()
	c, k := ca.Issue(t, "broker")
	cert, err := tls.X509KeyPair(c, k)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	out := make(chan string, 100)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				if err := conn.(*tls.Conn).Handshake(); err != nil {
					out <- "handshake failed"
					return
				}
				buf := make([]byte, len(amqpHeader))
				if _, err := io.ReadFull(conn, buf); err != nil {
					out <- "nothing sent"
					return
				}
				out <- string(buf)
			}()
		}
	}()
	return ln.Addr().String(), out
}

// TestAMQPSWithCAFile: with --amqp-ca-file, quire serve reaches an amqps://
// broker whose certificate comes from a private authority, and speaks AMQP
// over the TLS connection; without it, the certificate is refused. (The
// test's broker is a TLS listener that reads AMQP's protocol header:
// RabbitMQ here has no TLS listener.)
func TestAMQPSWithCAFile(t *testing.T) {
	ca := tlstest.NewCA(t)
	caFile := ca.WriteCA(t, t.TempDir())
	for _, tt := range []struct {
		name, caFile, want string
	}{
		{"with the CA file", caFile, amqpHeader},
		{"with the system's authorities", "", "handshake failed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr, got := fakeBroker(t, ca)
			s, err := service.New(service.Config{AMQPURL: "amqps://guest:guest@" + addr + "/", AMQPCAFile: tt.caFile,
				Listen: "127.0.0.1:0", DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)}, fakeRenderer{})
			if err != nil {
				t.Fatal(err)
			}
			run(t, s)
			select {
			case g := <-got:
				if g != tt.want {
					t.Errorf("the broker saw %q, want %q", g, tt.want)
				}
			case <-time.After(30 * time.Second): // a deadline, not a wait: the first dial is at once
				t.Fatal("quire serve never connected")
			}
		})
	}
}

func TestAMQPTLS(t *testing.T) {
	if c, err := service.AMQPTLS(""); c != nil || err != nil {
		t.Errorf("no CA file: %v, %v; want nil, nil (the system's authorities)", c, err)
	}
	if _, err := service.AMQPTLS("/nonexistent/ca.pem"); err == nil {
		t.Error("a missing CA file was accepted")
	}
	ca := tlstest.NewCA(t)
	c, err := service.AMQPTLS(ca.WriteCA(t, t.TempDir()))
	if err != nil || !c.RootCAs.Equal(ca.Pool()) || c.MinVersion < tls.VersionTLS12 {
		t.Errorf("AMQPTLS = %+v, %v", c, err)
	}
}
