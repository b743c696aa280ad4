//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/platform"
	"github.com/sparkplane/sparkplane/internal/testenv"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// TestPlatformKWOKBundleTierOrder applies the kwok platform bundle's
// PriorityClasses, KWOKNodeClass and NodePools (server-side apply, taking over
// whatever `dev up --karpenter` applied) to a local cluster with the real
// Karpenter, then creates more 3-CPU pods than the arm64-spot limit holds:
// Karpenter must fill arm64 spot first, then fall back to amd64 spot, and
// never touch on-demand while spot is available.
func TestPlatformKWOKBundleTierOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("long: starts Karpenter and waits for it to provision nodes")
	}
	const zones = 3
	c := framework.Up(t, devcluster.Options{Karpenter: true, Zones: zones})
	ctx := context.Background()

	cfg := platform.DefaultConfig(platform.ProviderKWOK)
	cfg.Zones = devcluster.Zones(zones)
	cfg.DriverZone = cfg.Zones[0]
	// Half the limit dev up's own NodePools have, so the result shows that the
	// bundle's NodePools, not the ones they replaced, drove Karpenter.
	cfg.Executors.CPULimits.Arm64Spot = devcluster.ArmSpotCPULimit / 2
	bundle, err := platform.Render(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range bundle.KarpenterObjects() {
		u, err := platform.ToUnstructured(obj)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Client.Patch(ctx, u, client.Apply, client.FieldOwner("sparkplane-platform"), client.ForceOwnership); err != nil {
			t.Fatalf("applying %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}

	ns := c.Namespace(t)
	armLimit := cfg.Executors.CPULimits.Arm64Spot
	pods := int(armLimit/3) + 8 // well past the arm64-spot limit
	for i := 0; i < pods; i++ {
		if err := c.Client.Create(ctx, testPod(ns, fmt.Sprintf("executor-%02d", i), resource.MustParse("3"))); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, 5*time.Minute, fmt.Sprintf("%d pods Running", pods), func() (bool, error) {
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

	nodes := &corev1.NodeList{}
	if err := c.Client.List(ctx, nodes, client.HasLabels{karpv1.NodePoolLabelKey}); err != nil {
		t.Fatal(err)
	}
	cpus := map[string]int64{}
	first := map[string]time.Time{}
	for _, n := range nodes.Items {
		pool := n.Labels[karpv1.NodePoolLabelKey]
		cpus[pool] += n.Status.Capacity.Cpu().Value()
		if created := n.CreationTimestamp.Time; first[pool].IsZero() || created.Before(first[pool]) {
			first[pool] = created
		}
		if role := n.Labels[platform.LabelNodeRole]; role != platform.NodeRoleExecutor {
			t.Errorf("node %s of pool %s has %s=%q: the bundle's template labels were not used", n.Name, pool, platform.LabelNodeRole, role)
		}
	}
	t.Logf("vCPUs per pool: %v", cpus)
	if cpus[platform.NodePoolArm64Spot] == 0 || cpus[platform.NodePoolAmd64Spot] == 0 {
		t.Fatalf("want nodes in arm64-spot and amd64-spot, got %v", cpus)
	}
	if cpus[platform.NodePoolArm64Spot] > armLimit {
		t.Errorf("arm64-spot has %d vCPUs, over its limit %d", cpus[platform.NodePoolArm64Spot], armLimit)
	}
	if left := armLimit - cpus[platform.NodePoolArm64Spot]; left >= 4 {
		t.Errorf("arm64-spot stopped %d vCPUs below its limit before falling back", left)
	}
	// Karpenter plans a batch of pending pods at once, filling the pools by
	// weight, so both pools' first nodes may come in the same second; an
	// amd64-spot node from an earlier batch would mean the order was ignored.
	if first[platform.NodePoolAmd64Spot].Add(time.Second).Before(first[platform.NodePoolArm64Spot]) {
		t.Errorf("the first amd64-spot node (%s) came before the first arm64-spot node (%s)", first[platform.NodePoolAmd64Spot], first[platform.NodePoolArm64Spot])
	}
	for pool := range cpus {
		if pool != platform.NodePoolArm64Spot && pool != platform.NodePoolAmd64Spot {
			t.Errorf("Karpenter used %s although spot capacity was available", pool)
		}
	}
}
