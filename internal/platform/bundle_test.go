package platform

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

func render(t *testing.T, provider Provider) *Bundle {
	t.Helper()
	b, err := Render(DefaultConfig(provider))
	if err != nil {
		t.Fatalf("Render(DefaultConfig(%s)): %v", provider, err)
	}
	return b
}

// TestGolden pins every file of both default bundles; go test -update rewrites them.
func TestGolden(t *testing.T) {
	for _, provider := range Providers {
		t.Run(string(provider), func(t *testing.T) {
			outputs, err := render(t, provider).Outputs()
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join("testdata", "golden", string(provider))
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
			}
			want := map[string]bool{}
			for _, output := range outputs {
				want[output.Name] = true
				path := filepath.Join(dir, filepath.FromSlash(output.Name))
				if *update {
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, output.Data, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				golden, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./internal/platform -run TestGolden -update)", err)
				}
				if diff := cmp.Diff(string(golden), string(output.Data)); diff != "" {
					t.Errorf("%s differs from %s (-golden +rendered); if intended, rerun with -update:\n%s", output.Name, path, diff)
				}
			}
			_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					rel, _ := filepath.Rel(dir, path)
					if !want[filepath.ToSlash(rel)] {
						t.Errorf("stale golden file %s is no longer rendered; rerun with -update", path)
					}
				}
				return nil
			})
		})
	}
}

func nodePoolsOf(t *testing.T, b *Bundle) map[string]*karpv1.NodePool {
	t.Helper()
	pools := map[string]*karpv1.NodePool{}
	for _, obj := range b.File("nodepools.yaml").Objects {
		pools[obj.GetName()] = obj.(*karpv1.NodePool)
	}
	return pools
}

func requirementValues(pool *karpv1.NodePool, key string) (corev1.NodeSelectorOperator, []string) {
	for _, r := range pool.Spec.Template.Spec.Requirements {
		if r.Key == key {
			return r.Operator, r.Values
		}
	}
	return "", nil
}

// TestTierOrder checks the contract the profiles and Karpenter rely on: four
// executor pools with strictly decreasing weights in the cost order, each
// pinned to its architecture and capacity type and capped by its limit.
func TestTierOrder(t *testing.T) {
	for _, provider := range Providers {
		t.Run(string(provider), func(t *testing.T) {
			cfg := DefaultConfig(provider)
			pools := nodePoolsOf(t, render(t, provider))
			order := []struct{ name, arch, capacity string }{
				{"arm64-spot", "arm64", "spot"},
				{"amd64-spot", "amd64", "spot"},
				{"arm64-on-demand", "arm64", "on-demand"},
				{"amd64-on-demand", "amd64", "on-demand"},
			}
			previous := int32(1 << 30)
			for _, tier := range order {
				pool := pools[tier.name]
				if pool == nil {
					t.Fatalf("no NodePool %s", tier.name)
				}
				if pool.Spec.Weight == nil || *pool.Spec.Weight >= previous {
					t.Errorf("%s: weight %v is not below the previous tier's %d", tier.name, pool.Spec.Weight, previous)
				} else {
					previous = *pool.Spec.Weight
				}
				if _, v := requirementValues(pool, "kubernetes.io/arch"); !slices.Equal(v, []string{tier.arch}) {
					t.Errorf("%s: arch %v, want [%s]", tier.name, v, tier.arch)
				}
				if _, v := requirementValues(pool, "karpenter.sh/capacity-type"); !slices.Equal(v, []string{tier.capacity}) {
					t.Errorf("%s: capacity type %v, want [%s]", tier.name, v, tier.capacity)
				}
				if _, v := requirementValues(pool, "topology.kubernetes.io/zone"); !slices.Equal(v, cfg.Zones) {
					t.Errorf("%s: zones %v, want %v", tier.name, v, cfg.Zones)
				}
				if cpu := pool.Spec.Limits[corev1.ResourceCPU]; cpu.IsZero() {
					t.Errorf("%s: no CPU limit, so the fallback to the next tier never happens", tier.name)
				}
				if pool.Spec.Template.Labels[LabelNodeRole] != NodeRoleExecutor {
					t.Errorf("%s: labels %v lack %s=%s", tier.name, pool.Spec.Template.Labels, LabelNodeRole, NodeRoleExecutor)
				}
				if len(pool.Spec.Disruption.Budgets) == 0 {
					t.Errorf("%s: no disruption budgets", tier.name)
				}
			}
			if cpu := pools["arm64-spot"].Spec.Limits[corev1.ResourceCPU]; cpu.Value() != cfg.Executors.CPULimits.Arm64Spot {
				got := cpu.Value()
				t.Errorf("arm64-spot CPU limit %d, want %d from the config", got, cfg.Executors.CPULimits.Arm64Spot)
			}
		})
	}
}

