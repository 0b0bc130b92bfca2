// Package buildinfo says which build of Quire is running: the module
// version, the VCS revision it was built from, and the Go version, as the
// Go toolchain records them in the binary.
package buildinfo

import (
	"fmt"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// Info describes one build. Fields the toolchain did not record are
// "unknown" (a test binary, or a build outside a VCS checkout).
type Info struct {
	// Version is the main module's version: a tag, a pseudo-version, or
	// "(devel)" for a build from a checkout.
	Version string
	// Revision is the VCS revision, with "+dirty" when the checkout had
	// uncommitted changes.
	Revision string
	// GoVersion is the toolchain's version, e.g. "go1.26.0".
	GoVersion string
}

// Read returns the running binary's build information.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "unknown", Revision: "unknown", GoVersion: "unknown"}
	}
	return fromBuildInfo(bi)
}

func fromBuildInfo(bi *debug.BuildInfo) Info {
	info := Info{Version: bi.Main.Version, Revision: "unknown", GoVersion: bi.GoVersion}
	if info.Version == "" {
		info.Version = "unknown"
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && info.Revision != "unknown" {
		info.Revision += "+dirty"
	}
	return info
}

// String is the one line "quire version" prints.
func (i Info) String() string {
	return fmt.Sprintf("quire %s (revision %s, %s)", i.Version, i.Revision, i.GoVersion)
}

// LogAttrs are the fields of the start log line.
func (i Info) LogAttrs() []any {
	return []any{"version", i.Version, "revision", i.Revision, "go", i.GoVersion}
}

// Collector returns the quire_build_info gauge: always 1, with the build
// as labels, so dashboards can show which build each process runs.
func (i Info) Collector() prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "quire_build_info",
		Help:        "Always 1; the labels say which build of Quire this process runs.",
		ConstLabels: prometheus.Labels{"version": i.Version, "revision": i.Revision, "goversion": i.GoVersion},
	})
	g.Set(1)
	return g
}
