package advisor

import (
	"fmt"
	"html/template"
	"io"
	"math/bits"
)

// WriteHTML writes the reports as one self-contained HTML page (no script,
// no external resource): per application its facts, totals and measures, a
// histogram of task time, the most skewed stages and the recommendations.
func WriteHTML(w io.Writer, reports []*Report) error {
	type page struct{ Reports []htmlReport }
	p := page{}
	for _, rep := range reports {
		p.Reports = append(p.Reports, newHTMLReport(rep))
	}
	return htmlPage.Execute(w, p)
}

// htmlReport is a report with what the page draws worked out.
type htmlReport struct {
	*Report
	Histogram []htmlBar
	// ChartHeight is the SVG's height.
	ChartHeight int
	Peak        string
	DriverPeak  string
	Duration    string
	TaskP50     string
	TaskP90     string
	TaskMax     string
}

// htmlBar is one bar of the task-time histogram: tasks that ran from Low up
// to (not including) the next bar's Low.
type htmlBar struct {
	Label       string
	Count       uint64
	Y, W, TextY int
}

func newHTMLReport(rep *Report) htmlReport {
	h := htmlReport{
		Report:     rep,
		Peak:       formatPeak(rep.Measures.PeakExecutorMemory, rep.Application.SparkVersion),
		DriverPeak: formatPeak(rep.Measures.PeakDriverMemory, rep.Application.SparkVersion),
		Duration:   formatMs(rep.Application.DurationMs),
		TaskP50:    formatMs(rep.Measures.TaskDurationMs.P50),
		TaskP90:    formatMs(rep.Measures.TaskDurationMs.P90),
		TaskMax:    formatMs(rep.Measures.TaskDurationMs.Max),
	}
	h.Histogram = taskTimeBars(rep.TaskTime)
	h.ChartHeight = len(h.Histogram)*barHeight + 10
	return h
}

// Geometry of the histogram's horizontal bars.
const (
	barHeight   = 22
	barMaxWidth = 520
)

// byPowerOfTwo groups the histogram's buckets by power of two of
// milliseconds (under 1 ms, 1–2 ms, 2–4 ms, ...), from the first to the last
// non-empty group.
func (h *histogram) byPowerOfTwo() []TimeBucket {
	if h.n == 0 {
		return nil
	}
	var groups [65]uint64
	first, last := len(groups), -1
	for k, c := range h.counts {
		if c == 0 {
			continue
		}
		g := bits.Len64(uint64(bucketValue(k)))
		groups[g] += c
		first, last = min(first, g), max(last, g)
	}
	var out []TimeBucket
	for g := first; g <= last; g++ {
		b := TimeBucket{Tasks: groups[g], HighMs: 1}
		if g > 0 {
			b.LowMs, b.HighMs = int64(1)<<(g-1), int64(1)<<g
		}
		out = append(out, b)
	}
	return out
}

// taskTimeBars lays out the histogram's bars.
func taskTimeBars(buckets []TimeBucket) []htmlBar {
	var most uint64
	for _, b := range buckets {
		most = max(most, b.Tasks)
	}
	var bars []htmlBar
	for i, b := range buckets {
		label := "< 1 ms"
		if b.LowMs > 0 {
			label = formatMs(b.LowMs) + " – " + formatMs(b.HighMs)
		}
		width := int(float64(b.Tasks) / float64(most) * barMaxWidth)
		if b.Tasks > 0 && width < 2 {
			width = 2
		}
		y := i * barHeight
		bars = append(bars, htmlBar{Label: label, Count: b.Tasks, Y: y + 4, W: width, TextY: y + 18})
	}
	return bars
}

