package memlimit

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func self(s string) func() (string, error) { return func() (string, error) { return s, nil } }

func TestChoose(t *testing.T) {
	v2 := t.TempDir()
	write(t, filepath.Join(v2, "kubepods/pod1/memory.max"), "536870912\n")
	v2max := t.TempDir()
	write(t, filepath.Join(v2max, "memory.max"), "max\n")
	v1 := t.TempDir()
	write(t, filepath.Join(v1, "memory/docker/abc/memory.limit_in_bytes"), "268435456\n")
	v1none := t.TempDir()
	write(t, filepath.Join(v1none, "memory/memory.limit_in_bytes"), "9223372036854771712\n")
	ns := t.TempDir() // a cgroup namespace: the mount's root is the container's cgroup
	write(t, filepath.Join(ns, "memory.max"), "209715200\n")

	const def = 100 << 20
	for _, c := range []struct {
		name, flag, env, root, self string
		bytes                       int64
		source                      string
	}{
		{"flag", "256MiB", "", v2, "0::/kubepods/pod1\n", 256 << 20, "flag"},
		{"off", "off", "1GiB", v2, "", math.MaxInt64, "off"},
		{"environment", "", "300MiB", v2, "0::/kubepods/pod1\n", -1, "GOMEMLIMIT"},
		{"cgroup v2", "", "", v2, "0::/kubepods/pod1\n", 536870912 / 100 * ContainerPercent, "cgroup"},
		{"cgroup v2 unlimited", "", "", v2max, "0::/\n", def, "default"},
		{"cgroup v1", "", "", v1, "12:cpu,memory:/docker/abc\n", 268435456 / 100 * ContainerPercent, "cgroup"},
		{"cgroup v1 unlimited", "", "", v1none, "12:memory:/\n", def, "default"},
		{"namespaced", "", "", ns, "0::/\n", 209715200 / 100 * ContainerPercent, "cgroup"},
		{"none", "", "", t.TempDir(), "", def, "default"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := choose(c.flag, c.env, def, c.root, self(c.self))
			if err != nil {
				t.Fatal(err)
			}
			if got.Source != c.source || (c.bytes >= 0 && got.Bytes != c.bytes) {
				t.Errorf("choose = %+v, want %d from %s", got, c.bytes, c.source)
			}
		})
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]int64{"512MiB": 512 << 20, "1GiB": 1 << 30, "200000000": 2e8, "150MB": 150e6, "64 KiB": 64 << 10, "10B": 10} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1MiB", "lots", "1.5GiB", "99999999999GiB"} {
		if _, err := Parse(in); err == nil || !strings.Contains(err.Error(), "memory limit") {
			t.Errorf("Parse(%q) = %v, want an error naming the memory limit", in, err)
		}
	}
}
