package install

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/submit"
	"github.com/sparkplane/sparkplane/internal/toolchain"
)

// chartRoot is the Helm chart. Its crds/ and the templates named
// generated-*.yaml are written from Objects by TestChartIsUpToDate -update;
// the other templates are written by hand around the values, and
// TestChartRendersConfigDefault holds them to the same objects.
const chartRoot = "../../charts/sparkplane"

const chartGeneratedHeader = "# Generated from internal/install by `go test ./internal/install -update`; do not edit.\n"

// chartFiles renders the chart's generated files.
func chartFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	manifests, err := v1alpha1.CRDManifests()
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range manifests {
		files["crds/"+name] = data
	}
	objs, err := Objects(Options{SkipOperatorDeployment: true})
	if err != nil {
		t.Fatal(err)
	}
	var profiles, priorityClasses, rbac, policy bytes.Buffer
	for _, obj := range objs {
		switch obj.GetObjectKind().GroupVersionKind().Kind {
		case "SparkProfile":
			writeTemplateDoc(t, &profiles, obj)
		case "PriorityClass":
			writeTemplateDoc(t, &priorityClasses, obj)
		case "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding":
			writeTemplateDoc(t, &policy, obj)
		case "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
			writeTemplateDoc(t, &rbac, obj)
		}
	}
	// A hub (hub.enabled) gets the profiles (placement fits applications
	// against their tiers) but runs no pods: no PriorityClasses, submitter
	// policy or operator RBAC; its own RBAC instead, as install --hub.
	files["templates/generated-builtin-profiles.yaml"] = []byte(chartGeneratedHeader +
		"{{- if .Values.builtinProfiles }}\n" + profiles.String() +
		"{{- if not .Values.hub.enabled }}\n" + priorityClasses.String() + "{{- end }}\n{{- end }}\n")
	files["templates/generated-rbac.yaml"] = []byte(chartGeneratedHeader +
		"{{- if not .Values.hub.enabled }}\n" + rbac.String() + "{{- end }}\n")
	files["templates/generated-submitter-policy.yaml"] = []byte(chartGeneratedHeader +
		"{{- if and .Values.submitterPolicy (not .Values.hub.enabled) }}\n" + policy.String() + "{{- end }}\n")
	hubObjs, err := HubObjects(Options{SkipOperatorDeployment: true})
	if err != nil {
		t.Fatal(err)
	}
	var hubRBAC bytes.Buffer
	for _, obj := range hubObjs {
		switch obj.GetObjectKind().GroupVersionKind().Kind {
		case "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
			writeTemplateDoc(t, &hubRBAC, obj)
		}
	}
	files["templates/generated-hub-rbac.yaml"] = []byte(chartGeneratedHeader +
		"{{- if .Values.hub.enabled }}\n" + hubRBAC.String() + "{{- end }}\n")
	// The drivers' accounts in .Values.jobNamespaces, as install
	// --job-namespaces creates them.
	const nsPlaceholder = "job-namespace-placeholder"
	var drivers bytes.Buffer
	sa, role, binding := submit.DriverIdentity(nsPlaceholder)
	for _, obj := range []client.Object{sa, role, binding} {
		doc := strings.ReplaceAll(string(mustYAML(t, obj)), nsPlaceholder, "{{ $ns }}")
		drivers.WriteString("---\n" + doc)
	}
	files["templates/generated-driver-rbac.yaml"] = []byte(chartGeneratedHeader +
		"{{- range $ns := .Values.jobNamespaces }}\n" + drivers.String() + "{{- end }}\n")
	// The opt-in Secrets reader of install --read-image-pull-secrets.
	var pullSecrets bytes.Buffer
	secretsRole, secretsBinding := pullSecretsRBAC()
	writeTemplateDoc(t, &pullSecrets, secretsRole)
	writeTemplateDoc(t, &pullSecrets, secretsBinding)
	files["templates/generated-image-pull-secrets-rbac.yaml"] = []byte(chartGeneratedHeader +
		"{{- if .Values.controller.readImagePullSecrets }}\n" + pullSecrets.String() + "{{- end }}\n")
	return files
}

