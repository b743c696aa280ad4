//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/sparkapplication"
	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/imageplatforms/registrytest"
	"github.com/sparkplane/sparkplane/internal/spark"
	"github.com/sparkplane/sparkplane/internal/testenv"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// Sizes of the benchmark (issue 3). SPARKPLANE_BENCH_SCALE (e.g. 0.1) shrinks
// them for a quick check of the benchmark itself; the figures that count are
// taken at scale 1.
var (
	benchScale      = scaleFromEnv()
	sustainedApps   = scaled(2000)
	latencyDuration = time.Duration(scaled(20)) * time.Second
	// belowDuration is how long latency is measured at half the raw rate
	// (issue 20), for sparkplane and for the raw path alike.
	belowDuration = time.Duration(scaled(60)) * time.Second
	rssApps       = scaled(1000)
	// writeApps is how many writes phase (e) measures of each candidate.
	writeApps        = scaled(400)
	rssExecutorsEach = 10
)

func scaleFromEnv() float64 {
	if v, err := strconv.ParseFloat(os.Getenv("SPARKPLANE_BENCH_SCALE"), 64); err == nil && v > 0 && v <= 1 {
		return v
	}
	return 1
}

func scaled(n int) int {
	if s := int(float64(n)*benchScale + 0.5); s > 0 {
		return s
	}
	return 1
}

// Targets and references.
const (
	latencyRate = 50  // applications a second
	targetRatio = 0.9 // issue 20 (0.7 in issue 3)
	targetP99   = 100 * time.Millisecond
	// At half the raw rate (issue 20): sparkplane's p99 at most this many
	// times the raw path's p99 at the same rate, and its p50 at most
	// targetBelowP50.
	targetBelowP99Ratio = 2.0
	targetBelowP50      = 50 * time.Millisecond
	targetRSS           = 150 << 20
	incumbentRateLow    = 2.2 // applications/s, Kubeflow spark-operator's published figure
	incumbentRateHigh   = 2.6
	// unscheduled keeps benchmark pods away from kube-scheduler: the
	// benchmark measures submission, and two cores are not enough to also
	// schedule thousands of pods without disturbing it.
	unscheduled = "sparkplane-bench-unscheduled"
)

// startBenchOperator starts the benchmark's operator with its metrics on a
// loopback port (the benchmark reads its work queue figures around (c');
// SPARKPLANE_BENCH_METRICS names the address instead, to read them during
// a run).
// SPARKPLANE_BENCH_PPROF (an address such as 127.0.0.1:6060) also serves
// its /debug/pprof there, for profiling a run; with
// SPARKPLANE_BENCH_APISERVER_PROFILES it is served on a free port and
// profiled in (b).
//
// SPARKPLANE_BENCH_OPERATOR_ARGS adds arguments (space-separated), e.g.
// --v=1 to log the steps of every reconcile that took 100 ms or more.
func startBenchOperator(b *testing.B, c *framework.Cluster) (op *operatorProcess, pprofAddr string) {
	b.Helper()
	args := []string{fmt.Sprintf("--max-concurrent-reconciles=%d", concurrency)}
	args = append(args, strings.Fields(os.Getenv("SPARKPLANE_BENCH_OPERATOR_ARGS"))...)
	pprofAddr = os.Getenv("SPARKPLANE_BENCH_PPROF")
	if pprofAddr == "" && os.Getenv("SPARKPLANE_BENCH_APISERVER_PROFILES") != "" {
		pprofAddr = freeLoopbackAddress(b)
	}
	if pprofAddr != "" {
		args = append(args, "--pprof-bind-address="+pprofAddr)
	}
	if addr := os.Getenv("SPARKPLANE_BENCH_METRICS"); addr != "" {
		op = startOperator(b, c.Kubeconfig(), append(args, "--metrics-bind-address", addr)...)
		op.metricsAddr = addr
		return op, pprofAddr
	}
	return startOperatorWithMetrics(b, c.Kubeconfig(), args...), pprofAddr
}

// concurrency is the same for the raw API server run, the clients creating
// applications, and the operator's reconcilers.
var concurrency = sparkapplication.DefaultMaxConcurrentReconciles

