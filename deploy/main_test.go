// Package deploy_test checks the deployment files (Dockerfile,
// compose.yaml, the Kubernetes manifests, the Grafana dashboard and the
// Prometheus rules) against the quire binary they run: every flag,
// environment variable, port, probe path and metric they name must be one
// the binary has. The binary is built once, by scripts/image-root.sh, as
// the image's is.
package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quire-print/quire/internal/clihelp"
	"github.com/quire-print/quire/internal/syncbuf"
	"github.com/quire-print/quire/internal/waitfor"
)

var (
	imageDir  string // scripts/image-root.sh's output, for the whole run
	buildOnce sync.Once
	buildErr  error
	helpOnce  sync.Once
	serveHelp clihelp.Command
	helpErr   error
	repoRoot  string // the repository root
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "quire-deploy-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	imageDir = dir
	if repoRoot, err = clihelp.ModuleRoot(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if shared != nil {
		shared.s.stop()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// root is the repository root.
func root(*testing.T) string { return repoRoot }

// quireBinary builds the image's files once, with the Dockerfile's build
// stage environment, and returns the binary's path.
func quireBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		df, err := readDockerfile(filepath.Join(root(t), "Dockerfile"))
		if err != nil {
			buildErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		_, buildErr = clihelp.BuildImageRoot(ctx, imageDir, df.build().env()...)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(imageDir, clihelp.ImageBinary)
}

// serveFlags is what the binary's "quire serve -help" says.
func serveFlags(t *testing.T) clihelp.Command {
	t.Helper()
	bin := quireBinary(t)
	helpOnce.Do(func() {
		serveHelp, helpErr = clihelp.Read(context.Background(), bin, "serve")
		if helpErr == nil && len(serveHelp.Flags) == 0 {
			helpErr = errors.New("quire serve -help lists no flags")
		}
		if helpErr == nil && len(serveHelp.Listeners()) == 0 {
			helpErr = errors.New("quire serve -help names no listener (a flag whose value is an `address`)")
		}
	})
	if helpErr != nil {
		t.Fatal(helpErr)
	}
	return serveHelp
}

// checkArgs checks command-line words: every "--flag" or "-flag" (with or
// without "=value") must be one of serve's flags.
func checkArgs(t *testing.T, where string, words []string) {
	t.Helper()
	help := serveFlags(t)
	for _, w := range words {
		if !strings.HasPrefix(w, "-") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(w, "-"), "=")
		if _, ok := help.Flag(name); !ok {
			t.Errorf("%s: quire serve has no flag --%s", where, name)
		}
	}
}

// freeAddr is a loopback address with a port free now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serve is a running "quire serve".
type serve struct {
	// addrs is the loopback address of each listener, by flag name.
	addrs map[string]string
	cmd   *exec.Cmd
	out   *syncbuf.Buffer // its stdout and stderr
	// stop interrupts it and waits for it to exit.
	stop func()
}

// serveOpts say how to start quire serve.
type serveOpts struct {
	bin  string   // the binary; path inside Chroot with one
	args []string // after "serve"
	env  []string // NAME=value, after the host's (without QUIRE_*) unless noHostEnv
	// noHostEnv starts it with env alone, as a container starts.
	noHostEnv bool
	// prepare changes the command before it starts (a chroot, a user).
	prepare func(*exec.Cmd)
	// listeners gives listeners' values, by flag name; the others get a
	// free loopback port each.
	listeners map[string]string
}

// startServe starts "quire serve" with every listener not in o.listeners
// on a free loopback port, and waits until one answers /healthz. The
// caller stops it.
func startServe(t *testing.T, o serveOpts) *serve {
	t.Helper()
	help := serveFlags(t)
	s := &serve{addrs: map[string]string{}, out: &syncbuf.Buffer{}}
	cmd := exec.Command(o.bin, append([]string{"serve"}, o.args...)...)
	cmd.Env = []string{}
	if !o.noHostEnv {
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "QUIRE_") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
	}
	cmd.Env = append(cmd.Env, o.env...)
	for _, l := range help.Listeners() {
		if l.Env == "" {
			t.Fatalf("listener flag --%s has no environment variable", l.Name)
		}
		addr, given := o.listeners[l.Name]
		if !given {
			addr = freeAddr(t)
		}
		cmd.Env = append(cmd.Env, l.Env+"="+addr)
		if _, _, err := net.SplitHostPort(addr); err == nil {
			s.addrs[l.Name] = addr
		}
	}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if o.prepare != nil {
		o.prepare(cmd)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.cmd = cmd
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	s.stop = func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	// Wait for a listener to answer: the process has no other signal of
	// being up that every version gives.
	up := false
	defer func() {
		if !up { // the wait failed the test
			s.stop()
		}
	}()
	waitfor.Until(t, time.Minute, func() error {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("quire serve exited before answering /healthz: %v\n%s", err, s.output())
		default:
		}
		for _, addr := range s.addrs {
			if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return nil
				}
			}
		}
		return fmt.Errorf("quire serve did not answer /healthz\n%s", s.output())
	})
	up = true
	return s
}