// writeTemplateDoc writes obj as one YAML document of a template, in the
// release's namespace instead of Namespace (the operator's ServiceAccount
// too, as the API server names it in SubmitterPolicy's exemption).
func writeTemplateDoc(t *testing.T, out *bytes.Buffer, obj client.Object) {
	t.Helper()
	doc := string(mustYAML(t, obj))
	doc = strings.ReplaceAll(doc, "namespace: "+Namespace+"\n", "namespace: {{ .Release.Namespace }}\n")
	doc = strings.ReplaceAll(doc, OperatorUsername(), "system:serviceaccount:{{ .Release.Namespace }}:"+ServiceAccount)
	out.WriteString("---\n" + doc)
}

func TestChartIsUpToDate(t *testing.T) {
	want := chartFiles(t)
	if *update {
		_ = os.RemoveAll(filepath.Join(chartRoot, "crds"))
		for name, data := range want {
			path := filepath.Join(chartRoot, name)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	crds, err := filepath.Glob(filepath.Join(chartRoot, "crds", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range crds {
		if _, ok := want["crds/"+filepath.Base(path)]; !ok {
			t.Errorf("charts/sparkplane/crds/%s is not an embedded CRD: delete it, or run go test ./internal/install -update", filepath.Base(path))
		}
	}
	for name, data := range want {
		got, err := os.ReadFile(filepath.Join(chartRoot, name))
		if err != nil {
			t.Errorf("charts/sparkplane/%s: %v; run go test ./internal/install -update", name, err)
			continue
		}
		if diff := cmp.Diff(string(data), string(got)); diff != "" {
			t.Errorf("charts/sparkplane/%s is stale; run go test ./internal/install -update (-want +got):\n%s", name, diff)
		}
	}
}

// helm runs the pinned helm with its caches in a temporary folder.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	path, err := toolchain.Helm.Path()
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), toolchain.HelmEnv(home)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out) + stderr.String(), err
	}
	return string(out), nil
}

// decodeObjects reads a YAML stream into objects keyed by objectKey.
func decodeObjects(t *testing.T, stream string) map[string]any {
	t.Helper()
	out := map[string]any{}
	decoder := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(stream), 4096)
	for {
		doc := map[string]any{}
		if err := decoder.Decode(&doc); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decoding YAML: %v", err)
		}
		if len(doc) == 0 {
			continue
		}
		out[objectKey(doc)] = normalize(t, doc)
	}
	return out
}

func TestChartLints(t *testing.T) {
	if out, err := helm(t, "lint", "--strict", chartRoot); err != nil {
		t.Fatalf("helm lint --strict charts/sparkplane: %v\n%s", err, out)
	}
}

// TestChartRendersConfigDefault: with default values the chart renders
// exactly the objects of `kubectl kustomize config/default`, object by object.
func TestChartRendersConfigDefault(t *testing.T) {
	out, err := helm(t, "template", "sparkplane", chartRoot, "--namespace", Namespace, "--include-crds")
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	chart := decodeObjects(t, out)
	kustomize := decodeObjects(t, kustomizeDefault(t))
	if len(chart) < 15 {
		t.Fatalf("helm template rendered %d objects", len(chart))
	}
	if diff := cmp.Diff(kustomize, chart); diff != "" {
		t.Errorf("helm template differs from kubectl kustomize config/default (-kustomize +helm):\n%s", diff)
	}
}

