package demo

import (
	"testing"

	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	"github.com/google/go-cmp/cmp"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

func TestMixSeeded(t *testing.T) {
	a, b := Mix(12, 7), Mix(12, 7)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("Mix(12, 7) differs between calls:\n%s", diff)
	}
	if diff := cmp.Diff(a, Mix(12, 8)); diff == "" {
		t.Error("Mix(12, 7) and Mix(12, 8) are the same: the seed is not used")
	}
	seen := map[string]bool{}
	kinds := map[string]int{}
	for _, s := range a {
		if seen[s.Name] {
			t.Errorf("name %s twice", s.Name)
		}
		seen[s.Name] = true
		kinds[s.Size]++
		kinds[string(s.Type)]++
	}
	for _, k := range []string{SizeSmall, SizeLarge, string(v1alpha1.SparkApplicationTypeScala), string(v1alpha1.SparkApplicationTypePython)} {
		if kinds[k] == 0 {
			t.Errorf("Mix(12, 7) has no %s application: %v", k, kinds)
		}
	}
	if diff := cmp.Diff(a[:4], Mix(4, 7)); diff != "" {
		t.Errorf("the first 4 of 12 differ from Mix(4, 7): a smaller demo should run a prefix of the bigger one\n%s", diff)
	}
}

func TestApplication(t *testing.T) {
	for _, spec := range Mix(6, 1) {
		app := Application(spec, "ns", "cost-optimized")
		if app.Spec.Profile != "cost-optimized" || app.Namespace != "ns" || app.Name != spec.Name {
			t.Errorf("%s: profile %q namespace %q name %q", spec.Name, app.Spec.Profile, app.Namespace, app.Name)
		}
		isPython := app.Spec.Type == v1alpha1.SparkApplicationTypePython
		if isPython == (app.Spec.MainClass != nil) {
			t.Errorf("%s: type %s with mainClass %v (CRD rule: only JVM applications have one)", spec.Name, app.Spec.Type, app.Spec.MainClass)
		}
		da := app.Spec.DynamicAllocation
		if *da.MinExecutors != spec.Executors || *da.MaxExecutors != spec.Executors {
			t.Errorf("%s: dynamic allocation %d..%d, want pinned to %d", spec.Name, *da.MinExecutors, *da.MaxExecutors, spec.Executors)
		}
		if app.Spec.SparkConf["spark.sparkplane.emulator.seed"] == "" {
			t.Errorf("%s: no workload seed", spec.Name)
		}
	}
}

func TestBaselineProfile(t *testing.T) {
	p := BaselineProfile()
	if got := p.Spec.Executor.Architectures; !cmp.Equal(got, []string{"amd64"}) {
		t.Errorf("architectures %v, want [amd64] (required for drivers and executors)", got)
	}
	tiers := p.Spec.Executor.Tiers
	if len(tiers) != 1 || tiers[0].Architecture != "amd64" || tiers[0].CapacityType != karpv1.CapacityTypeOnDemand {
		t.Errorf("tiers %+v, want only amd64 on-demand", tiers)
	}
	if p.Labels[v1alpha1.ClusterDefaultProfileLabel] != "" {
		t.Error("the baseline must not be the cluster default")
	}
}
