//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// apiCounts is what the API server says it did, from its /metrics: requests
// by verb and resource, and watch events sent by kind with their bytes. The
// submission benchmark prints the difference per application between the raw
// path and sparkplane, which tells where the API server's extra CPU goes.
type apiCounts map[string]float64

// readAPICounts scrapes the API server's /metrics (the parser is the
// Prometheus project's own, prometheus/common/expfmt, already in the module
// graph through client_golang).
func readAPICounts(c *framework.Cluster) (apiCounts, error) {
	raw, err := c.Clientset.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		return nil, fmt.Errorf("reading the API server's /metrics: %w", err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing the API server's /metrics: %w", err)
	}
	counts := apiCounts{}
	if f := families["apiserver_request_total"]; f != nil {
		for _, m := range f.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			if l["verb"] == "WATCH" || l["verb"] == "LIST" && l["resource"] == "" {
				continue
			}
			res := l["resource"]
			if l["subresource"] != "" {
				res += "/" + l["subresource"]
			}
			counts["request "+l["verb"]+" "+res] += m.GetCounter().GetValue()
		}
	}
	kindOf := func(labels map[string]string) string {
		if k := labels["kind"]; k != "" {
			return k
		}
		return labels["resource"]
	}
	for _, name := range []string{"apiserver_watch_events_total", "apiserver_watch_events_sizes"} {
		f := families[name]
		if f == nil {
			continue
		}
		for _, m := range f.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			if name == "apiserver_watch_events_total" {
				counts["watch events "+kindOf(l)] += m.GetCounter().GetValue()
			} else {
				counts["watch KB "+kindOf(l)] += m.GetHistogram().GetSampleSum() / 1000
			}
		}
	}
	// The API server's Go runtime: what it allocated and what its garbage
	// collector cost, all of it and the part taken from request goroutines
	// as mark assists (a request slowed while it allocates during a mark).
	for metric, as := range map[string]struct {
		name  string
		scale float64
	}{
		"go_memstats_alloc_bytes_total":                   {"go heap MB allocated", 1e-6},
		"go_cpu_classes_gc_total_cpu_seconds_total":       {"go GC CPU ms", 1e3},
		"go_cpu_classes_gc_mark_assist_cpu_seconds_total": {"go GC mark assists CPU ms", 1e3},
	} {
		if f := families[metric]; f != nil {
			for _, m := range f.GetMetric() {
				counts[as.name] += m.GetCounter().GetValue() * as.scale
			}
		}
	}
	return counts, nil
}

// add is c plus after-before, as new counts: phases measured apart, counted
// as one.
func (c apiCounts) add(before, after apiCounts) apiCounts {
	sum := apiCounts{}
	for name, v := range c {
		sum[name] = v
	}
	for name, v := range after {
		sum[name] += v - before[name]
	}
	return sum
}

// perApp formats after-before per application, the largest first, keeping
// the entries of at least 0.05 per application.
func (after apiCounts) perApp(before apiCounts, apps int) string {
	type entry struct {
		name string
		v    float64
	}
	var entries []entry
	for name, v := range after {
		if d := (v - before[name]) / float64(apps); d >= 0.05 {
			entries = append(entries, entry{name, d})
		}
	}
	sort.Slice(entries, func(i, j int) bool {
		if strings.HasPrefix(entries[i].name, "request") != strings.HasPrefix(entries[j].name, "request") {
			return strings.HasPrefix(entries[i].name, "request")
		}
		return entries[i].v > entries[j].v
	})
	var parts, runtime []string
	for _, e := range entries {
		if strings.HasPrefix(e.name, "go ") {
			runtime = append(runtime, fmt.Sprintf("%s %.2f", strings.TrimPrefix(e.name, "go "), e.v))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.2f", e.name, e.v))
	}
	out := "API server per application: " + strings.Join(parts, ", ")
	if len(runtime) > 0 {
		out += "; its Go runtime per application: " + strings.Join(runtime, ", ")
	}
	return out
}
