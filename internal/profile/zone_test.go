package profile

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"
)

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }

func node(name, zone, arch, capacity, cpu, mem string, taints ...corev1.Taint) NodeCapacity {
	return NodeCapacity{
		Name:   name,
		Labels: map[string]string{LabelZone: zone, corev1.LabelArchStable: arch, karpv1.CapacityTypeLabelKey: capacity},
		Taints: taints,
		Free:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)},
	}
}

func TestZoneChoice(t *testing.T) {
	// Executors: 4 × (1 core, 1g + 384m overhead).
	app := newApp()
	driverTaint := corev1.Taint{Key: v1alpha1.DriverTaintKey, Value: "true", Effect: corev1.TaintEffectNoSchedule}
	cases := map[string]struct {
		app        *v1alpha1.SparkApplication
		zones      ZoneInput
		want       string
		reasonPart string
	}{
		"most executors on the best tier": {
			zones: ZoneInput{Nodes: []NodeCapacity{
				node("a1", "zone-a", "arm64", "spot", "2", "8Gi"),   // 2 arm64 spot
				node("a2", "zone-a", "amd64", "spot", "16", "64Gi"), // many amd64 spot
				node("b1", "zone-b", "arm64", "spot", "3", "16Gi"),  // 3 arm64 spot
				node("c1", "zone-c", "arm64", "on-demand", "64", "256Gi"),
			}},
			want: "zone-b", reasonPart: "fit best there now (3 on arm64-spot; zone-a: 2 on arm64-spot, 2 on amd64-spot",
		},
		"tie on tiers goes to more free slots": {
			zones: ZoneInput{Nodes: []NodeCapacity{
				node("a1", "zone-a", "arm64", "spot", "8", "32Gi"),
				node("b1", "zone-b", "arm64", "spot", "16", "64Gi"),
			}},
			want: "zone-b",
		},
		"a tainted pool does not count": {
			zones: ZoneInput{Nodes: []NodeCapacity{
				node("a1", "zone-a", "arm64", "on-demand", "64", "256Gi", driverTaint),
				node("b1", "zone-b", "amd64", "on-demand", "4", "16Gi"),
			}},
			want: "zone-b",
		},
		"memory bounds the fit": {
			zones: ZoneInput{Nodes: []NodeCapacity{
				node("a1", "zone-a", "arm64", "spot", "64", "2Gi"), // 1 executor by memory
				node("b1", "zone-b", "arm64", "spot", "4", "8Gi"),  // 4
			}},
			want: "zone-b",
		},
		"no room anywhere spreads": {
			zones: ZoneInput{Nodes: []NodeCapacity{
				node("a1", "zone-a", "arm64", "spot", "100m", "1Gi"),
				node("b1", "zone-b", "arm64", "spot", "100m", "1Gi"),
			}, ApplicationsPerZone: map[string]int{"zone-a": 5, "zone-b": 1}},
			want: "zone-b", reasonPart: "no zone has free capacity",
		},
		"nodes on demand: least loaded": {
			zones: ZoneInput{NodesOnDemand: true, Zones: []string{"zone-a", "zone-b", "zone-c"}, ApplicationsPerZone: map[string]int{"zone-a": 3, "zone-b": 2, "zone-c": 4}},
			want:  "zone-b", reasonPart: "nodes are created on demand",
		},
		"chosen zone is kept": {
			zones: ZoneInput{Chosen: "zone-c", NodesOnDemand: true, Zones: []string{"zone-a", "zone-b", "zone-c"}, ApplicationsPerZone: map[string]int{"zone-c": 100}},
			want:  "zone-c", reasonPart: "status.zone",
		},
		"the application's pin wins": {
			app:   newApp(func(a *v1alpha1.SparkApplication) { a.Spec.NodeSelector = map[string]string{LabelZone: "zone-a"} }),
			zones: threeZones,
			want:  "zone-a", reasonPart: "spec.nodeSelector[topology.kubernetes.io/zone]",
		},
		"no zones known": {zones: ZoneInput{}, want: "", reasonPart: "none is pinned"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			a := app
			if tc.app != nil {
				a = tc.app
			}
			res, err := Resolve(ResolveInput{Application: a, Profiles: installed(1), Zones: tc.zones})
			if err != nil {
				t.Fatal(err)
			}
			if res.Zone != tc.want || !strings.Contains(res.ZoneReason, tc.reasonPart) {
				t.Errorf("zone %q (%s), want %q with reason containing %q", res.Zone, res.ZoneReason, tc.want, tc.reasonPart)
			}
			if tc.want == "" && res.Application.Spec.Executor.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
				t.Error("no zone chosen, yet executors have a required node affinity")
			}
		})
	}
}

