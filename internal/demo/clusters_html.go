package demo

import (
	"fmt"
	"html"
	"html/template"
	"io"
	"math"
	"strings"
	"time"
)

// memberColors colour each member's bars in the timeline; others are grey.
var memberColors = map[string]string{"a": "#1565c0", "b": "#ef6c00"}

func memberColor(name string) string {
	if c, ok := memberColors[name]; ok {
		return c
	}
	return "#757575"
}

type clustersPage struct {
	Demo        ClustersDemo
	Report      Report
	Clusters    ClustersReport
	Timeline    template.HTML
	GeneratedAt string
	Took        string
	Apps        []clusterAppView
}

type clusterAppView struct {
	Name, State, Placements string
	Drivers                 string
	ClusterLost             bool
}

// RenderClustersHTML writes the multi-cluster demo's self-contained page:
// the figures, each member's applications, and a timeline with one row per
// application (a bar per placement, coloured by member) under the member's
// events (API server stopped, Unreachable, Lost, started, Healthy).
func RenderClustersHTML(w io.Writer, d ClustersDemo, rep Report) error {
	p := clustersPage{Demo: d, Report: rep, GeneratedAt: d.FinishedAt.UTC().Format(time.RFC3339),
		Took: d.FinishedAt.Sub(d.StartedAt).Round(time.Second).String(), Timeline: clustersTimeline(d)}
	if rep.Clusters != nil {
		p.Clusters = *rep.Clusters
	}
	for _, a := range d.Apps {
		v := clusterAppView{Name: a.Name, State: a.State, ClusterLost: a.ClusterLost}
		var ps, ds []string
		for _, pl := range a.Placements {
			ps = append(ps, fmt.Sprintf("%s (epoch %d)", pl.Cluster, pl.Epoch))
		}
		for _, m := range sortedKeys(a.DriversOn) {
			ds = append(ds, fmt.Sprintf("%s %d", m, a.DriversOn[m]))
		}
		v.Placements, v.Drivers = strings.Join(ps, " → "), strings.Join(ds, ", ")
		p.Apps = append(p.Apps, v)
	}
	return clustersTemplate.Execute(w, p)
}

// clustersTimeline draws the member events on a time axis and, below, one
// row per application: a bar per placement from when the hub placed it to
// the next placement or the application's end.
func clustersTimeline(d ClustersDemo) template.HTML {
	const w, left, right, rowH, top = 940.0, 120.0, 20.0, 14.0, 70.0
	end := d.FinishedAt
	for _, a := range d.Apps {
		if a.Finished.After(end) {
			end = a.Finished
		}
	}
	span := niceCeil(math.Max(end.Sub(d.StartedAt).Seconds(), 1))
	plotW := w - left - right
	x := func(t time.Time) float64 {
		s := t.Sub(d.StartedAt).Seconds()
		return left + plotW*math.Min(math.Max(s, 0), span)/span
	}
	h := top + rowH*float64(len(d.Apps)) + 30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="multi-cluster timeline">`, w, h, w, h)
	// The stopped member's outage, shaded.
	if stop, ok := d.firstEvent(d.Stopped, EventAPIServerStopped, time.Time{}); ok {
		until := end
		if start, ok := d.firstEvent(d.Stopped, EventAPIServerStarted, stop); ok {
			until = start
		}
		fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" fill="#fdecea"><title>member %s's API server stopped</title></rect>`,
			f1(x(stop)), f1(top-6), f1(math.Max(x(until)-x(stop), 1)), f1(rowH*float64(len(d.Apps))+6), html.EscapeString(d.Stopped))
	}
	for i, e := range d.Events {
		row := 14.0 + float64(i%4)*12
		color := "#555"
		switch e.What {
		case "Lost", EventAPIServerStopped:
			color = "#c62828"
		case "Healthy", EventAPIServerStarted:
			color = "#2e7d32"
		}
		fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-dasharray="3,2"/><text x="%s" y="%s" class="ax" fill="%s">%s: %s</text>`,
			f1(x(e.At)), f1(x(e.At)), f1(row+2), f1(h-28), color, f1(x(e.At)+3), f1(row), color, html.EscapeString(e.Member), html.EscapeString(e.What))
	}
	for i, a := range d.Apps {
		y := top + rowH*float64(i)
		fmt.Fprintf(&b, `<text x="%s" y="%s" class="ax" text-anchor="end">%s</text>`, f1(left-6), f1(y+rowH-4), html.EscapeString(a.Name))
		for j, pl := range a.Placements {
			from := pl.Seen
			to := end
			if j+1 < len(a.Placements) {
				to = a.Placements[j+1].Seen
			} else if !a.Finished.IsZero() {
				to = a.Finished
			}
			fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s on %s, epoch %d</title></rect>`,
				f1(x(from)), f1(y+2), f1(math.Max(x(to)-x(from), 2)), f1(rowH-4), memberColor(pl.Cluster), html.EscapeString(a.Name), html.EscapeString(pl.Cluster), pl.Epoch)
		}
		if a.ClusterLost {
			fmt.Fprintf(&b, `<text x="%s" y="%s" class="ax" fill="#c62828">ClusterLost</text>`, f1(w-right-70), f1(y+rowH-4))
		}
	}
	axisY := h - 24
	fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="#555"/>`, f1(left), f1(left+plotW), f1(axisY), f1(axisY))
	for i := 0; i <= 10; i++ {
		t := span * float64(i) / 10
		xt := left + plotW*t/span
		fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="#555"/><text x="%s" y="%s" class="ax" text-anchor="middle">%ss</text>`,
			f1(xt), f1(xt), f1(axisY), f1(axisY+4), f1(xt), f1(axisY+16), trimFloat(t))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

