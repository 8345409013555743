package admin

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// describedMetrics returns the names of the metrics the console's own
// collector describes.
func describedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	ch := make(chan *prometheus.Desc, 200)
	collector{}.Describe(ch)
	close(ch)
	re := regexp.MustCompile(`fqName: "([^"]+)"`)
	names := map[string]bool{}
	for d := range ch {
		m := re.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("no name in %s", d)
		}
		names[m[1]] = true
	}
	return names
}

// Every metric /metrics serves is in docs/monitoring.md (the bridges' in
// docs/network.md), and the docs name no metric it does not serve.
func TestMetricsDocumented(t *testing.T) {
	names := describedMetrics(t)
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", "..", "docs", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	monitoring, network := read("monitoring.md"), read("network.md")
	for name := range names {
		doc := monitoring
		if strings.HasPrefix(name, "pier_bridge_") {
			doc = network
		}
		if !strings.Contains(doc, "`"+name+"`") {
			t.Errorf("%s is not documented", name)
		}
	}
	for _, m := range regexp.MustCompile("`(pier_[a-z_]+)`").FindAllStringSubmatch(monitoring, -1) {
		if !names[m[1]] {
			t.Errorf("docs/monitoring.md names %s, which /metrics does not serve", m[1])
		}
	}
}

// The alert rules of docs/monitoring.md and the dashboard name only metrics
// that exist; with promtool installed, the rules are checked by it too.
func TestMetricsRulesAndDashboard(t *testing.T) {
	names := describedMetrics(t)
	exists := func(n string) bool {
		for _, suffix := range []string{"", "_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(n, suffix); ok && names[base] {
				return true
			}
		}
		return false
	}
	metricName := regexp.MustCompile(`\bpier_[a-z_]+`)
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "monitoring.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	var rules string
	for _, b := range blocks {
		if strings.Contains(b[1], "groups:") {
			rules = b[1]
		}
	}
	if rules == "" {
		t.Fatal("no alert rules in docs/monitoring.md")
	}
	for _, n := range metricName.FindAllString(rules, -1) {
		if !exists(n) {
			t.Errorf("alert rules: %s is not a metric", n)
		}
	}
	dash, err := os.ReadFile(filepath.Join("..", "..", "docs", "grafana-pier.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(dash, &d); err != nil {
		t.Fatalf("docs/grafana-pier.json: %v", err)
	}
	exprs := 0
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			exprs++
			for _, n := range metricName.FindAllString(tg.Expr, -1) {
				if !exists(n) {
					t.Errorf("dashboard panel %q: %s is not a metric", p.Title, n)
				}
			}
		}
	}
	if exprs < 20 {
		t.Errorf("dashboard has %d queries", exprs)
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool not installed: rules not checked by it")
		return
	}
	path := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(path, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
}
