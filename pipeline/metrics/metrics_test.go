package metrics_test

import (
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quire-print/quire/pipeline/metrics"
)

// TestKnownLabelsStartAtZero checks that every label value known in
// advance has its series at 0 from the first scrape, so that an alert on
// rate() or increase() sees the first event after a start.
func TestKnownLabelsStartAtZero(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.KnownReasons([]string{"malformed", "render-failed"}, []string{"storage-unavailable"})
	want := map[string][]string{
		"quire_envelopes_consumed_total":  metrics.ConsumedKinds,
		"quire_envelopes_cancelled_total": metrics.CancelledWhats,
		"quire_envelopes_rejected_total":  {"malformed", "render-failed"},
		"quire_envelopes_failed_total":    {"storage-unavailable"},
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, f := range families {
		if _, ok := want[f.GetName()]; !ok {
			continue
		}
		for _, s := range f.GetMetric() {
			if len(s.GetLabel()) != 1 {
				t.Errorf("%s: %d labels, want 1", f.GetName(), len(s.GetLabel()))
				continue
			}
			v := s.GetLabel()[0].GetValue()
			if c := s.GetCounter().GetValue(); c != 0 {
				t.Errorf("%s{%s}: %v, want 0", f.GetName(), v, c)
			}
			got[f.GetName()] = append(got[f.GetName()], v)
		}
	}
	for name, values := range want {
		w := slices.Sorted(slices.Values(values))
		g := slices.Sorted(slices.Values(got[name]))
		if !slices.Equal(g, w) {
			t.Errorf("%s: series %q at start, want %q", name, g, w)
		}
	}
}