// BenchmarkSubmission prints, in one run on the local cluster:
// (a) the API server's raw rate for creating an application's objects
// directly, measured twice, right before (b) and right after it,
// (b) sparkplane's sustained submission rate and its ratio to (a),
// (c') p50/p99 latency from application created to driver pod created for
// 60 s at half of (a)'s rate, beside the raw path's latency at that rate
// (a'), measured right before (c') and right after it and pooled, each
// after a namespace of applications was deleted, (c)
// the same at a steady 50 applications/s, (d) the operator's RSS with 1,000 applications
// and 10,000 executor pods present — beside the incumbent's 2.2–2.6
// applications/s. The operator runs as a separate process (bin/sparkplane
// operator), as in production.
func BenchmarkSubmission(b *testing.B) {
	if testing.Short() {
		b.Skip("the submission benchmark runs minutes: make bench")
	}
	ctx := context.Background()
	profiles := os.Getenv("SPARKPLANE_BENCH_APISERVER_PROFILES")
	opts := devcluster.Options{}
	if profiles != "" {
		opts.ExtraArgs = map[string][]string{devcluster.ComponentAPIServer: {"--profiling=true"}}
	}
	c := framework.Up(b, opts)
	installSparkplane(b, c)
	cl := sparkplaneClient(b, c)
	// The applications' image on a registry the operator reaches, as in
	// production: its platform lookups are answered and then cached.
	registry, err := registrytest.Start()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(registry.Close)
	defaultImage := benchImage
	benchImage = registry.Image(registrytest.MultiArchRepo)
	b.Cleanup(func() { benchImage = defaultImage })

	// (a) The API server alone: per application the SparkApplication, its
	// driver Pod, two ConfigMaps and Service (the very objects the operator
	// builds, from the same resolution: rawPath) and one status write.
	// Measured twice, right before (b) and right after it, with the
	// operator stopped: on this machine the CPU an application costs drifts
	// by up to a quarter between phases minutes apart, and a reference
	// taken on both sides of (b) cancels a drift that runs one way through
	// the three (each run's figures are printed, so a drift shows). Each
	// run creates as many applications as (b), in a namespace of its own
	// that is deleted after it, as (b)'s is: what an application costs
	// grows with the objects the cluster holds (the API server's and the
	// controller manager's caches, which their garbage collection scans,
	// and the controller manager's per-namespace lists), so a smaller run
	// would be a cheaper reference than (b).
	cpu := newCPUMeter(c)
	waitForWatchers(b, c, "sparkapplications")
	var rawP *rawPath
	rawRunOf := func(part string, first, n int) rawRun {
		ns := c.Namespace(b)
		if rawP == nil {
			rawP = newRawPath(b, ctx, cl, ns)
		}
		rawP.prepare(b, ctx, ns)
		// The same instrument as (b), which needs it to see the drivers:
		// the API server sends the benchmark every driver pod of (a) too,
		// so that the watch's cost is on both sides of the ratio.
		seenRaw := watchDrivers(b, c, ns)
		cpu.settle() // the previous phase's work is done
		cpuBefore := cpu.read()
		apiBefore := mustAPICounts(b, c)
		if first == 0 {
			profileAPIServer(b, c, profiles, "a")
		}
		took := runWorkers(b, n, concurrency, func(i int) error {
			return rawP.create(ctx, benchApplication(ns, fmt.Sprintf("raw-%04d", first+i), unscheduled))
		})
		seenRaw.waitAll(b, n, 5*time.Minute)
		run := rawRun{n: n, took: took}
		run.cpu = run.cpu.add(cpuBefore, cpu.read())
		run.api = run.api.add(apiBefore, mustAPICounts(b, c))
		fmt.Printf("  (%s) raw path, %d applications' objects in %s: %.1f applications/s (machine load %s)\n      %s\n      %s\n",
			part, n, took.Round(time.Millisecond), run.rate(), loadAverage(), cpuPerApp(nil, run.cpu, n), run.api.perApp(nil, n))
		deleteNamespace(b, c, ns)
		return run
	}
	a1 := rawRunOf("a1", 0, sustainedApps)

	op, pprofAddr := startBenchOperator(b, c)

	// (b) Sustained: 2,000 applications, created → driver pod exists.
	sustainedNS := c.Namespace(b)
	seen := watchDrivers(b, c, sustainedNS)
	cpu.set("operator", op.cmd.Process.Pid)
	cpu.settle() // (a)'s namespace is gone; its garbage too
	cpuBefore := cpu.read()
	apiBefore := mustAPICounts(b, c)
	profileAPIServer(b, c, profiles, "b")
	profileOperator(pprofAddr, profiles, "b")
	start := time.Now()
	runWorkers(b, sustainedApps, concurrency, func(i int) error {
		return cl.Create(ctx, benchApplication(sustainedNS, fmt.Sprintf("app-%04d", i), unscheduled))
	})
	last := seen.waitAll(b, sustainedApps, 5*time.Minute)
	sustainedRate := float64(sustainedApps) / last.Sub(start).Seconds()
	sustainedCPU := cpuPerApp(cpuBefore, cpu.read(), sustainedApps)
	sustainedAPI := mustAPICounts(b, c).perApp(apiBefore, sustainedApps)
	fmt.Printf("  (b) sparkplane sustained rate: %d applications in %s: %.1f applications/s (machine load %s)\n      %s\n", sustainedApps, last.Sub(start).Round(time.Millisecond), sustainedRate, loadAverage(), sustainedCPU)
	fmt.Printf("      %s\n      %s\n      %s\n      %s\n", sustainedAPI, eventsPerApp(b, c, sustainedNS, sustainedApps), applicationSize(b, cl, sustainedNS),
		rawP.checkSameObjects(b, ctx, sustainedNS, "app-0000"))

	// (b)'s applications go before the latency phases, as (a)'s went before
	// (a'): left in place, their 2,000 drivers crossed the pending threshold
	// (a reconcile each) during (c) and (c'), which the raw path's (a') did
	// not have to share the cluster with. One of them is kept as the
	// template of (e).
	template := &v1alpha1.SparkApplicationList{}
	if err := cl.List(ctx, template, client.InNamespace(sustainedNS), client.Limit(1)); err != nil || len(template.Items) == 0 {
		b.Fatalf("reading an application of (b): %v", err)
	}
	deleteNamespace(b, c, sustainedNS)

	// (a)'s second run, the operator stopped again.
	op.stop()
	cpu.unset("operator")
	a2 := rawRunOf("a2", sustainedApps, sustainedApps)
	raw := a1.plus(a2)
	rawRate := raw.rate()
	ratio := sustainedRate / rawRate
	fmt.Printf("  (a) raw path, both runs: %d applications' objects in %s: %.1f applications/s; (b)/(a) = %.2f\n      %s\n      %s\n",
		raw.n, raw.took.Round(time.Millisecond), rawRate, ratio, cpuPerApp(nil, raw.cpu, raw.n), raw.api.perApp(nil, raw.n))

	// (a') The raw path's latency, application created -> driver pod
	// created, at half its own rate: the reference of (c'). Measured twice,
	// right before (c') and right after it, with the operator stopped, and
	// pooled, for the reason (a) is: on this machine the API server stalls
	// for 0.2-0.3 s in some minutes and not in others (the slowest 1% of
	// either path wait that long then, section 2 of docs/performance.md),
	// so a reference taken in one minute on one side compared (c') with
	// whether that minute had a stall. Each run's figures are printed.
	belowRate := max(1, int(rawRate/2))
	rawLatency := func(part string) latency {
		fmt.Printf("      (the cluster settled in %s)\n", cpu.settle().Round(100*time.Millisecond))
		l := measureLatency(b, c, cpu, belowRate, belowDuration, func(ns string) { rawP.prepare(b, ctx, ns) }, nil, func(ns, name string) (time.Time, error) {
			return rawP.createTimed(ctx, benchApplication(ns, name, unscheduled))
		})
		fmt.Printf("  (%s) raw path latency at %d applications/s (half of (a)) for %s: p50 %s, p99 %s\n", part, belowRate, belowDuration,
			l.p50.Round(100*time.Microsecond), l.p99.Round(100*time.Microsecond))
		return l
	}
	rawBelow1 := rawLatency("a'1")

	op, _ = startBenchOperator(b, c)
	cpu.set("operator", op.cmd.Process.Pid)

	// (c') Latency at half the raw rate, below what this machine's API
	// server sustains, where the figure is the operator's latency rather
	// than the cluster's queue; beside the raw path's at the same rate
	// (a'), both on a cluster that has just deleted a namespace of
	// applications and settled. Before (c), whose 50 a second this machine cannot
	// sustain: its backlog and its namespace's deletion would be (c')'s
	// surroundings otherwise.
	fmt.Printf("      (the cluster settled in %s)\n", cpu.settle().Round(100*time.Millisecond))
	metricsBefore := operatorMetrics(op)
	var queueFigures string
	below := measureLatency(b, c, cpu, belowRate, belowDuration, nil, func() {
		// Before the namespace's deletion, whose reconciles are not (c')'s.
		if metricsBefore != nil {
			if m := operatorMetrics(op); m != nil {
				queueFigures = operatorQueueFigures(metricsBefore, m)
			}
		}
	}, createApp(cl))
	if queueFigures != "" {
		fmt.Printf("      %s\n", queueFigures)
	}
	fmt.Printf("  (c') latency at %d applications/s for %s: p50 %s, p99 %s\n", belowRate, belowDuration,
		below.p50.Round(100*time.Microsecond), below.p99.Round(100*time.Microsecond))

	// (a')'s second run, the operator stopped again.
	op.stop()
	cpu.unset("operator")
	rawBelow2 := rawLatency("a'2")
	rawBelow := rawBelow1.plus(rawBelow2)
	belowP50, belowP99, belowApps := below.p50, below.p99, below.n
	belowRatio := belowP99.Seconds() / rawBelow.p99.Seconds()
	fmt.Printf("  (a') raw path, both runs: p50 %s, p99 %s; (c')'s p99 is %.2fx that\n",
		rawBelow.p50.Round(100*time.Microsecond), rawBelow.p99.Round(100*time.Microsecond), belowRatio)

	op, _ = startBenchOperator(b, c)
	cpu.set("operator", op.cmd.Process.Pid)

	// (c) Latency at a steady 50 applications/s.
	fmt.Printf("      (the cluster settled in %s)\n", cpu.settle().Round(100*time.Millisecond))
	at50 := measureLatency(b, c, nil, latencyRate, latencyDuration, nil, nil, createApp(cl))
	p50, p99, latencyApps := at50.p50, at50.p99, at50.n
	fmt.Printf("  (c) latency at %d applications/s: p50 %s, p99 %s\n", latencyRate, p50.Round(100*time.Microsecond), p99.Round(100*time.Microsecond))
	// SPARKPLANE_BENCH_OPERATOR_LOG=<file> keeps the operator's log of (b),
	// (c') and (c) (its reconcile errors say what it retried).
	if path := os.Getenv("SPARKPLANE_BENCH_OPERATOR_LOG"); path != "" {
		_ = os.WriteFile(path, []byte(op.logTail(1<<20)), 0o644)
	}

	// (d) Memory: a fresh operator with 1,000 applications and 10,000
	// executor pods present (the others deleted first).
	op.stop()
	// (e) With SPARKPLANE_BENCH_WRITE_COSTS=1: the API server's cost of each
	// way of recording a submission, with the status the operator wrote in
	// (b). Opt-in: it adds minutes to a full run and measures no target.
	if os.Getenv("SPARKPLANE_BENCH_WRITE_COSTS") == "1" {
		writeCosts(b, c, cl, cpu, template.Items[0].Status, writeApps)
	}

	rssNS := c.Namespace(b)
	seenRSS := watchDrivers(b, c, rssNS)
	op, _ = startBenchOperator(b, c)
	runWorkers(b, rssApps, concurrency, func(i int) error {
		return cl.Create(ctx, benchApplication(rssNS, fmt.Sprintf("mem-%04d", i), unscheduled))
	})
	seenRSS.waitAll(b, rssApps, 5*time.Minute)
	createExecutors(b, cl, rssNS, rssExecutorsEach)
	waitExecutorsCounted(b, cl, rssNS, rssApps*rssExecutorsEach)
	time.Sleep(5 * time.Second) // let the last reconciles and the GC settle
	rss, peak, err := op.memory()
	if err != nil {
		b.Fatal(err)
	}

	b.ReportMetric(rawRate, "raw-apps/s")
	b.ReportMetric(sustainedRate, "apps/s")
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(belowP99.Microseconds())/1000, "p99-half-raw-rate-ms")
	b.ReportMetric(float64(belowP50.Microseconds())/1000, "p50-half-raw-rate-ms")
	b.ReportMetric(belowRatio, "p99-half-raw-rate-x-raw")
	b.ReportMetric(float64(rss)/(1<<20), "rss-MB")

	verdict := func(ok bool) string {
		if ok {
			return "meets target"
		}
		return "MISSES target"
	}
	if benchScale != 1 {
		fmt.Printf("\nSPARKPLANE_BENCH_SCALE=%g: a reduced run; the figures below are not the benchmark's\n", benchScale)
	}
	fmt.Printf(`
sparkplane submission benchmark (local cluster, %d-way concurrency, operator as a separate process)
  (a) API server raw rate, same objects (app, pod, 2 config maps, service, status write): %7.1f applications/s
      (measured twice, %d each, right before (b) and right after it: %.1f and %.1f applications/s)
  (b) sparkplane sustained rate, %d applications created -> driver pod exists:      %7.1f applications/s
      ratio (b)/(a): %.2f (target >= %.1f: %s)
      incumbent (Kubeflow spark-operator, one spark-submit JVM each, published):     %.1f-%.1f applications/s
      sparkplane / incumbent: %.1fx-%.1fx
  (c) latency created -> driver pod at a steady %d applications/s (%d applications):
      p50 %s, p99 %s (target p99 <= %s: %s)
  (c') at %d applications/s, half the raw rate of (a), for %s (%d applications):
      sparkplane p50 %s, p99 %s; raw path p50 %s, p99 %s
      (raw path measured twice, right before (c') and right after it, pooled: p99 %s and %s)
      p99 %.2fx the raw path's (target <= %.1fx: %s); p50 (target <= %s: %s)
  (d) operator memory with %d applications and %d executor pods: VmRSS %.1f MB, peak VmHWM %.1f MB
      (target <= %d MB: %s)
`,
		concurrency,
		rawRate,
		a1.n, a1.rate(), a2.rate(),
		sustainedApps, sustainedRate,
		ratio, targetRatio, verdict(ratio >= targetRatio),
		incumbentRateLow, incumbentRateHigh,
		sustainedRate/incumbentRateHigh, sustainedRate/incumbentRateLow,
		latencyRate, latencyApps,
		p50.Round(100*time.Microsecond), p99.Round(100*time.Microsecond), targetP99, verdict(p99 <= targetP99),
		belowRate, belowDuration, belowApps, belowP50.Round(100*time.Microsecond), belowP99.Round(100*time.Microsecond),
		rawBelow.p50.Round(100*time.Microsecond), rawBelow.p99.Round(100*time.Microsecond),
		rawBelow1.p99.Round(100*time.Microsecond), rawBelow2.p99.Round(100*time.Microsecond),
		belowRatio, targetBelowP99Ratio, verdict(belowRatio <= targetBelowP99Ratio), targetBelowP50, verdict(belowP50 <= targetBelowP50),
		rssApps, rssApps*rssExecutorsEach, float64(rss)/(1<<20), float64(peak)/(1<<20),
		targetRSS>>20, verdict(rss <= targetRSS))
	if rawRate < 2*latencyRate {
		fmt.Printf("  note: the API server here creates %.1f applications' objects a second with all the machine's cores; at %d/s the\n"+
			"        cluster runs near or past saturation, so (c) measures its queue as much as the operator. The second line\n"+
			"        of (c) is the latency where the cluster keeps up.\n", rawRate, latencyRate)
	}
}

