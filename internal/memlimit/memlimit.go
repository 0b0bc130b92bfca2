// Package memlimit chooses the Go runtime's soft memory limit (GOMEMLIMIT)
// for a long-running process: the one asked for, else the one set in the
// environment, else most of the container's cgroup memory limit, else a
// default, and applies it with runtime/debug.SetMemoryLimit. Near the
// limit the collector works harder instead of the heap growing to twice
// (or, with a raised GOGC, several times) its live size, which is what
// keeps a process with a large garbage rate inside a small container.
package memlimit

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// ContainerPercent is the part of a cgroup memory limit given to the Go
// runtime: the rest is for what the runtime does not count (the
// executable's mapped pages, memory outside the heap's accounting) and
// for the collector's lag.
const ContainerPercent = 85

// Off, as a Limit, leaves the runtime without a limit.
const Off = "off"

// Choice is the limit applied and where it came from, for the start log.
type Choice struct {
	// Bytes is the limit; math.MaxInt64 when there is none.
	Bytes int64
	// Source is "flag", "GOMEMLIMIT", "cgroup", "default" or "off".
	Source string
}

// Apply sets the runtime's memory limit. flag is the operator's value
// (Parse's forms, or Off), "" when not given; def is the limit when
// neither the flag, nor GOMEMLIMIT, nor a cgroup limit says. root is the
// root of the cgroup filesystem, "/sys/fs/cgroup" outside tests.
func Apply(flag string, def int64, root string) (Choice, error) {
	c, err := choose(flag, os.Getenv("GOMEMLIMIT"), def, root, readCgroupSelf)
	if err != nil {
		return c, err
	}
	if c.Source != "GOMEMLIMIT" {
		// The runtime has read GOMEMLIMIT itself.
		debug.SetMemoryLimit(c.Bytes)
	}
	return c, nil
}

func choose(flag, env string, def int64, root string, self func() (string, error)) (Choice, error) {
	switch {
	case flag == Off:
		return Choice{Bytes: math.MaxInt64, Source: "off"}, nil
	case flag != "":
		n, err := Parse(flag)
		if err != nil {
			return Choice{}, err
		}
		return Choice{Bytes: n, Source: "flag"}, nil
	case env != "":
		return Choice{Bytes: debug.SetMemoryLimit(-1), Source: "GOMEMLIMIT"}, nil
	}
	if n, ok := cgroupLimit(root, self); ok {
		return Choice{Bytes: n / 100 * ContainerPercent, Source: "cgroup"}, nil
	}
	return Choice{Bytes: def, Source: "default"}, nil
}

// Parse reads a size in bytes: a whole number with an optional unit B,
// KiB, MiB, GiB, KB, MB or GB ("512MiB", "1GiB", "200000000").
func Parse(s string) (int64, error) {
	units := []struct {
		suffix string
		n      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range units {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.n
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("memory limit must be a positive size like 512MiB or 1GiB, or %q, not %q", Off, s)
	}
	return n * mult, nil
}

// readCgroupSelf returns this process's /proc/self/cgroup.
func readCgroupSelf() (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	return string(b), err
}

// cgroupLimit returns the memory limit of this process's cgroup: v2's
// memory.max, else v1's memory.limit_in_bytes. ok is false when there is
// none (unlimited, or no cgroup filesystem).
func cgroupLimit(root string, self func() (string, error)) (int64, bool) {
	paths := []string{}
	if cg, err := self(); err == nil {
		for _, line := range strings.Split(cg, "\n") {
			// v2: "0::/path"; v1: "N:memory:/path" (controllers may be
			// listed together, "N:cpu,memory:/path").
			parts := strings.SplitN(line, ":", 3)
			if len(parts) != 3 {
				continue
			}
			switch {
			case parts[0] == "0" && parts[1] == "":
				paths = append(paths, filepath.Join(root, parts[2], "memory.max"))
			case containsController(parts[1], "memory"):
				paths = append(paths, filepath.Join(root, "memory", parts[2], "memory.limit_in_bytes"))
			}
		}
	}
	// Inside a container the process's own path is often not mounted
	// (cgroup namespaces show "/", older runtimes do not): the mount's
	// root is the container's cgroup.
	paths = append(paths, filepath.Join(root, "memory.max"), filepath.Join(root, "memory", "memory.limit_in_bytes"))
	for _, p := range paths {
		n, err := readLimit(p)
		if err == nil {
			return n, n > 0
		}
	}
	return 0, false
}

func containsController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// readLimit reads a memory.max or memory.limit_in_bytes file. v2 says
// "max" for none; v1 a huge number (a page-rounded MaxInt64).
func readLimit(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, err
	}
	if n >= 1<<60 {
		return 0, nil
	}
	return n, nil
}
