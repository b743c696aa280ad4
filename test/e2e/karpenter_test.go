//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// TestKarpenterTierOrder: 20 pending pods of 3 CPUs (60 CPUs, more than the
// arm64-spot pool's 32-CPU limit) get arm64 spot nodes first, up to the limit,
// and the rest fall back to amd64 spot, through the real Karpenter.
func TestKarpenterTierOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("long: starts Karpenter and waits for it to provision nodes")
	}
	c := framework.Up(t, devcluster.Options{Karpenter: true, Zones: 2})
	ctx := context.Background()
	ns := c.Namespace(t)

	const pods = 20
	start := time.Now()
	for i := 0; i < pods; i++ {
		if err := c.Client.Create(ctx, testPod(ns, fmt.Sprintf("executor-%02d", i), resource.MustParse("3"))); err != nil {
			t.Fatal(err)
		}
	}
	framework.Eventually(t, 4*time.Minute, fmt.Sprintf("%d pods Running", pods), func() (bool, error) {
		list := &corev1.PodList{}
		if err := c.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
			return false, err
		}
		running := 0
		for _, p := range list.Items {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return running == pods, nil
	})
	t.Logf("%d pods Running %.1fs after creation", pods, time.Since(start).Seconds())

	nodes := &corev1.NodeList{}
	if err := c.Client.List(ctx, nodes, client.HasLabels{devcluster.LabelNodePool}); err != nil {
		t.Fatal(err)
	}
	sort.Slice(nodes.Items, func(i, j int) bool {
		return nodes.Items[i].CreationTimestamp.Before(&nodes.Items[j].CreationTimestamp)
	})
	firstCreated := map[string]time.Time{}
	capacity := map[string]*resource.Quantity{}
	for _, n := range nodes.Items {
		pool := n.Labels[devcluster.LabelNodePool]
		t.Logf("node %s: %s %s %s %s cpu=%s created %s", n.Name, pool, n.Labels[corev1.LabelArchStable], n.Labels[devcluster.LabelCapacityType],
			n.Labels[corev1.LabelInstanceTypeStable], n.Status.Capacity.Cpu(), n.CreationTimestamp.Format(time.RFC3339))
		if _, ok := firstCreated[pool]; !ok {
			firstCreated[pool] = n.CreationTimestamp.Time
			capacity[pool] = resource.NewQuantity(0, resource.DecimalSI)
		}
		capacity[pool].Add(*n.Status.Capacity.Cpu())
	}
	arm, amd := capacity[devcluster.NodePoolArm64Spot], capacity[devcluster.NodePoolAmd64Spot]
	if arm == nil || amd == nil {
		t.Fatalf("want arm64-spot and amd64-spot nodes, got pools %v", capacity)
	}
	for pool := range capacity {
		if pool != devcluster.NodePoolArm64Spot && pool != devcluster.NodePoolAmd64Spot {
			t.Errorf("Karpenter used %s although spot capacity was available", pool)
		}
	}
	if firstCreated[devcluster.NodePoolAmd64Spot].Before(firstCreated[devcluster.NodePoolArm64Spot]) {
		t.Errorf("first amd64-spot node (%s) came before the first arm64-spot node (%s)", firstCreated[devcluster.NodePoolAmd64Spot], firstCreated[devcluster.NodePoolArm64Spot])
	}
	limit := resource.MustParse(fmt.Sprint(devcluster.ArmSpotCPULimit))
	if arm.Cmp(limit) > 0 {
		t.Errorf("arm64-spot has %s CPUs, over its limit %s", arm, &limit)
	}
	// Filled up to the limit: what is left cannot hold a node that fits a 3-CPU pod (4 vCPUs).
	if left := limit.Value() - arm.Value(); left >= 4 {
		t.Errorf("arm64-spot stopped at %s CPUs, %d below its limit, before falling back", arm, left)
	}

	// Every pod sits on a spot node.
	list := &corev1.PodList{}
	if err := c.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	perPool := map[string]int{}
	poolOf := map[string]string{}
	for _, n := range nodes.Items {
		poolOf[n.Name] = n.Labels[devcluster.LabelNodePool]
	}
	for _, p := range list.Items {
		perPool[poolOf[p.Spec.NodeName]]++
	}
	t.Logf("pods per pool: %v; CPUs: arm64-spot %s, amd64-spot %s", perPool, arm, amd)
	if perPool[devcluster.NodePoolArm64Spot]+perPool[devcluster.NodePoolAmd64Spot] != pods {
		t.Errorf("pods per pool %v, want all %d on spot pools", perPool, pods)
	}
}
