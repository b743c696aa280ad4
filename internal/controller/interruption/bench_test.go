package interruption

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/install"
	"github.com/sparkplane/sparkplane/internal/spark"
	"github.com/sparkplane/sparkplane/internal/testenv"
)

// BenchmarkInterruption interrupts 10 nodes with 20 executors each at once
// on a real API server (envtest: kube-apiserver + etcd) and measures, per
// executor, the time from the node's taint being written to the executor's
// graceful delete being visible on a watch: an upper bound of "notice →
// decommission issued". The reference, measured in the same run on the same
// API server, is the same 200 graceful deletes issued directly by the
// benchmark (the floor any controller could reach). Target: p99 ≤ 1 s of the
// 120 s budget, 0 deadline misses.
func BenchmarkInterruption(b *testing.B) {
	const nodes, executorsPerNode = 10, 20
	where := useBenchCluster(b)
	for b.Loop() {
		c := newCluster(b)
		watcher := startPodWatch(b, c.ns)
		for n := range nodes {
			c.node(fmt.Sprintf("spot-%d", n), nil)
		}
		c.node("canary", nil)
		c.node("healthy", nil)
		for a := range 10 {
			c.application(fmt.Sprintf("app-%d", a), "Never")
		}
		createPods(b, c, nodes, executorsPerNode)
		c.pod("canary-exec", "canary", spark.RoleExecutor, "canary")
		missesBefore := counterValue(b, deadlineMissesTotal.WithLabelValues(SignalKarpenterDisrupted))

		startController(b, Options{})
		// The controller is live once it decommissions the canary.
		c.taint("canary", corev1.Taint{Key: TaintKarpenterDisrupted, Effect: corev1.TaintEffectNoSchedule})
		c.waitDecommissioned("canary-exec")

		// Reference: the same number of graceful deletes issued directly, on
		// pods the controller ignores; measured right before the controller's
		// deletes and again right after them, and pooled, so that a change of
		// the machine's pace during the run weighs on both sides (each run's
		// p99 is printed too).
		measureReference := func(round int) []time.Duration {
			refWatcher := startPodWatch(b, c.ns)
			refPods := createRefPods(b, c, round, nodes*executorsPerNode)
			issuedAt := make(map[string]time.Time, len(refPods))
			var (
				mu sync.Mutex
				wg sync.WaitGroup
			)
			for _, pod := range refPods {
				wg.Go(func() {
					at := time.Now()
					mu.Lock()
					issuedAt[pod.Name] = at
					mu.Unlock()
					if err := env.Client.Delete(context.Background(), pod, client.GracePeriodSeconds(115)); err != nil {
						b.Error(err)
					}
				})
			}
			wg.Wait()
			refObserved := refWatcher.waitDeleted(b, len(refPods), 30*time.Second, func(name string) bool { _, ok := issuedAt[name]; return ok })
			var latencies []time.Duration
			for name, seen := range refObserved {
				latencies = append(latencies, seen.at.Sub(issuedAt[name]))
			}
			return latencies
		}
		refBefore := measureReference(0)
		var wg sync.WaitGroup

		// Interrupt every node at once.
		reactionBefore := histogramValue(b, SignalKarpenterDisrupted)
		noticeAt := make([]time.Time, nodes)
		for n := range nodes {
			wg.Go(func() {
				noticeAt[n] = time.Now()
				patchTaint(b, c.nodeName(fmt.Sprintf("spot-%d", n)))
			})
		}
		wg.Wait()
		observed := watcher.waitDeleted(b, nodes*executorsPerNode, 30*time.Second, func(name string) bool { return strings.HasPrefix(name, "exec-") })
		refAfter := measureReference(1)
		refLatencies := append(slices.Clone(refBefore), refAfter...)
		var latencies []time.Duration
		graceMin := int64(1 << 30)
		for name, seen := range observed {
			var n, e int
			fmt.Sscanf(name, "exec-%d-%d", &n, &e)
			latencies = append(latencies, seen.at.Sub(noticeAt[n]))
			graceMin = min(graceMin, seen.grace)
		}
		// Where the time goes: the taint reaching the controller (the notice
		// time it persists is when it first saw the taint), then the deletes.
		var seenLatencies []time.Duration
		for n := range nodes {
			node := &corev1.Node{}
			if err := env.Client.Get(context.Background(), client.ObjectKey{Name: c.nodeName(fmt.Sprintf("spot-%d", n))}, node); err != nil {
				b.Fatal(err)
			}
			if seen, err := time.Parse(time.RFC3339Nano, node.Annotations[NoticeAnnotation]); err == nil {
				seenLatencies = append(seenLatencies, seen.Sub(noticeAt[n]))
			}
		}
		misses := counterValue(b, deadlineMissesTotal.WithLabelValues(SignalKarpenterDisrupted)) - missesBefore
		reaction := histogramValue(b, SignalKarpenterDisrupted)
		reactionCount := reaction.GetSampleCount() - reactionBefore.GetSampleCount()
		reactionMean := time.Duration(0)
		if reactionCount > 0 {
			reactionMean = time.Duration((reaction.GetSampleSum() - reactionBefore.GetSampleSum()) / float64(reactionCount) * float64(time.Second))
		}

		p50, p99, worst := percentiles(latencies)
		r50, r99, rworst := percentiles(refLatencies)
		b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
		b.ReportMetric(misses, "deadline-misses")
		b.ReportMetric(p99.Seconds()/r99.Seconds(), "x-direct-p99")
		b.Logf("interruption: %d nodes x %d executors interrupted at once (%s)", nodes, executorsPerNode, where)
		b.Logf("  notice -> decommission visible: p50 %v  p99 %v  max %v  (%.2f%% of the 120s budget at p99; target p99 <= 1s)",
			p50.Round(time.Millisecond), p99.Round(time.Millisecond), worst.Round(time.Millisecond), 100*p99.Seconds()/120)
		s50, s99, _ := percentiles(seenLatencies)
		b.Logf("  of which taint written -> seen by the controller (per node): p50 %v  p99 %v", s50.Round(time.Millisecond), s99.Round(time.Millisecond))
		_, before99, _ := percentiles(refBefore)
		_, after99, _ := percentiles(refAfter)
		b.Logf("  reference, %d graceful deletes issued directly (%d right before the notices, %d right after): p50 %v  p99 %v  max %v (p99 %v before, %v after)", len(refLatencies),
			len(refBefore), len(refAfter), r50.Round(time.Millisecond), r99.Round(time.Millisecond), rworst.Round(time.Millisecond), before99.Round(time.Millisecond), after99.Round(time.Millisecond))
		b.Logf("  p99 / reference p99: %.2f (target <= %.1f: %s)", p99.Seconds()/r99.Seconds(), targetRatioToDirect, metOrNotRatio(p99, r99))
		b.Logf("  the operator's own sparkplane_interruption_reaction_seconds (notice's arrival -> delete accepted): mean %v over %d executors",
			reactionMean.Round(time.Millisecond), reactionCount)
		b.Logf("  deadline misses: %v (target 0); smallest grace given: %ds of the 120s notice", misses, graceMin)
		// The target is judged against what this API server can do at all:
		// on a loaded machine the direct deletes alone can take over a
		// second, so the benchmark fails on what the controller adds.
		overhead := p99 - r99
		b.Logf("  controller overhead over the reference at p99: %v; target p99 <= 1s %s", overhead.Round(time.Millisecond), metOrNot(p99, r99))
		// Hard failures: a missed deadline, or an overhead no machine load
		// explains (on this 2-core machine shared with other work the
		// overhead has ranged from -0.5s to 3s between runs).
		if overhead > maxOverhead || misses > 0 {
			b.Errorf("p99 %v is %v above the direct-delete reference (fail above %v), %v deadline misses (want 0)", p99, overhead, maxOverhead, misses)
		}
	}
}

