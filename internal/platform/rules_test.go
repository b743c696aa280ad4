package platform

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"sigs.k8s.io/yaml"
)

// promtool returns the path of promtool, installing it with
// hack/promtool.sh when it is missing ($PROMTOOL overrides).
func promtool(t *testing.T) string {
	t.Helper()
	if path := os.Getenv("PROMTOOL"); path != "" {
		return path
	}
	out, err := exec.Command(filepath.Join("..", "..", "hack", "promtool.sh")).Output()
	if err != nil {
		stderr := ""
		if exitErr, ok := err.(*exec.ExitError); ok {
			stderr = string(exitErr.Stderr)
		}
		t.Fatalf("installing promtool with hack/promtool.sh: %v\n%s", err, stderr)
	}
	return strings.TrimSpace(string(out))
}

// rulesFile writes the bundle's PrometheusRule groups as a Prometheus rule
// file, the format promtool reads.
func rulesFile(t *testing.T, dir string, b *Bundle) string {
	t.Helper()
	return filteredRulesFile(t, filepath.Join(dir, "rules.yaml"), b, func(monitoringv1.Rule) bool { return true })
}

// filteredRulesFile writes the rules keep selects to path.
func filteredRulesFile(t *testing.T, path string, b *Bundle, keep func(monitoringv1.Rule) bool) string {
	t.Helper()
	var groups []monitoringv1.RuleGroup
	for _, obj := range b.File("prometheus-rules.yaml").Objects {
		for _, g := range obj.(*monitoringv1.PrometheusRule).Spec.Groups {
			// The unit tests evaluate every group once a minute (their
			// evaluation_interval), which keeps them fast.
			g.Interval = nil
			var rules []monitoringv1.Rule
			for _, r := range g.Rules {
				if keep(r) {
					rules = append(rules, r)
				}
			}
			if len(rules) > 0 {
				g.Rules = rules
				groups = append(groups, g)
			}
		}
	}
	data, err := yaml.Marshal(monitoringv1.PrometheusRuleSpec{Groups: groups})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPromtoolCheckRules(t *testing.T) {
	tool := promtool(t)
	for _, provider := range Providers {
		path := rulesFile(t, t.TempDir(), render(t, provider))
		out, err := exec.Command(tool, "check", "rules", path).CombinedOutput()
		if err != nil {
			t.Errorf("%s: promtool check rules: %v\n%s", provider, err, out)
		}
		if !strings.Contains(string(out), "SUCCESS") {
			t.Errorf("%s: promtool check rules did not report SUCCESS:\n%s", provider, out)
		}
	}
}

// The promtool unit-test file format.
type promTestFile struct {
	RuleFiles          []string   `json:"rule_files"`
	EvaluationInterval string     `json:"evaluation_interval"`
	Tests              []promTest `json:"tests"`
}

type promTest struct {
	Name          string          `json:"name"`
	Interval      string          `json:"interval"`
	InputSeries   []promSeries    `json:"input_series"`
	AlertRuleTest []promAlertTest `json:"alert_rule_test"`
}

type promSeries struct {
	Series string `json:"series"`
	Values string `json:"values"`
}

type promAlertTest struct {
	EvalTime  string      `json:"eval_time"`
	Alertname string      `json:"alertname"`
	ExpAlerts []promAlert `json:"exp_alerts"`
}

type promAlert struct {
	ExpLabels      map[string]string `json:"exp_labels"`
	ExpAnnotations map[string]string `json:"exp_annotations"`
}

// sloSeriesLabels are labels of a request the SLO counts; every SLO must have
// an entry, so a new SLO cannot ship without its burn-rate tests.
var sloSeriesLabels = map[string]string{
	"apiserver-mutating":               `verb="POST",resource="pods",scope="namespace"`,
	"apiserver-read-resource":          `verb="GET",resource="pods",scope="resource"`,
	"apiserver-read-namespace":         `verb="LIST",resource="pods",scope="namespace"`,
	"apiserver-read-cluster":           `verb="LIST",resource="nodes",scope="cluster"`,
	"sparkplane-submission":            ``,
	"sparkplane-interruption-reaction": `signal="karpenter-disrupted"`,
}

// scenario is a steady request rate with a given share of slow requests,
// lasting an hour, sampled every minute.
func scenario(slo SLO, slowShare float64, leFormat string) []promSeries {
	const perMinute = 1000.0
	labels := sloSeriesLabels[slo.Name]
	join := func(extra string) string {
		if labels == "" {
			return "{" + extra + "}"
		}
		return "{" + labels + "," + extra + "}"
	}
	le := strconv.FormatFloat(slo.Threshold, 'f', -1, 64)
	if leFormat == "float" {
		le = strconv.FormatFloat(slo.Threshold, 'f', 1, 64)
	}
	good := strconv.FormatFloat(perMinute*(1-slowShare), 'f', -1, 64)
	return []promSeries{
		{Series: slo.Histogram + "_bucket" + join(`le="`+le+`"`), Values: "0+" + good + "x60"},
		{Series: slo.Histogram + "_bucket" + join(`le="+Inf"`), Values: "0+1000x60"},
		{Series: slo.Histogram + "_count" + ("{" + labels + "}"), Values: "0+1000x60"},
	}
}

func alertsFor(b *Bundle) map[string]monitoringv1.Rule {
	out := map[string]monitoringv1.Rule{}
	for _, obj := range b.File("prometheus-rules.yaml").Objects {
		for _, g := range obj.(*monitoringv1.PrometheusRule).Spec.Groups {
			for _, r := range g.Rules {
				if r.Alert != "" {
					out[r.Alert] = r
				}
			}
		}
	}
	return out
}

func firing(rule monitoringv1.Rule, extra map[string]string) []promAlert {
	labels := map[string]string{}
	for k, v := range rule.Labels {
		labels[k] = v
	}
	for k, v := range extra {
		labels[k] = v
	}
	annotations := map[string]string{}
	for k, v := range rule.Annotations {
		annotations[k] = strings.ReplaceAll(v, "{{ $labels.signal }}", extra["signal"])
	}
	return []promAlert{{ExpLabels: labels, ExpAnnotations: annotations}}
}

// TestPromtoolBurnRateAlerts: for every SLO, a fast burn (all requests slow)
// fires the fast alert within minutes and the slow alert within half an hour;
// a slow burn (5% slow, 5x the budget) fires only the slow alert; a healthy
// series (0.5% slow, half the budget, with le written as Prometheus 3 does)
// fires neither, even after an hour.
func TestPromtoolBurnRateAlerts(t *testing.T) {
	tool := promtool(t)
	dir := t.TempDir()
	b := render(t, ProviderAWS)
	alerts := alertsFor(b)
	// One test file per SLO, each with only that SLO's rules, so each
	// scenario evaluates a few rules rather than all of them.
	var testFiles []string
	scenarios := 0
	for _, slo := range SLOs(b.Config) {
		if _, ok := sloSeriesLabels[slo.Name]; !ok {
			t.Fatalf("SLO %s has no entry in sloSeriesLabels: add the labels of a request it counts", slo.Name)
		}
		fast, slow := alerts[slo.FastAlert()], alerts[slo.SlowAlert()]
		if fast.Alert == "" || slow.Alert == "" {
			t.Fatalf("SLO %s: alerts %s and %s are not rendered", slo.Name, slo.FastAlert(), slo.SlowAlert())
		}
		rules := "rules-" + slo.Name + ".yaml"
		filteredRulesFile(t, filepath.Join(dir, rules), b, func(r monitoringv1.Rule) bool { return r.Labels["slo"] == slo.Name })
		file := promTestFile{RuleFiles: []string{rules}, EvaluationInterval: "1m", Tests: []promTest{
			{Name: slo.Name + ": fast burn", Interval: "1m", InputSeries: scenario(slo, 1, "int"), AlertRuleTest: []promAlertTest{
				{EvalTime: "1m", Alertname: fast.Alert},
				{EvalTime: "10m", Alertname: fast.Alert, ExpAlerts: firing(fast, nil)},
				{EvalTime: "10m", Alertname: slow.Alert},
				{EvalTime: "30m", Alertname: slow.Alert, ExpAlerts: firing(slow, nil)},
			}},
			{Name: slo.Name + ": slow burn", Interval: "1m", InputSeries: scenario(slo, 0.05, "int"), AlertRuleTest: []promAlertTest{
				{EvalTime: "30m", Alertname: fast.Alert},
				{EvalTime: "30m", Alertname: slow.Alert, ExpAlerts: firing(slow, nil)},
			}},
			{Name: slo.Name + ": healthy", Interval: "1m", InputSeries: scenario(slo, 0.005, "float"), AlertRuleTest: []promAlertTest{
				{EvalTime: "10m", Alertname: fast.Alert},
				{EvalTime: "30m", Alertname: slow.Alert},
				{EvalTime: "1h", Alertname: fast.Alert},
				{EvalTime: "1h", Alertname: slow.Alert},
			}},
		}}
		if miss := alerts[DeadlineMissAlert]; miss.Labels["slo"] == slo.Name {
			file.Tests = append(file.Tests, promTest{
				Name: "deadline misses", Interval: "1m",
				InputSeries: []promSeries{{Series: `sparkplane_interruption_deadline_misses_total{signal="spot-itn"}`, Values: "0x20 1x30"}},
				AlertRuleTest: []promAlertTest{
					{EvalTime: "15m", Alertname: DeadlineMissAlert},
					{EvalTime: "25m", Alertname: DeadlineMissAlert, ExpAlerts: firing(miss, map[string]string{"signal": "spot-itn"})},
					{EvalTime: "50m", Alertname: DeadlineMissAlert},
				},
			})
		}
		scenarios += len(file.Tests)
		data, err := yaml.Marshal(file)
		if err != nil {
			t.Fatal(err)
		}
		name := slo.Name + "_test.yaml"
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		testFiles = append(testFiles, name)
	}
	if scenarios != 3*len(SLOs(b.Config))+1 {
		t.Fatalf("%d scenarios: the deadline-miss alert was not tested", scenarios)
	}
	cmd := exec.Command(tool, append([]string{"test", "rules"}, testFiles...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
	if strings.Count(string(out), "SUCCESS") != len(testFiles) {
		t.Fatalf("promtool test rules did not report SUCCESS for all %d files:\n%s", len(testFiles), out)
	}
	t.Logf("promtool test rules: %d scenarios over %d SLOs passed", scenarios, len(SLOs(b.Config)))
}

// TestPromtoolCatchesWrongExpectation guards the test above: promtool must
// fail when a healthy series is expected to page, so the passing run means
// the alerts really stay quiet.
func TestPromtoolCatchesWrongExpectation(t *testing.T) {
	tool := promtool(t)
	dir := t.TempDir()
	b := render(t, ProviderAWS)
	rulesFile(t, dir, b)
	slo := SLOs(b.Config)[0]
	fast := alertsFor(b)[slo.FastAlert()]
	file := promTestFile{RuleFiles: []string{"rules.yaml"}, EvaluationInterval: "1m", Tests: []promTest{{
		Name: "healthy series expected to page", Interval: "1m", InputSeries: scenario(slo, 0.005, "int"),
		AlertRuleTest: []promAlertTest{{EvalTime: "10m", Alertname: fast.Alert, ExpAlerts: firing(fast, nil)}},
	}}}
	data, err := yaml.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "wrong_test.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tool, "test", "rules", "wrong_test.yaml")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("promtool accepted a healthy series paging:\n%s", out)
	}
	if !strings.Contains(string(out), fast.Alert) {
		t.Errorf("promtool failed for another reason than the alert:\n%s", out)
	}
}

// TestPromtoolDashboardQueries parses every dashboard query with promtool (as
// recording rules), so a typo in a panel's PromQL fails here rather than as
// an empty panel.
func TestPromtoolDashboardQueries(t *testing.T) {
	tool := promtool(t)
	var rules []monitoringv1.Rule
	for _, d := range Dashboards(DefaultConfig(ProviderAWS)) {
		if len(d.Panels) == 0 {
			t.Errorf("dashboard %s has no panels", d.UID)
		}
		for _, p := range d.Panels {
			for _, target := range p.Targets {
				rules = append(rules, monitoringv1.Rule{Record: "dashboard:query", Expr: expr(target.Expr)})
			}
		}
	}
	data, err := yaml.Marshal(monitoringv1.PrometheusRuleSpec{Groups: []monitoringv1.RuleGroup{{Name: "dashboard-queries", Rules: rules}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "queries.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "check", "rules", path).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules on %d dashboard queries: %v\n%s", len(rules), err, out)
	}
}
