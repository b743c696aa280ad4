package platform

import (
	"fmt"
	"strconv"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// SLO is a latency objective over a Prometheus histogram: Objective of the
// events selected by Selector complete within Threshold seconds.
type SLO struct {
	// Name is the value of the slo label on its recording rules and alerts.
	Name string
	// AlertPrefix names its two alerts: <AlertPrefix>BudgetBurnFast (page) and
	// <AlertPrefix>BudgetBurnSlow (ticket).
	AlertPrefix string
	Summary     string
	// Histogram is the metric name without _bucket/_count.
	Histogram string
	// Selector is a PromQL label-matcher list, without braces (may be empty).
	Selector string
	// Threshold is the bucket boundary (le) in seconds.
	Threshold float64
	// Objective is the share of good events, e.g. 0.99 for a p99 objective.
	Objective float64
}

// apiSubresourcesExcluded are the long-running calls the Kubernetes API SLOs
// leave out (as the upstream SLO definition does).
const apiSubresourcesExcluded = `subresource!~"proxy|attach|log|exec|portforward"`

// SLOs returns the objectives the bundle's rules track: the Kubernetes API
// server's latency SLOs and sparkplane's own.
func SLOs(cfg Config) []SLO {
	const apiHistogram = "apiserver_request_sli_duration_seconds"
	return []SLO{
		{Name: "apiserver-mutating", AlertPrefix: "KubeAPIMutatingLatency", Histogram: apiHistogram,
			Summary:  "Mutating Kubernetes API calls: 99% within 1s",
			Selector: `verb=~"POST|PUT|PATCH|DELETE",` + apiSubresourcesExcluded, Threshold: 1, Objective: 0.99},
		{Name: "apiserver-read-resource", AlertPrefix: "KubeAPIReadResourceLatency", Histogram: apiHistogram,
			Summary:  "Single-object reads: 99% within 1s",
			Selector: `verb=~"GET|LIST",scope=~"resource|",` + apiSubresourcesExcluded, Threshold: 1, Objective: 0.99},
		{Name: "apiserver-read-namespace", AlertPrefix: "KubeAPIReadNamespaceLatency", Histogram: apiHistogram,
			Summary:  "Namespace-scoped reads: 99% within 5s",
			Selector: `verb=~"GET|LIST",scope="namespace",` + apiSubresourcesExcluded, Threshold: 5, Objective: 0.99},
		{Name: "apiserver-read-cluster", AlertPrefix: "KubeAPIReadClusterLatency", Histogram: apiHistogram,
			Summary:  "Cluster-scoped reads: 99% within 30s",
			Selector: `verb=~"GET|LIST",scope="cluster",` + apiSubresourcesExcluded, Threshold: 30, Objective: 0.99},
		{Name: "sparkplane-submission", AlertPrefix: "SparkplaneSubmissionLatency", Histogram: "sparkplane_sparkapplication_submission_latency_seconds",
			Summary:   fmt.Sprintf("SparkApplication submissions (created to driver pod created): 99%% within %ds", cfg.Observability.SubmissionLatencySeconds),
			Threshold: float64(cfg.Observability.SubmissionLatencySeconds), Objective: 0.99},
		{Name: "sparkplane-interruption-reaction", AlertPrefix: "SparkplaneInterruptionReaction", Histogram: "sparkplane_interruption_reaction_seconds",
			Summary:   fmt.Sprintf("Interruption notice to executor decommission: 99%% within %ds (the Spot notice is 2 minutes)", cfg.Observability.InterruptionReactionSeconds),
			Threshold: float64(cfg.Observability.InterruptionReactionSeconds), Objective: 0.99},
	}
}

// BurnWindow is one multi-window burn-rate condition: the alert holds when
// the error ratio over both windows exceeds Factor times the error budget.
type BurnWindow struct {
	Long, Short string
	Factor      float64
}

// Burn-rate conditions (the Google SRE workbook's multi-window,
// multi-burn-rate alerts for a 30-day budget): the fast alert pages when 2% of
// the budget burns in an hour or 5% in six hours; the slow one tickets at 10%
// in three days.
var (
	FastBurn = []BurnWindow{{Long: "1h", Short: "5m", Factor: 14.4}, {Long: "6h", Short: "30m", Factor: 6}}
	SlowBurn = []BurnWindow{{Long: "1d", Short: "2h", Factor: 3}, {Long: "3d", Short: "6h", Factor: 1}}
)

// sloWindows are the windows each SLO's error ratio is recorded over.
var sloWindows = []string{"5m", "30m", "1h", "2h", "6h", "1d", "3d"}

// ErrorRatioRecord is the name of the recording rule holding an SLO's error
// ratio (share of events slower than the threshold) over window.
func ErrorRatioRecord(window string) string {
	return "sparkplane:slo_errors:ratio_rate" + window
}

// leMatcher matches a bucket boundary however the exporter formats it
// ("1" or "1.0"; Prometheus 3 normalises to the latter).
func leMatcher(threshold float64) string {
	value := strconv.FormatFloat(threshold, 'f', -1, 64)
	return `le=~"` + strings.ReplaceAll(value, ".", `\\.`) + `(\\.0)?"`
}

func selector(matchers ...string) string {
	var nonEmpty []string
	for _, m := range matchers {
		if m != "" {
			nonEmpty = append(nonEmpty, m)
		}
	}
	return "{" + strings.Join(nonEmpty, ",") + "}"
}

func (s SLO) errorRatioExpr(window string) string {
	good := fmt.Sprintf("sum(rate(%s_bucket%s[%s]))", s.Histogram, selector(s.Selector, leMatcher(s.Threshold)), window)
	total := fmt.Sprintf("sum(rate(%s_count%s[%s]))", s.Histogram, selector(s.Selector), window)
	return fmt.Sprintf("1 - (%s / %s)", good, total)
}

func (s SLO) burnExpr(windows []BurnWindow) string {
	budget := 1 - s.Objective
	var terms []string
	for _, w := range windows {
		threshold := strconv.FormatFloat(w.Factor*budget, 'g', 6, 64)
		terms = append(terms, fmt.Sprintf("(%s{slo=%q} > %s and %s{slo=%q} > %s)",
			ErrorRatioRecord(w.Long), s.Name, threshold, ErrorRatioRecord(w.Short), s.Name, threshold))
	}
	return strings.Join(terms, "\nor\n")
}

// FastAlert and SlowAlert are the names of the SLO's burn-rate alerts.
func (s SLO) FastAlert() string { return s.AlertPrefix + "BudgetBurnFast" }
func (s SLO) SlowAlert() string { return s.AlertPrefix + "BudgetBurnSlow" }

// DeadlineMissAlert fires when an executor was decommissioned with less than
// the minimum grace left of its interruption notice.
const DeadlineMissAlert = "SparkplaneInterruptionDeadlineMissed"

func expr(s string) intstr.IntOrString { return intstr.FromString(s) }

func prometheusRules(cfg Config) []*monitoringv1.PrometheusRule {
	var recording, alerts []monitoringv1.Rule
	for _, slo := range SLOs(cfg) {
		for _, window := range sloWindows {
			recording = append(recording, monitoringv1.Rule{
				Record: ErrorRatioRecord(window),
				Expr:   expr(slo.errorRatioExpr(window)),
				Labels: map[string]string{"slo": slo.Name},
			})
		}
		recording = append(recording, monitoringv1.Rule{
			Record: "sparkplane:slo_latency_seconds:p99_rate5m",
			Expr:   expr(fmt.Sprintf("histogram_quantile(0.99, sum by (le) (rate(%s_bucket%s[5m])))", slo.Histogram, selector(slo.Selector))),
			Labels: map[string]string{"slo": slo.Name},
		})
		for _, alert := range []struct {
			name, severity, forDuration, speed string
			windows                            []BurnWindow
		}{
			{slo.FastAlert(), "critical", "2m", "fast", FastBurn},
			{slo.SlowAlert(), "warning", "15m", "slow", SlowBurn},
		} {
			alerts = append(alerts, monitoringv1.Rule{
				Alert:  alert.name,
				Expr:   expr(slo.burnExpr(alert.windows)),
				For:    ptr.To(monitoringv1.Duration(alert.forDuration)),
				Labels: map[string]string{"severity": alert.severity, "slo": slo.Name},
				Annotations: map[string]string{
					"summary":     fmt.Sprintf("%s: error budget burning %s", slo.Summary, alert.speed),
					"description": fmt.Sprintf("The %s SLO (%s) is using its 30-day error budget %s: the share of events slower than %gs is above the burn-rate threshold over both windows. Check the sparkplane SLO dashboard.", slo.Name, slo.Summary, alert.speed, slo.Threshold),
				},
			})
		}
	}
	alerts = append(alerts, monitoringv1.Rule{
		Alert:  DeadlineMissAlert,
		Expr:   expr("sum by (signal) (increase(sparkplane_interruption_deadline_misses_total[10m])) > 0"),
		Labels: map[string]string{"severity": "warning", "slo": "sparkplane-interruption-reaction"},
		Annotations: map[string]string{
			"summary":     "Executors were decommissioned too late after an interruption notice",
			"description": "Executors were decommissioned with less than the minimum grace left of a {{ $labels.signal }} interruption notice in the last 10 minutes; their shuffle and cached blocks may be lost. Check sparkplane_interruption_reaction_seconds and the operator's load.",
		},
	})
	fleet := []monitoringv1.Rule{
		{Record: "sparkplane:nodes:count_by_nodepool", Expr: expr(`count by (nodepool, capacity_type, arch) (karpenter_nodes_allocatable{resource_type="cpu"})`)},
		{Record: "sparkplane:node_cost_dollars_per_hour:sum_by_nodepool", Expr: expr(`sum by (nodepool, capacity_type, arch) (
  max by (node_name, nodepool, capacity_type, arch, instance_type, zone) (karpenter_nodes_allocatable{resource_type="cpu"}) * 0
  + on (instance_type, capacity_type, zone) group_left ()
  max by (instance_type, capacity_type, zone) (karpenter_cloudprovider_instance_type_offering_price_estimate)
)`)},
	}
	rule := &monitoringv1.PrometheusRule{
		TypeMeta:   typeMeta("monitoring.coreos.com/v1", "PrometheusRule"),
		ObjectMeta: meta(cfg.MonitoringNamespace, "sparkplane-slos"),
		Spec: monitoringv1.PrometheusRuleSpec{Groups: []monitoringv1.RuleGroup{
			{Name: "sparkplane-slo-recording", Interval: ptr.To(monitoringv1.Duration("30s")), Rules: recording},
			{Name: "sparkplane-slo-alerts", Rules: alerts},
			{Name: "sparkplane-fleet", Interval: ptr.To(monitoringv1.Duration("1m")), Rules: fleet},
		}},
	}
	rule.Labels["prometheus"] = prometheusName
	return []*monitoringv1.PrometheusRule{rule}
}
