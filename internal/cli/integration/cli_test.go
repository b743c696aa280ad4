package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/cli"
	"github.com/sparkplane/sparkplane/internal/testenv"
)

var (
	env        *testenv.Env
	kubeconfig string
)

func TestMain(m *testing.M) {
	crds, err := v1alpha1.CRDs()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testenv.Main(m, testenv.Options{CRDs: crds, Scheme: cli.Scheme()}, &env)
}

// kubeconfigFor writes a kubeconfig for cfg, as a user of the CLI has one.
func kubeconfigFor(t testing.TB, cfg *rest.Config, namespace string) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "admin", Namespace: namespace}
	kc.CurrentContext = "envtest"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// result is what a user sees from one command.
type result struct {
	stdout, stderr string
	err            error
}

// sparkplane runs the command tree with args and --kubeconfig, and prints
// the error as the binary would (cli.Execute).
func sparkplane(t testing.TB, kubeconfig string, stdin string, args ...string) result {
	t.Helper()
	cmd := cli.NewRootCommand()
	var stdout, stderr bytes.Buffer
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(append(args, "--kubeconfig", kubeconfig))
	err := cmd.ExecuteContext(context.Background())
	if err != nil {
		fmt.Fprintln(&stderr, cli.FormatError(err))
	}
	t.Logf("$ sparkplane %s\n%s%s", strings.Join(args, " "), stdout.String(), stderr.String())
	return result{stdout.String(), stderr.String(), err}
}

func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func application(name string) string {
	return fmt.Sprintf(`apiVersion: sparkplane.io/v1alpha1
kind: SparkApplication
metadata:
  name: %s
spec:
  type: Scala
  sparkVersion: 3.5.3
  image: apache/spark:3.5.3
  mainClass: org.apache.spark.examples.SparkPi
  mainApplicationFile: local:///opt/spark/examples/jars/spark-examples.jar
  arguments: ["1000"]
  driver:
    cores: 1
    memory: 1g
  executor:
    cores: 1
    instances: 2
    memory: 2g
`, name)
}

func TestInstallTwice(t *testing.T) {
	kc := kubeconfigFor(t, env.Config, "default")
	for i := 0; i < 2; i++ {
		r := sparkplane(t, kc, "", "install", "--skip-operator-deployment")
		if r.err != nil {
			t.Fatalf("install #%d: %v\n%s", i+1, r.err, r.stderr)
		}
		for _, want := range []string{
			"customresourcedefinition.apiextensions.k8s.io/sparkapplications.sparkplane.io serverside-applied",
			"serviceaccount/sparkplane-operator serverside-applied",
			"sparkplane installed",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("install #%d output lacks %q:\n%s", i+1, want, r.stdout)
			}
		}
		if strings.Contains(r.stdout, "deployment.apps") {
			t.Errorf("--skip-operator-deployment still applied the Deployment:\n%s", r.stdout)
		}
	}
}