func (s *serve) output() string { return s.out.String() }

// probePaths are the paths whose answers say what a listener serves: the
// probes', the admin's, the parents' and the supplier's.
var probePaths = []string{"/healthz", "/readyz", "/metrics", "/preview", "/api/v1/templates", "/supplier/v1/batches"}

// batchingEnv makes quire serve batch for a pull supplier, so that
// batching's metrics and the pull API exist. Requests without the token
// whose hash this is get 401.
var batchingEnv = []string{
	"QUIRE_SUPPLIER=example-printer",
	"QUIRE_SUPPLIER_ADAPTER=pull",
	"QUIRE_SUPPLIER_TOKENS=example-printer:" + strings.Repeat("ab", 32),
}

// sharedServe is one quire serve for the tests that only read its
// metrics: on the embedded defaults, batching for a pull supplier, every
// listener on its own port, each asked for every probe path once (which
// also gives the request counters, by route and code, their first series).
type sharedServe struct{ s *serve }

var (
	shared     *sharedServe
	sharedOnce sync.Once
	sharedErr  string
)

// sharedQuire starts the shared serve on first use; TestMain stops it.
func sharedQuire(t *testing.T) *sharedServe {
	t.Helper()
	bin := quireBinary(t)
	serveFlags(t)
	sharedOnce.Do(func() {
		// Not t.Fatal inside Do: record the failure for every caller.
		ok := t.Run("start shared quire serve", func(t *testing.T) {
			env := append([]string{"QUIRE_DATA_DIR=" + filepath.Join(imageDir, "shared-data")}, batchingEnv...)
			s := startServe(t, serveOpts{bin: bin, env: env})
			shared = &sharedServe{s: s}
			for _, addr := range s.addrs {
				for _, p := range probePaths {
					get(addr, p)
				}
			}
		})
		if !ok {
			sharedErr = "the shared quire serve did not start (see the subtest)"
		}
	})
	if sharedErr != "" {
		t.Fatal(sharedErr)
	}
	return shared
}

// get answers the status of GET path on addr, 0 if nothing answers.
func get(addr, path string) int {
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// routesFor starts quire serve with the listeners a deployment file sets
// in env (NAME=value; unset ones keep their defaults), each distinct port
// moved to a free loopback one, so that audiences share a listener as
// they would in the deployment. It returns what GET of each probe path
// answers, by the deployment's port: 404 or 0 means not served there.
func routesFor(t *testing.T, env map[string]string) map[string]map[string]int {
	t.Helper()
	bin := quireBinary(t)
	listeners, local := localListeners(t, env)
	env2 := append([]string{"QUIRE_DATA_DIR=" + t.TempDir()}, batchingEnv...)
	s := startServe(t, serveOpts{bin: bin, env: env2, listeners: listeners})
	defer s.stop()
	routes := map[string]map[string]int{}
	for port, addr := range local {
		routes[port] = map[string]int{}
		for _, p := range probePaths {
			routes[port][p] = get(addr, p)
		}
	}
	return routes
}

// localListeners moves the listener addresses a deployment file sets in
// env (NAME=value; unset ones keep their defaults) to free loopback ports,
// one for each distinct port, so that audiences sharing an address share
// one here too. It returns the new values by flag name (empty and off kept
// as they are) and the loopback address of each of the file's ports.
func localListeners(t *testing.T, env map[string]string) (listeners, local map[string]string) {
	t.Helper()
	listeners, local = map[string]string{}, map[string]string{}
	for _, l := range serveFlags(t).Listeners() {
		v, ok := env[l.Env]
		if !ok {
			v = strings.Trim(l.Default, `"`)
		}
		_, port, err := net.SplitHostPort(v)
		if err != nil {
			listeners[l.Name] = v
			continue
		}
		if local[port] == "" {
			local[port] = freeAddr(t)
		}
		listeners[l.Name] = local[port]
	}
	return listeners, local
}

// isListener reports whether the deployment's port is a listener's: the
// serve routesFor started answered /healthz on it.
func isListener(routes map[string]map[string]int, port string) bool {
	return routes[port]["/healthz"] == http.StatusOK
}