// TestChartValues renders non-default values and checks each reaches the
// object it is for, and that bad values fail naming the value.
func TestChartValues(t *testing.T) {
	out, err := helm(t, "template", "sp", chartRoot, "--namespace", "spark-ops",
		"--set", "image.tag=v1.2.3,replicas=2,logLevel=2,controller.maxConcurrentReconciles=50,controller.nodesOnDemand=true,watchNamespaces={spark-a,spark-b}",
		"--set", "controller.zones={us-east-1a,us-east-1b},metrics.podMonitor.enabled=true,builtinProfiles=false,namespace.create=false,submitterPolicy=false",
		"--set", "nodeSelector.sparkplane\\.io/node-role=system,tolerations[0].key=CriticalAddonsOnly,tolerations[0].operator=Exists")
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	for _, want := range []string{
		"image: ghcr.io/sparkplane/sparkplane:v1.2.3", "replicas: 2", "- --v=2", "- --max-concurrent-reconciles=50",
		"- --nodes-on-demand", "- --zones=us-east-1a,us-east-1b", "- --watch-namespaces=spark-a,spark-b", "kind: PodMonitor", "sparkplane.io/node-role: system",
		"key: CriticalAddonsOnly", "namespace: spark-ops",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered chart lacks %q", want)
		}
	}
	if strings.Contains(out, "name: "+submit.DriverServiceAccount) {
		t.Errorf("rendered chart has the drivers' account without jobNamespaces")
	}
	if strings.Contains(out, PullSecretsRole) || strings.Contains(out, ReadImagePullSecretsFlag) {
		t.Errorf("rendered chart lets the operator read Secrets without controller.readImagePullSecrets")
	}
	secrets, err := helm(t, "template", "sp", chartRoot, "--set", "controller.readImagePullSecrets=true")
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, secrets)
	}
	for _, want := range []string{"- " + ReadImagePullSecretsFlag, "kind: ClusterRole\nmetadata:\n  labels:\n    app.kubernetes.io/component: operator\n    app.kubernetes.io/managed-by: sparkplane\n    app.kubernetes.io/name: sparkplane\n    app.kubernetes.io/part-of: sparkplane\n  name: " + PullSecretsRole, "kind: ClusterRoleBinding"} {
		if !strings.Contains(secrets, want) {
			t.Errorf("chart with controller.readImagePullSecrets lacks %q", want)
		}
	}
	drivers, err := helm(t, "template", "sp", chartRoot, "--set", "jobNamespaces={team-a,team-b}")
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, drivers)
	}
	for _, ns := range []string{"team-a", "team-b"} {
		for _, kind := range []string{"ServiceAccount", "Role", "RoleBinding"} {
			doc := "kind: " + kind + "\nmetadata:\n  labels:"
			if n := strings.Count(drivers, doc); n < 2 {
				t.Errorf("%d %s documents for two job namespaces", n, kind)
			}
		}
		if !strings.Contains(drivers, "name: "+submit.DriverServiceAccount+"\n  namespace: "+ns+"\n") {
			t.Errorf("no %s in namespace %s:\n%s", submit.DriverServiceAccount, ns, drivers)
		}
	}
	// The policy's exemption names the operator's account in the release's namespace.
	if want := "'system:serviceaccount:default:" + ServiceAccount + "'"; !strings.Contains(drivers, want) {
		t.Errorf("rendered chart's %s does not exempt %s", SubmitterPolicy, want)
	}
	for _, absent := range []string{"kind: SparkProfile", "kind: Namespace", "namespace: " + Namespace + "\n", "kind: ValidatingAdmissionPolicy"} {
		if strings.Contains(out, absent) {
			t.Errorf("rendered chart has %q", absent)
		}
	}
	for name, tc := range map[string]struct {
		set, want string
	}{
		"replicas without leader election": {"replicas=2,leaderElection=false", "needs leaderElection"},
		"unknown value":                    {"imageTag=v1", "imageTag"},
		"bad pull policy":                  {"image.pullPolicy=Sometimes", "pullPolicy"},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := helm(t, "template", "sp", chartRoot, "--set", tc.set)
			if err == nil || !strings.Contains(out, tc.want) {
				t.Errorf("helm template --set %s: err %v, output does not name %q:\n%s", tc.set, err, tc.want, out)
			}
		})
	}
}

