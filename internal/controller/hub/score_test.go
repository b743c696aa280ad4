package hub

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

func TestScore(t *testing.T) {
	q := func(s string) *resource.Quantity { v := resource.MustParse(s); return &v }
	healthy := func(name string, pending int32, oldest int64, weight int32) Candidate {
		return Candidate{Name: name, State: v1alpha1.MemberHealthy, Weight: weight, Labels: map[string]string{"env": "prod"},
			Capacity: v1alpha1.MemberCapacity{PendingDrivers: pending, OldestPendingDriverSeconds: oldest}}
	}
	demand := Demand{MilliCPU: 3000, Memory: 3 << 30}
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
	got, err := demandOf(app)
	if err != nil {
		t.Fatal(err)
	}
	// 1 + 3×2 cores; (1g + 384m) + 3×(2g + 384m) memory (JVM overhead floor).
	want := Demand{MilliCPU: 7000, Memory: (1024 + 384 + 3*(2048+384)) << 20}
	if got != want {
		t.Errorf("demand %+v, want %+v", got, want)
	}
	app.Spec.MainClass = nil
	if _, err := demandOf(app); err == nil {
		t.Error("an application that does not build has a demand; want the build error")
	}
}
