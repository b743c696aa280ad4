package install

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/submit"
	"github.com/sparkplane/sparkplane/internal/toolchain"
)

var update = flag.Bool("update", false, "rewrite config/ from Objects")

// configRoot is the repository's config/ folder.
const configRoot = "../../config"

const generatedHeader = "# Generated from internal/install by `go test ./internal/install -update`; do not edit.\n"

// configFiles renders config/ from Objects: the kustomize tree that
// `kubectl apply -k config/default` installs. CRDs are the embedded
// controller-gen output, byte for byte.
func configFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	manifests, err := v1alpha1.CRDManifests()
	if err != nil {
		t.Fatal(err)
	}
	var crdNames []string
	for name, data := range manifests {
		files["crd/bases/"+name] = data
		crdNames = append(crdNames, "bases/"+name)
	}
	sort.Strings(crdNames)
	files["crd/kustomization.yaml"] = kustomization(crdNames)

	objs, err := Objects(Options{})
	if err != nil {
		t.Fatal(err)
	}
	folders := map[string][]string{}
	for _, obj := range objs {
		folder, file := configPlace(obj)
		if folder == "" {
			continue // a CRD, written above
		}
		data := files[folder+"/"+file]
		if len(data) == 0 {
			data = []byte(generatedHeader)
			folders[folder] = append(folders[folder], file)
		} else {
			data = append(data, "---\n"...)
		}
		files[folder+"/"+file] = append(data, mustYAML(t, obj)...)
	}
	for folder, names := range folders {
		files[folder+"/kustomization.yaml"] = kustomization(names)
	}
	files["default/kustomization.yaml"] = kustomization([]string{"../crd", "../manager", "../policy", "../profiles", "../rbac"})
	return files
}

// configPlace says where an object lives in config/: kubebuilder's layout.
func configPlace(obj client.Object) (folder, file string) {
	kind := obj.GetObjectKind().GroupVersionKind().Kind
	switch kind {
	case "CustomResourceDefinition":
		return "", ""
	case "Namespace":
		return "manager", "namespace.yaml"
	case "Deployment":
		return "manager", "manager.yaml"
	case "SparkProfile":
		return "profiles", obj.GetName() + ".yaml"
	case "PriorityClass":
		return "profiles", "priorityclass_" + strings.TrimPrefix(obj.GetName(), "sparkplane-") + ".yaml"
	case "Service":
		return "manager", "service_metrics.yaml"
	case "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding":
		return "policy", strings.ToLower(kind) + "_" + strings.TrimPrefix(obj.GetName(), "sparkplane-") + ".yaml"
	}
	return "rbac", strings.ToLower(kind) + "_" + strings.TrimPrefix(obj.GetName(), "sparkplane-") + ".yaml"
}

func kustomization(resources []string) []byte {
	sort.Strings(resources)
	var b strings.Builder
	b.WriteString(generatedHeader)
	b.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n")
	for _, r := range resources {
		fmt.Fprintf(&b, "- %s\n", r)
	}
	return []byte(b.String())
}

func mustYAML(t *testing.T, obj client.Object) []byte {
	t.Helper()
	u, err := ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	data, err := yaml.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestConfigIsUpToDate fails when config/ differs from what Objects renders;
// `go test ./internal/install -run TestConfigIsUpToDate -update` rewrites it.
func TestConfigIsUpToDate(t *testing.T) {
	want := configFiles(t)
	if *update {
		for name, data := range want {
			path := filepath.Join(configRoot, name)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := map[string][]byte{}
	err := filepath.WalkDir(configRoot, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(configRoot, path)
		if strings.HasPrefix(rel, "samples/") {
			return nil // examples for people, not installed
		}
		data, err := os.ReadFile(path)
		got[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("config/%s is not rendered from internal/install: delete it, or run go test ./internal/install -update", name)
		}
	}
	for name, data := range want {
		if diff := cmp.Diff(string(data), string(got[name])); diff != "" {
			t.Errorf("config/%s is stale; run go test ./internal/install -update (-want +got):\n%s", name, diff)
		}
	}
}

// TestKustomizeInstallsTheSame renders config/default with the pinned kubectl
// and checks it yields exactly what `sparkplane install` applies.
func TestKustomizeInstallsTheSame(t *testing.T) {
	rendered := decodeObjects(t, kustomizeDefault(t))
	objs, err := Objects(Options{})
	if err != nil {
		t.Fatal(err)
	}
	installed := map[string]any{}
	for _, obj := range objs {
		u, err := ToUnstructured(obj)
		if err != nil {
			t.Fatal(err)
		}
		installed[objectKey(u.Object)] = normalize(t, u.Object)
	}
	if len(installed) < 10 {
		t.Fatalf("Objects returned %d objects; expected CRDs, namespace, RBAC and Deployment", len(installed))
	}
	if diff := cmp.Diff(installed, rendered); diff != "" {
		t.Errorf("kubectl kustomize config/default differs from sparkplane install (-install +kustomize):\n%s", diff)
	}
}

// kustomizeDefault renders config/default with the pinned kubectl.
func kustomizeDefault(t *testing.T) string {
	t.Helper()
	kubectl, err := toolchain.Kubectl.Path()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(kubectl, "kustomize", filepath.Join(configRoot, "default"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl kustomize config/default: %v\n%s", err, stderr.String())
	}
	return string(out)
}

func objectKey(doc map[string]any) string {
	meta, _ := doc["metadata"].(map[string]any)
	return fmt.Sprintf("%v %v %v/%v", doc["apiVersion"], doc["kind"], meta["namespace"], meta["name"])
}

// normalize round-trips through JSON so numbers and empty values compare
// alike whichever side they came from.
func normalize(t *testing.T, doc map[string]any) any {
	t.Helper()
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestJobNamespacesObjects: --job-namespaces adds the driver's
// ServiceAccount, Role and RoleBinding per namespace, and refuses a name
// that is no namespace name.
func TestJobNamespacesObjects(t *testing.T) {
	base, err := Objects(Options{})
	if err != nil {
		t.Fatal(err)
	}
	with, err := Objects(Options{JobNamespaces: []string{"team-a", "team-b"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(with)-len(base) != 6 {
		t.Errorf("%d objects more for two job namespaces, want 6", len(with)-len(base))
	}
	seen := map[string]bool{}
	for _, obj := range with {
		if obj.GetName() == submit.DriverServiceAccount {
			seen[obj.GetNamespace()+"/"+obj.GetObjectKind().GroupVersionKind().Kind] = true
		}
	}
	for _, ns := range []string{"team-a", "team-b"} {
		for _, kind := range []string{"ServiceAccount", "Role", "RoleBinding"} {
			if !seen[ns+"/"+kind] {
				t.Errorf("no %s %s/%s", kind, ns, submit.DriverServiceAccount)
			}
		}
	}
	if _, err := Objects(Options{JobNamespaces: []string{"Team_A"}}); err == nil || !strings.Contains(err.Error(), `"Team_A"`) {
		t.Errorf("got %v, want an error naming Team_A", err)
	}
}
