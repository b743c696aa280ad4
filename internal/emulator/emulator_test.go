package emulator

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/sparkplane/sparkplane/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	if len(os.Args) > 0 && wantsOnlyUnitTests() {
		os.Exit(m.Run())
	}
	testenv.Main(m, testenv.Options{}, &env)
}

// integrationTests need the API server; a -run pattern that matches none of
// them (say, while iterating on the engine) skips starting it.
var integrationTests = []string{"TestIntegrationEmulatedApplication", "TestIntegrationBadConfFailsTheDriver", "TestIntegrationDynamicAllocationStaysWithinBounds", "TestIntegrationDeletedDriverStopsTheApplication", "TestIntegrationConfigMapsAfterTheDriver"}

func wantsOnlyUnitTests() bool {
	for _, arg := range os.Args[1:] {
		if strings.HasPrefix(arg, "-test.fuzz=") {
			return true
		}
		pattern, ok := strings.CutPrefix(arg, "-test.run=")
		if !ok || pattern == "" {
			continue
		}
		re, err := regexp.Compile(strings.Split(pattern, "/")[0])
		if err != nil {
			return false
		}
		for _, name := range integrationTests {
			if re.MatchString(name) {
				return false
			}
		}
		return true
	}
	return false
}

// fakeKubelet plays kwok for the test: it binds every executor pod to a node
// and reports it Running with an IP, as kwok's pod-ready stage does.
func fakeKubelet(ctx context.Context, t *testing.T, client kubernetes.Interface, namespace string) {
	ticker := time.NewTicker(30 * time.Millisecond)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		pods, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: "spark-role=executor"})
		if err != nil {
			continue
		}
		for i := range pods.Items {
			pod := &pods.Items[i]
			if pod.DeletionTimestamp != nil {
				continue
			}
			if pod.Spec.NodeName == "" {
				_ = client.CoreV1().Pods(namespace).Bind(ctx, &corev1.Binding{
					ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: namespace},
					Target:     corev1.ObjectReference{Kind: "Node", Name: "kwok-node-1"},
				}, metav1.CreateOptions{})
				continue
			}
			if pod.Status.Phase == "" || pod.Status.Phase == corev1.PodPending {
				ip := fmt.Sprintf("10.1.0.%s", pod.Labels[LabelExecutorID])
				if err := setRunning(ctx, client, pod, ip); err != nil && ctx.Err() == nil {
					t.Logf("setting %s running: %v", pod.Name, err)
				}
			}
		}
	}
}

func setRunning(ctx context.Context, client kubernetes.Interface, pod *corev1.Pod, ip string) error {
	patch := fmt.Sprintf(`{"status":{"phase":"Running","podIP":%q,"podIPs":[{"ip":%q}],"conditions":[{"type":"Ready","status":"True"}]}}`, ip, ip)
	_, err := client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "status")
	return err
}

