//go:build integration

package deploy_test

import (
	"bufio"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/quire-print/quire/internal/clihelp"
)

// TestImageRunsInChroot builds the image's files as the Dockerfile does
// (scripts/image-root.sh, with the build stage's ENV), lays them out in an
// empty root directory as the image stage's COPY instructions do, and runs
// the image's ENTRYPOINT and CMD there with its ENV, WORKDIR and USER: the
// nearest thing to running the image without a container runtime. /proc
// is mounted, as every runtime does. It must start quire serve on the
// embedded defaults and answer /healthz, /readyz and /metrics. It needs
// root, for chroot and the mount.
func TestImageRunsInChroot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root (chroot, mount /proc): run the integration tests as root, as CI does")
	}
	df, err := readDockerfile(filepath.Join(root(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	quireBinary(t)
	b, f := df.build(), df.final()
	out := b.scriptOut(t)

	rootfs := t.TempDir()
	if err := os.Chmod(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range f.copies(t, b.Name) {
		src := filepath.Join(imageDir, strings.TrimPrefix(c.Src, out))
		uid, gid := 0, 0
		if c.Chown != "" {
			uid, gid = parseIDs(t, c.Chown)
		}
		if err := copyTree(src, filepath.Join(rootfs, c.Dst), uid, gid); err != nil {
			t.Fatal(err)
		}
	}

	entry := f.exec(t, "ENTRYPOINT")
	cmdWords := f.exec(t, "CMD")
	if len(cmdWords) == 0 || cmdWords[0] != "serve" {
		t.Fatalf("Dockerfile: CMD %q, want [\"serve\", …]", cmdWords)
	}
	checkArgs(t, "Dockerfile CMD", cmdWords[1:])
	binIn := filepath.Join(rootfs, entry[0])
	checkStatic(t, binIn)

	uid, gid := imageUser(t, f)
	checkPasswd(t, rootfs, uid)
	workdir := "/"
	if w := f.all("WORKDIR"); len(w) > 0 {
		workdir = w[len(w)-1].Args
	}
	imageEnv := f.env()
	checkEnv(t, "Dockerfile ENV", imageEnv)
	checkExposed(t, f, imageEnv)

	proc := filepath.Join(rootfs, "proc")
	if err := os.Mkdir(proc, 0o555); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("proc", proc, "proc", 0, ""); err != nil {
		t.Fatalf("mount /proc in the root: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(proc, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", proc, err)
		}
	})

	envMap := map[string]string{}
	for _, kv := range imageEnv {
		k, v, _ := strings.Cut(kv, "=")
		envMap[k] = v
	}
	listeners, _ := localListeners(t, envMap)
	s := startServe(t, serveOpts{bin: entry[0], args: cmdWords[1:], env: imageEnv, noHostEnv: true, listeners: listeners,
		prepare: func(c *exec.Cmd) {
			c.Dir = workdir
			c.SysProcAttr = &syscall.SysProcAttr{Chroot: rootfs,
				Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		}})
	t.Cleanup(s.stop)

	if got := processUID(t, s.cmd.Process.Pid); got != uid {
		t.Errorf("quire serve runs as uid %d, want the image's %d", got, uid)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if !answersOn(s, path) {
			t.Errorf("GET %s: no listener answered 200\n%s", path, s.output())
		}
	}
}

// answersOn reports whether some listener of s answers GET path with 200.
func answersOn(s *serve, path string) bool {
	for _, addr := range s.addrs {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return true
		}
	}
	return false
}

// copyTree copies src (a file, or a directory's contents) to dst, keeping
// modes and giving everything to uid:gid, as COPY --from does.
func copyTree(src, dst string, uid, gid int) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			if err := os.MkdirAll(to, 0o755); err != nil {
				return err
			}
		} else {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if err := os.WriteFile(to, data, info.Mode().Perm()); err != nil {
				return err
			}
		}
		// Chmod after: MkdirAll and WriteFile apply the umask, and drop
		// the sticky bit of /tmp.
		if err := os.Chmod(to, info.Mode()&(fs.ModePerm|fs.ModeSticky)); err != nil {
			return err
		}
		return os.Lchown(to, uid, gid)
	})
}

func parseIDs(t *testing.T, s string) (uid, gid int) {
	t.Helper()
	u, g, ok := strings.Cut(s, ":")
	if !ok {
		g = u
	}
	uid, err1 := strconv.Atoi(u)
	gid, err2 := strconv.Atoi(g)
	if err1 != nil || err2 != nil {
		t.Fatalf("Dockerfile: %q: give numeric uid:gid", s)
	}
	return uid, gid
}

// checkStatic fails if the binary asks for a dynamic loader: the image has
// no libc.
func checkStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s is dynamically linked: the image has no libc (build with CGO_ENABLED=0)", path)
		}
	}
}

// checkPasswd fails unless the image's /etc/passwd names uid.
func checkPasswd(t *testing.T, rootfs string, uid int) {
	t.Helper()
	f, err := os.Open(filepath.Join(rootfs, "etc", "passwd"))
	if err != nil {
		t.Fatalf("the image has no /etc/passwd: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Split(sc.Text(), ":"); len(fields) > 2 && fields[2] == strconv.Itoa(uid) {
			return
		}
	}
	t.Errorf("the image's /etc/passwd has no entry for uid %d", uid)
}

// checkEnv fails for a QUIRE_ variable quire serve does not read.
func checkEnv(t *testing.T, where string, env []string) {
	t.Helper()
	help := serveFlags(t)
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "QUIRE_") {
			continue
		}
		if _, ok := help.ByEnv(name); !ok {
			t.Errorf("%s: quire serve reads no %s", where, name)
		}
	}
}

// checkExposed fails unless EXPOSE lists exactly the ports of the
// listener addresses the image's ENV sets.
func checkExposed(t *testing.T, f stage, env []string) {
	t.Helper()
	var exposed, listening []string
	for _, in := range f.all("EXPOSE") {
		for _, p := range strings.Fields(in.Args) {
			exposed = append(exposed, strings.TrimSuffix(p, "/tcp"))
		}
	}
	for _, l := range serveFlags(t).Listeners() {
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, l.Env+"="); ok && v != "" {
				port, err := clihelp.Port(v)
				if err != nil {
					t.Fatal(err)
				}
				listening = append(listening, port)
			}
		}
	}
	slices.Sort(exposed)
	slices.Sort(listening)
	if len(listening) == 0 || !slices.Equal(exposed, slices.Compact(listening)) {
		t.Errorf("Dockerfile: EXPOSE %v, but the ENV listener addresses use ports %v", exposed, listening)
	}
}

// processUID reads the real uid of process pid.
func processUID(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			uid, err := strconv.Atoi(strings.Fields(rest)[0])
			if err != nil {
				t.Fatal(err)
			}
			return uid
		}
	}
	t.Fatal("no Uid in /proc status")
	return -1
}

// exec reads ENTRYPOINT or CMD in its JSON (exec) form: the shell form
// would need a shell, which the image has not.
func (s stage) exec(t *testing.T, cmd string) []string {
	t.Helper()
	ins := s.all(cmd)
	if len(ins) != 1 {
		t.Fatalf("Dockerfile: %d %s in the image stage, want 1", len(ins), cmd)
	}
	var words []string
	if err := json.Unmarshal([]byte(ins[0].Args), &words); err != nil {
		t.Fatalf("Dockerfile:%d: %s must be a JSON array (there is no shell in the image): %v", ins[0].Line, cmd, err)
	}
	return words
}