// targetRatioToDirect is issue 20's target: the p99 from notice to
// delete visible at most this many times the direct deletes' p99.
const targetRatioToDirect = 1.2

func metOrNotRatio(p99, referenceP99 time.Duration) string {
	if p99.Seconds() <= targetRatioToDirect*referenceP99.Seconds() {
		return "met"
	}
	return "NOT met"
}

// histogramValue reads the reaction histogram of signal.
func histogramValue(b testing.TB, signal string) *dto.Histogram {
	b.Helper()
	var m dto.Metric
	if err := reactionSeconds.WithLabelValues(signal).(prometheus.Histogram).Write(&m); err != nil {
		b.Fatal(err)
	}
	return m.GetHistogram()
}

// maxOverhead is the controller's p99 overhead over the direct-delete
// reference above which the benchmark fails.
const maxOverhead = 5 * time.Second

// benchKubeconfigEnv names a kubeconfig to run the benchmark against instead
// of envtest, e.g. the local cluster's (sparkplane dev kubeconfig).
const benchKubeconfigEnv = "SPARKPLANE_BENCH_KUBECONFIG"

// useBenchCluster switches the package's env to the cluster named by
// $SPARKPLANE_BENCH_KUBECONFIG for the benchmark, and says where it runs.
func useBenchCluster(b *testing.B) string {
	path := os.Getenv(benchKubeconfigEnv)
	if path == "" {
		return "envtest: kube-apiserver + etcd"
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		b.Fatalf("%s: %v", benchKubeconfigEnv, err)
	}
	cfg.QPS, cfg.Burst = 1000, 2000
	installCRDs(b, cfg)
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		b.Fatal(err)
	}
	envtestEnv := env
	env = &testenv.Env{Config: cfg, Client: c}
	b.Cleanup(func() { env = envtestEnv })
	return "the cluster of " + path
}

