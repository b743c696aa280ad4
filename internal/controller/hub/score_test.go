package hub

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/profile"
)

func TestScore(t *testing.T) {
	q := func(s string) *resource.Quantity { v := resource.MustParse(s); return &v }
	healthy := func(name string, pending int32, oldest int64, weight int32) Candidate {
		return Candidate{Name: name, State: v1alpha1.MemberHealthy, Weight: weight, Labels: map[string]string{"env": "prod"},
			Capacity: v1alpha1.MemberCapacity{PendingDrivers: pending, OldestPendingDriverSeconds: oldest}}
	}
	demand := Demand{Driver: Resources{MilliCPU: 1000, Memory: 1 << 30}, Executors: Resources{MilliCPU: 2000, Memory: 2 << 30},
		DriverCapacityType: "on-demand", ExecutorTiers: []TierRef{{"spot", "arm64"}, {"spot", "amd64"}, {"on-demand", "arm64"}, {"on-demand", "amd64"}}}
	cases := map[string]struct {
		selector   labels.Selector
		candidates []Candidate
		exclude    string
		want       string
		wantOrder  []string
	}{
		"fewest pending drivers first": {
			candidates: []Candidate{healthy("a", 5, 1, 100), healthy("b", 2, 90, 100)},
			want:       "b", wantOrder: []string{"b", "a"},
		},
		"in-flight placements count as pending": {
			candidates: []Candidate{func() Candidate { c := healthy("a", 0, 0, 100); c.InFlight = 3; return c }(), healthy("b", 1, 0, 100)},
			want:       "b", wantOrder: []string{"b", "a"},
		},
		"then the younger oldest pending driver": {
			candidates: []Candidate{healthy("a", 2, 60, 100), healthy("b", 2, 5, 100)},
			want:       "b", wantOrder: []string{"b", "a"},
		},
		"then weight": {
			candidates: []Candidate{healthy("a", 0, 0, 10), healthy("b", 0, 0, 200)},
			want:       "b", wantOrder: []string{"b", "a"},
		},
		"ties by name": {
			candidates: []Candidate{healthy("b", 0, 0, 100), healthy("a", 0, 0, 100)},
			want:       "a", wantOrder: []string{"a", "b"},
		},
		"draining, unreachable and lost members are refused": {
			candidates: []Candidate{
				{Name: "d", State: v1alpha1.MemberDraining}, {Name: "u", State: v1alpha1.MemberUnreachable},
				{Name: "l", State: v1alpha1.MemberLost}, healthy("z", 50, 50, 1),
			},
			want: "z", wantOrder: []string{"z", "d", "l", "u"},
		},
		"the selector restricts": {
			selector:   labels.SelectorFromSet(labels.Set{"env": "test"}),
			candidates: []Candidate{healthy("a", 0, 0, 100), func() Candidate { c := healthy("b", 9, 9, 1); c.Labels = map[string]string{"env": "test"}; return c }()},
			want:       "b", wantOrder: []string{"b", "a"},
		},
		"the member being left is excluded": {
			candidates: []Candidate{healthy("a", 0, 0, 100), healthy("b", 9, 9, 1)},
			exclude:    "a", want: "b", wantOrder: []string{"b", "a"},
		},
		"not enough free capacity": {
			candidates: []Candidate{
				func() Candidate {
					c := healthy("small", 0, 0, 100)
					c.Capacity.Tiers = []v1alpha1.TierCapacity{{Name: "spot/arm64", CPU: q("2"), Memory: q("64Gi")}}
					return c
				}(),
				func() Candidate {
					c := healthy("big", 3, 0, 100)
					c.Capacity.Tiers = []v1alpha1.TierCapacity{{Name: "spot/arm64", CPU: q("2"), Memory: q("64Gi")}, {Name: "on-demand/amd64", CPU: q("2"), Memory: q("64Gi")}}
					return c
				}(),
			},
			want: "big", wantOrder: []string{"big", "small"},
		},
		"an unlimited tier holds anything": {
			candidates: []Candidate{func() Candidate {
				c := healthy("a", 0, 0, 100)
				c.Capacity.Tiers = []v1alpha1.TierCapacity{{Name: "spot/arm64", CPU: q("1")}, {Name: "on-demand/amd64"}}
				return c
			}()},
			want: "a", wantOrder: []string{"a"},
		},
		"none eligible": {
			candidates: []Candidate{{Name: "a", State: v1alpha1.MemberLost}},
			want:       "", wantOrder: []string{"a"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, scores := Score(tc.selector, demand, tc.candidates, tc.exclude)
			if got != tc.want {
				t.Errorf("chose %q, want %q (scores %+v)", got, tc.want, scores)
			}
			var order []string
			for _, s := range scores {
				order = append(order, s.Cluster)
				if !s.Eligible && s.Reason == "" {
					t.Errorf("%s refused without a reason", s.Cluster)
				}
			}
			if diff := cmp.Diff(tc.wantOrder, order); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTiersOf(t *testing.T) {
	pool := func(name, capacityType, arch string, limits, used corev1.ResourceList) karpv1.NodePool {
		p := karpv1.NodePool{}
		p.Name = name
		p.Spec.Template.Spec.Requirements = []karpv1.NodeSelectorRequirementWithMinValues{
			{NodeSelectorRequirement: corev1.NodeSelectorRequirement{Key: karpv1.CapacityTypeLabelKey, Operator: corev1.NodeSelectorOpIn, Values: []string{capacityType}}},
			{NodeSelectorRequirement: corev1.NodeSelectorRequirement{Key: corev1.LabelArchStable, Operator: corev1.NodeSelectorOpIn, Values: []string{arch}}},
		}
		p.Spec.Limits = karpv1.Limits(limits)
		p.Status.Resources = used
		return p
	}
	rl := func(cpu, mem string) corev1.ResourceList {
		return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}
	}
	tiers := tiersOf([]karpv1.NodePool{
		pool("spot-a", "spot", "arm64", rl("100", "400Gi"), rl("30", "100Gi")),
		pool("spot-b", "spot", "arm64", rl("10", "40Gi"), rl("20", "10Gi")), // over its limit: counts 0 CPU
		pool("od", "on-demand", "amd64", corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8")}, rl("2", "8Gi")),
	})
	got := map[string]string{}
	for _, tier := range tiers {
		mem := "unlimited"
		if tier.Memory != nil {
			mem = tier.Memory.String()
		}
		got[tier.Name] = tier.CPU.String() + " " + mem
	}
	want := map[string]string{"spot/arm64": "70 330Gi", "on-demand/amd64": "6 unlimited"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("free per tier (-want +got):\n%s", diff)
	}
}

// TestFits: the driver needs one tier of its capacity type with room for
// it; the executors, after it, room in the profile's tiers together.
func TestFits(t *testing.T) {
	q := func(s string) *resource.Quantity { v := resource.MustParse(s); return &v }
	tier := func(name, cpu, memory string) v1alpha1.TierCapacity {
		tc := v1alpha1.TierCapacity{Name: name}
		if cpu != "" {
			tc.CPU = q(cpu)
		}
		if memory != "" {
			tc.Memory = q(memory)
		}
		return tc
	}
	costOptimized := []TierRef{{"spot", "arm64"}, {"spot", "amd64"}, {"on-demand", "arm64"}, {"on-demand", "amd64"}}
	onDemand := []TierRef{{"on-demand", "arm64"}, {"on-demand", "amd64"}}
	demand := func(tiers []TierRef) Demand {
		return Demand{Driver: Resources{MilliCPU: 1000, Memory: 2 << 30}, Executors: Resources{MilliCPU: 8000, Memory: 16 << 30},
			DriverCapacityType: "on-demand", ExecutorTiers: tiers}
	}
	cases := map[string]struct {
		demand Demand
		tiers  []v1alpha1.TierCapacity
		want   string // "" fits; else a part of the reason
	}{
		"no tiers reported: not limited": {demand: demand(onDemand)},
		"spot room serves a spot-first profile": {
			demand: demand(costOptimized),
			tiers:  []v1alpha1.TierCapacity{tier("spot/arm64", "64", "256Gi"), tier("on-demand/amd64", "2", "8Gi")},
		},
		"the same room is not the on-demand profile's": {
			demand: demand(onDemand),
			tiers:  []v1alpha1.TierCapacity{tier("spot/arm64", "64", "256Gi"), tier("on-demand/amd64", "2", "8Gi")},
			want:   "1000m CPU free in the profile's tiers (on-demand/amd64), 8000m needed by the executors",
		},
		"the executors add up over the profile's tiers, after the driver": {
			demand: demand(onDemand),
			tiers:  []v1alpha1.TierCapacity{tier("on-demand/arm64", "5", "64Gi"), tier("on-demand/amd64", "4", "64Gi")},
		},
		"one CPU short once the driver took its share": {
			demand: demand(onDemand),
			tiers:  []v1alpha1.TierCapacity{tier("on-demand/arm64", "4", "64Gi"), tier("on-demand/amd64", "4", "64Gi")},
			want:   "7000m CPU free",
		},
		"the driver needs its capacity type": {
			demand: demand(costOptimized),
			tiers:  []v1alpha1.TierCapacity{tier("spot/arm64", "64", "256Gi"), tier("on-demand/amd64", "0", "8Gi")},
			want:   "no on-demand tier has 1000m CPU and 2048Mi memory free for the driver",
		},
		"memory counts too": {
			demand: demand(costOptimized),
			tiers:  []v1alpha1.TierCapacity{tier("spot/arm64", "64", "4Gi"), tier("on-demand/amd64", "8", "4Gi")},
			want:   "memory free in the profile's tiers",
		},
		"an unlimited tier of the profile holds anything": {
			demand: demand(onDemand),
			tiers:  []v1alpha1.TierCapacity{tier("on-demand/amd64", "", "")},
		},
		"an unlimited tier outside the profile does not": {
			demand: demand(onDemand),
			tiers:  []v1alpha1.TierCapacity{tier("spot/amd64", "", ""), tier("on-demand/amd64", "2", "8Gi")},
			want:   "needed by the executors",
		},
		"multi-value and any tiers match": {
			demand: demand(onDemand),
			tiers:  []v1alpha1.TierCapacity{tier("on-demand/amd64+arm64", "20", "64Gi"), tier("any/any", "", "")},
		},
		"no tier of the profile at all": {
			demand: demand(onDemand),
			tiers:  []v1alpha1.TierCapacity{tier("spot/arm64", "64", "256Gi"), tier("on-demand/amd64", "1", "2Gi")},
			want:   "needed by the executors",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := fits(tc.demand, tc.tiers)
			switch {
			case tc.want == "" && got != "":
				t.Errorf("refused (%s), want it to fit", got)
			case tc.want != "" && !strings.Contains(got, tc.want):
				t.Errorf("reason %q, want one containing %q", got, tc.want)
			}
		})
	}
}

func TestDemandOf(t *testing.T) {
	app := &v1alpha1.SparkApplication{
		ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "ns", UID: "uid"},
		Spec: v1alpha1.SparkApplicationSpec{
			Type: v1alpha1.SparkApplicationTypeScala, SparkVersion: "3.5.3", Image: ptr.To("spark"),
			MainClass: ptr.To("Main"), MainApplicationFile: ptr.To("local:///app.jar"),
			Driver:   v1alpha1.DriverSpec{SparkPodSpec: v1alpha1.SparkPodSpec{Cores: ptr.To[int32](1), Memory: ptr.To[v1alpha1.MemorySize]("1g")}},
			Executor: v1alpha1.ExecutorSpec{SparkPodSpec: v1alpha1.SparkPodSpec{Cores: ptr.To[int32](2), Memory: ptr.To[v1alpha1.MemorySize]("2g")}, Instances: ptr.To[int32](3)},
		},
	}
	custom := v1alpha1.SparkProfile{ObjectMeta: metav1.ObjectMeta{Name: "custom"}, Spec: v1alpha1.SparkProfileSpec{
		Executor: &v1alpha1.ExecutorPolicy{Tiers: []v1alpha1.PlacementTier{{Name: "x86-spot", Architecture: "amd64", CapacityType: "spot"}}},
		Driver:   &v1alpha1.DriverPolicy{CapacityType: "spot"},
	}}
	// 1 core, (1g + 384m); 3×2 cores, 3×(2g + 384m) (JVM overhead floor).
	sizes := Demand{Driver: Resources{MilliCPU: 1000, Memory: (1024 + 384) << 20}, Executors: Resources{MilliCPU: 6000, Memory: 3 * (2048 + 384) << 20}}
	withTiers := func(driver string, tiers ...TierRef) Demand {
		d := sizes
		d.DriverCapacityType, d.ExecutorTiers = driver, tiers
		return d
	}
	costOptimized := withTiers("on-demand", TierRef{"spot", "arm64"}, TierRef{"spot", "amd64"}, TierRef{"on-demand", "arm64"}, TierRef{"on-demand", "amd64"})
	cases := map[string]struct {
		profile  string
		profiles []v1alpha1.SparkProfile
		want     Demand
	}{
		"no profile: the built-in cluster default (cost-optimized)": {want: costOptimized},
		"a built-in profile the hub does not hold":                  {profile: profile.OnDemand, want: withTiers("on-demand", TierRef{"on-demand", "arm64"}, TierRef{"on-demand", "amd64"})},
		"a profile on the hub":                                      {profile: "custom", profiles: []v1alpha1.SparkProfile{custom}, want: withTiers("spot", TierRef{"spot", "amd64"})},
		"a profile only the members know: any tier":                 {profile: "elsewhere", want: sizes},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			app := app.DeepCopy()
			app.Spec.Profile = tc.profile
			got, err := demandOf(app, tc.profiles)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("demand (-want +got):\n%s", diff)
			}
		})
	}
	app.Spec.MainClass = nil
	if _, err := demandOf(app, nil); err == nil {
		t.Error("an application that does not build has a demand; want the build error")
	}
}