// rawRun is what a run of the raw path (a) did: n applications in took,
// and what the cluster's processes and the API server spent on them.
type rawRun struct {
	n    int
	took time.Duration
	cpu  cpuSample
	api  apiCounts
}

func (r rawRun) rate() float64 { return float64(r.n) / r.took.Seconds() }

// plus is both runs together: their applications over their summed time,
// as one run of them all would have been timed.
func (r rawRun) plus(o rawRun) rawRun {
	return rawRun{n: r.n + o.n, took: r.took + o.took, cpu: r.cpu.add(nil, o.cpu), api: r.api.add(nil, o.api)}
}

// profileAPIServer takes a CPU profile of the API server over the first
// apiServerProfileSeconds of a phase into dir/apiserver-<phase>.pprof, when
// dir is set (SPARKPLANE_BENCH_APISERVER_PROFILES; the cluster then runs
// with --profiling): where the API server's CPU per application goes.
func profileAPIServer(b *testing.B, c *framework.Cluster, dir, phase string) {
	b.Helper()
	if dir == "" {
		return
	}
	path := filepath.Join(dir, "apiserver-"+phase+".pprof")
	go func() {
		data, err := c.Clientset.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/profile").
			Param("seconds", strconv.Itoa(apiServerProfileSeconds)).Timeout(2 * apiServerProfileSeconds * time.Second).DoRaw(context.Background())
		if err == nil {
			err = os.WriteFile(path, data, 0o644)
		}
		if err != nil {
			fmt.Printf("      (no API server profile of (%s): %v)\n", phase, err)
		}
	}()
}

