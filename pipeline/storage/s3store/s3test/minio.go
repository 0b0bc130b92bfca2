package s3test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/quire-print/quire/internal/tlstest"
	"github.com/quire-print/quire/internal/waitfor"
	"github.com/quire-print/quire/pipeline/storage/s3store"
)

// MinIO is a MinIO server of the test's own, on a free loopback port and
// its own data directory, so stopping it disturbs no other test.
type MinIO struct {
	t    testing.TB
	bin  string
	Addr string
	data string
	cmd  *exec.Cmd
	done chan struct{}
	// certs is the --certs-dir of a MinIO that speaks HTTPS; "" for HTTP.
	certs string
	// CAFile is the authority of its certificate, with certs.
	CAFile string
	client *http.Client
}

// readyPath is MinIO's health endpoint that answers 200 only once the
// server takes S3 requests.
const readyPath = "/minio/health/cluster"

// Credentials of every private MinIO.
const (
	MinIOUser     = "quire-private"
	MinIOPassword = "quire-private-secret"
)

// newMinIO picks a free port and a data directory for a private MinIO.
func newMinIO(t testing.TB) *MinIO {
	t.Helper()
	bin := os.Getenv("QUIRE_TEST_MINIO_BIN")
	if bin == "" {
		t.Fatal("QUIRE_TEST_MINIO_BIN is not set: run ./scripts/test-services.sh and source .test-env (make test does both)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	m := &MinIO{t: t, bin: bin, Addr: addr, data: t.TempDir(), client: http.DefaultClient}
	return m
}

// StartMinIO starts a private MinIO from QUIRE_TEST_MINIO_BIN and kills it
// when the test ends.
func StartMinIO(t testing.TB) *MinIO {
	t.Helper()
	m := newMinIO(t)
	m.Start()
	t.Cleanup(m.Kill)
	return m
}

// StartMinIOTLS starts a private MinIO that speaks HTTPS only, with a
// certificate for 127.0.0.1 from an authority of the test's own, whose
// certificate is in m.CAFile; Config still says DisableTLS.
func StartMinIOTLS(t testing.TB) *MinIO {
	t.Helper()
	m := newMinIO(t)
	ca := tlstest.NewCA(t)
	m.certs = t.TempDir()
	certFile, keyFile := ca.WriteFiles(t, m.certs, "minio")
	for from, to := range map[string]string{certFile: "public.crt", keyFile: "private.key"} {
		if err := os.Rename(from, filepath.Join(m.certs, to)); err != nil {
			t.Fatal(err)
		}
	}
	m.CAFile = ca.WriteCA(t, t.TempDir())
	m.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	m.Start()
	t.Cleanup(m.Kill)
	return m
}

// Config is an s3store.Config for a bucket on m, created at start, with
// s3store's defaults for retries and timeouts.
func (m *MinIO) Config() s3store.Config {
	return s3store.Config{Endpoint: m.Addr, Bucket: "quire-private", AccessKey: MinIOUser, SecretKey: MinIOPassword,
		DisableTLS: true, CreateBucket: true}
}

// Start starts the server (again) on the same address and data, and waits
// until it serves requests.
func (m *MinIO) Start() {
	m.t.Helper()
	args := []string{"server", m.data, "--address", m.Addr, "--quiet"}
	scheme := "http://"
	if m.certs != "" {
		args = append(args, "--certs-dir", m.certs)
		scheme = "https://"
	}
	m.cmd = exec.Command(m.bin, args...)
	m.cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+MinIOUser, "MINIO_ROOT_PASSWORD="+MinIOPassword)
	if err := m.cmd.Start(); err != nil {
		m.t.Fatal(err)
	}
	m.done = make(chan struct{})
	go func() { _ = m.cmd.Wait(); close(m.done) }()
	// An external process: poll its health endpoint, within a deadline.
	// Not /minio/health/live: that answers 200 as soon as the listener is
	// up, while S3 requests still fail with "Server not initialized yet";
	// /minio/health/cluster answers 200 only once the object layer is.
	waitfor.Until(m.t, time.Minute, func() error {
		select {
		case <-m.done:
			m.t.Fatalf("MinIO on %s exited while starting", m.Addr)
		default:
		}
		resp, err := m.client.Get(scheme + m.Addr + readyPath)
		if err != nil {
			return fmt.Errorf("MinIO on %s did not start: %w", m.Addr, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("MinIO on %s did not start: %s answers %d", m.Addr, readyPath, resp.StatusCode)
		}
		return nil
	})
}

// Pause stops the server with SIGSTOP: it keeps its connections and port,
// and the kernel still accepts new connections for it, but it answers
// nothing, as a hung process or disk would. Resume undoes it; a test that
// pauses the server resumes it before it ends, or Kill does.
func (m *MinIO) Pause() {
	m.t.Helper()
	if err := m.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		m.t.Fatal(err)
	}
	// The signal stops every thread of the process a moment later, not at
	// once: wait until the kernel says it is stopped.
	stat := fmt.Sprintf("/proc/%d/stat", m.cmd.Process.Pid)
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(stat)
		if err != nil {
			m.t.Fatal(err)
		}
		// The state follows the command name in parentheses.
		if i := bytes.LastIndexByte(b, ')'); i >= 0 && bytes.HasPrefix(b[i+1:], []byte(" T")) {
			return
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("MinIO on %s did not stop within 10s", m.Addr)
		}
		time.Sleep(time.Millisecond) // polling interval
	}
}

// Resume lets a paused server go on with SIGCONT.
func (m *MinIO) Resume() {
	m.t.Helper()
	if err := m.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		m.t.Fatal(err)
	}
}

// Kill stops the server as a crash would and waits for it to go.
func (m *MinIO) Kill() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	_ = m.cmd.Process.Kill()
	<-m.done
	m.cmd = nil
}