// TestChartRendersInstallHub: with hub.enabled the chart renders exactly
// the objects of `sparkplane install --hub`, object by object: the hub's
// least-privilege account and roles, its Deployment running operator --hub,
// the profiles and the CRDs, and nothing of a member's operator.
func TestChartRendersInstallHub(t *testing.T) {
	out, err := helm(t, "template", "sparkplane", chartRoot, "--namespace", Namespace, "--include-crds", "--set", "hub.enabled=true")
	if err != nil {
		t.Fatalf("helm template --set hub.enabled=true: %v\n%s", err, out)
	}
	chart := decodeObjects(t, out)
	objs, err := HubObjects(Options{})
	if err != nil {
		t.Fatal(err)
	}
	var stream strings.Builder
	for _, obj := range objs {
		stream.WriteString("---\n")
		stream.Write(mustYAML(t, obj))
	}
	install := decodeObjects(t, stream.String())
	if len(install) < 10 {
		t.Fatalf("install --hub rendered %d objects", len(install))
	}
	if diff := cmp.Diff(install, chart); diff != "" {
		t.Errorf("helm template --set hub.enabled=true differs from sparkplane install --hub (-install +helm):\n%s", diff)
	}
}

// TestChartHubValues: the hub's flags reach `operator --hub`, and values
// that belong to a member (or to a hub, without hub.enabled) fail naming
// the value.
func TestChartHubValues(t *testing.T) {
	out, err := helm(t, "template", "sp", chartRoot, "--namespace", Namespace,
		"--set", "hub.enabled=true,replicas=2,logLevel=2,controller.kubeAPIQPS=50,hub.id=eu-hub,hub.lease=20s,hub.lostAfter=45s,hub.heartbeatInterval=3s,hub.gcInterval=30s")
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	for _, want := range []string{
		"name: sparkplane-hub\n  namespace: " + Namespace, "replicas: 2", "- operator\n        - --hub\n        - --leader-elect", "- --v=2", "- --kube-api-qps=50",
		"- --hub-id=eu-hub", "- --lease=20s", "- --lost-after=45s", "- --heartbeat-interval=3s", "- --gc-interval=30s",
		"serviceAccountName: " + HubServiceAccount, "name: " + HubKubeconfigsRole + "\n  namespace: " + Namespace,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered hub chart lacks %q", want)
		}
	}
	for _, absent := range []string{"name: " + Deployment + "\n", "kind: PriorityClass", "kind: ValidatingAdmissionPolicy", "kind: Service\n", "serviceAccountName: " + ServiceAccount} {
		if strings.Contains(out, absent) {
			t.Errorf("rendered hub chart has %q", absent)
		}
	}
	member, err := helm(t, "template", "sp", chartRoot)
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, member)
	}
	if strings.Contains(member, "--hub") || strings.Contains(member, HubServiceAccount) {
		t.Errorf("the default (member) chart renders hub objects or flags")
	}
	for name, tc := range map[string]struct {
		set, want string
	}{
		"job namespaces on a hub":          {"hub.enabled=true,jobNamespaces={team-a}", "jobNamespaces configures a member's operator"},
		"pull secrets on a hub":            {"hub.enabled=true,controller.readImagePullSecrets=true", "controller.readImagePullSecrets configures a member's operator"},
		"watch namespaces on a hub":        {"hub.enabled=true,watchNamespaces={spark}", "watchNamespaces configures a member's operator"},
		"hub flags without hub.enabled":    {"hub.lease=20s", "set hub.enabled=true"},
		"bad lease":                        {"hub.enabled=true,hub.lease=soon", "lease"},
		"hub id that is no label value":    {"hub.enabled=true,hub.id=eu/hub", "id"},
		"replicas without leader election": {"hub.enabled=true,replicas=2,leaderElection=false", "needs leaderElection"},
		"another namespace":                {"hub.enabled=true", "needs the release namespace " + Namespace + ", not hub-ops"},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := helm(t, "template", "sp", chartRoot, "--namespace", "hub-ops", "--set", tc.set)
			if err == nil || !strings.Contains(out, tc.want) {
				t.Errorf("helm template --set %s: err %v, output does not name %q:\n%s", tc.set, err, tc.want, out)
			}
		})
	}
}
