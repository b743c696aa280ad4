//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/testenv"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// instanceCPULabel is the label Karpenter's kwok provider puts on its nodes
// with the instance type's vCPUs.
const instanceCPULabel = "karpenter.kwok.sh/instance-cpu"

// TestKarpenterTierOrder: 20 pending pods of 3 CPUs (60 CPUs, more than the
// arm64-spot pool's 32-CPU limit) get arm64 spot nodes first, up to the limit,
// and the rest fall back to amd64 spot, through the real Karpenter. The first
// 4 pods come alone, so "first" is visible as an order in time too: Karpenter
// launches the nodes of one batch at once.
func TestKarpenterTierOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("long: starts Karpenter and waits for it to provision nodes")
	}
	c := framework.Up(t, devcluster.Options{Karpenter: true, Zones: 2})
	ns := c.Namespace(t)

	const first, pods = 4, 20
	start := time.Now()
	createPods(t, c, ns, 0, first)
	waitRunning(t, c, ns, first)
	t.Logf("first %d pods Running %.1fs after creation", first, time.Since(start).Seconds())
	cpus, _, perPool := karpenterNodes(t, c, ns)
	if len(cpus) != 1 || cpus[devcluster.NodePoolArm64Spot] == 0 || perPool[devcluster.NodePoolArm64Spot] != first {
		t.Fatalf("first %d pods: nodes per pool (CPUs) %v, pods per pool %v; want only arm64-spot", first, cpus, perPool)
	}

	start = time.Now()
	createPods(t, c, ns, first, pods)
	waitRunning(t, c, ns, pods)
	t.Logf("all %d pods Running %.1fs after the other %d were created", pods, time.Since(start).Seconds(), pods-first)
	cpus, capacity, perPool := karpenterNodes(t, c, ns)
	t.Logf("instance vCPUs per pool %v, capacity %v, pods per pool %v", cpus, capacity, perPool)
	for pool := range cpus {
		if pool != devcluster.NodePoolArm64Spot && pool != devcluster.NodePoolAmd64Spot {
			t.Errorf("Karpenter used %s although spot capacity was available", pool)
		}
	}
	// Karpenter counts a NodePool's usage from its nodes' capacity, which
	// the kwok provider sets to the NodeClaim's requests (not the instance
	// type's vCPUs): the limit holds for that.
	arm := capacity[devcluster.NodePoolArm64Spot]
	if arm > devcluster.ArmSpotCPULimit {
		t.Errorf("arm64-spot has %d CPUs of capacity, over its limit %d", arm, devcluster.ArmSpotCPULimit)
	}
	// Filled up to the limit before falling back: what is left cannot hold
	// another 3-CPU pod.
	if left := devcluster.ArmSpotCPULimit - arm; left >= 3 {
		t.Errorf("arm64-spot stopped at %d CPUs, %d below its limit, before falling back", arm, left)
	}
	if cpus[devcluster.NodePoolAmd64Spot] == 0 || perPool[devcluster.NodePoolAmd64Spot] == 0 {
		t.Errorf("nothing fell back to amd64-spot: CPUs %v, pods %v", cpus, perPool)
	}
	if perPool[devcluster.NodePoolArm64Spot]+perPool[devcluster.NodePoolAmd64Spot] != pods {
		t.Errorf("pods per pool %v, want all %d on spot pools", perPool, pods)
	}
}

func createPods(t *testing.T, c *framework.Cluster, ns string, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		pod := testPod(ns, fmt.Sprintf("executor-%02d", i), resource.MustParse("3"))
		// Karpenter creates each node with its karpenter.sh/unregistered
		// NoExecute taint and removes it at registration; the scheduler
		// binds pods only after that, but the controller manager's taint
		// eviction controller can still see the node tainted in its cache
		// when it sees a pod bound there, and evicts it at once (a run
		// lost executor-02 to it, 18 ms after registration). The bare pods
		// here are not recreated as Spark's executors would be: tolerate it.
		pod.Spec.Tolerations = []corev1.Toleration{{Key: karpv1.UnregisteredNoExecuteTaint.Key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}}
		if err := c.Client.Create(context.Background(), pod); err != nil {
			t.Fatal(err)
		}
	}
}

func waitRunning(t *testing.T, c *framework.Cluster, ns string, want int) {
	t.Helper()
	testenv.Eventually(t, 4*time.Minute, fmt.Sprintf("%d pods Running", want), func() (bool, error) {
		list := &corev1.PodList{}
		if err := c.Client.List(context.Background(), list, client.InNamespace(ns)); err != nil {
			return false, err
		}
		running := 0
		for _, p := range list.Items {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return running == want, nil
	})
}

// karpenterNodes returns, by node pool, the instance vCPUs and the CPU
// capacity of Karpenter's nodes, and the number of the namespace's pods.
func karpenterNodes(t *testing.T, c *framework.Cluster, ns string) (cpus, capacity, pods map[string]int) {
	t.Helper()
	ctx := context.Background()
	nodes := &corev1.NodeList{}
	if err := c.Client.List(ctx, nodes, client.HasLabels{karpv1.NodePoolLabelKey}); err != nil {
		t.Fatal(err)
	}
	cpus, capacity, pods = map[string]int{}, map[string]int{}, map[string]int{}
	poolOf := map[string]string{}
	for _, n := range nodes.Items {
		pool := n.Labels[karpv1.NodePoolLabelKey]
		poolOf[n.Name] = pool
		cpu, err := strconv.Atoi(n.Labels[instanceCPULabel])
		if err != nil {
			t.Fatalf("node %s: %s label %q: %v", n.Name, instanceCPULabel, n.Labels[instanceCPULabel], err)
		}
		cpus[pool] += cpu
		capacity[pool] += int(n.Status.Capacity.Cpu().Value())
		t.Logf("node %s: %s %s created %s", n.Name, pool, n.Labels[corev1.LabelInstanceTypeStable], n.CreationTimestamp.Format(time.RFC3339))
	}
	list := &corev1.PodList{}
	if err := c.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, p := range list.Items {
		pods[poolOf[p.Spec.NodeName]]++
	}
	return cpus, capacity, pods
}