func TestIntegrationEmulatedApplication(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client := kubernetes.NewForConfigOrDie(env.Config)
	ns := env.Namespace(t)
	createDriverAccounts(ctx, t, client, ns, sparkDriverRules(), "default", "spark")

	props := strings.Replace(fixtureProps, "spark.kubernetes.namespace=team-a", "spark.kubernetes.namespace="+ns, 1) + `spark.sparkplane.emulator.workload=small
spark.sparkplane.emulator.tasksPerStage=36
spark.sparkplane.emulator.taskDuration=1s
spark.sparkplane.emulator.timeScale=1
spark.kubernetes.allocation.batch.size=2
spark.kubernetes.allocation.batch.delay=100ms
`
	driver, cms := driverFixture(ns, props)
	driver.UID = ""
	for _, cm := range cms {
		if _, err := client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	created, err := client.CoreV1().Pods(ns).Create(ctx, driver, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	eventDir := t.TempDir()
	em, err := New(env.Config, Options{Namespace: ns, EventLogDir: eventDir, Tick: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	emCtx, stopEmulator := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- em.Run(emCtx) }()
	defer func() {
		stopEmulator()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	go fakeKubelet(emCtx, t, client, ns)

	// Nothing happens while the driver is Pending.
	time.Sleep(300 * time.Millisecond)
	if pods := executorPods(ctx, t, client, ns); len(pods) != 0 {
		t.Fatalf("%d executors created before the driver runs", len(pods))
	}
	if err := setRunning(ctx, client, created, "10.0.0.7"); err != nil {
		t.Fatal(err)
	}

	// Three executors, created in batches of two, named and labelled as Spark does.
	var pods []corev1.Pod
	testenv.Eventually(t, 20*time.Second, "3 executor pods", func() bool {
		pods = executorPods(ctx, t, client, ns)
		return len(pods) == 3
	})
	for i, pod := range pods {
		id := fmt.Sprint(i + 1)
		if want := "spark-pi-7f3a-exec-" + id; pod.Name != want {
			t.Errorf("executor %d is named %s, want %s", i, pod.Name, want)
		}
		for k, v := range map[string]string{"spark-role": "executor", "spark-exec-id": id, "spark-app-selector": "spark-0123456789abcdef", "spark-resource-profile-id": "0", "spark-app-name": "spark-pi"} {
			if pod.Labels[k] != v {
				t.Errorf("%s label %s = %q, want %q", pod.Name, k, pod.Labels[k], v)
			}
		}
		if len(pod.OwnerReferences) != 1 || pod.OwnerReferences[0].UID != created.UID || pod.OwnerReferences[0].Kind != "Pod" {
			t.Errorf("%s owner references = %+v, want the driver pod", pod.Name, pod.OwnerReferences)
		}
	}
	if _, err := client.CoreV1().ConfigMaps(ns).Get(ctx, pods[0].Spec.Volumes[len(pods[0].Spec.Volumes)-2].ConfigMap.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("executor ConfigMap: %v", err)
	}

	// Once map outputs exist, take executor 1 away gracefully and executor
	// 2 hard.
	logPath := filepath.Join(eventDir, "spark-0123456789abcdef.inprogress")
	testenv.Eventually(t, 30*time.Second, "map outputs on every executor", func() bool {
		return countTaskEnds(logPath, 0) >= 8
	})
	grace := int64(30)
	if err := client.CoreV1().Pods(ns).Delete(ctx, "spark-pi-7f3a-exec-1", metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
		t.Fatal(err)
	}
	zero := int64(0)
	if err := client.CoreV1().Pods(ns).Delete(ctx, "spark-pi-7f3a-exec-2", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}

	testenv.Eventually(t, 60*time.Second, "the driver to end", func() bool {
		pod, err := client.CoreV1().Pods(ns).Get(ctx, created.Name, metav1.GetOptions{})
		return err == nil && (pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed)
	})
	pod, _ := client.CoreV1().Pods(ns).Get(ctx, created.Name, metav1.GetOptions{})
	if pod.Status.Phase != corev1.PodSucceeded {
		t.Fatalf("driver phase %s: %s", pod.Status.Phase, pod.Status.Message)
	}
	if s := pod.Status.ContainerStatuses; len(s) != 1 || s[0].State.Terminated == nil || s[0].State.Terminated.ExitCode != 0 {
		t.Errorf("driver container status = %+v, want terminated with exit code 0", s)
	}

	s := em.Summary()
	if s.AppsSucceeded != 1 || s.AppsFailed != 0 {
		t.Errorf("apps succeeded %d failed %d", s.AppsSucceeded, s.AppsFailed)
	}
	if s.ExecutorsCreated != 5 {
		t.Errorf("%d executors created, want 3 + 2 replacements", s.ExecutorsCreated)
	}
	if s.ExecutorsDecommissioned != 1 || s.ExecutorsLost != 1 {
		t.Errorf("decommissioned %d lost %d, want 1 and 1", s.ExecutorsDecommissioned, s.ExecutorsLost)
	}
	if s.MigratedBytes <= 0 || s.RecomputedBytes <= 0 || s.RecomputeTaskTime <= 0 {
		t.Errorf("migrated %d, recomputed %d bytes in %v: want both", s.MigratedBytes, s.RecomputedBytes, s.RecomputeTaskTime)
	}
	if len(s.Apps) != 1 || s.Apps[0].Workload != "small" || s.Apps[0].ModelDuration < 10*time.Second || s.Apps[0].Application != "spark-pi" {
		t.Errorf("application summary = %+v", s.Apps)
	}
	t.Logf("summary: %+v", s)
	for _, name := range []string{"spark-pi-7f3a-exec-4", "spark-pi-7f3a-exec-5"} {
		found := false
		for _, p := range executorPods(ctx, t, client, ns) {
			found = found || p.Name == name
		}
		// Replacements were created; the driver deleted them at the end, so
		// they are gone or terminating.
		if found {
			p, _ := client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			if p.DeletionTimestamp == nil {
				t.Errorf("%s still runs after the application ended", name)
			}
		}
	}
	final := filepath.Join(eventDir, "spark-0123456789abcdef")
	if _, err := os.Stat(final); err != nil {
		t.Fatalf("event log not finalised: %v", err)
	}
	if n := countEvents(final, "SparkListenerExecutorRemoved"); n != 2 {
		t.Errorf("%d ExecutorRemoved events, want 2", n)
	}
}

func TestIntegrationBadConfFailsTheDriver(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := kubernetes.NewForConfigOrDie(env.Config)
	ns := env.Namespace(t)
	createDriverAccounts(ctx, t, client, ns, sparkDriverRules(), "default")
	driver, cms := driverFixture(ns, strings.Replace(fixtureProps, "spark.executor.memory=4g", "spark.executor.memory=lots", 1))
	driver.UID = ""
	for _, cm := range cms {
		if _, err := client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	created, err := client.CoreV1().Pods(ns).Create(ctx, driver, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	em, _ := New(env.Config, Options{Namespace: ns})
	emCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- em.Run(emCtx) }()
	defer func() { stop(); <-done }()
	if err := setRunning(ctx, client, created, "10.0.0.8"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, "the driver to fail", func() bool {
		pod, err := client.CoreV1().Pods(ns).Get(ctx, created.Name, metav1.GetOptions{})
		return err == nil && pod.Status.Phase == corev1.PodFailed
	})
	pod, _ := client.CoreV1().Pods(ns).Get(ctx, created.Name, metav1.GetOptions{})
	if !strings.Contains(pod.Status.Message, "spark.executor.memory") {
		t.Errorf("failure message %q does not name spark.executor.memory", pod.Status.Message)
	}
	if s := em.Summary(); s.AppsFailed != 1 || s.ExecutorsCreated != 0 {
		t.Errorf("summary %+v", s)
	}
}

func executorPods(ctx context.Context, t *testing.T, client kubernetes.Interface, ns string) []corev1.Pod {
	t.Helper()
	list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "spark-role=executor"})
	if err != nil {
		t.Fatal(err)
	}
	pods := list.Items
	// Order by executor id.
	for i := 1; i < len(pods); i++ {
		for j := i; j > 0 && execNumber(pods[j]) < execNumber(pods[j-1]); j-- {
			pods[j], pods[j-1] = pods[j-1], pods[j]
		}
	}
	return pods
}

func execNumber(p corev1.Pod) int {
	var n int
	fmt.Sscan(p.Labels[LabelExecutorID], &n)
	return n
}

// countTaskEnds counts successful task ends of a stage in an event log.
func countTaskEnds(path string, stage int) int {
	n := 0
	forEachEvent(path, func(e map[string]any) {
		if e["Event"] == "SparkListenerTaskEnd" && e["Stage ID"] == float64(stage) {
			if r, _ := e["Task End Reason"].(map[string]any); r["Reason"] == "Success" {
				n++
			}
		}
	})
	return n
}

func countEvents(path, name string) int {
	n := 0
	forEachEvent(path, func(e map[string]any) {
		if e["Event"] == name {
			n++
		}
	})
	return n
}

func forEachEvent(path string, fn func(map[string]any)) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 16<<20)
	for scanner.Scan() {
		var e map[string]any
		if json.Unmarshal(scanner.Bytes(), &e) == nil {
			fn(e)
		}
	}
}

// startApplication creates a driver pod and its ConfigMaps with props added
// to the fixture's, starts an emulator and the fake kubelet, and sets the
// driver Running.
func startApplication(t *testing.T, ctx context.Context, extraProps string) (kubernetes.Interface, string, *corev1.Pod, *Emulator) {
	t.Helper()
	return startApplicationAs(t, ctx, extraProps, sparkDriverRules(), nil)
}

// startApplicationAs is startApplication with the driver's account (default)
// granted rules, and edit (when not nil) applied to the driver pod and its
// ConfigMaps before they are created.
func startApplicationAs(t *testing.T, ctx context.Context, extraProps string, rules []rbacv1.PolicyRule, edit func(*corev1.Pod, []*corev1.ConfigMap)) (kubernetes.Interface, string, *corev1.Pod, *Emulator) {
	t.Helper()
	client := kubernetes.NewForConfigOrDie(env.Config)
	ns := env.Namespace(t)
	createDriverAccounts(ctx, t, client, ns, rules, "default", "spark")
	driver, cms := driverFixture(ns, fixtureProps+extraProps)
	driver.UID = ""
	if edit != nil {
		edit(driver, cms)
	}
	for _, cm := range cms {
		if _, err := client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	created, err := client.CoreV1().Pods(ns).Create(ctx, driver, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	em, err := New(env.Config, Options{Namespace: ns, EventLogDir: t.TempDir(), Tick: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	emCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- em.Run(emCtx) }()
	t.Cleanup(func() { stop(); <-done })
	go fakeKubelet(emCtx, t, client, ns)
	if err := setRunning(ctx, client, created, "10.0.0.9"); err != nil {
		t.Fatal(err)
	}
	return client, ns, created, em
}

func TestIntegrationDynamicAllocationStaysWithinBounds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, ns, driver, em := startApplication(t, ctx, `spark.dynamicAllocation.enabled=true
spark.dynamicAllocation.minExecutors=1
spark.dynamicAllocation.maxExecutors=4
spark.dynamicAllocation.initialExecutors=1
spark.executor.instances=1
spark.executor.cores=1
spark.sparkplane.emulator.workload=small
spark.sparkplane.emulator.tasksPerStage=12
spark.sparkplane.emulator.taskDuration=1s
spark.sparkplane.emulator.timeScale=4
spark.kubernetes.allocation.batch.delay=100ms
`)
	most := 0
	testenv.Eventually(t, 45*time.Second, "the driver to end", func() bool {
		live := 0
		for _, p := range executorPods(ctx, t, client, ns) {
			if p.DeletionTimestamp == nil {
				live++
			}
		}
		most = max(most, live)
		pod, err := client.CoreV1().Pods(ns).Get(ctx, driver.Name, metav1.GetOptions{})
		return err == nil && pod.Status.Phase == corev1.PodSucceeded
	})
	if most != 4 {
		t.Errorf("at most %d executors at once, want maxExecutors=4 for a backlog of 12 one-core tasks", most)
	}
	if s := em.Summary(); s.ExecutorsCreated != 4 {
		t.Errorf("%d executors created, want 4", s.ExecutorsCreated)
	}
}

func TestIntegrationDeletedDriverStopsTheApplication(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, ns, driver, em := startApplication(t, ctx, "spark.sparkplane.emulator.timeScale=1\n")
	testenv.Eventually(t, 20*time.Second, "executors", func() bool { return len(executorPods(ctx, t, client, ns)) == 3 })
	if err := client.CoreV1().Pods(ns).Delete(ctx, driver.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, "the application to stop", func() bool {
		s := em.Summary()
		return len(s.Apps) == 1 && s.Apps[0].State == "Stopped"
	})
	before := em.Summary().ExecutorsCreated
	time.Sleep(time.Second)
	if after := em.Summary().ExecutorsCreated; after != before {
		t.Errorf("executors still created after the driver went: %d then %d", before, after)
	}
}

func TestIntegrationConfigMapsAfterTheDriver(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := kubernetes.NewForConfigOrDie(env.Config)
	ns := env.Namespace(t)
	createDriverAccounts(ctx, t, client, ns, sparkDriverRules(), "default", "spark")
	// spark-submit creates the driver pod first and its ConfigMaps after.
	driver, cms := driverFixture(ns, fixtureProps)
	driver.UID = ""
	created, err := client.CoreV1().Pods(ns).Create(ctx, driver, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	em, _ := New(env.Config, Options{Namespace: ns, EventLogDir: t.TempDir()})
	emCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- em.Run(emCtx) }()
	defer func() { stop(); <-done }()
	if err := setRunning(ctx, client, created, "10.0.0.10"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	for _, cm := range cms {
		if _, err := client.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, 20*time.Second, "executors once the ConfigMaps exist", func() bool { return len(executorPods(ctx, t, client, ns)) == 3 })
}