func TestDriverAndSystemPools(t *testing.T) {
	for _, provider := range Providers {
		t.Run(string(provider), func(t *testing.T) {
			cfg := DefaultConfig(provider)
			pools := nodePoolsOf(t, render(t, provider))
			driver := pools["driver"]
			if driver == nil {
				t.Fatal("no driver NodePool")
			}
			if _, v := requirementValues(driver, "karpenter.sh/capacity-type"); !slices.Equal(v, []string{"on-demand"}) {
				t.Errorf("driver capacity types %v, want on-demand only", v)
			}
			if _, v := requirementValues(driver, "topology.kubernetes.io/zone"); !slices.Equal(v, []string{cfg.DriverZone}) {
				t.Errorf("driver zones %v, want the single driver zone %s", v, cfg.DriverZone)
			}
			wantTaint := []corev1.Taint{{Key: "sparkplane.io/driver", Value: "true", Effect: corev1.TaintEffectNoSchedule}}
			if diff := cmp.Diff(wantTaint, driver.Spec.Template.Spec.Taints); diff != "" {
				t.Errorf("driver taints (-want +got):\n%s", diff)
			}
			if driver.Spec.Template.Labels["sparkplane.io/node-role"] != "driver" {
				t.Errorf("driver labels %v", driver.Spec.Template.Labels)
			}
			if driver.Spec.Disruption.ConsolidationPolicy != karpv1.ConsolidationPolicyWhenEmpty {
				t.Errorf("driver consolidation policy %s: a node running a driver must never be consolidated", driver.Spec.Disruption.ConsolidationPolicy)
			}
			if driver.Spec.Template.Spec.ExpireAfter.Duration != nil {
				t.Errorf("driver nodes expire after %v: expiry is forceful and would kill running drivers", driver.Spec.Template.Spec.ExpireAfter.Duration)
			}
			for _, budget := range driver.Spec.Disruption.Budgets {
				if budget.Nodes != "0" && !slices.Equal(budget.Reasons, []karpv1.DisruptionReason{karpv1.DisruptionReasonEmpty}) {
					t.Errorf("driver budget %+v lets Karpenter disrupt non-empty driver nodes", budget)
				}
			}
			system := pools["system"]
			if system == nil {
				t.Fatal("no system NodePool")
			}
			if !slices.ContainsFunc(system.Spec.Template.Spec.Taints, func(taint corev1.Taint) bool {
				return taint.Key == "CriticalAddonsOnly" && taint.Effect == corev1.TaintEffectNoSchedule
			}) {
				t.Errorf("system taints %v lack CriticalAddonsOnly", system.Spec.Template.Spec.Taints)
			}
		})
	}
}

func TestPriorityClasses(t *testing.T) {
	var driver, executor *schedulingv1.PriorityClass
	for _, obj := range render(t, ProviderAWS).File("priorityclasses.yaml").Objects {
		switch pc := obj.(*schedulingv1.PriorityClass); pc.Name {
		case "sparkplane-driver":
			driver = pc
		case "sparkplane-executor":
			executor = pc
		}
	}
	if driver == nil || executor == nil {
		t.Fatalf("want PriorityClasses sparkplane-driver and sparkplane-executor, got %v and %v", driver, executor)
	}
	if driver.Value <= executor.Value {
		t.Errorf("driver priority %d is not above executor priority %d", driver.Value, executor.Value)
	}
	if driver.Value >= 1_000_000_000 {
		t.Errorf("driver priority %d is in the range reserved for system classes", driver.Value)
	}
}

