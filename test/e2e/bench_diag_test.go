//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/metadata"

	"github.com/sparkplane/sparkplane/api/v1alpha1"

	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// waitForWatchers waits until something other than the benchmark watches
// resource (the controller manager's garbage collector and quota monitors
// start watching a new CRD's objects at their next discovery, up to 30 s
// after it is installed). The raw path (a) runs right after the CRDs are
// installed: without this wait it ran before those watches began and did
// not pay their watch events, which (b) did, two per application.
func waitForWatchers(b *testing.B, c *framework.Cluster, resource string) {
	b.Helper()
	start := time.Now()
	for {
		n, err := longRunningWatches(c, resource)
		if err != nil {
			b.Fatal(err)
		}
		if n > 0 {
			fmt.Printf("      (%.0f watch(es) of %s open after %s)\n", n, resource, time.Since(start).Round(100*time.Millisecond))
			return
		}
		if time.Since(start) > 2*time.Minute {
			fmt.Printf("      (no watch of %s after %s; going on)\n", resource, time.Since(start).Round(time.Second))
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// longRunningWatches is how many watches of resource the API server holds
// open (apiserver_longrunning_requests).
func longRunningWatches(c *framework.Cluster, resource string) (float64, error) {
	raw, err := c.Clientset.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		return 0, fmt.Errorf("reading the API server's /metrics: %w", err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		return 0, fmt.Errorf("parsing the API server's /metrics: %w", err)
	}
	var n float64
	for _, m := range families["apiserver_longrunning_requests"].GetMetric() {
		l := map[string]string{}
		for _, p := range m.GetLabel() {
			l[p.GetName()] = p.GetValue()
		}
		if l["verb"] == "WATCH" && l["resource"] == resource {
			n += m.GetGauge().GetValue()
		}
	}
	return n, nil
}

// operatorQueueFigures says, from the operator's metrics read before and
// after a phase, where the sparkapplication controller's time went in it:
// the work queue's wait (added → taken by a worker) and the reconciles'
// durations, as p50/p99 bucket bounds of their histograms. A latency tail
// that neither shows lies before the queue (the watch of applications) or
// after the reconcile (the driver pod's create reaching the benchmark).
func operatorQueueFigures(before, after map[string]float64) string {
	q := func(name string) string {
		n, p50, p99 := histogramDelta(before, after, name, `name="sparkapplication"`, `controller="sparkapplication"`)
		if n == 0 {
			return name + ": no samples"
		}
		return fmt.Sprintf("%.0f samples, p50 <= %s, p99 <= %s", n, p50, p99)
	}
	reads := after["sparkplane_image_platform_lookup_duration_seconds_count"] - before["sparkplane_image_platform_lookup_duration_seconds_count"]
	readTime := after["sparkplane_image_platform_lookup_duration_seconds_sum"] - before["sparkplane_image_platform_lookup_duration_seconds_sum"]
	return fmt.Sprintf("operator work queue wait: %s; reconcile: %s; reconciles by result: %s; image registry reads: %.0f (%s in all); Go GC pauses: %s",
		q("workqueue_queue_duration_seconds"), q("controller_runtime_reconcile_time_seconds"),
		counterDeltas(before, after, "controller_runtime_reconcile_total{", `controller="sparkapplication"`, "result"),
		reads, time.Duration(readTime*float64(time.Second)).Round(time.Millisecond), gcPauses(before, after))
}

// counterDeltas lists after-before of the counters whose sample names start
// with prefix and hold match, by the value of their label, leaving out
// those that did not move.
func counterDeltas(before, after map[string]float64, prefix, match, label string) string {
	var parts []string
	for k, v := range after {
		if !strings.HasPrefix(k, prefix) || !strings.Contains(k, match) || v == before[k] {
			continue
		}
		name := k
		if i := strings.Index(k, label+`="`); i >= 0 {
			rest := k[i+len(label)+2:]
			name = rest[:strings.IndexByte(rest, '"')]
		}
		parts = append(parts, fmt.Sprintf("%s %.0f", name, v-before[k]))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// histogramDelta returns the count of after-before of the Prometheus
// histogram name (samples whose labels hold one of matches) and the bucket
// bounds holding its p50 and p99.
func histogramDelta(before, after map[string]float64, name string, matches ...string) (float64, string, string) {
	type bucket struct {
		le    float64
		count float64
	}
	var buckets []bucket
	for k, v := range after {
		if !strings.HasPrefix(k, name+"_bucket{") {
			continue
		}
		ok := false
		for _, m := range matches {
			ok = ok || strings.Contains(k, m)
		}
		if !ok {
			continue
		}
		i := strings.Index(k, `le="`)
		if i < 0 {
			continue
		}
		rest := k[i+4:]
		le, err := strconv.ParseFloat(rest[:strings.IndexByte(rest, '"')], 64)
		if err != nil {
			continue
		}
		buckets = append(buckets, bucket{le, v - before[k]})
	}
	sort.Slice(buckets, func(i, j int) bool { return buckets[i].le < buckets[j].le })
	if len(buckets) == 0 || buckets[len(buckets)-1].count == 0 {
		return 0, "", ""
	}
	total := buckets[len(buckets)-1].count
	at := func(q float64) string {
		for _, b := range buckets {
			if b.count >= q*total {
				if math.IsInf(b.le, 1) {
					return "+Inf"
				}
				return time.Duration(b.le * float64(time.Second)).String()
			}
		}
		return "+Inf"
	}
	return total, at(0.5), at(0.99)
}

// gcPauses is the operator's Go garbage collections between two readings
// and the longest pause quantile the runtime reports at the end.
func gcPauses(before, after map[string]float64) string {
	n := after["go_gc_duration_seconds_count"] - before["go_gc_duration_seconds_count"]
	return fmt.Sprintf("%.0f collections, max pause %s (since start)", n,
		time.Duration(after[`go_gc_duration_seconds{quantile="1"}`]*float64(time.Second)).Round(10*time.Microsecond))
}

// operatorMetrics reads op's metrics, or nil when it has none.
func operatorMetrics(op *operatorProcess) map[string]float64 {
	m, err := op.metrics()
	if err != nil {
		fmt.Printf("      (operator metrics not read: %v)\n", err)
		return nil
	}
	return m
}

// profileOperator takes a CPU profile of the operator over the first
// apiServerProfileSeconds of a phase into dir/operator-<phase>.pprof, when
// dir is set and the operator serves /debug/pprof at addr.
func profileOperator(addr, dir, phase string) {
	if dir == "" || addr == "" {
		return
	}
	path := filepath.Join(dir, "operator-"+phase+".pprof")
	go func() {
		hc := http.Client{Timeout: 2 * apiServerProfileSeconds * time.Second}
		resp, err := hc.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, apiServerProfileSeconds))
		if err == nil {
			var buf bytes.Buffer
			_, err = buf.ReadFrom(resp.Body)
			resp.Body.Close()
			if err == nil {
				err = os.WriteFile(path, buf.Bytes(), 0o644)
			}
		}
		if err != nil {
			fmt.Printf("      (no operator profile of (%s): %v)\n", phase, err)
		}
	}()
}

// watchApplicationsSeen notes when each application of namespace is first
// seen on a watch of applications' metadata: the same watch cache and
// dispatch that bring the operator its applications, so for the slowest
// applications of a latency phase it says whether their time went before
// the operator could see them (created → seen) or after (seen → driver).
func watchApplicationsSeen(b *testing.B, c *framework.Cluster, namespace string) func(app string) time.Time {
	b.Helper()
	mc, err := metadata.NewForConfig(c.Config)
	if err != nil {
		b.Fatal(err)
	}
	apps := mc.Resource(v1alpha1.GroupVersion.WithResource("sparkapplications")).Namespace(namespace)
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	list, err := apps.List(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]time.Time{}
	resumingWatch(b, ctx, list.ResourceVersion, apps.Watch, func(obj runtime.Object) {
		app, ok := obj.(*metav1.PartialObjectMetadata)
		if !ok {
			return
		}
		now := time.Now()
		mu.Lock()
		if _, dup := seen[app.Name]; !dup {
			seen[app.Name] = now
		}
		mu.Unlock()
	})
	return func(app string) time.Time {
		mu.Lock()
		defer mu.Unlock()
		return seen[app]
	}
}
