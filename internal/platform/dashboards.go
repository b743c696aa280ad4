package platform

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// Dashboard is the part of Grafana's dashboard JSON model the bundle uses.
type Dashboard struct {
	UID           string   `json:"uid"`
	Title         string   `json:"title"`
	Tags          []string `json:"tags"`
	Timezone      string   `json:"timezone"`
	SchemaVersion int      `json:"schemaVersion"`
	Refresh       string   `json:"refresh"`
	Time          struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"time"`
	Templating struct {
		List []TemplateVariable `json:"list"`
	} `json:"templating"`
	Panels []Panel `json:"panels"`
}

// TemplateVariable is a dashboard variable; the bundle's only one picks the
// Prometheus data source.
type TemplateVariable struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	Type  string `json:"type"`
	Query string `json:"query"`
}

// Panel is one Grafana panel.
type Panel struct {
	ID          int          `json:"id"`
	Type        string       `json:"type"`
	Title       string       `json:"title"`
	Description string       `json:"description,omitempty"`
	GridPos     GridPos      `json:"gridPos"`
	Datasource  Datasource   `json:"datasource"`
	Targets     []Target     `json:"targets"`
	FieldConfig *FieldConfig `json:"fieldConfig,omitempty"`
}

// GridPos places a panel on the 24-column grid.
type GridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

// Datasource points a panel at the default Prometheus data source.
type Datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Target is one PromQL query of a panel.
type Target struct {
	RefID        string     `json:"refId"`
	Expr         string     `json:"expr"`
	LegendFormat string     `json:"legendFormat,omitempty"`
	Datasource   Datasource `json:"datasource"`
}

// FieldConfig sets a panel's unit and thresholds.
type FieldConfig struct {
	Defaults FieldDefaults `json:"defaults"`
}

// FieldDefaults are a panel's default field settings.
type FieldDefaults struct {
	Unit string   `json:"unit,omitempty"`
	Min  *float64 `json:"min,omitempty"`
	Max  *float64 `json:"max,omitempty"`
}

var prometheusDatasource = Datasource{Type: "prometheus", UID: "${datasource}"}

// panelQuery is a panel's title, unit and queries (legend, expression pairs).
type panelQuery struct {
	title, unit, description string
	queries                  [][2]string
}

func newDashboard(uid, title string, panels []panelQuery) Dashboard {
	d := Dashboard{UID: uid, Title: title, Tags: []string{"sparkplane"}, Timezone: "utc", SchemaVersion: 39, Refresh: "1m"}
	d.Time.From, d.Time.To = "now-6h", "now"
	d.Templating.List = []TemplateVariable{{Name: "datasource", Label: "Data source", Type: "datasource", Query: "prometheus"}}
	for i, p := range panels {
		panel := Panel{
			ID: i + 1, Type: "timeseries", Title: p.title, Description: p.description,
			GridPos:    GridPos{H: 8, W: 12, X: (i % 2) * 12, Y: (i / 2) * 8},
			Datasource: prometheusDatasource,
		}
		if p.unit != "" {
			panel.FieldConfig = &FieldConfig{Defaults: FieldDefaults{Unit: p.unit}}
		}
		for j, q := range p.queries {
			panel.Targets = append(panel.Targets, Target{RefID: string(rune('A' + j)), LegendFormat: q[0], Expr: q[1], Datasource: prometheusDatasource})
		}
		d.Panels = append(d.Panels, panel)
	}
	return d
}

// Dashboards returns the fleet and SLO dashboards.
func Dashboards(cfg Config) []Dashboard {
	fleet := newDashboard("sparkplane-fleet", "sparkplane / fleet", []panelQuery{
		{title: "Nodes by tier", queries: [][2]string{{"{{nodepool}}", "sum by (nodepool) (sparkplane:nodes:count_by_nodepool)"}}},
		{title: "Cost by tier ($/h, on-demand list and spot estimates)", unit: "currencyUSD", queries: [][2]string{{"{{nodepool}}", "sum by (nodepool) (sparkplane:node_cost_dollars_per_hour:sum_by_nodepool)"}}},
		{title: "vCPUs by tier", queries: [][2]string{{"{{nodepool}}", `sum by (nodepool) (karpenter_nodes_allocatable{resource_type="cpu"})`}}},
		{title: "Share of executor vCPUs on spot", unit: "percentunit", queries: [][2]string{{"spot", `sum(karpenter_nodes_allocatable{resource_type="cpu",capacity_type="spot",nodepool=~".*-spot"}) / sum(karpenter_nodes_allocatable{resource_type="cpu",nodepool=~"(arm64|amd64)-(spot|on-demand)"})`}}},
		{title: "Running Spark drivers and executors", queries: [][2]string{
			{"{{label_spark_role}}", `sum by (label_spark_role) (kube_pod_status_phase{phase="Running"} * on (namespace, pod) group_left (label_spark_role) kube_pod_labels{label_spark_role=~"driver|executor"})`},
		}},
		{title: "Pending Spark pods", queries: [][2]string{
			{"{{label_spark_role}}", `sum by (label_spark_role) (kube_pod_status_phase{phase="Pending"} * on (namespace, pod) group_left (label_spark_role) kube_pod_labels{label_spark_role=~"driver|executor"})`},
		}},
		{title: "Interruption notices", queries: [][2]string{{"{{signal}}", "sum by (signal) (increase(sparkplane_interruption_notices_total[5m]))"}}},
		{title: "Executors decommissioned on notices / deadline misses", queries: [][2]string{
			{"decommissioned {{signal}}", "sum by (signal) (increase(sparkplane_interruption_executors_decommissioned_total[5m]))"},
			{"deadline misses {{signal}}", "sum by (signal) (increase(sparkplane_interruption_deadline_misses_total[5m]))"},
		}},
	})
	var sloPanels []panelQuery
	for _, slo := range SLOs(cfg) {
		sloPanels = append(sloPanels,
			panelQuery{title: slo.Summary + ": p99", unit: "s", description: fmt.Sprintf("Objective: %g%% within %gs.", slo.Objective*100, slo.Threshold),
				queries: [][2]string{{"p99", fmt.Sprintf(`sparkplane:slo_latency_seconds:p99_rate5m{slo=%q}`, slo.Name)}}},
			panelQuery{title: slo.Summary + ": burn rate", description: "Error ratio divided by the error budget; 1 spends the budget in exactly 30 days.",
				queries: [][2]string{
					{"1h", fmt.Sprintf(`%s{slo=%q} / %g`, ErrorRatioRecord("1h"), slo.Name, 1-slo.Objective)},
					{"6h", fmt.Sprintf(`%s{slo=%q} / %g`, ErrorRatioRecord("6h"), slo.Name, 1-slo.Objective)},
					{"3d", fmt.Sprintf(`%s{slo=%q} / %g`, ErrorRatioRecord("3d"), slo.Name, 1-slo.Objective)},
				}},
		)
	}
	slos := newDashboard("sparkplane-slos", "sparkplane / SLOs", sloPanels)
	return []Dashboard{fleet, slos}
}

func dashboards(cfg Config) []*corev1.ConfigMap {
	var out []*corev1.ConfigMap
	for _, d := range Dashboards(cfg) {
		data, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			panic(err) // the model has no types json cannot encode
		}
		cm := &corev1.ConfigMap{
			TypeMeta:   typeMeta("v1", "ConfigMap"),
			ObjectMeta: meta(cfg.MonitoringNamespace, "grafana-dashboard-"+d.UID),
			Data:       map[string]string{d.UID + ".json": string(data)},
		}
		// Grafana's dashboard sidecar loads ConfigMaps with this label.
		cm.Labels["grafana_dashboard"] = "1"
		out = append(out, cm)
	}
	return out
}
