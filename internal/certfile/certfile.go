// Package certfile serves a TLS certificate from a certificate file and a
// key file, and reads them again when they change, so that a renewed
// certificate is served without a restart.
package certfile

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"
)

// Reloader holds the certificate read from two PEM files. Its
// GetCertificate, for tls.Config, looks at the files at each handshake
// (two stats) and reads them again when either has changed: a new
// modification time, size or inode, as a rewrite, a rename over the file
// or a Kubernetes secret's symlink swap give. A pair that cannot be loaded
// (half written, a key that does not match) is logged and the last good
// certificate is served until the files are right again. It is safe for
// concurrent use.
type Reloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   [2]fileStamp
	badSeen [2]fileStamp // the stamps of the last pair that failed, logged once
}

type fileStamp struct {
	mod  time.Time
	size int64
	ino  uint64
}

func stamp(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	s := fileStamp{mod: fi.ModTime(), size: fi.Size()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.ino = st.Ino
	}
	return s, nil
}

// New reads the certificate and key; it fails if they cannot be loaded as
// a pair. log receives a line for every reload and every failed one.
func New(certFile, keyFile string, log *slog.Logger) (*Reloader, error) {
	if log == nil {
		log = slog.Default()
	}
	r := &Reloader{certFile: certFile, keyFile: keyFile, log: log}
	st, err := r.stamps()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("certificate %s and key %s: %w", certFile, keyFile, err)
	}
	r.cert, r.stamp = &cert, st
	return r, nil
}

func (r *Reloader) stamps() ([2]fileStamp, error) {
	c, err1 := stamp(r.certFile)
	k, err2 := stamp(r.keyFile)
	return [2]fileStamp{c, k}, errors.Join(err1, err2)
}

// GetCertificate returns the current certificate, read again first if
// the files have changed.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, err := r.stamps()
	if err != nil || st == r.stamp || st == r.badSeen {
		// Missing for a moment (being replaced), unchanged, or known bad:
		// the last good certificate.
		return r.cert, nil
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		r.badSeen = st
		r.log.Warn("TLS certificate files changed but cannot be loaded; serving the previous certificate",
			"cert_file", r.certFile, "err", err)
		return r.cert, nil
	}
	r.cert, r.stamp = &cert, st
	r.log.Info("TLS certificate reloaded", "cert_file", r.certFile)
	return r.cert, nil
}

// Pool reads a PEM file of certificate authorities, for checking a
// server's certificate (an S3 service's, a broker's) against them instead
// of the system's.
func Pool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate in it", file)
	}
	return pool, nil
}
