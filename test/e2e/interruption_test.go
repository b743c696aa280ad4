//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/interruption"
	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/spark"
	"github.com/sparkplane/sparkplane/internal/testenv"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// TestInterruptionOnLocalCluster runs the operator (with the RBAC install
// grants it) on a local cluster and interrupts spot nodes with `sparkplane dev
// interrupt`: the executors of a node given Karpenter's taint are
// decommissioned within seconds with a grace period under 120s, executors on
// a healthy node are untouched, the node goes when the notice runs out, and
// an operator that was down when cluster-autoscaler's notice came
// decommissions that node's executors with the original notice time.
func TestInterruptionOnLocalCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a local cluster and the operator")
	}
	c := framework.Up(t, devcluster.Options{Zones: 1, NodesPerTier: 1})
	installSparkplane(t, c)
	kubeconfig := impersonatingKubeconfig(t, c.Kubeconfig())
	operator := startOperator(t, kubeconfig)
	cl := sparkplaneClient(t, c)
	ns := c.Namespace(t)
	ctx := context.Background()

	spot := map[string]string{}
	var nodes corev1.NodeList
	if err := cl.List(ctx, &nodes, client.MatchingLabels{devcluster.LabelNodeRole: devcluster.NodeRoleExecutor}); err != nil {
		t.Fatal(err)
	}
	var healthy string
	for _, n := range nodes.Items {
		switch {
		case n.Labels[karpv1.CapacityTypeLabelKey] == karpv1.CapacityTypeSpot:
			spot[n.Labels[corev1.LabelArchStable]] = n.Name
		case healthy == "":
			healthy = n.Name
		}
	}
	if spot["arm64"] == "" || spot["amd64"] == "" || healthy == "" {
		t.Fatalf("want an arm64 and an amd64 spot node and an on-demand executor node, got %v and %q", spot, healthy)
	}
	app := &v1alpha1.SparkApplication{
		ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: ns},
		Spec: v1alpha1.SparkApplicationSpec{
			Type: v1alpha1.SparkApplicationTypeScala, SparkVersion: "3.5.3", Image: ptr.To("apache/spark:3.5.3"),
			MainClass: ptr.To("org.apache.spark.examples.SparkPi"), MainApplicationFile: ptr.To("local:///opt/spark/examples/jars/spark-examples.jar"),
		},
	}
	if err := cl.Create(ctx, app); err != nil {
		t.Fatal(err)
	}
	executorsOn := func(node string, ids ...int) {
		for _, id := range ids {
			if err := cl.Create(ctx, executorPodOn(ns, "pi", node, id)); err != nil {
				t.Fatal(err)
			}
		}
	}
	executorsOn(spot["arm64"], 1, 2, 3)
	executorsOn(spot["amd64"], 4, 5)
	executorsOn(healthy, 6)
	testenv.Eventually(t, 60*time.Second, "executors running", func() (bool, error) {
		return countRunningExecutors(ctx, cl, ns) == 6, nil
	})

	// A Karpenter notice, 10 s long; the command waits and removes the node.
	taintedAt := time.Now()
	done := make(chan framework.Result, 1)
	go func() {
		done <- framework.Run(t, nil, "dev", "interrupt", "--name", c.Name, "--via", "karpenter", "--notice", "10s", spot["arm64"])
	}()
	decommissioned := waitDecommissioned(t, ctx, cl, ns, "pi-exec-1", "pi-exec-2", "pi-exec-3")
	t.Logf("Karpenter notice: 3 executors decommissioned %v after the command started", decommissioned.Sub(taintedAt).Round(time.Millisecond))
	if d := decommissioned.Sub(taintedAt); d > 5*time.Second {
		t.Errorf("decommissioned %v after the notice, want within seconds", d)
	}
	res := <-done
	if res.Err != nil {
		t.Fatalf("dev interrupt: %v\n%s%s", res.Err, res.Stdout, res.Stderr)
	}
	if !strings.Contains(res.Stdout, "removed at") {
		t.Errorf("dev interrupt did not report removing the node:\n%s", res.Stdout)
	}
	if err := cl.Get(ctx, client.ObjectKey{Name: spot["arm64"]}, &corev1.Node{}); err == nil {
		t.Errorf("node %s still exists after its notice ran out", spot["arm64"])
	}

	// The operator dies; cluster-autoscaler's notice (which carries its
	// time) arrives; a new operator takes over from the original notice time.
	operator.kill()
	framework.MustRun(t, "dev", "interrupt", "--name", c.Name, "--via", "autoscaler", "--notice", "30s", "--detach", spot["amd64"])
	noticeAt := time.Now()
	time.Sleep(3 * time.Second)
	startOperator(t, kubeconfig)
	waitDecommissioned(t, ctx, cl, ns, "pi-exec-4", "pi-exec-5")
	grace := graceFromEvents(t, ctx, cl, ns, "pi-exec-4")
	// The autoscaler's taint value has whole seconds: allow one more.
	if maxGrace := int64(115 - time.Since(noticeAt).Seconds() + 1); grace > maxGrace || grace < 60 {
		t.Errorf("after the restart pi-exec-4 got %ds grace, want at most %d: the original notice time must count", grace, maxGrace)
	}

	pod := &corev1.Pod{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: "pi-exec-6"}, pod); err != nil || pod.DeletionTimestamp != nil {
		t.Errorf("executor on the healthy node %s was touched (err %v)", healthy, err)
	}
	testenv.Eventually(t, 30*time.Second, "status.interruptions of the application", func() (bool, error) {
		if err := cl.Get(ctx, client.ObjectKeyFromObject(app), app); err != nil {
			return false, err
		}
		s := app.Status.Interruptions
		return s != nil && s.ExecutorsDecommissioned == 5 && s.Notices == 2, nil
	})
}