func TestProviderSpecificFiles(t *testing.T) {
	aws := render(t, ProviderAWS)
	kwok := render(t, ProviderKWOK)
	kinds := func(b *Bundle, file string) []string {
		var out []string
		for _, obj := range b.File(file).Objects {
			out = append(out, obj.GetObjectKind().GroupVersionKind().Kind)
		}
		return out
	}
	if got := kinds(aws, "nodeclasses.yaml"); !slices.Equal(got, []string{"EC2NodeClass", "EC2NodeClass"}) {
		t.Errorf("aws node classes %v", got)
	}
	if got := kinds(kwok, "nodeclasses.yaml"); !slices.Equal(got, []string{"KWOKNodeClass"}) {
		t.Errorf("kwok node classes %v", got)
	}
	if aws.File("patches/ebs-csi-controller.yaml") == nil || kwok.File("patches/ebs-csi-controller.yaml") != nil {
		t.Error("the EBS CSI patch belongs to the aws bundle only")
	}
	for _, pool := range nodePoolsOf(t, kwok) {
		if ref := pool.Spec.Template.Spec.NodeClassRef; ref.Kind != "KWOKNodeClass" || ref.Group != "karpenter.kwok.sh" {
			t.Errorf("kwok NodePool %s refers to %+v", pool.Name, ref)
		}
	}
	nvme := DefaultConfig(ProviderAWS)
	nvme.Executors.LocalNVMe = true
	b, err := Render(nvme)
	if err != nil {
		t.Fatal(err)
	}
	for name, pool := range nodePoolsOf(t, b) {
		isExecutor := pool.Spec.Template.Labels[LabelNodeRole] == NodeRoleExecutor
		onNVMe := pool.Spec.Template.Spec.NodeClassRef.Name == NodeClassNVMeRAID0
		if isExecutor != onNVMe {
			t.Errorf("localNVMe: pool %s (executor %v) uses node class %s", name, isExecutor, pool.Spec.Template.Spec.NodeClassRef.Name)
		}
	}
}

// TestKarpenterObjects is what `dev up --karpenter` applies from the kwok bundle.
func TestKarpenterObjects(t *testing.T) {
	var got []string
	for _, obj := range render(t, ProviderKWOK).KarpenterObjects() {
		got = append(got, obj.GetObjectKind().GroupVersionKind().Kind+"/"+obj.GetName())
	}
	want := []string{
		"PriorityClass/sparkplane-driver", "PriorityClass/sparkplane-executor", "KWOKNodeClass/default",
		"NodePool/arm64-spot", "NodePool/amd64-spot", "NodePool/arm64-on-demand", "NodePool/amd64-on-demand",
		"NodePool/driver", "NodePool/system",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("KarpenterObjects (-want +got):\n%s", diff)
	}
}

// TestKustomizationAndDocs: the kustomization lists every non-patch file, and
// both the bundle's README and docs/platform.md explain every file.
func TestKustomizationAndDocs(t *testing.T) {
	docs, err := os.ReadFile(filepath.Join("..", "..", "docs", "platform.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, provider := range Providers {
		b := render(t, provider)
		outputs, err := b.Outputs()
		if err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{}
		for _, o := range outputs {
			files[o.Name] = o.Data
		}
		var k Kustomization
		if err := yaml.UnmarshalStrict(files["kustomization.yaml"], &k); err != nil {
			t.Fatal(err)
		}
		for _, f := range b.Files {
			listed := slices.Contains(k.Resources, f.Name)
			if listed == (f.Patch != nil) {
				t.Errorf("%s: %s listed in kustomization.yaml: %v (patches must not be, everything else must)", provider, f.Name, listed)
			}
			if !strings.Contains(string(files["README.md"]), "`"+f.Name+"`") {
				t.Errorf("%s: README.md does not explain %s", provider, f.Name)
			}
			if !strings.Contains(string(docs), "`"+f.Name+"`") {
				t.Errorf("docs/platform.md does not map %s to its practice", f.Name)
			}
			if f.Patch != nil && !strings.Contains(string(files["README.md"]), f.Patch.Command(f.Name)) {
				t.Errorf("%s: README.md does not say how to apply %s", provider, f.Name)
			}
		}
	}
}

func TestToUnstructured(t *testing.T) {
	for _, obj := range render(t, ProviderKWOK).KarpenterObjects() {
		u, err := ToUnstructured(obj)
		if err != nil {
			t.Fatal(err)
		}
		if u.GetKind() == "" || u.GetName() != obj.GetName() {
			t.Errorf("%T %s: kind %q name %q", obj, obj.GetName(), u.GetKind(), u.GetName())
		}
		if _, found := u.Object["status"]; found {
			t.Errorf("%s %s keeps a status", u.GetKind(), u.GetName())
		}
		if u.GetKind() == "NodePool" && strings.HasSuffix(u.GetName(), "-spot") || strings.HasSuffix(u.GetName(), "-on-demand") {
			weight, found, err := unstructured.NestedInt64(u.Object, "spec", "weight")
			if err != nil || !found || weight <= 0 {
				t.Errorf("NodePool %s: weight %d found %v err %v", u.GetName(), weight, found, err)
			}
		}
	}
}