const apiServerProfileSeconds = 10

// applicationSize says how large one of namespace's applications is as the
// API server stores and sends it (JSON), and how much of that is its status
// and its managed fields: what every status write and watch event of it
// costs the API server to convert, validate and encode.
func applicationSize(b *testing.B, cl client.Client, namespace string) string {
	b.Helper()
	list := &v1alpha1.SparkApplicationList{}
	if err := cl.List(context.Background(), list, client.InNamespace(namespace), client.Limit(1)); err != nil || len(list.Items) == 0 {
		return fmt.Sprintf("application size: not read (%v)", err)
	}
	app := list.Items[0]
	// SPARKPLANE_BENCH_DUMP_APP=<file> writes that application as JSON.
	if p := os.Getenv("SPARKPLANE_BENCH_DUMP_APP"); p != "" {
		data, _ := json.MarshalIndent(app, "", "  ")
		_ = os.WriteFile(p, data, 0o644)
	}
	size := func(v any) int {
		data, err := json.Marshal(v)
		if err != nil {
			b.Fatal(err)
		}
		return len(data)
	}
	return fmt.Sprintf("one application as stored: %d bytes of JSON (spec %d, status %d, managedFields %d)",
		size(app), size(app.Spec), size(app.Status), size(app.ManagedFields))
}

