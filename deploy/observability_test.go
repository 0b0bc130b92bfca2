package deploy_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// alertRules reads deploy/prometheus/alerts.yaml.
type alertRule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

func alertRules(t *testing.T) []alertRule {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root(t), "deploy", "prometheus", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []alertRule `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatalf("alerts.yaml: %v", err)
	}
	var out []alertRule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	if len(out) == 0 {
		t.Fatal("alerts.yaml has no rules")
	}
	return out
}

// dashboardExprs returns every PromQL expression of the Grafana
// dashboard (each target's expr, at any depth), by panel title.
func dashboardExprs(t *testing.T) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root(t), "deploy", "grafana", "quire.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d any
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("quire.json: %v", err)
	}
	out := map[string][]string{}
	var walk func(v any, title string)
	walk = func(v any, title string) {
		switch v := v.(type) {
		case map[string]any:
			if s, ok := v["title"].(string); ok {
				title = s
			}
			if e, ok := v["expr"].(string); ok {
				out[title] = append(out[title], e)
			}
			for _, c := range v {
				walk(c, title)
			}
		case []any:
			for _, c := range v {
				walk(c, title)
			}
		}
	}
	walk(d, "")
	if len(out) == 0 {
		t.Fatal("quire.json has no queries")
	}
	return out
}

// exposedNames scrapes /metrics of the shared serve and returns every
// sample name in it (histograms as their _bucket, _sum and _count) and
// every metric family name.
func exposedNames(t *testing.T) map[string]bool {
	t.Helper()
	s := sharedQuire(t)
	names := map[string]bool{}
	for _, addr := range s.s.addrs {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			continue // a listener with no audience of its own is not opened
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			continue
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
				names[strings.Fields(rest)[0]] = true
				continue
			}
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if i := strings.IndexAny(line, "{ "); i > 0 {
				names[line[:i]] = true
			}
		}
		resp.Body.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if !names["quire_envelopes_rendered_total"] {
		t.Fatalf("no listener's /metrics has quire_envelopes_rendered_total (listeners %v)", s.s.addrs)
	}
	return names
}

var (
	promStrings  = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")
	promMatchers = regexp.MustCompile(`\{[^{}]*\}`)
	promRanges   = regexp.MustCompile(`\[[^\[\]]*\]`)
	promGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)`)
	promIdent    = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
	promKeywords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true,
		"group_right": true, "bool": true, "and": true, "or": true, "unless": true, "offset": true, "atan2": true,
		"inf": true, "nan": true, "Inf": true, "NaN": true}
)

// metricNames returns the metric names a PromQL expression selects: the
// identifiers left once strings, label matchers, ranges, grouping label
// lists, function names and keywords are taken out.
func metricNames(expr string) []string {
	e := promStrings.ReplaceAllString(expr, `""`)
	e = promMatchers.ReplaceAllString(e, " ")
	e = promRanges.ReplaceAllString(e, " ")
	e = promGrouping.ReplaceAllString(e, " ")
	var out []string
	for _, loc := range promIdent.FindAllStringIndex(e, -1) {
		name := e[loc[0]:loc[1]]
		rest := strings.TrimLeft(e[loc[1]:], " \t\n")
		if promKeywords[name] || strings.HasPrefix(rest, "(") {
			continue
		}
		if loc[0] > 0 && (e[loc[0]-1] >= '0' && e[loc[0]-1] <= '9' || e[loc[0]-1] == '.') {
			continue // the exponent or unit of a number: 1e3, 0.99
		}
		out = append(out, name)
	}
	return out
}

func TestMetricNames(t *testing.T) {
	for expr, want := range map[string][]string{
		`sum by (le) (rate(a_bucket{x="y", z=~"on|by"}[5m]))`:                   {"a_bucket"},
		`max(b) > max(c offset 1h) and on (instance) d == 0`:                    {"b", "c", "d"},
		`histogram_quantile(0.99, sum without (i) (rate(e[$__rate_interval])))`: {"e"},
		`f / ignoring(code) group_left(route) g * 1e3 + 2.5`:                    {"f", "g"},
	} {
		if got := metricNames(expr); !slices.Equal(got, want) {
			t.Errorf("metricNames(%q) = %q, want %q", expr, got, want)
		}
	}
}

// TestDashboardAndAlertsUseExposedMetrics checks that every metric the
// Grafana dashboard and the alert rules name is on a running quire
// serve's /metrics (embedded defaults and a pull supplier, after one
// request to each probe path).
func TestDashboardAndAlertsUseExposedMetrics(t *testing.T) {
	names := exposedNames(t)
	check := func(where, expr string) {
		ms := metricNames(expr)
		if len(ms) == 0 {
			t.Errorf("%s: %q names no metric", where, expr)
		}
		for _, m := range ms {
			if !names[m] {
				t.Errorf("%s: %s is not on quire serve's /metrics (in %q)", where, m, expr)
			}
		}
	}
	for title, exprs := range dashboardExprs(t) {
		for _, e := range exprs {
			check("dashboard panel "+title, e)
		}
	}
	for _, r := range alertRules(t) {
		check("alert "+r.Alert, r.Expr)
	}
}

// TestAlertsHaveRunbooks checks that every alert links to its own entry
// in docs/operations.md, which exists.
func TestAlertsHaveRunbooks(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(root(t), "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	headings := map[string]bool{}
	for line := range strings.Lines(string(doc)) {
		if h, ok := strings.CutPrefix(strings.TrimSpace(line), "### "); ok {
			headings[strings.ToLower(strings.TrimSpace(h))] = true
		}
	}
	for _, r := range alertRules(t) {
		if r.Alert == "" {
			continue
		}
		if !headings[strings.ToLower(r.Alert)] {
			t.Errorf("docs/operations.md has no \"### %s\" entry", r.Alert)
		}
		want := "docs/operations.md#" + strings.ToLower(r.Alert)
		if !strings.HasSuffix(r.Annotations["runbook_url"], want) {
			t.Errorf("%s: runbook_url %q, want …%s", r.Alert, r.Annotations["runbook_url"], want)
		}
		if r.Annotations["summary"] == "" || r.Labels["severity"] == "" {
			t.Errorf("%s: needs a summary annotation and a severity label", r.Alert)
		}
	}
}