// TestZoneSpreadIsStableAndEven: with nodes on demand and no load figures,
// the same application always gets the same zone and many applications
// spread over all zones.
func TestZoneSpreadIsStableAndEven(t *testing.T) {
	counts := map[string]int{}
	for i := range 300 {
		app := newApp(func(a *v1alpha1.SparkApplication) { a.Name = fmt.Sprintf("app-%d", i) })
		first, err := Resolve(ResolveInput{Application: app, Profiles: installed(1), Zones: threeZones})
		if err != nil {
			t.Fatal(err)
		}
		again, _ := Resolve(ResolveInput{Application: app, Profiles: installed(1), Zones: threeZones})
		if first.Zone != again.Zone {
			t.Fatalf("%s: zone %s then %s", app.Name, first.Zone, again.Zone)
		}
		counts[first.Zone]++
	}
	for _, z := range threeZones.Zones {
		if counts[z] < 70 {
			t.Errorf("zone %s got %d of 300 applications; want an even spread (%v)", z, counts[z], counts)
		}
	}
}

func TestZoneModeAny(t *testing.T) {
	p := v1alpha1.SparkProfile{ObjectMeta: metav1.ObjectMeta{Name: "anyzone"}, Spec: v1alpha1.SparkProfileSpec{Zone: &v1alpha1.ZonePolicy{Mode: v1alpha1.ZoneModeAny}}}
	res, err := Resolve(ResolveInput{Application: newApp(func(a *v1alpha1.SparkApplication) { a.Spec.Profile = "anyzone" }), Profiles: []v1alpha1.SparkProfile{p}, Zones: threeZones})
	if err != nil {
		t.Fatal(err)
	}
	if res.Zone != "" {
		t.Errorf("zone %q with mode Any", res.Zone)
	}
	for _, e := range res.Application.Spec.Driver.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions {
		if e.Key == LabelZone {
			t.Error("driver requires a zone with mode Any")
		}
	}
}

