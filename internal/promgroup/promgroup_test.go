package promgroup

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestGroup(t *testing.T) {
	a := prometheus.NewCounter(prometheus.CounterOpts{Name: "a_total", Help: "a"})
	b := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "b", Help: "b"}, []string{"l"})
	a.Inc()
	b.WithLabelValues("x").Set(2)
	b.WithLabelValues("y").Set(3)
	g := Group{a, b}
	if n := testutil.CollectAndCount(g); n != 3 {
		t.Errorf("collected %d series, want 3", n)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(g); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg, "a_total", "b"); err != nil || n != 3 {
		t.Errorf("gathered %d series (%v), want 3", n, err)
	}
}
