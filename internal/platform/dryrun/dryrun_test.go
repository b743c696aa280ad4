package dryrun

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/sparkplane/sparkplane/internal/platform"
	"github.com/sparkplane/sparkplane/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Options{CRDPaths: []string{filepath.Join("..", "testdata", "crds")}}, &env)
}

// toUnstructured goes through the bundle's own YAML, so what is checked is
// exactly what `platform render` writes.
func toUnstructured(t *testing.T, obj client.Object) *unstructured.Unstructured {
	t.Helper()
	data, err := platform.MarshalYAML(obj)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(data, &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

var strict = client.FieldValidation(metav1.FieldValidationStrict)

func bundles(t *testing.T) []*platform.Bundle {
	t.Helper()
	var out []*platform.Bundle
	for _, provider := range platform.Providers {
		cfg := platform.DefaultConfig(provider)
		cfg.Observability.RemoteWriteURL = "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write"
		b, err := platform.Render(cfg)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	nvme := platform.DefaultConfig(platform.ProviderAWS)
	nvme.Executors.LocalNVMe = true
	b, err := platform.Render(nvme)
	if err != nil {
		t.Fatal(err)
	}
	return append(out, b)
}

// TestDryRunEveryObject creates every resource of the aws, kwok and aws+NVMe
// bundles with server-side dry run and strict field validation: an unknown
// field (a mirror's typo), a schema violation or a failing CEL rule fails it.
// Namespaces are created for real, as the namespaced objects need them.
func TestDryRunEveryObject(t *testing.T) {
	ctx := context.Background()
	for _, b := range bundles(t) {
		name := string(b.Config.Provider)
		if b.Config.Executors.LocalNVMe {
			name += "-nvme"
		}
		t.Run(name, func(t *testing.T) {
			checked := 0
			for _, f := range b.Files {
				if f.Patch != nil {
					continue
				}
				for _, obj := range f.Objects {
					u := toUnstructured(t, obj)
					id := f.Name + ": " + u.GetKind() + " " + u.GetNamespace() + "/" + u.GetName()
					if u.GetKind() == "Namespace" {
						if err := env.Client.Create(ctx, u, strict); err != nil && !apierrors.IsAlreadyExists(err) {
							t.Errorf("%s: %v", id, err)
						}
						checked++
						continue
					}
					if err := env.Client.Create(ctx, u, client.DryRunAll, strict); err != nil {
						t.Errorf("%s: %v", id, err)
					}
					checked++
				}
			}
			if want := len(b.Resources()); checked != want || checked < 30 {
				t.Errorf("checked %d objects, the bundle has %d", checked, want)
			}
			t.Logf("%d objects passed the server-side dry run", checked)
		})
	}
}

// TestDryRunRejectsBadObjects shows the dry run has teeth: the same path
// rejects a NodePool weight above Karpenter's maximum and a field the
// EC2NodeClass schema does not have.
func TestDryRunRejectsBadObjects(t *testing.T) {
	ctx := context.Background()
	b := bundles(t)[0]
	pool := toUnstructured(t, b.File("nodepools.yaml").Objects[0])
	if err := unstructured.SetNestedField(pool.Object, int64(1000), "spec", "weight"); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx, pool, client.DryRunAll, strict); err == nil || !strings.Contains(err.Error(), "weight") {
		t.Errorf("NodePool with weight 1000: error %v, want one about spec.weight", err)
	}
	class := toUnstructured(t, b.File("nodeclasses.yaml").Objects[0])
	if err := unstructured.SetNestedField(class.Object, "x", "spec", "amiSelector"); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx, class, client.DryRunAll, strict); err == nil || !strings.Contains(err.Error(), "amiSelector") {
		t.Errorf("EC2NodeClass with an unknown field: error %v, want one naming it", err)
	}
}

func container(name string) corev1.Container {
	return corev1.Container{Name: name, Image: "example.invalid/" + name, Args: []string{"--v=2"}}
}

func deployment(name string, containers ...corev1.Container) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: name},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: containers}},
		},
	}
}

// TestDryRunPatches applies each patch file with a strategic-merge dry run to
// a stand-in of its target (shaped like the EKS add-on's) and checks the
// result carries the tuning.
func TestDryRunPatches(t *testing.T) {
	ctx := context.Background()
	targets := []client.Object{
		deployment("ebs-csi-controller", container("ebs-plugin"), container("csi-provisioner"), container("csi-attacher"), container("liveness-probe")),
		deployment("coredns", container("coredns")),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "coredns"}, Data: map[string]string{"Corefile": ".:53 {\n    cache 30\n}\n"}},
	}
	for _, target := range targets {
		if err := env.Client.Create(ctx, target); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	b := bundles(t)[0]
	patched := 0
	for _, f := range b.Files {
		if f.Patch == nil {
			continue
		}
		patched++
		u := toUnstructured(t, f.Objects[0])
		patch, err := json.Marshal(u.Object)
		if err != nil {
			t.Fatal(err)
		}
		result := &unstructured.Unstructured{}
		result.SetAPIVersion(u.GetAPIVersion())
		result.SetKind(u.GetKind())
		result.SetNamespace(f.Patch.Namespace)
		result.SetName(f.Patch.Name)
		if err := env.Client.Patch(ctx, result, client.RawPatch(types.StrategicMergePatchType, patch), client.DryRunAll, strict); err != nil {
			t.Errorf("%s: %v", f.Name, err)
			continue
		}
		switch f.Name {
		case "patches/ebs-csi-controller.yaml":
			var d appsv1.Deployment
			fromUnstructured(t, result, &d)
			names := []string{}
			for _, c := range d.Spec.Template.Spec.Containers {
				names = append(names, c.Name)
				if c.Name == "csi-attacher" || c.Name == "csi-provisioner" {
					for _, flag := range []string{"--kube-api-qps=100", "--kube-api-burst=200", "--worker-threads=100"} {
						if !slices.Contains(c.Args, flag) {
							t.Errorf("%s: %s args %v lack %s", f.Name, c.Name, c.Args, flag)
						}
					}
				}
			}
			slices.Sort(names)
			if !slices.Equal(names, []string{"csi-attacher", "csi-provisioner", "ebs-plugin", "liveness-probe"}) {
				t.Errorf("%s: containers after the patch %v: the patch must merge by name, not replace the list", f.Name, names)
			}
		case "patches/coredns-configmap.yaml":
			corefile, _, _ := unstructured.NestedString(result.Object, "data", "Corefile")
			if !strings.Contains(corefile, "cache 300") {
				t.Errorf("%s: Corefile after the patch:\n%s", f.Name, corefile)
			}
		case "patches/coredns-deployment.yaml":
			var d appsv1.Deployment
			fromUnstructured(t, result, &d)
			if len(d.Spec.Template.Spec.Tolerations) == 0 || d.Spec.Template.Spec.Containers[0].Image == "" {
				t.Errorf("%s: tolerations %v, image %q after the patch", f.Name, d.Spec.Template.Spec.Tolerations, d.Spec.Template.Spec.Containers[0].Image)
			}
		}
	}
	if patched != 3 {
		t.Errorf("the aws bundle has %d patch files, want 3", patched)
	}
}

func fromUnstructured(t *testing.T, u *unstructured.Unstructured, into any) {
	t.Helper()
	data, err := json.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, into); err != nil {
		t.Fatal(err)
	}
}