var clustersTemplate = template.Must(template.New("clusters").Funcs(template.FuncMap{
	"color": memberColor,
	"f1":    func(v float64) string { return fmt.Sprintf("%.1f", v) },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sparkplane multi-cluster demo report</title>
<style>
` + reportCSS + `svg .ax{font-size:11px}
</style>
</head>
<body>
<h1>sparkplane multi-cluster demo</h1>
<div class="sub">A hub and members {{range $i, $m := .Demo.Members}}{{if $i}} and {{end}}{{$m}}{{end}}; {{.Report.Applications.Total}} applications, seed {{.Demo.Seed}}; member {{.Clusters.StoppedMember}}'s API server stopped mid-run and started again. Lease {{f1 .Clusters.LeaseSeconds}} s, lost after {{f1 .Clusters.LostAfterSeconds}} s. Finished {{.GeneratedAt}} after {{.Took}}.</div>
<p class="sub">Every figure is measured: the demo polled the hub's applications and MemberClusters and each member's copies and driver pods every {{f1 .Clusters.PollSeconds}} s (the figures' resolution). Nothing here comes from a model.</p>
<div class="tiles">
<div class="tile {{if eq .Report.Applications.Succeeded .Report.Applications.Total}}good{{else}}bad{{end}}"><b>{{.Report.Applications.Succeeded}} / {{.Report.Applications.Total}}</b><span>applications succeeded</span></div>
<div class="tile"><b>{{f1 .Clusters.DetectionSeconds}} s</b><span>API server stopped → Lost (lost-after {{f1 .Clusters.LostAfterSeconds}} s)</span></div>
<div class="tile"><b>{{.Clusters.Replaced}}</b><span>re-placed with epoch + 1, last copy {{f1 .Clusters.ReplacementSeconds}} s after Lost</span></div>
<div class="tile"><b>{{.Clusters.Resubmitted}}</b><span>resubmitted (ClusterLost, restartPolicy)</span></div>
<div class="tile"><b>{{.Clusters.StaleCopies}}</b><span>stale copies deleted on return ({{f1 .Clusters.StaleCopiesGoneSeconds}} s)</span></div>
<div class="tile {{if eq .Clusters.Duplicates 0}}good{{else}}bad{{end}}"><b>{{.Clusters.Duplicates}}</b><span>duplicates (drivers on two members without ClusterLost)</span></div>
</div>

<h2>Members</h2>
<table>
<tr><th>member</th><th class="n">placed</th><th class="n">finished there</th><th class="n">succeeded</th><th class="n">failed</th></tr>
{{range .Clusters.Members}}<tr><td><span class="sw" style="background:{{color .Name}}"></span>{{.Name}}</td><td class="n">{{.Placed}}</td><td class="n">{{.Finished}}</td><td class="n">{{.Succeeded}}</td><td class="n">{{.Failed}}</td></tr>
{{end}}</table>

<h2>Timeline</h2>
<p class="sub">One row per application: a bar per placement, coloured by member, from when the hub placed it to the next placement or its end. The shaded span is member {{.Clusters.StoppedMember}}'s outage.</p>
{{.Timeline}}
<table>
<tr><th class="n">s</th><th>member</th><th>event</th></tr>
{{range .Clusters.Timeline}}<tr><td class="n">{{f1 .Seconds}}</td><td>{{.Member}}</td><td>{{.What}}</td></tr>
{{end}}</table>

<h2>Applications</h2>
<table>
<tr><th>application</th><th>final state</th><th>placements</th><th>driver pods seen</th><th>ClusterLost</th></tr>
{{range .Apps}}<tr><td>{{.Name}}</td><td>{{.State}}</td><td>{{.Placements}}</td><td>{{.Drivers}}</td><td>{{if .ClusterLost}}yes{{end}}</td></tr>
{{end}}</table>
</body>
</html>
`))
