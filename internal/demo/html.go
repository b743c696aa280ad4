package demo

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"time"
)

// HumanBytes renders a byte count in binary units (e.g. "1.5 GiB").
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

type runView struct {
	RunResult
	NodesChart, ExecutorsChart template.HTML
	Cost                       float64
	Duration                   string
}

type noticeView struct {
	Index                     int
	Node, NodePool            string
	AtSeconds                 float64
	Executors, Decommissioned int
	P50, Max                  float64
	Missed                    int
	// By: how many executors each source deleted, e.g. "sparkplane 3, karpenter 1".
	By string
}

// sourceView is one row of the who-deleted split.
type sourceView struct {
	Source string
	SourceReport
	Meaning string
}

// sourceMeanings explain each source in the report.
var sourceMeanings = map[string]string{
	SourceSparkplane: "sparkplane's graceful delete came first (its ExecutorDecommissioning event on the pod)",
	SourceKarpenter:  "Karpenter's drain evicted it first (its Evicted event on the pod)",
	SourceOther:      "another graceful delete or eviction",
	SourceLost:       "gone without a grace period (the instance ended first); reaction: to the removal",
}

type appView struct {
	AppResult
	Run      string
	Duration string
	Migrated string
	Recomp   string
}

type pageData struct {
	Demo         Demo
	Report       Report
	Runs         []runView
	Timeline     template.HTML
	Notices      []noticeView
	CostChart    template.HTML
	Apps         []appView
	Migrated     string
	Recomputed   string
	Savings      string
	GeneratedAt  string
	Took         string
	Sources      []sourceView
	Ablation     []string
	SpotDiscount string
	Noticed      ShuffleAccount
	ModelRate    string
}

// RenderHTML writes the self-contained report page: inline SVG charts and CSS,
// no scripts and nothing fetched from the network. Links to event logs are
// relative to the report's folder.
func RenderHTML(w io.Writer, d Demo, rep Report) error {
	p := pageData{Demo: d, Report: rep,
		Migrated: HumanBytes(rep.Shuffle.MigratedBytes), Recomputed: HumanBytes(rep.Shuffle.RecomputedBytes),
		GeneratedAt: d.FinishedAt.UTC().Format(time.RFC3339), Took: d.FinishedAt.Sub(d.StartedAt).Round(time.Second).String(),
	}
	if rep.Cost.Ratio > 0 {
		p.Savings = fmt.Sprintf("%.0f%%", math.Round((1-rep.Cost.Ratio)*100))
	}
	if f := rep.Cost.SpotPriceFactor; f > 0 {
		p.SpotDiscount = fmt.Sprintf("%.0f%%", math.Round((1-f)*100))
	}
	for _, src := range Sources {
		p.Sources = append(p.Sources, sourceView{Source: src, SourceReport: rep.Interruptions.BySource[src], Meaning: sourceMeanings[src]})
	}
	if rep.Ablation != nil {
		p.Ablation = AblationTable(*rep.Ablation)
	}
	p.Noticed = rep.Shuffle.NoticedNodes
	p.ModelRate = HumanBytes(rep.Shuffle.Model.MigrationBytesPerSecond) + "/s"
	// Both runs share the y scales, so their charts compare at a glance.
	span, maxNodes, maxExecs := 0.0, 0, 0
	nodeSeries := make([]map[string][]Step, len(d.Runs))
	execSeries := make([]map[string][]Step, len(d.Runs))
	for i, r := range d.Runs {
		span = math.Max(span, r.End.Sub(r.Start).Seconds())
		var nodes, execs []Interval
		for _, n := range r.Nodes {
			nodes = append(nodes, Interval{Group: n.NodePool, Start: n.Created, End: n.Deleted})
		}
		for _, e := range r.Executors {
			execs = append(execs, Interval{Group: e.NodePool, Start: e.Start, End: e.End})
		}
		nodeSeries[i], execSeries[i] = CountSeries(nodes, r.Start), CountSeries(execs, r.Start)
		maxNodes, maxExecs = max(maxNodes, maxCount(nodeSeries[i])), max(maxExecs, maxCount(execSeries[i]))
	}
	for i, r := range d.Runs {
		p.Runs = append(p.Runs, runView{RunResult: r,
			NodesChart:     stepChart("nodes by tier: "+r.Name+" ("+r.Profile+")", nodeSeries[i], span, maxNodes),
			ExecutorsChart: stepChart("executors by tier: "+r.Name, execSeries[i], span, maxExecs),
			Cost:           RunCost(r),
			Duration:       r.End.Sub(r.Start).Round(time.Second).String(),
		})
		for _, a := range r.Apps {
			v := appView{AppResult: a, Run: r.Name, Migrated: HumanBytes(a.MigratedBytes), Recomp: HumanBytes(a.RecomputedBytes)}
			if !a.Finished.IsZero() && !a.Submitted.IsZero() {
				v.Duration = a.Finished.Sub(a.Submitted).Round(time.Second).String()
			}
			p.Apps = append(p.Apps, v)
		}
		if r.Name == RunOptimized {
			p.Timeline = timelineChart(r)
			for j, n := range r.Notices {
				v := noticeView{Index: j + 1, Node: n.Node, NodePool: n.NodePool, AtSeconds: n.At.Sub(r.Start).Seconds(), Executors: len(n.Executors)}
				var reactions []float64
				bySource := map[string]int{}
				for _, e := range n.Executors {
					if e.Source != "" {
						bySource[e.Source]++
					}
					if e.Decommissioned {
						v.Decommissioned++
						reactions = append(reactions, e.Reaction.Seconds())
					}
					if e.Missed() {
						v.Missed++
					}
				}
				v.P50, v.Max = Percentile(reactions, 50), Percentile(reactions, 100)
				var by []string
				for _, src := range Sources {
					if bySource[src] > 0 {
						by = append(by, fmt.Sprintf("%s %d", src, bySource[src]))
					}
				}
				v.By = strings.Join(by, ", ")
				p.Notices = append(p.Notices, v)
			}
		}
	}
	p.CostChart = costChart(d.Runs, d.Currency)
	return pageTemplate.Execute(w, p)
}

