package service

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/quire-print/quire/internal/certfile"
	"github.com/quire-print/quire/pipeline/health"
)

// Audience is who a listener serves.
type Audience string

// The audiences, each with its own routes and readiness.
const (
	// Public: parents, through the /preview page and the preview API.
	// Ready without RabbitMQ or S3.
	Public Audience = "public"
	// Supplier: the print supplier, through the pull API. Ready while
	// storage answers.
	Supplier Audience = "supplier"
	// Admin: operators and the platform, through /metrics, /healthz,
	// /readyz (every dependency) and the embedded intake.
	Admin Audience = "admin"
)

// ListenerOff as a Listener's Addr serves its audience nowhere.
const ListenerOff = "off"

// Listener is one audience's HTTP listener.
type Listener struct {
	// Addr is host:port. Default empty: the audience is served on
	// Config.Listen, with every other audience without an address of its
	// own. ListenerOff: not served.
	Addr string
	// CertFile and KeyFile are PEM files of a TLS certificate (with its
	// chain) and key: the listener then speaks HTTPS only. Both or
	// neither, and only with an Addr of the listener's own. The files
	// are read again when they change, without a restart (a renewed
	// certificate, a Kubernetes secret updated in place). Default: plain
	// HTTP, with a warning at start unless the address is loopback.
	CertFile, KeyFile string
}

// listenerConfig is a Listener with its audience, as Config.listeners
// resolves them.
type listenerConfig struct {
	Listener
	aud Audience
}

func (l listenerConfig) validate(aud Audience) error {
	var errs []error
	flag := string(aud)
	if l.Addr != "" && l.Addr != ListenerOff {
		if _, port, err := net.SplitHostPort(l.Addr); err != nil || port == "" {
			errs = append(errs, fmt.Errorf("%s listen address %q must be host:port, e.g. 0.0.0.0:8443, or %q", flag, l.Addr, ListenerOff))
		}
	}
	if (l.CertFile == "") != (l.KeyFile == "") {
		errs = append(errs, fmt.Errorf("%s TLS certificate and key go together: set both or neither", flag))
	}
	if l.CertFile != "" && (l.Addr == "" || l.Addr == ListenerOff) {
		errs = append(errs, fmt.Errorf("%s TLS needs a %s listen address of its own: the shared address speaks plain HTTP", flag, flag))
	}
	return errors.Join(errs...)
}

// listeners returns the audiences' listener settings, in the order their
// routes are mounted.
func (c Config) listeners() []listenerConfig {
	return []listenerConfig{{c.Admin, Admin}, {c.Public, Public}, {c.Supplier, Supplier}}
}

// served returns the listener settings of the audiences with something
// to serve: the supplier's only with the pull API.
func (c Config) served() []listenerConfig {
	return slices.DeleteFunc(c.listeners(), func(l listenerConfig) bool {
		return l.aud == Supplier && !c.Batching.servesPull()
	})
}

// server is one HTTP listener serving one or more audiences.
type server struct {
	audiences []Audience
	addr      string             // as configured
	ln        net.Listener       // bound to addr
	srv       *http.Server       // serving mux on ln
	mux       *http.ServeMux     // /healthz, /readyz and the audiences' routes
	certs     *certfile.Reloader // nil for plain HTTP
}

func (s *server) serves(a Audience) bool { return slices.Contains(s.audiences, a) }

// name is how logs and errors name the listener: "admin", "public+supplier".
func (s *server) name() string {
	names := make([]string, len(s.audiences))
	for i, a := range s.audiences {
		names[i] = string(a)
	}
	return strings.Join(names, "+")
}

// scheme is the URL scheme the listener speaks.
func (s *server) scheme() string {
	if s.certs != nil {
		return "https"
	}
	return "http"
}

// openServers groups the audiences by address (those without one share
// cfg.Listen), opens one listener per address, and gives each a mux with
// /healthz and a /readyz of the union of its audiences' checks. The
// caller mounts the audiences' own routes.
func openServers(cfg Config, checks map[Audience][]health.Check, log *slog.Logger) (servers []*server, err error) {
	shared := &server{addr: cfg.Listen}
	servers = []*server{shared}
	for _, l := range cfg.served() {
		switch l.Addr {
		case ListenerOff:
		case "":
			shared.audiences = append(shared.audiences, l.aud)
		default:
			s := &server{audiences: []Audience{l.aud}, addr: l.Addr}
			if l.CertFile != "" {
				if s.certs, err = certfile.New(l.CertFile, l.KeyFile, log); err != nil {
					return nil, fmt.Errorf("service: %s TLS: %w", l.aud, err)
				}
			}
			servers = append(servers, s)
		}
	}
	if len(shared.audiences) == 0 {
		servers = servers[1:]
	}
	defer func() {
		if err != nil {
			closeServers(servers)
		}
	}()
	for _, s := range servers {
		if s.ln, err = net.Listen("tcp", s.addr); err != nil {
			return nil, fmt.Errorf("service: %s listen address %s: %w", s.name(), s.addr, err)
		}
		if s.certs != nil {
			s.ln = tls.NewListener(s.ln, &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.certs.GetCertificate})
		}
		var ready health.Readiness
		seen := map[string]bool{}
		for _, a := range s.audiences {
			for _, c := range checks[a] {
				if !seen[c.Name] {
					seen[c.Name] = true
					ready.Checks = append(ready.Checks, c)
				}
			}
		}
		s.mux = http.NewServeMux()
		s.mux.Handle("GET /healthz", health.Liveness())
		s.mux.Handle("GET /readyz", ready)
		s.srv = &http.Server{
			Handler:           s.mux,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
	}
	return servers, nil
}

func closeServers(servers []*server) {
	for _, s := range servers {
		if s.ln != nil {
			_ = s.ln.Close()
		}
	}
}

// plainOffLoopback reports whether s speaks plain HTTP on an address
// other hosts can reach: everything it carries, personal data included
// on the public and supplier listeners, crosses the network readable.
func (s *server) plainOffLoopback() bool {
	if s.certs != nil {
		return false
	}
	tcp, ok := s.ln.Addr().(*net.TCPAddr)
	return !ok || !tcp.IP.IsLoopback()
}
