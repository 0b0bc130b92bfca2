package pull_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/quire-print/quire/pipeline/batch/batchtest"
	"github.com/quire-print/quire/pipeline/supplier/pull"
)

// TestMetrics: requests are counted by the route pattern they matched and
// the status answered, never by path, and a lockout is counted once.
func TestMetrics(t *testing.T) {
	f := newFixture(t)
	s := f.delivered(t, 1)
	c := f.api.Collector()
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}

	f.client.listed()
	if status, _, body := f.client.Do("GET", pull.BasePath+"/batches/"+s.BatchID+"/files/"+s.Files[0].Name, nil); status != http.StatusOK {
		t.Fatalf("download: %d %s", status, body)
	}
	if status, _, _ := f.client.Do("GET", pull.BasePath+"/batches/20991231T000000Z-001", nil); status != http.StatusNotFound {
		t.Fatalf("unknown batch: %d", status)
	}
	if status, _, _ := f.client.Do("DELETE", pull.BasePath+"/batches", nil); status != http.StatusMethodNotAllowed {
		t.Fatalf("DELETE: %d", status)
	}
	if got, want := f.statuses(pull.FailBurst+2, attacker, "qs_guessed"), repeat("401", pull.FailBurst)+" 429 429"; got != want {
		t.Fatalf("unknown tokens: %s, want %s", got, want)
	}

	for _, tt := range []struct {
		route, code string
		want        float64
	}{
		{"GET /supplier/v1/batches", "200", 1},
		{"GET /supplier/v1/batches", "401", pull.FailBurst},
		{"GET /supplier/v1/batches", "429", 2},
		{"GET /supplier/v1/batches/{batchId}/files/{name}", "200", 1},
		{"GET /supplier/v1/batches/{batchId}", "404", 1},
		{"/supplier/v1/", "405", 1},
	} {
		if got := batchtest.Metric(t, c, "quire_pull_requests_total", "route", tt.route, "code", tt.code); got != tt.want {
			t.Errorf("requests %s %s: %v, want %v", tt.route, tt.code, got, tt.want)
		}
	}
	if got := batchtest.Metric(t, c, "quire_pull_lockouts_total"); got != 1 {
		t.Errorf("lockouts %v, want 1", got)
	}

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range families {
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				for _, bad := range []string{s.BatchID, s.Files[0].Name, "20991231", "192.0.2"} {
					if strings.Contains(l.GetValue(), bad) {
						t.Errorf("%s has a label holding %s: %v", fam.GetName(), bad, m.GetLabel())
					}
				}
			}
		}
	}
}