// reportCSS is the style both report pages share.
const reportCSS = `body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:980px;color:#222;background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#666;font-size:13px}
.tiles{display:flex;flex-wrap:wrap;gap:10px;margin:16px 0}
.tile{border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:130px}
.tile b{display:block;font-size:20px}.tile span{color:#666;font-size:12px}
.good b{color:#2e7d32}.bad b{color:#c62828}
.charts{display:flex;flex-wrap:wrap;gap:12px}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{border-bottom:1px solid #eee;padding:4px 6px;text-align:left}th{background:#f6f6f6}
td.n,th.n{text-align:right}
.sw{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
`

var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"color": tierColor,
	"pools": func(m map[string]TierUsage) []string {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		return sortTiers(keys)
	},
	"short": func(id string) string {
		if len(id) > 18 {
			return id[:18] + "…"
		}
		return id
	},
	"f2":    func(v float64) string { return fmt.Sprintf("%.2f", v) },
	"f3":    func(v float64) string { return fmt.Sprintf("%.3f", v) },
	"f4":    func(v float64) string { return fmt.Sprintf("%.4f", v) },
	"bytes": HumanBytes,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sparkplane demo report</title>
<style>
` + reportCSS + `.model{display:inline-block;font-size:10px;font-weight:600;color:#6a1b9a;border:1px solid #6a1b9a;border-radius:3px;padding:0 3px;margin-left:4px;vertical-align:middle}
pre.side{background:#f6f6f6;padding:8px;font-size:12px}
svg .ct{font-size:13px;font-weight:600}svg .ax{font-size:11px;fill:#444}svg .grid{stroke:#e6e6e6}
</style>
</head>
<body>
<h1>sparkplane demo</h1>
<div class="sub">{{.Demo.Apps}} applications per run, seed {{.Demo.Seed}}, notices via {{.Demo.NoticeVia}}; finished {{.GeneratedAt}} after {{.Took}}. Prices: {{.Demo.PriceSource}}.</div>
<p class="sub">Legend: <span class="model">model</span> marks a figure computed by a model rather than measured on the cluster — shuffle bytes come from the Spark driver emulator's migration model (no real shuffle data moves here), and spot prices are the price file's on-demand list prices times a fixed factor. Everything else (applications, nodes and their lifetimes, executors, notices, reaction times) is observed on the local cluster's API server.</p>
<div class="tiles">
<div class="tile {{if eq .Report.Applications.Succeeded .Report.Applications.Total}}good{{else}}bad{{end}}"><b>{{.Report.Applications.Succeeded}} / {{.Report.Applications.Total}}</b><span>applications succeeded</span></div>
<div class="tile"><b>{{.Report.Interruptions.Notices}}</b><span>spot notices, {{.Report.Interruptions.ExecutorsDecommissioned}} executors decommissioned</span></div>
<div class="tile"><b>{{f3 .Report.Interruptions.ReactionP50Seconds}} s</b><span>reaction p50 (p99 {{f3 .Report.Interruptions.ReactionP99Seconds}} s)</span></div>
<div class="tile {{if eq .Report.Interruptions.DeadlineMisses 0}}good{{else}}bad{{end}}"><b>{{.Report.Interruptions.DeadlineMisses}}</b><span>deadline misses</span></div>
<div class="tile"><b>{{.Migrated}}<span class="model">model</span></b><span>shuffle migrated ({{.Recomputed}} recomputed)</span></div>
{{if gt .Report.Cost.Baseline 0.0}}<div class="tile good"><b>{{.Report.Cost.Currency}} {{f4 .Report.Cost.Optimized}}<span class="model">model</span></b><span>vs {{f4 .Report.Cost.Baseline}} baseline: ratio {{f3 .Report.Cost.Ratio}}{{if .Savings}}, {{.Savings}} saved{{end}}</span></div>{{end}}
</div>

<h2>Nodes by tier over time</h2>
<div class="charts">{{range .Runs}}{{.NodesChart}}{{end}}</div>

<h2>Executors by tier over time</h2>
<div class="charts">{{range .Runs}}{{.ExecutorsChart}}{{end}}</div>

<h2>Interruptions (optimized run)</h2>
{{if .Notices}}{{.Timeline}}
<table>
<tr><th>#</th><th>node</th><th>tier</th><th class="n">at</th><th class="n">executors</th><th class="n">decommissioned</th><th>deleted by</th><th class="n">reaction p50</th><th class="n">reaction max</th><th class="n">missed</th></tr>
{{range .Notices}}<tr><td>{{.Index}}</td><td>{{.Node}}</td><td><span class="sw" style="background:{{color .NodePool}}"></span>{{.NodePool}}</td><td class="n">{{printf "%.1f" .AtSeconds}} s</td><td class="n">{{.Executors}}</td><td class="n">{{.Decommissioned}}</td><td>{{.By}}</td><td class="n">{{f3 .P50}} s</td><td class="n">{{f3 .Max}} s</td><td class="n">{{.Missed}}</td></tr>
{{end}}</table>
<h3>Who deleted the executors of noticed nodes</h3>
<table>
<tr><th>source</th><th class="n">executors</th><th class="n">reaction p50</th><th class="n">reaction p99</th><th class="n">deadline misses</th><th>meaning</th></tr>
{{range .Sources}}<tr><td>{{.Source}}</td><td class="n">{{.Executors}}</td><td class="n">{{f3 .ReactionP50Seconds}} s</td><td class="n">{{f3 .ReactionP99Seconds}} s</td><td class="n">{{.DeadlineMisses}}</td><td>{{.Meaning}}</td></tr>
{{end}}</table>
<p class="sub">Reaction: from the notice (the node's <code>karpenter.sh/disrupted</code> taint, or the notice time the operator persisted, whichever is earlier) to the executor's graceful delete, as seen on a watch. Deadline: 115 s (the 120 s notice less a 5 s reserve).</p>
{{else}}<p>No notices were delivered.</p>{{end}}

<h2>Shuffle on noticed nodes <span class="model">model</span></h2>
<p>The executors of noticed nodes held {{bytes .Noticed.HeldBytes}} of shuffle output still to be read when they began to leave: {{bytes .Noticed.MigratedBytes}} migrated to executors that were not leaving, {{bytes .Noticed.FallbackBytes}} to fallback storage, {{bytes .Noticed.RecomputedBytes}} recomputed, {{bytes .Noticed.UnreadBytes}} no longer read by the time its turn came — each block counted once.</p>
<p class="sub">Model (the Spark driver emulator): a decommissioning executor hands on one block at a time at {{.ModelRate}} (model time; time scale {{.Report.Shuffle.Model.TimeScale}} model seconds per real second) to executors not leaving themselves, until its grace period ends; what is left then, or has no peer to go to, is recomputed.</p>
{{if .Ablation}}<h2>Ablation: without {{range $i, $w := .Demo.Ablated}}{{if $i}}, {{end}}{{$w}}{{end}}</h2>
<p class="sub">The same seed and notice delivery ({{.Demo.NoticeVia}}), run again with the operator's {{range $i, $w := .Demo.Ablated}}{{if $i}}, {{end}}{{$w}}{{end}} controller off. Shuffle rows are the emulator's model.</p>
<pre class="side">{{range .Ablation}}{{.}}
{{end}}</pre>{{end}}

<h2>Cost <span class="model">model</span></h2>
{{.CostChart}}
<table>
<tr><th>run</th><th>profile</th><th>tier</th><th class="n">nodes</th><th class="n">node-hours</th></tr>
{{range .Runs}}{{$run := .}}{{$usage := index $.Report.Nodes .Name}}{{range pools $usage}}{{$u := index $usage .}}<tr><td>{{$run.Name}}</td><td>{{$run.Profile}}</td><td><span class="sw" style="background:{{color .}}"></span>{{.}}</td><td class="n">{{$u.Count}}</td><td class="n">{{f4 $u.NodeHours}}</td></tr>
{{end}}{{end}}</table>
<p class="sub">Cost is each node's lifetime (creation to removal, measured) times the price of its offering (instance type, capacity type, zone) in the instance-type file; the runs' last nodes are released when their last application ends. Price source: {{.Demo.PriceSource}}. {{if .SpotDiscount}}Spot prices there are the on-demand list price × {{.Report.Cost.SpotPriceFactor}} (a {{.SpotDiscount}} spot discount), a fixed factor rather than market prices.{{else}}Spot prices there do not follow one fixed factor of on-demand.{{end}}</p>

<h2>Applications</h2>
<table>
<tr><th>run</th><th>application</th><th>type</th><th>size</th><th>state</th><th class="n">took</th><th class="n">executors</th><th class="n">decomm.</th><th class="n">lost</th><th class="n">migrated</th><th class="n">recomputed</th><th>event log</th></tr>
{{range .Apps}}<tr><td>{{.Run}}</td><td>{{.Name}}</td><td>{{.Type}}</td><td>{{.Size}}</td><td>{{.State}}</td><td class="n">{{.Duration}}</td><td class="n">{{.ExecutorsCreated}}</td><td class="n">{{.ExecutorsDecommissioned}}</td><td class="n">{{.ExecutorsLost}}</td><td class="n">{{.Migrated}}</td><td class="n">{{.Recomp}}</td><td>{{if .EventLog}}<a href="{{.EventLog}}" title="{{.AppID}}">{{short .AppID}}</a>{{else}}–{{end}}</td></tr>
{{end}}</table>
</body>
</html>
`))