// countRunningExecutors counts the namespace's running executor pods. The
// application's driver pod, which the operator submits and kwok runs beside
// them, is not one: counting every pod saw 7 and waited forever for 6.
func countRunningExecutors(ctx context.Context, cl client.Client, ns string) int {
	var pods corev1.PodList
	_ = cl.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{spark.LabelRole: spark.RoleExecutor})
	n := 0
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			n++
		}
	}
	return n
}

// waitDecommissioned waits until the named pods are terminating or gone (kwok
// finishes a deleted pod at once) and returns when that was seen.
func waitDecommissioned(t *testing.T, ctx context.Context, cl client.Client, ns string, names ...string) time.Time {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, fmt.Sprintf("%v decommissioned", names), func() (bool, error) {
		for _, name := range names {
			pod := &corev1.Pod{}
			err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, pod)
			if err == nil && pod.DeletionTimestamp == nil {
				return false, nil
			}
			if client.IgnoreNotFound(err) != nil {
				return false, err
			}
		}
		return true, nil
	})
	return time.Now()
}

// graceFromEvents reads the grace period the operator gave a pod from its
// ExecutorDecommissioning event ("... with 112s grace ..."), waiting up to
// 30 s for it.
func graceFromEvents(t *testing.T, ctx context.Context, cl client.Client, ns, pod string) int64 {
	t.Helper()
	grace, found := findDecommissionEvent(ctx, cl, ns, pod, 30*time.Second)
	if !found {
		t.Fatalf("ExecutorDecommissioning event on %s: not after 30s", pod)
	}
	return grace
}

// findDecommissionEvent looks for pod's ExecutorDecommissioning event for
// up to wait and returns the grace period it names.
func findDecommissionEvent(ctx context.Context, cl client.Client, ns, pod string, wait time.Duration) (grace int64, found bool) {
	deadline := time.Now().Add(wait)
	for {
		var events corev1.EventList
		if err := cl.List(ctx, &events, client.InNamespace(ns)); err == nil {
			for _, e := range events.Items {
				if e.InvolvedObject.Name != pod || e.Reason != interruption.ReasonExecutorDecommissioning {
					continue
				}
				if i := strings.Index(e.Message, "with "); i >= 0 {
					if _, err := fmt.Sscanf(e.Message[i:], "with %ds grace", &grace); err == nil {
						return grace, true
					}
				}
			}
		}
		if time.Now().After(deadline) {
			return -1, false
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// executorPodOn is executor id of application app as Spark's driver would
// create it (role, app selector and executor id labels, sparkplane's
// application label), bound to node, for tests that stand in for a driver.
func executorPodOn(ns, app, node string, id int) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-exec-%d", app, id), Namespace: ns, Labels: map[string]string{
			spark.LabelRole: spark.RoleExecutor, spark.LabelAppSelector: "spark-" + app,
			spark.LabelExecID: fmt.Sprint(id), v1alpha1.LabelApplication: app,
		}},
		Spec: corev1.PodSpec{
			NodeName:    node,
			Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			Containers:  []corev1.Container{{Name: "spark-kubernetes-executor", Image: "apache/spark:3.5.3"}},
		},
	}
}
