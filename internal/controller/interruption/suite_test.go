package interruption

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/spark"
	"github.com/sparkplane/sparkplane/internal/testenv"
)

var (
	env    *testenv.Env
	scheme *runtime.Scheme
)

func TestMain(m *testing.M) {
	log.SetLogger(logr.Discard())
	opts, err := testenv.SparkplaneOptions()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	scheme = opts.Scheme
	// A fuzzing worker runs only the fuzz target, which needs no cluster.
	flag.Parse()
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		os.Exit(m.Run())
	}
	testenv.Main(m, opts, &env)
}

// startController runs an interruption controller in its own manager until
// the returned stop function is called (or the test ends).
func startController(t testing.TB, opts Options) (stop func()) {
	t.Helper()
	return env.StartManager(t, func(mgr manager.Manager) error {
		c, err := NewController(opts)
		if err != nil {
			return err
		}
		return c.Register(mgr)
	})
}

// cluster creates the nodes and pods of one test, with names unique to it,
// and removes the nodes (cluster-scoped) when the test ends.
type cluster struct {
	t      testing.TB
	ns     string
	prefix string
}

func newCluster(t testing.TB) *cluster {
	ns := env.Namespace(t)
	return &cluster{t: t, ns: ns, prefix: ns[strings.LastIndex(ns, "-")+1:]}
}

func (c *cluster) nodeName(name string) string { return c.prefix + "-" + name }

// node creates a node with the given taints (and finalizers).
func (c *cluster) node(name string, taints []corev1.Taint, finalizers ...string) *corev1.Node {
	c.t.Helper()
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: c.nodeName(name), Finalizers: finalizers, Labels: map[string]string{"karpenter.sh/capacity-type": "spot"}},
		Spec:       corev1.NodeSpec{Taints: taints},
	}
	ctx := context.Background()
	if err := env.Client.Create(ctx, node); err != nil {
		c.t.Fatalf("creating node: %v", err)
	}
	c.t.Cleanup(func() {
		latest := &corev1.Node{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(node), latest); err != nil {
			return
		}
		if len(latest.Finalizers) > 0 {
			latest.Finalizers = nil
			_ = env.Client.Update(ctx, latest)
		}
		_ = env.Client.Delete(ctx, latest)
	})
	return node
}

// pod creates a pod bound to node with the given role ("" for a pod that is
// not Spark's) for application app.
func (c *cluster) pod(name, node, role, app string) *corev1.Pod {
	c.t.Helper()
	labels := map[string]string{}
	if role != "" {
		labels[spark.LabelRole] = role
		labels[spark.LabelAppSelector] = "spark-" + app
		labels[v1alpha1.LabelApplication] = app
	}
	if role == spark.RoleExecutor {
		labels[spark.LabelExecID] = name
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.ns, Labels: labels},
		Spec: corev1.PodSpec{
			NodeName:   c.nodeName(node),
			Containers: []corev1.Container{{Name: "spark", Image: "spark:4.0.0"}},
		},
	}
	if err := env.Client.Create(context.Background(), pod); err != nil {
		c.t.Fatalf("creating pod: %v", err)
	}
	return pod
}

// application creates a SparkApplication named name.
func (c *cluster) application(name string, restart v1alpha1.RestartPolicyType) *v1alpha1.SparkApplication {
	c.t.Helper()
	app := &v1alpha1.SparkApplication{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.ns},
		Spec: v1alpha1.SparkApplicationSpec{
			Type:                v1alpha1.SparkApplicationType("Scala"),
			SparkVersion:        "4.0.0",
			Image:               ptr.To("spark:4.0.0"),
			MainClass:           ptr.To("org.apache.spark.examples.SparkPi"),
			MainApplicationFile: ptr.To("local:///opt/spark/examples/jars/spark-examples.jar"),
			RestartPolicy:       v1alpha1.RestartPolicy{Type: restart},
		},
	}
	if err := env.Client.Create(context.Background(), app); err != nil {
		c.t.Fatalf("creating SparkApplication: %v", err)
	}
	return app
}

// taint adds taints to a node.
func (c *cluster) taint(node string, taints ...corev1.Taint) {
	c.t.Helper()
	c.updateNode(node, func(n *corev1.Node) { n.Spec.Taints = append(n.Spec.Taints, taints...) })
}

func (c *cluster) updateNode(node string, mutate func(*corev1.Node)) {
	c.t.Helper()
	ctx := context.Background()
	err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 5*time.Second, true, func(ctx context.Context) (bool, error) {
		n := &corev1.Node{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: c.nodeName(node)}, n); err != nil {
			return false, err
		}
		mutate(n)
		if err := env.Client.Update(ctx, n); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		return true, nil
	})
	if err != nil {
		c.t.Fatalf("updating node %s: %v", node, err)
	}
}

func (c *cluster) getPod(name string) *corev1.Pod {
	c.t.Helper()
	pod := &corev1.Pod{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: c.ns, Name: name}, pod); err != nil {
		c.t.Fatalf("getting pod %s: %v", name, err)
	}
	return pod
}

// waitDecommissioned waits until every named pod is terminating and returns
// their grace periods.
func (c *cluster) waitDecommissioned(names ...string) map[string]int64 {
	c.t.Helper()
	graces := map[string]int64{}
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		for _, name := range names {
			pod := c.getPod(name)
			if pod.DeletionTimestamp == nil {
				return false, nil
			}
			graces[name] = ptr.Deref(pod.DeletionGracePeriodSeconds, -1)
		}
		return true, nil
	})
	if err != nil {
		c.t.Fatalf("waiting for %v to be decommissioned: %v", names, err)
	}
	return graces
}

// settle gives the controller time to (wrongly) act before asserting that
// something stayed untouched.
func settle() { time.Sleep(500 * time.Millisecond) }

// assertUntouched fails when a named pod is terminating.
func (c *cluster) assertUntouched(names ...string) {
	c.t.Helper()
	for _, name := range names {
		if pod := c.getPod(name); pod.DeletionTimestamp != nil {
			c.t.Errorf("pod %s was deleted (grace %ds) but must be untouched", name, ptr.Deref(pod.DeletionGracePeriodSeconds, -1))
		}
	}
}

func (c *cluster) getApplication(name string) *v1alpha1.SparkApplication {
	c.t.Helper()
	app := &v1alpha1.SparkApplication{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: c.ns, Name: name}, app); err != nil {
		c.t.Fatalf("getting SparkApplication %s: %v", name, err)
	}
	return app
}
