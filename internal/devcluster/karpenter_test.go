package devcluster

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/sparkplane/sparkplane/internal/toolchain"
)

func TestKarpenterObjectsGolden(t *testing.T) {
	objects, err := KarpenterObjects(Zones(2), ArmSpotCPULimit)
	if err != nil {
		t.Fatal(err)
	}
	out, err := marshalObjects(objects)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/karpenter-2-zones.yaml", out)
}

func TestKarpenterObjects(t *testing.T) {
	objects, err := KarpenterObjects(Zones(3), 48)
	if err != nil {
		t.Fatal(err)
	}
	weights := map[string]int64{}
	var nodeClasses int
	for _, obj := range objects {
		switch obj.GetKind() {
		case "KWOKNodeClass":
			nodeClasses++
		case "StorageClass":
			// The class the built-in profiles' shuffle claims name, served
			// by dev up's volume provisioner.
			if p, _, _ := unstructured.NestedString(obj.Object, "provisioner"); obj.GetName() != "sparkplane-shuffle" || p != VolumeProvisioner {
				t.Errorf("StorageClass %s provisioned by %q, want sparkplane-shuffle by %q", obj.GetName(), p, VolumeProvisioner)
			}
		case "PriorityClass":
		case "NodePool":
			w, _, _ := unstructured.NestedInt64(obj.Object, "spec", "weight")
			weights[obj.GetName()] = w
			reqs, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "requirements")
			for _, r := range reqs {
				req := r.(map[string]any)
				if req["key"] != "topology.kubernetes.io/zone" {
					continue
				}
				want := 3
				if obj.GetName() == NodePoolDriver {
					want = 1 // drivers run in a single zone
				}
				if len(req["values"].([]any)) != want {
					t.Errorf("%s zones = %v, want %d", obj.GetName(), req["values"], want)
				}
			}
		default:
			t.Errorf("unexpected %s", obj.GetKind())
		}
	}
	if nodeClasses != 1 {
		t.Errorf("%d KWOKNodeClasses, want 1", nodeClasses)
	}
	var order []string
	for name, w := range weights {
		if name != NodePoolDriver && name != NodePoolSystem {
			order = append(order, name)
			if w == 0 {
				t.Errorf("%s has no weight", name)
			}
		}
	}
	sort.Slice(order, func(i, j int) bool { return weights[order[i]] > weights[order[j]] })
	want := []string{NodePoolArm64Spot, NodePoolAmd64Spot, NodePoolArm64OnDemand, NodePoolAmd64OnDemand}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("NodePools by weight (-want +got):\n%s", diff)
	}
	for _, obj := range objects {
		limit, found, _ := unstructured.NestedString(obj.Object, "spec", "limits", "cpu")
		if obj.GetName() == NodePoolArm64Spot && limit != "48" {
			t.Errorf("arm64-spot limits.cpu = %q, want 48", limit)
		}
		if obj.GetKind() == "NodePool" && !found {
			t.Errorf("%s has no CPU limit", obj.GetName())
		}
		if obj.GetName() == NodePoolDriver {
			taints, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "taints")
			if len(taints) != 1 || taints[0].(map[string]any)["key"] != DriverTaintKey {
				t.Errorf("driver pool taints = %v", taints)
			}
		}
	}
}

func TestKarpenterObjectsErrors(t *testing.T) {
	if _, err := KarpenterObjects(nil, 32); err == nil || !strings.Contains(err.Error(), "zones") {
		t.Errorf("no zones: error = %v", err)
	}
	if _, err := KarpenterObjects(Zones(1), 0); err == nil || !strings.Contains(err.Error(), "CPU limit") {
		t.Errorf("zero limit: error = %v", err)
	}
}

func TestKarpenterCRDs(t *testing.T) {
	crds, err := KarpenterCRDs()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, crd := range crds {
		names = append(names, crd.Name)
	}
	sort.Strings(names)
	want := []string{"kwoknodeclasses.karpenter.kwok.sh", "nodeclaims.karpenter.sh", "nodeoverlays.karpenter.sh", "nodepools.karpenter.sh"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("CRDs (-want +got):\n%s", diff)
	}
}

// TestCRDsMatchKarpenterModule keeps the embedded CRDs equal to those of the
// Karpenter version tools/karpenter-kwok pins (toolchain.KarpenterVersion);
// -update copies them from the Go module cache.
func TestCRDsMatchKarpenterModule(t *testing.T) {
	module := "sigs.k8s.io/karpenter@" + toolchain.KarpenterVersion
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Dir = filepath.Join("..", "..", "tools", "karpenter-kwok")
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("cannot locate %s in the module cache (%v); the embedded CRDs are not compared", module, err)
	}
	var info struct{ Dir string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		t.Fatalf("go mod download -json %s: %v %s", module, err, out)
	}
	for _, src := range []string{"pkg/apis/crds", "kwok/apis/crds"} {
		files, err := filepath.Glob(filepath.Join(info.Dir, src, "*.yaml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no CRDs in %s/%s: %v", info.Dir, src, err)
		}
		for _, file := range files {
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			embedded := filepath.Join("crds", filepath.Base(file))
			if *update {
				if err := os.WriteFile(embedded, want, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(embedded)
			if err != nil {
				t.Errorf("%s is not embedded: %v (go test -update copies it)", filepath.Base(file), err)
				continue
			}
			if string(got) != string(want) {
				t.Errorf("embedded %s differs from %s's (go test -update copies it)", embedded, module)
			}
		}
	}
}