func TestExecutorRequest(t *testing.T) {
	cases := map[string]struct {
		mutate      func(*v1alpha1.SparkApplication)
		cpu, memMiB int64
	}{
		"defaults": {func(a *v1alpha1.SparkApplication) {}, 1000, 1024 + 384},
		"8g jvm":   {func(a *v1alpha1.SparkApplication) { a.Spec.Executor.Memory = ptr.To(v1alpha1.MemorySize("8g")) }, 1000, 8192 + 819},
		"4g python": {func(a *v1alpha1.SparkApplication) {
			a.Spec.Type = v1alpha1.SparkApplicationTypePython
			a.Spec.Executor.Memory = ptr.To(v1alpha1.MemorySize("4096m"))
		}, 1000, 4096 + 1638},
		"explicit": {func(a *v1alpha1.SparkApplication) {
			a.Spec.Executor.Cores = ptr.To[int32](4)
			a.Spec.Executor.MemoryOverhead = ptr.To(v1alpha1.MemorySize("1g"))
		}, 4000, 1024 + 1024},
		"core request": {func(a *v1alpha1.SparkApplication) { a.Spec.Executor.CoreRequest = ptr.To(v1alpha1.CPUQuantity("500m")) }, 500, 1024 + 384},
		// The executor pods are sized from spec.sparkConf when no typed
		// field is set; zone choice must size them the same way.
		"sparkConf memory": {func(a *v1alpha1.SparkApplication) {
			a.Spec.SparkConf = map[string]string{"spark.executor.memory": "8g", "spark.executor.cores": "2"}
		}, 2000, 8192 + 819},
		"sparkConf overhead factor": {func(a *v1alpha1.SparkApplication) {
			a.Spec.SparkConf = map[string]string{"spark.kubernetes.memoryOverheadFactor": "0.5"}
		}, 1000, 1024 + 512},
		"sparkConf executor factor": {func(a *v1alpha1.SparkApplication) {
			a.Spec.SparkConf = map[string]string{"spark.executor.memory": "4g", "spark.executor.memoryOverheadFactor": "0.25"}
		}, 1000, 4096 + 1024},
		"typed field beats sparkConf": {func(a *v1alpha1.SparkApplication) {
			a.Spec.SparkConf = map[string]string{"spark.executor.memory": "8g"}
			a.Spec.Executor.Memory = ptr.To(v1alpha1.MemorySize("2g"))
		}, 1000, 2048 + 384},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cpu, mem := executorRequest(newApp(tc.mutate))
			if cpu != tc.cpu || mem>>20 != tc.memMiB {
				t.Errorf("request = %dm, %dMi; want %dm, %dMi", cpu, mem>>20, tc.cpu, tc.memMiB)
			}
		})
	}
}

func TestNodeCapacities(t *testing.T) {
	mk := func(name string, unschedulable bool) corev1.Node {
		return corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{LabelZone: "z"}},
			Spec:       corev1.NodeSpec{Unschedulable: unschedulable},
			Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("16Gi"),
			}},
		}
	}
	pod := func(node string, phase corev1.PodPhase, cpu, mem string) corev1.Pod {
		return corev1.Pod{
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem),
			}}}}},
			Status: corev1.PodStatus{Phase: phase},
		}
	}
	got := NodeCapacities(
		[]corev1.Node{mk("n1", false), mk("cordoned", true)},
		[]corev1.Pod{pod("n1", corev1.PodRunning, "1500m", "4Gi"), pod("n1", corev1.PodSucceeded, "2", "8Gi"), pod("", corev1.PodPending, "1", "1Gi")},
	)
	if len(got) != 1 || got[0].Name != "n1" {
		t.Fatalf("capacities = %+v, want only n1", got)
	}
	if cpu, mem := got[0].Free.Cpu().MilliValue(), got[0].Free.Memory().Value(); cpu != 2500 || mem != 12<<30 {
		t.Errorf("n1 free = %dm, %d bytes; want 2500m, 12Gi", cpu, mem)
	}
}

func TestZoneInputFor(t *testing.T) {
	nodes := []corev1.Node{
		{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{LabelZone: "zone-b"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "n2", Labels: map[string]string{LabelZone: "zone-a"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "n3", Labels: map[string]string{LabelZone: "zone-b"}}},
	}
	app := func(zone string, state v1alpha1.ApplicationState) v1alpha1.SparkApplication {
		a := v1alpha1.SparkApplication{}
		a.Status.Zone, a.Status.State = zone, state
		return a
	}
	apps := []v1alpha1.SparkApplication{app("zone-a", v1alpha1.StateRunning), app("zone-a", v1alpha1.StateSucceeded), app("zone-b", v1alpha1.StatePending), app("", v1alpha1.StateNew)}
	in := ZoneInputFor("", nodes, nil, apps, true)
	if !cmpEqual(in.Zones, []string{"zone-a", "zone-b"}) || in.ApplicationsPerZone["zone-a"] != 1 || in.ApplicationsPerZone["zone-b"] != 1 || in.Nodes != nil {
		t.Errorf("on demand: %+v", in)
	}
	in = ZoneInputFor("zone-b", nodes, nil, apps, false)
	if in.Chosen != "zone-b" || len(in.Nodes) != 3 || in.Zones != nil {
		t.Errorf("from capacity: %+v", in)
	}
}

func cmpEqual(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }
