package devcluster

import (
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file: %v (run go test -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", path, diff)
	}
}

func TestInstanceTypesFile(t *testing.T) {
	got, err := renderInstanceTypes()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "instance-types.json", got)
	// The embedded copy is what Up hands to Karpenter.
	if !*update && string(karpenterInstanceTypes) != string(got) {
		t.Error("embedded instance-types.json is stale; run go test -update")
	}
	var parsed []kwokInstanceType
	if err := json.Unmarshal(got, &parsed); err != nil {
		t.Fatal(err)
	}
	if len(parsed) != len(instanceTypes) {
		t.Errorf("file has %d instance types, catalogue %d", len(parsed), len(instanceTypes))
	}
	for _, it := range parsed {
		if want := 2 * MaxZones; len(it.Offerings) != want {
			t.Errorf("%s has %d offerings, want %d (spot and on-demand in every zone)", it.Name, len(it.Offerings), want)
		}
	}
}

// TestPricesFollowAWSRatios checks the ratios docs/dev-cluster.md promises:
// Graviton about 20% below the x86 type of the same family and size, spot a
// fraction of on-demand, so the cheapest offering follows the tier order.
func TestPricesFollowAWSRatios(t *testing.T) {
	byName := map[string]instanceType{}
	for _, it := range instanceTypes {
		byName[it.Name] = it
	}
	pairs := 0
	for _, arm := range instanceTypes {
		if arm.Arch != ArchArm64 {
			continue
		}
		x86Name := strings.Replace(arm.Name, "g.", "i.", 1)
		x86, ok := byName[x86Name]
		if !ok {
			t.Errorf("%s has no x86 counterpart %s", arm.Name, x86Name)
			continue
		}
		pairs++
		if arm.CPU != x86.CPU || arm.MemoryGiB != x86.MemoryGiB {
			t.Errorf("%s and %s differ in size", arm.Name, x86.Name)
		}
		ratio := arm.OnDemandPrice / x86.OnDemandPrice
		if ratio < 0.75 || ratio > 0.85 {
			t.Errorf("%s costs %.2f of %s, want about 0.8", arm.Name, ratio, x86.Name)
		}
		// Tier order by price: arm spot < x86 spot < arm on-demand < x86 on-demand.
		prices := []float64{arm.spotPrice(), x86.spotPrice(), arm.OnDemandPrice, x86.OnDemandPrice}
		for i := 1; i < len(prices); i++ {
			if prices[i-1] >= prices[i] {
				t.Errorf("%s/%s: prices %v are not in tier order", arm.Name, x86.Name, prices)
			}
		}
	}
	if pairs == 0 {
		t.Fatal("no arm64/x86 pairs in the catalogue")
	}
}

func TestAllocatable(t *testing.T) {
	cases := map[string]struct {
		cpuMilli, memoryMiB int64
	}{
		// 16 vCPU: 60+10+5+5+12*2.5 = 110m reserved; 64 GiB*0.925 = 60620Mi - (11*234+255) - 100.
		"m7g.4xlarge": {15890, 60620 - 2829 - 100},
		// 2 vCPU: 70m reserved; 8 GiB*0.925 = 7577Mi - (11*29+255) - 100.
		"m7i.large": {1930, 7577 - 574 - 100},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			it, err := lookupInstanceType(name)
			if err != nil {
				t.Fatal(err)
			}
			if got := it.allocatableCPUMilli(); got != tc.cpuMilli {
				t.Errorf("allocatable cpu = %dm, want %dm", got, tc.cpuMilli)
			}
			if got := it.allocatableMemoryMiB(); got != tc.memoryMiB {
				t.Errorf("allocatable memory = %dMi, want %dMi", got, tc.memoryMiB)
			}
		})
	}
}

func TestStaticFleetGolden(t *testing.T) {
	nodes, err := StaticFleet(FleetOptions{Zones: 2, NodesPerTier: 1})
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, n := range nodes {
		data, err := yaml.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(append(out, "---\n"...), data...)
	}
	golden(t, "testdata/fleet-2-zones.yaml", out)
}

func TestStaticFleet(t *testing.T) {
	for _, zones := range []int{1, 2, 3, MaxZones} {
		nodes, err := StaticFleet(FleetOptions{Zones: zones, NodesPerTier: 2})
		if err != nil {
			t.Fatal(err)
		}
		type key struct{ pool, zone string }
		count := map[key]int{}
		systemNodes := 0
		for _, n := range nodes {
			l := n.Labels
			if l[corev1.LabelArchStable] == "" || l[karpv1.CapacityTypeLabelKey] == "" || l[corev1.LabelTopologyZone] == "" || l[corev1.LabelInstanceTypeStable] == "" {
				t.Errorf("node %s lacks a Karpenter label: %v", n.Name, l)
			}
			if n.Annotations[KwokAnnotation] != KwokAnnotationValue {
				t.Errorf("node %s is not marked for kwok", n.Name)
			}
			alloc, capacity := n.Status.Allocatable, n.Status.Capacity
			if alloc.Cpu().Cmp(*capacity.Cpu()) >= 0 || alloc.Memory().Cmp(*capacity.Memory()) >= 0 {
				t.Errorf("node %s: allocatable %v is not below capacity %v", n.Name, alloc, capacity)
			}
			count[key{l[karpv1.NodePoolLabelKey], l[corev1.LabelTopologyZone]}]++
			switch l[karpv1.NodePoolLabelKey] {
			case NodePoolSystem:
				systemNodes++
				if len(n.Spec.Taints) != 1 || n.Spec.Taints[0].Key != SystemTaintKey || n.Spec.Taints[0].Effect != corev1.TaintEffectNoSchedule {
					t.Errorf("system node %s taints = %v", n.Name, n.Spec.Taints)
				}
			case NodePoolDriver:
				if len(n.Spec.Taints) != 1 || n.Spec.Taints[0].Key != DriverTaintKey || l[karpv1.CapacityTypeLabelKey] != karpv1.CapacityTypeOnDemand || l[LabelNodeRole] != NodeRoleDriver {
					t.Errorf("driver node %s: taints %v labels %v", n.Name, n.Spec.Taints, l)
				}
			default:
				if len(n.Spec.Taints) != 0 {
					t.Errorf("executor node %s is tainted: %v", n.Name, n.Spec.Taints)
				}
			}
		}
		if systemNodes != 1 {
			t.Errorf("zones=%d: %d system nodes, want 1", zones, systemNodes)
		}
		for _, zone := range Zones(zones) {
			for _, tier := range ExecutorTiers {
				if got := count[key{tier.NodePool, zone}]; got != 2 {
					t.Errorf("zones=%d: %d %s nodes in %s, want 2", zones, got, tier.NodePool, zone)
				}
			}
			if got := count[key{NodePoolDriver, zone}]; got != 2 {
				t.Errorf("zones=%d: %d driver nodes in %s, want 2 (arm64 and amd64)", zones, got, zone)
			}
		}
	}
}

func TestStaticFleetSystemOnly(t *testing.T) {
	nodes, err := StaticFleet(FleetOptions{Zones: 3, SystemOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 1 || nodes[0].Labels[LabelNodeRole] != NodeRoleSystem {
		t.Fatalf("want only the system node, got %d nodes", len(nodes))
	}
	if _, ok := nodes[0].Labels[karpv1.NodePoolLabelKey]; ok {
		t.Error("with Karpenter the system node must not claim a Karpenter NodePool")
	}
}

func TestStaticFleetErrors(t *testing.T) {
	cases := map[string]struct {
		opts FleetOptions
		want string
	}{
		"no zones":       {FleetOptions{Zones: 0, NodesPerTier: 1}, "zones: 0 is out of range"},
		"too many zones": {FleetOptions{Zones: MaxZones + 1, NodesPerTier: 1}, "zones: 7 is out of range"},
		"no nodes":       {FleetOptions{Zones: 1}, "nodes per tier: 0"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := StaticFleet(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestZones(t *testing.T) {
	if diff := cmp.Diff([]string{"us-east-1a", "us-east-1b", "us-east-1c"}, Zones(3)); diff != "" {
		t.Error(diff)
	}
	if got := len(Zones(MaxZones + 3)); got != MaxZones {
		t.Errorf("Zones(%d) has %d zones, want %d", MaxZones+3, got, MaxZones)
	}
}

func TestExecutorTierWeightsDecrease(t *testing.T) {
	for i := 1; i < len(ExecutorTiers); i++ {
		if ExecutorTiers[i].Weight >= ExecutorTiers[i-1].Weight {
			t.Errorf("%s weight %d is not below %s weight %d", ExecutorTiers[i].NodePool, ExecutorTiers[i].Weight, ExecutorTiers[i-1].NodePool, ExecutorTiers[i-1].Weight)
		}
	}
	if math.Abs(float64(len(ExecutorTiers)-4)) != 0 {
		t.Errorf("%d tiers, want 4", len(ExecutorTiers))
	}
}