// eventsPerApp counts the events in namespace by reporting controller and
// reason, per application.
func eventsPerApp(b *testing.B, c *framework.Cluster, namespace string, apps int) string {
	b.Helper()
	list, err := c.Clientset.EventsV1().Events(namespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range list.Items {
		count[e.ReportingController+" "+e.Reason]++
	}
	var parts []string
	for k, n := range count {
		parts = append(parts, fmt.Sprintf("%s %.2f", k, float64(n)/float64(apps)))
	}
	sort.Strings(parts)
	return "events per application: " + strings.Join(parts, ", ")
}

func mustAPICounts(b *testing.B, c *framework.Cluster) apiCounts {
	b.Helper()
	counts, err := readAPICounts(c)
	if err != nil {
		b.Fatal(err)
	}
	return counts
}

// createApp creates an application for sparkplane to submit.
func createApp(cl client.Client) func(ns, name string) (time.Time, error) {
	return func(ns, name string) (time.Time, error) {
		err := cl.Create(context.Background(), benchApplication(ns, name, unscheduled))
		return time.Now(), err
	}
}

// latency is what measureLatency found.
type latency struct {
	p50, p99 time.Duration
	n        int
	// sorted are the latencies measured, shortest first.
	sorted []time.Duration
}

// latencyOf summarises sorted latencies, shortest first.
func latencyOf(sorted []time.Duration) latency {
	return latency{percentile(sorted, 0.50), percentile(sorted, 0.99), len(sorted), sorted}
}

// plus pools two runs' latencies.
func (l latency) plus(o latency) latency {
	all := append(append([]time.Duration(nil), l.sorted...), o.sorted...)
	slices.Sort(all)
	return latencyOf(all)
}

// measureLatency creates applications with create in a new namespace at a
// steady rate for d and returns the p50 and p99 of created (when create
// says) → driver pod created, and how many applications it measured.
// prepare, when set, runs before the clock starts; measured, when set, once
// every driver pod exists, before the namespace is deleted. With cpu set, a
// stall probe runs beside it and says what it saw when the slowest 1% waited.
func measureLatency(b *testing.B, c *framework.Cluster, cpu *cpuMeter, rate int, d time.Duration, prepare func(ns string), measured func(), create func(ns, name string) (time.Time, error)) latency {
	b.Helper()
	ns := c.Namespace(b)
	if prepare != nil {
		prepare(ns)
	}
	seen := watchDrivers(b, c, ns)
	appSeen := watchApplicationsSeen(b, c, ns)
	var probe *stallProbe
	if cpu != nil {
		probe = startStallProbe(c, cpu, ns)
	}
	start := time.Now()
	createdAt := steadySubmit(b, ns, rate, d, create)
	// Generous: when the machine cannot sustain the rate, the latencies
	// measure the queue, and the figure should say so rather than fail.
	seen.waitAll(b, len(createdAt), 10*time.Minute)
	if probe != nil {
		probe.stop()
	}
	if measured != nil {
		measured()
	}
	type sample struct {
		latency, offset, toApp time.Duration
	}
	var samples []sample
	for name, t0 := range createdAt {
		samples = append(samples, sample{seen.at(name).Sub(t0), t0.Sub(start), appSeen(name).Sub(t0)})
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i].latency < samples[j].latency })
	latencies := make([]time.Duration, len(samples))
	for i := range samples {
		latencies[i] = samples[i].latency
	}
	// When the slowest 1% were created tells a stall (all at one moment)
	// from a growing queue (all at the end).
	slowest := samples[len(samples)-max(1, len(samples)/100):]
	first, last := slowest[0].offset, slowest[0].offset
	var split []string
	for _, s := range slowest {
		first, last = min(first, s.offset), max(last, s.offset)
		split = append(split, fmt.Sprintf("%s+%s", s.toApp.Round(time.Millisecond), (s.latency-s.toApp).Round(time.Millisecond)))
	}
	fmt.Printf("      at %d/s the slowest 1%% were created %s-%s into the %s run (machine load %s)\n", rate,
		first.Round(100*time.Millisecond), last.Round(100*time.Millisecond), d, loadAverage())
	toApp := make([]time.Duration, len(samples))
	for i := range samples {
		toApp[i] = samples[i].toApp
	}
	sort.Slice(toApp, func(i, j int) bool { return toApp[i] < toApp[j] })
	fmt.Printf("      created -> application seen on a watch: p50 %s, p99 %s; the slowest 1%%'s (seen + then driver pod): %s\n",
		percentile(toApp, 0.5).Round(100*time.Microsecond), percentile(toApp, 0.99).Round(100*time.Microsecond), strings.Join(split, ", "))
	if probe != nil {
		// From the first of the slowest 1%'s creation to the last one's
		// driver pod.
		var end time.Duration
		for _, s := range slowest {
			end = max(end, s.offset+s.latency)
		}
		fmt.Printf("      %s\n", probe.report(start, start.Add(first), start.Add(end)))
	}
	deleteNamespace(b, c, ns)
	return latencyOf(latencies)
}

