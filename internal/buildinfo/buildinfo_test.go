package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestFromBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}}}
	got := fromBuildInfo(bi)
	if want := (Info{Version: "v1.2.3", Revision: "abc123+dirty", GoVersion: "go1.26.0"}); got != want {
		t.Errorf("fromBuildInfo = %+v, want %+v", got, want)
	}
	if s := got.String(); s != "quire v1.2.3 (revision abc123+dirty, go1.26.0)" {
		t.Errorf("String = %q", s)
	}
	if got := fromBuildInfo(&debug.BuildInfo{GoVersion: "go1.26.0"}); got.Version != "unknown" || got.Revision != "unknown" {
		t.Errorf("without a version or VCS: %+v", got)
	}
}

func TestCollector(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(Info{Version: "v1", Revision: "r", GoVersion: "go1.26.0"}.Collector())
	want := `# HELP quire_build_info Always 1; the labels say which build of Quire this process runs.
# TYPE quire_build_info gauge
quire_build_info{goversion="go1.26.0",revision="r",version="v1"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "quire_build_info"); err != nil {
		t.Error(err)
	}
}