var htmlPage = template.Must(template.New("advise").Funcs(template.FuncMap{
	"bytes":   formatBytes,
	"ms":      formatMs,
	"percent": func(p *float64) string { return percentOr(p, "n/a") },
	"skew":    func(f float64) string { return fmt.Sprintf("%.1f×", f) },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>sparkplane advise</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 980px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2.5em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1em; margin-top: 1.5em; }
table { border-collapse: collapse; margin: .5em 0; } td, th { padding: 2px 10px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } tr:nth-child(even) td { background: #fafafa; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.rec { border-left: 4px solid #1565c0; padding: .3em .8em; margin: .8em 0; background: #f5f9ff; }
code { background: #eee; padding: 0 3px; } .muted { color: #666; }
svg text { font: 12px system-ui, sans-serif; fill: #222; } svg rect.bar { fill: #1565c0; }
</style></head><body>
<h1>Spark event log advice</h1>
<p class="muted">{{len .Reports}} application(s), read by <code>sparkplane advise</code>. Thresholds: docs/advisor.md.</p>
{{range .Reports}}
<section class="app">
<h2 id="{{.Application.ID}}">{{.Application.ID}} — {{.Application.Name}}</h2>
<table>
<tr><th>Spark</th><td>{{.Application.SparkVersion}}</td><th>User</th><td>{{.Application.User}}</td></tr>
<tr><th>Run</th><td>{{.Application.StartTime}} → {{.Application.EndTime}}</td><th>Duration</th><td>{{.Duration}}</td></tr>
<tr><th>Source</th><td colspan="3"><code>{{.Source}}</code> [{{.Codec}}]</td></tr>
<tr><th>Parsed</th><td colspan="3">{{.Parse.Lines}} lines: {{.Parse.UnknownEvents}} unknown events, {{.Parse.CorruptLines}} corrupt, {{.Parse.TruncatedLines}} truncated</td></tr>
</table>
<h3>Totals</h3>
<table>
<tr><th>tasks</th><td class="num">{{.Totals.Tasks}} ({{.Totals.FailedTasks}} failed)</td><th>stages</th><td class="num">{{.Totals.StagesCompleted}} ({{.Totals.StagesFailed}} failed)</td><th>executors added</th><td class="num">{{.Totals.ExecutorsAdded}}</td></tr>
<tr><th>executor run</th><td class="num">{{ms .Totals.ExecutorRunTimeMs}}</td><th>JVM GC</th><td class="num">{{ms .Totals.JVMGCTimeMs}}</td><th>fetch wait</th><td class="num">{{ms .Totals.ShuffleFetchWaitMs}}</td></tr>
<tr><th>shuffle read</th><td class="num">{{bytes .Totals.ShuffleReadBytes}}</td><th>shuffle write</th><td class="num">{{bytes .Totals.ShuffleWriteBytes}}</td><th>input</th><td class="num">{{bytes .Totals.InputBytes}}</td></tr>
<tr><th>memory spilled</th><td class="num">{{bytes .Totals.MemoryBytesSpilled}}</td><th>disk spilled</th><td class="num">{{bytes .Totals.DiskBytesSpilled}}</td><th>output</th><td class="num">{{bytes .Totals.OutputBytes}}</td></tr>
</table>
<h3>Measures</h3>
<table>
<tr><th>CPU utilisation</th><td>{{percent .Measures.CPUUtilization}}</td></tr>
<tr><th>task time</th><td>p50 {{.TaskP50}}, p90 {{.TaskP90}}, max {{.TaskMax}} over {{.Measures.TaskDurationMs.Count}} tasks</td></tr>
<tr><th>peak executor memory</th><td>{{.Peak}}</td></tr>
<tr><th>peak driver memory</th><td>{{.DriverPeak}}</td></tr>
<tr><th>slots busy</th><td>{{percent .Measures.Concurrency.SlotUtilization}} (peak {{.Measures.Concurrency.PeakRunningTasks}} running tasks on {{.Measures.Concurrency.PeakExecutors}} executors)</td></tr>
</table>
<h3>Task time histogram</h3>
{{if .Histogram}}<svg class="histogram" width="900" height="{{.ChartHeight}}" role="img" aria-label="tasks by run time">
{{range .Histogram}}<text x="0" y="{{.TextY}}">{{.Label}}</text><rect class="bar" x="170" y="{{.Y}}" width="{{.W}}" height="16"></rect><text x="{{.W}}" dx="176" y="{{.TextY}}">{{.Count}}</text>
{{end}}</svg>{{else}}<p class="muted">no finished task in the log</p>{{end}}
<h3>Stages by skew</h3>
<p class="muted">{{.Measures.StageSkew.StagesAnalyzed}} completed stages analysed; the most skewed (longest task over the median task) first.</p>
{{if .Measures.StageSkew.Top}}<table class="stages">
<tr><th class="num">stage</th><th class="num">attempt</th><th class="num">tasks</th><th class="num">median task</th><th class="num">longest task</th><th class="num">skew</th></tr>
{{range .Measures.StageSkew.Top}}<tr><td class="num">{{.StageID}}</td><td class="num">{{.AttemptID}}</td><td class="num">{{.Tasks}}</td><td class="num">{{ms .MedianTaskMs}}</td><td class="num">{{ms .MaxTaskMs}}</td><td class="num">{{skew .Skew}}</td></tr>
{{end}}</table>{{else}}<p class="muted">no stage with enough tasks to measure skew</p>{{end}}
<h3>Recommendations</h3>
{{range .Recommendations}}<div class="rec"><b>[{{.Kind}}, {{.Confidence}} confidence]</b> {{.Summary}}
{{if .SparkConf}}<pre>{{range $k, $v := .SparkConf}}{{$k}}={{$v}}
{{end}}</pre>{{end}}<div class="muted">evidence: {{range $k, $v := .Evidence}}{{$k}}={{$v}} {{end}}</div></div>
{{else}}<p>none: nothing in this log crosses a threshold</p>{{end}}
</section>
{{end}}
</body></html>
`))