func withinTarget(ok bool) string {
	if ok {
		return "within the target"
	}
	return "over the target"
}

// runWorkers runs do(0..n-1) on workers goroutines and returns the wall time.
func runWorkers(b *testing.B, n, workers int, do func(i int) error) time.Duration {
	b.Helper()
	work := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := do(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	return time.Since(start)
}

// driverWatch records when each application's driver pod was first seen.
type driverWatch struct {
	mu     sync.Mutex
	seen   map[string]time.Time
	last   time.Time
	notify chan struct{}
}

func (w *driverWatch) at(app string) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seen[app]
}

// waitAll waits until n drivers were seen and returns when the last one was.
func (w *driverWatch) waitAll(b *testing.B, n int, timeout time.Duration) time.Time {
	b.Helper()
	deadline := time.After(timeout)
	for {
		w.mu.Lock()
		got, last := len(w.seen), w.last
		w.mu.Unlock()
		if got >= n {
			return last
		}
		select {
		case <-w.notify:
		case <-deadline:
			b.Fatalf("%d of %d driver pods after %s", got, n, timeout)
		}
	}
}

// watchDrivers watches driver pods in namespace from now on.
func watchDrivers(b *testing.B, c *framework.Cluster, namespace string) *driverWatch {
	b.Helper()
	w := &driverWatch{seen: map[string]time.Time{}, notify: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	selector := spark.LabelRole + "=" + spark.RoleDriver
	pods := c.Clientset.CoreV1().Pods(namespace)
	list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		b.Fatal(err)
	}
	resumingWatch(b, ctx, list.ResourceVersion, func(ctx context.Context, options metav1.ListOptions) (watch.Interface, error) {
		options.LabelSelector = selector
		return pods.Watch(ctx, options)
	}, func(obj runtime.Object) {
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return
		}
		now := time.Now()
		w.mu.Lock()
		app := pod.Labels[v1alpha1.LabelApplication]
		if _, dup := w.seen[app]; !dup {
			w.seen[app] = now
			w.last = now
		}
		w.mu.Unlock()
		select {
		case w.notify <- struct{}{}:
		default:
		}
	})
	return w
}