// installCRDs applies sparkplane's CRDs to the benchmark's cluster as
// `sparkplane install` does (install.Apply: server-side apply, then a wait
// until the API server serves them): a cluster fresh from `sparkplane dev up`
// has none, and the benchmark's applications need them (envtest installs
// them itself).
func installCRDs(b *testing.B, cfg *rest.Config) {
	b.Helper()
	crds, err := v1alpha1.CRDs()
	if err != nil {
		b.Fatal(err)
	}
	crdScheme := runtime.NewScheme()
	if err := apiextensionsv1.AddToScheme(crdScheme); err != nil {
		b.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: crdScheme})
	if err != nil {
		b.Fatal(err)
	}
	objs := make([]client.Object, len(crds))
	for i, crd := range crds {
		objs[i] = crd
	}
	if err := install.Apply(context.Background(), c, objs, io.Discard); err != nil {
		b.Fatalf("installing sparkplane's CRDs on %s: %v", os.Getenv(benchKubeconfigEnv), err)
	}
}

func metOrNot(p99, referenceP99 time.Duration) string {
	switch {
	case p99 <= time.Second:
		return "met"
	case referenceP99 > time.Second:
		return "NOT met (on this machine the direct-delete reference alone is above 1s)"
	default:
		return "NOT met"
	}
}

func percentiles(d []time.Duration) (p50, p99, worst time.Duration) {
	if len(d) == 0 {
		return 0, 0, 0
	}
	slices.Sort(d)
	at := func(q float64) time.Duration { return d[min(len(d)-1, int(q*float64(len(d))))] }
	return at(0.50), at(0.99), d[len(d)-1]
}

func patchTaint(b testing.TB, node string) {
	patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"taints": []corev1.Taint{{Key: TaintKarpenterDisrupted, Effect: corev1.TaintEffectNoSchedule}}}})
	if err := env.Client.Patch(context.Background(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node}}, client.RawPatch(types.MergePatchType, patch)); err != nil {
		b.Errorf("tainting %s: %v", node, err)
	}
}

func createPods(b testing.TB, c *cluster, nodes, perNode int) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for n := range nodes {
		for e := range perNode {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				c.pod(fmt.Sprintf("exec-%d-%d", n, e), fmt.Sprintf("spot-%d", n), spark.RoleExecutor, fmt.Sprintf("app-%d", e%10))
			})
		}
	}
	wg.Wait()
}

func createRefPods(b testing.TB, c *cluster, round, count int) []*corev1.Pod {
	pods := make([]*corev1.Pod, count)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range count {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			pods[i] = c.pod(fmt.Sprintf("ref-%d-%d", round, i), "healthy", "", "")
		})
	}
	wg.Wait()
	return pods
}

// podWatch records when each pod of a namespace is first seen terminating.
type podWatch struct {
	mu   sync.Mutex
	seen map[string]deletion
	ns   string
}

type deletion struct {
	at    time.Time
	grace int64
}

func startPodWatch(b testing.TB, ns string) *podWatch {
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		b.Fatal(err)
	}
	pw := &podWatch{seen: map[string]deletion{}, ns: ns}
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns))
	record := func(obj any) {
		pod, ok := obj.(*corev1.Pod)
		if !ok || pod.DeletionTimestamp == nil {
			return
		}
		at := time.Now()
		pw.mu.Lock()
		defer pw.mu.Unlock()
		if _, dup := pw.seen[pod.Name]; !dup {
			pw.seen[pod.Name] = deletion{at: at, grace: ptr.Deref(pod.DeletionGracePeriodSeconds, -1)}
		}
	}
	informer := factory.Core().V1().Pods().Informer()
	if _, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    record,
		UpdateFunc: func(_, obj any) { record(obj) },
		// A kubelet (kwok's on the local cluster) may finish a pod before
		// the update is seen: its deletion counts then.
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				if pod.DeletionTimestamp == nil {
					now := metav1.Now()
					pod = pod.DeepCopy()
					pod.DeletionTimestamp = &now
				}
				record(pod)
			}
		},
	}); err != nil {
		b.Fatal(err)
	}
	stop := make(chan struct{})
	factory.Start(stop)
	factory.WaitForCacheSync(stop)
	b.Cleanup(func() { close(stop); factory.Shutdown() })
	return pw
}

// waitDeleted waits until want pods accepted by keep are seen terminating.
func (pw *podWatch) waitDeleted(b testing.TB, want int, timeout time.Duration, keep func(string) bool) map[string]deletion {
	deadline := time.Now().Add(timeout)
	for {
		pw.mu.Lock()
		out := map[string]deletion{}
		for name, d := range pw.seen {
			if keep(name) {
				out[name] = d
			}
		}
		pw.mu.Unlock()
		if len(out) >= want {
			return out
		}
		if time.Now().After(deadline) {
			var pods corev1.PodList
			_ = env.Client.List(context.Background(), &pods, client.InNamespace(pw.ns))
			terminating := 0
			for _, p := range pods.Items {
				if p.DeletionTimestamp != nil && keep(p.Name) {
					terminating++
				}
			}
			b.Fatalf("only %d of %d pods were seen decommissioned on the watch within %v (%d terminating by a LIST)", len(out), want, timeout, terminating)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