func TestSubmitGetListDescribeDelete(t *testing.T) {
	ns := env.Namespace(t)
	kc := kubeconfigFor(t, env.Config, "default") // -n chooses the namespace
	file := writeFile(t, "apps.yaml", application("pi-one")+"---\n"+application("pi-two"))

	r := sparkplane(t, kc, "", "submit", "-n", ns, "-f", file)
	if r.err != nil {
		t.Fatalf("submit: %v\n%s", r.err, r.stderr)
	}
	if want := "sparkapplication.sparkplane.io/pi-one created\nsparkapplication.sparkplane.io/pi-two created\n"; r.stdout != want {
		t.Errorf("submit printed %q, want %q", r.stdout, want)
	}

	r = sparkplane(t, kc, "", "get", "pi-one", "-n", ns)
	if r.err != nil {
		t.Fatalf("get: %v\n%s", r.err, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "NAME") || !strings.HasPrefix(lines[1], "pi-one ") || !strings.Contains(lines[1], "New") {
		t.Errorf("get printed:\n%s\nwant a header and one row for pi-one in state New", r.stdout)
	}

	r = sparkplane(t, kc, "", "get", "pi-one", "-n", ns, "-o", "yaml")
	app := &v1alpha1.SparkApplication{}
	if err := yaml.UnmarshalStrict([]byte(r.stdout), app); err != nil || app.Name != "pi-one" || app.Kind != "SparkApplication" || len(app.ManagedFields) != 0 {
		t.Errorf("get -o yaml: %v; printed:\n%s", err, r.stdout)
	}

	r = sparkplane(t, kc, "", "list", "-n", ns, "-o", "json")
	var list struct {
		Kind  string                      `json:"kind"`
		Items []v1alpha1.SparkApplication `json:"items"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || list.Kind != "List" || len(list.Items) != 2 {
		t.Errorf("list -o json: %v; got kind %q with %d items:\n%s", err, list.Kind, len(list.Items), r.stdout)
	}

	r = sparkplane(t, kc, "", "list", "-A")
	if !strings.HasPrefix(r.stdout, "NAMESPACE") || strings.Count(r.stdout, ns) != 2 {
		t.Errorf("list -A should show a NAMESPACE column and both applications in %s:\n%s", ns, r.stdout)
	}
	r = sparkplane(t, kc, "", "list", "-n", ns, "-o", "wide")
	if !strings.Contains(r.stdout, "APP-ID") || !strings.Contains(r.stdout, "Scala") {
		t.Errorf("list -o wide lacks the wide columns:\n%s", r.stdout)
	}

	// What the operator would write, so describe has something to show.
	ctx := context.Background()
	got := &v1alpha1.SparkApplication{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "pi-one"}, got); err != nil {
		t.Fatal(err)
	}
	got.Status.State = v1alpha1.StatePending
	got.Status.SparkApplicationID = "spark-0123456789abcdef"
	got.Status.DriverInfo.PodName = "pi-one-driver"
	meta.SetStatusCondition(&got.Status.Conditions, metav1.Condition{
		Type: v1alpha1.ConditionSubmitted, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonDriverCreated, Message: "Driver pod pi-one-driver created",
	})
	if err := env.Client.Status().Update(ctx, got); err != nil {
		t.Fatal(err)
	}
	driver := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "pi-one-driver", Namespace: ns, Labels: map[string]string{"spark-app-selector": "spark-0123456789abcdef", "spark-role": "driver"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "spark-kubernetes-driver", Image: "apache/spark:3.5.3"}}},
	}
	if err := env.Client.Create(ctx, driver); err != nil {
		t.Fatal(err)
	}
	event := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "pi-one.1", Namespace: ns},
		InvolvedObject: corev1.ObjectReference{Kind: "SparkApplication", APIVersion: "sparkplane.io/v1alpha1", Name: "pi-one", Namespace: ns, UID: got.UID},
		Reason:         "DriverCreated", Message: "Created driver pod pi-one-driver", Type: corev1.EventTypeNormal,
		Source:        corev1.EventSource{Component: "sparkplane"},
		LastTimestamp: metav1.NewTime(time.Now()), FirstTimestamp: metav1.NewTime(time.Now()), Count: 1,
	}
	if err := env.Client.Create(ctx, event); err != nil {
		t.Fatal(err)
	}
	r = sparkplane(t, kc, "", "describe", "pi-one", "-n", ns)
	if r.err != nil {
		t.Fatalf("describe: %v\n%s", r.err, r.stderr)
	}
	for _, want := range []string{
		"Name:", "pi-one", "State:", "Pending", "spark-0123456789abcdef",
		"Conditions:", "Submitted", "DriverCreated", "Driver pod pi-one-driver created",
		"Pods:", "pi-one-driver", "driver",
		"Events:", "Created driver pod pi-one-driver",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("describe lacks %q:\n%s", want, r.stdout)
		}
	}

	r = sparkplane(t, kc, "", "delete", "-n", ns, "-f", file)
	if r.err != nil {
		t.Fatalf("delete -f: %v\n%s", r.err, r.stderr)
	}
	if want := "sparkapplication.sparkplane.io \"pi-one\" deleted\nsparkapplication.sparkplane.io \"pi-two\" deleted\n"; r.stdout != want {
		t.Errorf("delete printed %q, want %q", r.stdout, want)
	}
	r = sparkplane(t, kc, "", "list", "-n", ns)
	if r.stdout != "" || r.stderr != fmt.Sprintf("No resources found in %s namespace.\n", ns) {
		t.Errorf("list after delete: stdout %q stderr %q", r.stdout, r.stderr)
	}
}

// TestErrors checks what a user sees when something is wrong: kubectl's
// wording, the field at fault, and what to do.
func TestErrors(t *testing.T) {
	ns := env.Namespace(t)
	kc := kubeconfigFor(t, env.Config, ns) // the context's namespace is used without -n
	existing := writeFile(t, "existing.yaml", application("exists"))
	if r := sparkplane(t, kc, "", "submit", "-f", existing); r.err != nil {
		t.Fatalf("submit: %v\n%s", r.err, r.stderr)
	}
	kubeflow := strings.Replace(application("from-kubeflow"), "sparkplane.io/v1alpha1", "sparkoperator.k8s.io/v1beta2", 1)
	cases := map[string]struct {
		args   []string
		stdin  string
		stderr []string
	}{
		"get a missing application": {
			args:   []string{"get", "nope"},
			stderr: []string{`Error from server (NotFound): sparkapplications.sparkplane.io "nope" not found`},
		},
		"delete a missing application": {
			args:   []string{"delete", "nope"},
			stderr: []string{`Error from server (NotFound): sparkapplications.sparkplane.io "nope" not found`},
		},
		"describe a missing application": {
			args:   []string{"describe", "nope"},
			stderr: []string{`Error from server (NotFound)`, `"nope" not found`},
		},
		"logs of a missing application": {
			args:   []string{"logs", "nope"},
			stderr: []string{`Error from server (NotFound)`},
		},
		"submit an application that exists": {
			args:   []string{"submit", "-f", existing},
			stderr: []string{`Error from server (AlreadyExists)`, `sparkapplications.sparkplane.io "exists" already exists`, "existing.yaml"},
		},
		"submit a Kubeflow manifest": {
			args:   []string{"submit", "-f", "-"},
			stdin:  kubeflow,
			stderr: []string{"error: STDIN: document 1: apiVersion sparkoperator.k8s.io/v1beta2 is the Kubeflow spark-operator's", "change apiVersion to sparkplane.io/v1alpha1"},
		},
		"submit a pod": {
			args:   []string{"submit", "-f", "-"},
			stdin:  "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n",
			stderr: []string{"kind Pod is not a SparkApplication"},
		},
		"submit a malformed memory size": {
			args:   []string{"submit", "-f", "-"},
			stdin:  strings.Replace(application("bad-memory"), "memory: 2g", "memory: 2 gigabytes", 1),
			stderr: []string{"Error from server (Invalid)", "spec.executor.memory", "must be a Spark memory size"},
		},
		"submit a misspelt field": {
			args:   []string{"submit", "-f", "-"},
			stdin:  strings.Replace(application("typo"), "  mainClass:", "  mainClas:", 1),
			stderr: []string{"Error from server (BadRequest)", `unknown field "spec.mainClas"`},
		},
		"submit into a namespace the file contradicts": {
			args:   []string{"submit", "-n", "other", "-f", "-"},
			stdin:  strings.Replace(application("elsewhere"), "metadata:\n", "metadata:\n  namespace: "+ns+"\n", 1),
			stderr: []string{fmt.Sprintf(`the namespace from the provided object %q does not match the namespace "other"`, ns)},
		},
		"submit without -f": {
			args:   []string{"submit"},
			stderr: []string{"error: must specify -f FILE"},
		},
		"an unknown output format": {
			args:   []string{"list", "-o", "toml"},
			stderr: []string{`unable to match a printer suitable for the output format "toml"`},
		},
		"logs before the driver exists": {
			args:   []string{"logs", "exists"},
			stderr: []string{`sparkapplication "exists" has no driver pod yet`, "sparkplane describe exists"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := sparkplane(t, kc, tc.stdin, tc.args...)
			if r.err == nil {
				t.Fatalf("succeeded, want an error; stdout:\n%s", r.stdout)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
		})
	}
	// A failed document does not stop the others, and the exit is still an error.
	mixed := application("exists") + "---\n" + application("fresh")
	r := sparkplane(t, kc, mixed, "submit", "-f", "-")
	if r.err == nil || !strings.Contains(r.stdout, "sparkapplication.sparkplane.io/fresh created") || !strings.Contains(r.stderr, "AlreadyExists") {
		t.Errorf("mixed submit: err %v\nstdout:\n%s\nstderr:\n%s", r.err, r.stdout, r.stderr)
	}
}