// resumingWatch watches with watchFn from resourceVersion until the
// test ends and calls added with each object added.
func resumingWatch(tb testing.TB, ctx context.Context, resourceVersion string, watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error), added func(runtime.Object)) {
	tb.Helper()
	resumingWatchEvents(tb, ctx, resourceVersion, watchFn, func(ev watch.Event) {
		if ev.Type == watch.Added {
			added(ev.Object)
		}
	})
}

// resumingWatchEvents watches with watchFn from resourceVersion until the
// test ends and calls handle with each event. client-go's RetryWatcher
// resumes a watch the API server closed from the last resourceVersion
// seen: a plain watch closed under load lost the drivers created after it
// (a run failed with 395 of 450).
func resumingWatchEvents(tb testing.TB, ctx context.Context, resourceVersion string, watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error), handle func(watch.Event)) {
	tb.Helper()
	watcher, err := watchtools.NewRetryWatcherWithContext(ctx, resourceVersion, &toolscache.ListWatch{WatchFuncWithContext: watchFn})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(watcher.Stop)
	go func() {
		for ev := range watcher.ResultChan() {
			handle(ev)
		}
	}()
}

// steadySubmit calls create at rate per second for d and returns when each
// application was created (as create reports it).
func steadySubmit(b *testing.B, namespace string, rate int, d time.Duration, create func(ns, name string) (time.Time, error)) map[string]time.Time {
	b.Helper()
	n := rate * int(d/time.Second)
	interval := time.Second / time.Duration(rate)
	createdAt := make(map[string]time.Time, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	start := time.Now()
	for i := 0; i < n; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
		wg.Add(1)
		go func(name string) {
			defer wg.Done()
			at, err := create(namespace, name)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			createdAt[name] = at
		}(fmt.Sprintf("lat-%04d", i))
	}
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	return createdAt
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

// createExecutors creates perApp executor pods for every application in
// namespace, labelled as Spark labels them (from the template sparkplane
// wrote), so the operator's executor informer holds them.
func createExecutors(b *testing.B, cl client.Client, namespace string, perApp int) {
	b.Helper()
	ctx := context.Background()
	list := &v1alpha1.SparkApplicationList{}
	// The driver pod exists a moment before the status that names it.
	testenv.Eventually(b, time.Minute, "status.sparkApplicationId on every application", func() (bool, error) {
		if err := cl.List(ctx, list, client.InNamespace(namespace)); err != nil {
			return false, err
		}
		for _, app := range list.Items {
			if app.Status.SparkApplicationID == "" {
				return false, nil
			}
		}
		return true, nil
	})
	type job struct {
		app  *v1alpha1.SparkApplication
		exec int
	}
	var jobs []job
	for i := range list.Items {
		for e := 1; e <= perApp; e++ {
			jobs = append(jobs, job{&list.Items[i], e})
		}
	}
	runWorkers(b, len(jobs), concurrency, func(i int) error {
		j := jobs[i]
		id := j.app.Status.SparkApplicationID
		if id == "" {
			return fmt.Errorf("application %s has no spark application id yet", j.app.Name)
		}
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: namespace,
				Name:      fmt.Sprintf("%s-exec-%d", j.app.Status.DriverInfo.PodName, j.exec),
				Labels: map[string]string{
					v1alpha1.LabelApplication: j.app.Name,
					spark.LabelAppSelector:    id,
					spark.LabelRole:           spark.RoleExecutor,
					spark.LabelExecID:         fmt.Sprint(j.exec),
				},
			},
			Spec: corev1.PodSpec{
				SchedulerName: unscheduled,
				Containers: []corev1.Container{{
					Name: spark.ExecutorContainerName, Image: "apache/spark:3.5.3",
					Args: []string{"executor"},
					Env:  []corev1.EnvVar{{Name: "SPARK_APPLICATION_ID", Value: id}, {Name: "SPARK_EXECUTOR_ID", Value: fmt.Sprint(j.exec)}},
				}},
			},
		}
		return cl.Create(ctx, pod)
	})
}

