package demo

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// tierOrder lists node pools in the report's order, cheapest tier first.
var tierOrder = []string{"arm64-spot", "amd64-spot", "arm64-on-demand", "amd64-on-demand", "driver"}

var tierColors = map[string]string{
	"arm64-spot":      "#2e7d32",
	"amd64-spot":      "#8bc34a",
	"arm64-on-demand": "#1565c0",
	"amd64-on-demand": "#64b5f6",
	"driver":          "#ff8f00",
}

func tierColor(pool string) string {
	if c, ok := tierColors[pool]; ok {
		return c
	}
	return "#9e9e9e"
}

// sortTiers orders pools as tierOrder, unknown ones after, by name.
func sortTiers(pools []string) []string {
	out := slices.Clone(pools)
	rank := func(p string) int {
		if i := slices.Index(tierOrder, p); i >= 0 {
			return i
		}
		return len(tierOrder)
	}
	sort.Slice(out, func(i, j int) bool {
		if rank(out[i]) != rank(out[j]) {
			return rank(out[i]) < rank(out[j])
		}
		return out[i] < out[j]
	})
	return out
}

// Interval is something alive from Start to End in a group (a node pool).
type Interval struct {
	Group      string
	Start, End time.Time
}

// Step is a count that holds from At (seconds since the run's start) until
// the next step.
type Step struct {
	At    float64
	Count int
}

// CountSeries turns intervals into a step series per group: how many were
// alive at each moment, from start. Intervals ending before they start are
// ignored.
func CountSeries(intervals []Interval, start time.Time) map[string][]Step {
	type edge struct {
		at    float64
		delta int
	}
	edges := map[string][]edge{}
	for _, iv := range intervals {
		if iv.End.Before(iv.Start) {
			continue
		}
		edges[iv.Group] = append(edges[iv.Group],
			edge{iv.Start.Sub(start).Seconds(), +1}, edge{iv.End.Sub(start).Seconds(), -1})
	}
	out := map[string][]Step{}
	for group, es := range edges {
		sort.SliceStable(es, func(i, j int) bool {
			if es[i].at != es[j].at {
				return es[i].at < es[j].at
			}
			return es[i].delta < es[j].delta
		})
		steps := []Step{{At: 0, Count: 0}}
		count := 0
		for _, e := range es {
			count += e.delta
			if last := &steps[len(steps)-1]; last.At == e.at {
				last.Count = count
			} else {
				steps = append(steps, Step{At: e.at, Count: count})
			}
		}
		out[group] = steps
	}
	return out
}

