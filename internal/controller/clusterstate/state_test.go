package clusterstate_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/sparkplane/sparkplane/internal/controller/clusterstate"
	"github.com/sparkplane/sparkplane/internal/spark"
	"github.com/sparkplane/sparkplane/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, testenv.Options{}, &env) }

func node(t *testing.T, name, cpu, mem string) {
	t.Helper()
	ctx := context.Background()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"topology.kubernetes.io/zone": "zone-a"}}}
	if err := env.Client.Create(ctx, n); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), n) })
	n.Status.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}
	n.Status.Capacity = n.Status.Allocatable
	if err := env.Client.Status().Update(ctx, n); err != nil {
		t.Fatal(err)
	}
}

func pod(ns, name, nodeName, role, cpu, mem string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{NodeName: nodeName, Containers: []corev1.Container{{Name: "c", Image: "x",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}}}}},
	}
	if role != "" {
		p.Labels = map[string]string{spark.LabelRole: role, spark.LabelAppSelector: "spark-" + ns}
	}
	return p
}

// free formats what NodeCapacities says is free on the named nodes.
func free(t *testing.T, s *clusterstate.State, names ...string) string {
	t.Helper()
	caps, err := s.NodeCapacities(context.Background())
	if err != nil {
		return err.Error() // e.g. not started yet
	}
	var out []string
	for _, name := range names {
		got := "absent"
		for _, c := range caps {
			if c.Name == name {
				cpu, mem := c.Free[corev1.ResourceCPU], c.Free[corev1.ResourceMemory]
				got = fmt.Sprintf("%dm/%dMi", cpu.MilliValue(), mem.Value()>>20)
			}
		}
		out = append(out, name+"="+got)
	}
	return strings.Join(out, " ")
}

// wantEventually waits until got returns want.
func wantEventually(t *testing.T, want string, got func() string) {
	t.Helper()
	testenv.Eventually(t, testenv.Timeout, want, func() string {
		if g := got(); g != want {
			return g
		}
		return ""
	})
}

// TestNodeUsage: the free capacity per node follows pod events — bound,
// finished, deleted — without listing pods.
func TestNodeUsage(t *testing.T) {
	ns := env.Namespace(t)
	ctx := context.Background()
	node(t, "usage-a", "8", "32Gi")
	node(t, "usage-b", "4", "16Gi")
	// A pod present before the start is counted by the initial list.
	early := pod(ns, "early", "usage-a", "", "1", "1Gi")
	if err := env.Client.Create(ctx, early); err != nil {
		t.Fatal(err)
	}
	var s *clusterstate.State
	env.StartManager(t, func(mgr manager.Manager) error {
		var err error
		if s, err = clusterstate.For(mgr, clusterstate.Options{AllPods: true}); err != nil {
			return err
		}
		again, err := clusterstate.For(mgr, clusterstate.Options{})
		if err != nil || again != s {
			t.Fatalf("a second For on the same manager returned %p, %v; want the same State %p", again, err, s)
		}
		return nil
	})
	wantEventually(t, "usage-a=7000m/31744Mi usage-b=4000m/16384Mi", func() string { return free(t, s, "usage-a", "usage-b") })

	exec := pod(ns, "exec", "usage-b", spark.RoleExecutor, "1500m", "4Gi")
	pending := pod(ns, "pending", "", spark.RoleExecutor, "2", "2Gi") // not bound: charges no node
	for _, p := range []*corev1.Pod{exec, pending} {
		if err := env.Client.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	wantEventually(t, "usage-a=7000m/31744Mi usage-b=2500m/12288Mi", func() string { return free(t, s, "usage-a", "usage-b") })

	// A finished pod no longer charges its node; a deleted one neither.
	exec.Status.Phase = corev1.PodSucceeded
	if err := env.Client.Status().Update(ctx, exec); err != nil {
		t.Fatal(err)
	}
	wantEventually(t, "usage-a=7000m/31744Mi usage-b=4000m/16384Mi", func() string { return free(t, s, "usage-a", "usage-b") })
	if err := env.Client.Delete(ctx, early, client.GracePeriodSeconds(0)); err != nil {
		t.Fatal(err)
	}
	wantEventually(t, "usage-a=8000m/32768Mi usage-b=4000m/16384Mi", func() string { return free(t, s, "usage-a", "usage-b") })

	// An unschedulable node offers nothing.
	n := &corev1.Node{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "usage-b"}, n); err != nil {
		t.Fatal(err)
	}
	n.Spec.Unschedulable = true
	if err := env.Client.Update(ctx, n); err != nil {
		t.Fatal(err)
	}
	wantEventually(t, "usage-a=8000m/32768Mi usage-b=absent", func() string { return free(t, s, "usage-a", "usage-b") })

	// The pods of one attempt are found through the index.
	pods := &corev1.PodList{}
	if err := s.List(ctx, pods, client.MatchingFields{clusterstate.IndexAppSelector: clusterstate.AppSelectorKey(ns, "spark-"+ns)}); err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 2 {
		t.Errorf("index %s holds %d pods of the attempt, want 2 (exec, pending)", clusterstate.IndexAppSelector, len(pods.Items))
	}
}

// TestSparkPodsOnly: without AllPods the state holds Spark's pods only, and
// a later controller that needs every pod is told to register first.
func TestSparkPodsOnly(t *testing.T) {
	ns := env.Namespace(t)
	ctx := context.Background()
	for _, p := range []*corev1.Pod{pod(ns, "spark", "", spark.RoleDriver, "1", "1Gi"), pod(ns, "other", "", "", "1", "1Gi")} {
		if err := env.Client.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	var s *clusterstate.State
	env.StartManager(t, func(mgr manager.Manager) error {
		var err error
		if s, err = clusterstate.For(mgr, clusterstate.Options{}); err != nil {
			return err
		}
		if _, err := clusterstate.For(mgr, clusterstate.Options{AllPods: true}); err == nil || !strings.Contains(err.Error(), "register the profile resolver first") {
			t.Errorf("For(AllPods) after a Spark-only State: %v, want an error naming the order", err)
		}
		return nil
	})
	wantEventually(t, "spark", func() string {
		pods := &corev1.PodList{}
		if err := s.List(ctx, pods, client.InNamespace(ns)); err != nil {
			return err.Error()
		}
		var names []string
		for _, p := range pods.Items {
			names = append(names, p.Name)
		}
		return strings.Join(names, ",")
	})
}
