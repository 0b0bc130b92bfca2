package loadtest

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Processes names processes whose CPU time the load harness reports per
// envelope, beside its own: on a shared machine the rate is bounded by
// the CPU Quire, S3 and RabbitMQ use between them, so the split says
// where an envelope's cost goes. It is a flag.Value of name=pid.
type Processes map[string]int // name → pid

// String implements flag.Value.
func (w Processes) String() string {
	var s []string
	for name, pid := range w {
		s = append(s, fmt.Sprintf("%s=%d", name, pid))
	}
	return strings.Join(s, ",")
}

// Set implements flag.Value: name=pid.
func (w Processes) Set(v string) error {
	name, p, ok := strings.Cut(v, "=")
	pid, err := strconv.Atoi(p)
	if !ok || name == "" || err != nil || pid < 1 {
		return fmt.Errorf("want name=pid, e.g. minio=1234")
	}
	if _, err := procCPU(pid); err != nil {
		return err
	}
	w[name] = pid
	return nil
}

// cpuSample is the CPU time used so far by this process and each watched
// one.
type cpuSample map[string]time.Duration

func (w Processes) sample() cpuSample {
	s := cpuSample{}
	if d, err := procCPU(os.Getpid()); err == nil {
		s["quire"] = d
	}
	for name, pid := range w {
		if d, err := procCPU(pid); err == nil {
			s[name] = d
		}
	}
	return s
}

// perEnvelope describes the CPU each process used between s and later,
// per envelope, e.g. "quire 5.1 ms, minio 6.9 ms (total 12.0 ms)"; empty
// where /proc cannot be read.
func (s cpuSample) perEnvelope(later cpuSample, n int) string {
	var parts []string
	var total time.Duration
	for _, name := range sortedKeys(later) {
		before, ok := s[name]
		if !ok {
			continue
		}
		d := later[name] - before
		total += d
		parts = append(parts, fmt.Sprintf("%s %.2f ms", name, ms(d)/float64(n)))
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("%s (total %.2f ms)", strings.Join(parts, ", "), ms(total)/float64(n))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func sortedKeys(m cpuSample) []string {
	// quire first, then the others by name.
	keys := slices.Sorted(maps.Keys(m))
	if i := slices.Index(keys, "quire"); i > 0 {
		keys = slices.Insert(slices.Delete(keys, i, i+1), 0, "quire")
	}
	return keys
}

// procCPU reads a process's user and system CPU time from
// /proc/<pid>/stat (Linux). Clock ticks are 100 a second on every Linux
// Quire runs on (USER_HZ; sysconf is not reachable without cgo).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading CPU time of process %d: %w", pid, err)
	}
	// The command name may hold spaces; fields resume after its ')'.
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("reading CPU time of process %d: unexpected /proc format", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("reading CPU time of process %d: unexpected /proc format", pid)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}
