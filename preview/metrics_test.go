package preview

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The Collector reports what the Handler did: durations by route and
// status, and the cache's totals, with nothing a parent sent in a label.
func TestCollector(t *testing.T) {
	s := newTestServer(t, Options{})
	for range 3 {
		wantStatus(t, s.postJSON("/api/v1/preview/certificate.png", robin), http.StatusOK)
	}
	wantStatus(t, s.postJSON("/api/v1/preview/certificate.png", `{"schemaVersion":1}`), http.StatusUnprocessableEntity)

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s.h.Collector())
	want := `
# HELP quire_preview_cache_hits_total Previews answered from the cache.
# TYPE quire_preview_cache_hits_total counter
quire_preview_cache_hits_total 2
# HELP quire_preview_cache_misses_total Previews drawn because the cache did not hold them.
# TYPE quire_preview_cache_misses_total counter
quire_preview_cache_misses_total 1
# HELP quire_preview_cache_entries Previews the cache holds now.
# TYPE quire_preview_cache_entries gauge
quire_preview_cache_entries 1
# HELP quire_preview_rejected_total Preview requests turned away with 503 because every render slot and queue place was taken, or the wait ran out.
# TYPE quire_preview_rejected_total counter
quire_preview_rejected_total 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"quire_preview_cache_hits_total", "quire_preview_cache_misses_total", "quire_preview_cache_entries", "quire_preview_rejected_total"); err != nil {
		t.Error(err)
	}

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]uint64{}
	for _, f := range families {
		if f.GetName() != "quire_preview_request_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			var route, code string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "route":
					route = l.GetValue()
				case "code":
					code = l.GetValue()
				}
			}
			counts[route+" "+code] = m.GetHistogram().GetSampleCount()
		}
	}
	if got := counts["POST /api/v1/preview/certificate.png 200"]; got != 3 {
		t.Errorf("durations observed for 200s: %d, want 3 (all: %v)", got, counts)
	}
	if got := counts["POST /api/v1/preview/certificate.png 422"]; got != 1 {
		t.Errorf("durations observed for 422s: %d, want 1 (all: %v)", got, counts)
	}
	if n := testutil.CollectAndCount(s.h.Collector(), "quire_preview_cache_bytes"); n != 1 {
		t.Errorf("quire_preview_cache_bytes reported %d times, want 1", n)
	}
}