func maxCount(series map[string][]Step) int {
	m := 0
	for _, steps := range series {
		for _, s := range steps {
			m = max(m, s.Count)
		}
	}
	return m
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func f1(v float64) string { return fmt.Sprintf("%.1f", v) }

// stepChart draws one step line per group over [0, span] seconds with y up to
// yMax, as an inline SVG with axes, gridlines and a legend.
func stepChart(title string, series map[string][]Step, span float64, yMax int) template.HTML {
	const w, h, left, right, top, bottom = 460.0, 220.0, 40.0, 22.0, 24.0, 46.0
	plotW, plotH := w-left-right, h-top-bottom
	span = niceCeil(span)
	ymax := niceCeil(float64(max(yMax, 1)))
	x := func(t float64) float64 { return left + plotW*math.Min(t, span)/span }
	y := func(v float64) float64 { return top + plotH - plotH*v/ymax }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="%s">`, w, h, w, h, html.EscapeString(title))
	fmt.Fprintf(&b, `<text x="%s" y="15" class="ct">%s</text>`, f1(left), html.EscapeString(title))
	for i := 0; i <= 4; i++ {
		v := ymax * float64(i) / 4
		fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="%s" y2="%s" class="grid"/>`, f1(left), f1(left+plotW), f1(y(v)), f1(y(v)))
		fmt.Fprintf(&b, `<text x="%s" y="%s" class="ax" text-anchor="end">%s</text>`, f1(left-4), f1(y(v)+3), trimFloat(v))
	}
	for i := 0; i <= 5; i++ {
		t := span * float64(i) / 5
		fmt.Fprintf(&b, `<text x="%s" y="%s" class="ax" text-anchor="middle">%ss</text>`, f1(x(t)), f1(top+plotH+13), trimFloat(t))
	}
	groups := make([]string, 0, len(series))
	for g := range series {
		groups = append(groups, g)
	}
	for _, g := range sortTiers(groups) {
		steps := series[g]
		var pts []string
		for i, s := range steps {
			if i > 0 {
				pts = append(pts, f1(x(s.At))+","+f1(y(float64(steps[i-1].Count))))
			}
			pts = append(pts, f1(x(s.At))+","+f1(y(float64(s.Count))))
		}
		last := steps[len(steps)-1]
		pts = append(pts, f1(x(span))+","+f1(y(float64(last.Count))))
		// On-demand tiers are dashed, so a line drawn over a spot one at the
		// same count still lets it show.
		dash := ""
		if strings.HasSuffix(g, "-on-demand") {
			dash = ` stroke-dasharray="6 3"`
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`, tierColor(g), dash, strings.Join(pts, " "))
	}
	lx := left
	for _, g := range sortTiers(groups) {
		fmt.Fprintf(&b, `<rect x="%s" y="%s" width="10" height="10" fill="%s"/><text x="%s" y="%s" class="ax">%s</text>`,
			f1(lx), f1(h-14), tierColor(g), f1(lx+13), f1(h-5), html.EscapeString(g))
		lx += 22 + 6.6*float64(len(g))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// costChart draws one horizontal bar per run, split by node pool.
func costChart(runs []RunResult, currency string) template.HTML {
	const w, left, barH, gap, top = 620.0, 90.0, 26.0, 14.0, 10.0
	h := top + float64(len(runs))*(barH+gap) + 30
	maxCost := 0.0
	for _, r := range runs {
		maxCost = math.Max(maxCost, RunCost(r))
	}
	scale := niceCeil(maxCost)
	plotW := w - left - 90
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="cost of both runs">`, w, h, w, h)
	for i, r := range runs {
		yy := top + float64(i)*(barH+gap)
		fmt.Fprintf(&b, `<text x="%s" y="%s" class="ax" text-anchor="end">%s</text>`, f1(left-6), f1(yy+barH/2+4), html.EscapeString(r.Name))
		byPool := map[string]float64{}
		var pools []string
		for _, n := range r.Nodes {
			if _, ok := byPool[n.NodePool]; !ok {
				pools = append(pools, n.NodePool)
			}
			byPool[n.NodePool] += n.Cost()
		}
		xx := left
		for _, p := range sortTiers(pools) {
			bw := plotW * byPool[p] / scale
			fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s: %s %.4f</title></rect>`,
				f1(xx), f1(yy), f1(bw), f1(barH), tierColor(p), html.EscapeString(p), html.EscapeString(currency), byPool[p])
			xx += bw
		}
		fmt.Fprintf(&b, `<text x="%s" y="%s" class="ax">%s %.4f</text>`, f1(xx+6), f1(yy+barH/2+4), html.EscapeString(currency), RunCost(r))
	}
	fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="%s" y2="%s" class="grid"/>`, f1(left), f1(left+plotW), f1(h-22), f1(h-22))
	for i := 0; i <= 4; i++ {
		v := scale * float64(i) / 4
		fmt.Fprintf(&b, `<text x="%s" y="%s" class="ax" text-anchor="middle">%s</text>`, f1(left+plotW*float64(i)/4), f1(h-8), trimFloat(v))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// timelineChart marks each notice on the run's time axis with its node pool
// colour and the slowest reaction of its executors.
func timelineChart(r RunResult) template.HTML {
	const w, h, left, right = 940.0, 120.0, 20.0, 20.0
	span := niceCeil(r.End.Sub(r.Start).Seconds())
	plotW := w - left - right
	x := func(t float64) float64 { return left + plotW*math.Min(math.Max(t, 0), span)/span }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="interruption timeline">`, w, h, w, h)
	axisY := 80.0
	fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="#555"/>`, f1(left), f1(left+plotW), f1(axisY), f1(axisY))
	for i := 0; i <= 10; i++ {
		t := span * float64(i) / 10
		fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="#555"/><text x="%s" y="%s" class="ax" text-anchor="middle">%ss</text>`,
			f1(x(t)), f1(x(t)), f1(axisY), f1(axisY+4), f1(x(t)), f1(axisY+16), trimFloat(t))
	}
	for i, n := range r.Notices {
		t := n.At.Sub(r.Start).Seconds()
		slowest, missed := 0.0, 0
		for _, e := range n.Executors {
			slowest = math.Max(slowest, e.Reaction.Seconds())
			if e.Missed() {
				missed++
			}
		}
		label := fmt.Sprintf("#%d %d exec, max %.2fs", i+1, len(n.Executors), slowest)
		if missed > 0 {
			label += fmt.Sprintf(", %d missed", missed)
		}
		row := 18.0 + float64(i%3)*18
		fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-width="2"/><circle cx="%s" cy="%s" r="5" fill="%s"><title>%s (%s)</title></circle><text x="%s" y="%s" class="ax">%s</text>`,
			f1(x(t)), f1(x(t)), f1(row), f1(axisY), tierColor(n.NodePool), f1(x(t)), f1(axisY), tierColor(n.NodePool),
			html.EscapeString(n.Node), html.EscapeString(n.NodePool), f1(x(t)+4), f1(row+4), html.EscapeString(label))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