// waitExecutorsCounted waits until the operator's status counts want
// pending executors in namespace: its informer then holds them all.
func waitExecutorsCounted(b *testing.B, cl client.Client, namespace string, want int) {
	b.Helper()
	var got int32
	testenv.Eventually(b, 3*time.Minute, "the operator counting every executor", func() (bool, error) {
		list := &v1alpha1.SparkApplicationList{}
		if err := cl.List(context.Background(), list, client.InNamespace(namespace)); err != nil {
			return false, err
		}
		got = 0
		for _, app := range list.Items {
			got += app.Status.Executors.Pending + app.Status.Executors.Running
		}
		return int(got) >= want, nil
	})
}

// deleteNamespace deletes a namespace and waits until it is gone, so what it
// held weighs on no later measurement.
func deleteNamespace(b *testing.B, c *framework.Cluster, name string) {
	b.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := c.Client.Delete(context.Background(), ns); client.IgnoreNotFound(err) != nil {
		b.Fatal(err)
	}
	testenv.Eventually(b, 5*time.Minute, "namespace "+name+" gone", func() (bool, error) {
		err := c.Client.Get(context.Background(), client.ObjectKey{Name: name}, &corev1.Namespace{})
		return client.IgnoreNotFound(err) == nil && err != nil, nil
	})
}
