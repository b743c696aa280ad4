package install

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/testenv"
)

var (
	env      *testenv.Env
	envErr   error
	envStart sync.Once
)

// TestMain stops the API server the integration tests started; the config/
// tests need none, so -update works before the binaries are built.
func TestMain(m *testing.M) {
	code := m.Run()
	if env != nil {
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: stopping: %v\n", err)
		}
	}
	os.Exit(code)
}

// apiServer starts the shared API server on first use and fails (never
// skips) when it cannot, naming how to build the binaries.
func apiServer(t *testing.T) *testenv.Env {
	t.Helper()
	envStart.Do(func() {
		scheme := runtime.NewScheme()
		utilruntime.Must(clientgoscheme.AddToScheme(scheme))
		utilruntime.Must(apiextensionsv1.AddToScheme(scheme))
		utilruntime.Must(v1alpha1.AddToScheme(scheme))
		env, envErr = testenv.Start(testenv.Options{Scheme: scheme})
	})
	if envErr != nil {
		t.Fatalf("testenv: %v", envErr)
	}
	return env
}

// TestApplyIsIdempotent installs twice: the second run succeeds and changes
// nothing (every object keeps its resourceVersion), and the API server then
// serves SparkApplications.
func TestApplyIsIdempotent(t *testing.T) {
	env, objs, first := installAll(t, "first install")
	ctx := context.Background()
	for _, want := range []string{
		"customresourcedefinition.apiextensions.k8s.io/sparkapplications.sparkplane.io serverside-applied",
		"CRDs established",
		"namespace/sparkplane-system serverside-applied",
		"sparkprofile.sparkplane.io/cost-optimized serverside-applied",
		"clusterrole.rbac.authorization.k8s.io/sparkplane-operator serverside-applied",
		"deployment.apps/sparkplane-operator serverside-applied",
	} {
		if !strings.Contains(first, want) {
			t.Errorf("progress lacks %q:\n%s", want, first)
		}
	}
	versions := resourceVersions(t, objs)

	var progress bytes.Buffer
	if err := Apply(ctx, env.Client, objs, &progress); err != nil {
		t.Fatalf("second install: %v\n%s", err, progress.String())
	}
	again := resourceVersions(t, objs)
	for key, v := range versions {
		if again[key] != v {
			t.Errorf("%s changed on the second install: resourceVersion %s → %s", key, v, again[key])
		}
	}

	// The CRD is served: a SparkApplication list works.
	if err := env.Client.List(ctx, &v1alpha1.SparkApplicationList{}); err != nil {
		t.Errorf("listing SparkApplications after install: %v", err)
	}
}

// installAll applies everything install applies to the test API server
// and returns the objects and the progress Apply printed.
func installAll(t *testing.T, what string) (*testenv.Env, []client.Object, string) {
	t.Helper()
	env := apiServer(t)
	objs, err := Objects(Options{})
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	if err := Apply(context.Background(), env.Client, objs, &progress); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, progress.String())
	}
	return env, objs, progress.String()
}

func resourceVersions(t *testing.T, objs []client.Object) map[string]string {
	t.Helper()
	env := apiServer(t)
	out := map[string]string{}
	for _, obj := range objs {
		u, err := ToUnstructured(obj)
		if err != nil {
			t.Fatal(err)
		}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(u), u); err != nil {
			t.Fatalf("getting %s: %v", describe(u), err)
		}
		out[describe(u)] = u.GetResourceVersion()
	}
	return out
}

// TestOperatorRBACIsLeastPrivilege asks the API server (SubjectAccessReview)
// what the operator's service account may do once installed: everything the
// controllers need, and nothing beyond (no secrets, no RBAC, no leases outside
// its namespace, no deleting nodes).
func TestOperatorRBACIsLeastPrivilege(t *testing.T) {
	env := apiServer(t)
	ctx := context.Background()
	objs, err := Objects(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := Apply(ctx, env.Client, objs, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	allowed := []access{
		{"watch", "sparkplane.io", "sparkapplications", "", ""},
		{"delete", "sparkplane.io", "sparkapplications", "", "team-a"},
		{"patch", "sparkplane.io", "sparkapplications", "status", "team-a"},
		{"update", "sparkplane.io", "sparkapplications", "finalizers", "team-a"},
		{"list", "sparkplane.io", "sparkprofiles", "", ""},
		{"patch", "sparkplane.io", "sparkprofiles", "status", ""},
		{"create", "", "pods", "", "team-a"},
		{"delete", "", "pods", "", "team-a"},
		{"watch", "", "pods", "", ""},
		{"update", "", "pods", "finalizers", "team-a"},
		{"create", "", "configmaps", "", "team-a"},
		{"get", "", "configmaps", "", "team-a"},
		{"create", "", "services", "", "team-a"},
		{"watch", "", "nodes", "", ""},
		{"patch", "", "nodes", "", ""},
		{"watch", "", "namespaces", "", ""},
		{"list", "scheduling.k8s.io", "priorityclasses", "", ""},
		{"watch", "", "resourcequotas", "", ""},
		{"get", "", "persistentvolumeclaims", "", "team-a"},
		{"create", "", "events", "", "team-a"},
		{"create", "events.k8s.io", "events", "", "team-a"},
		{"update", "coordination.k8s.io", "leases", "", Namespace},
		// Schedules start their runs; the UI's Ingress, Volcano's PodGroup.
		{"create", "sparkplane.io", "sparkapplications", "", "team-a"},
		{"watch", "sparkplane.io", "scheduledsparkapplications", "", ""},
		{"patch", "sparkplane.io", "scheduledsparkapplications", "status", "team-a"},
		{"update", "sparkplane.io", "scheduledsparkapplications", "finalizers", "team-a"},
		{"create", "networking.k8s.io", "ingresses", "", "team-a"},
		{"create", "scheduling.volcano.sh", "podgroups", "", "team-a"},
		{"get", "", "serviceaccounts", "", "team-a"},
		{"create", "", "serviceaccounts", "", "team-a"},
		{"create", "rbac.authorization.k8s.io", "roles", "", "team-a"},
		{"create", "rbac.authorization.k8s.io", "rolebindings", "", "team-a"},
	}
	denied := []access{
		{"get", "", "secrets", "", "team-a"},
		{"list", "", "secrets", "", ""},
		{"watch", "", "secrets", "", ""},
		{"list", "", "configmaps", "", ""},
		{"update", "", "configmaps", "", "team-a"},
		{"update", "", "pods", "", "team-a"},
		{"create", "", "pods", "exec", "team-a"},
		{"update", "sparkplane.io", "sparkapplications", "", "team-a"},
		{"update", "sparkplane.io", "scheduledsparkapplications", "", "team-a"},
		{"delete", "networking.k8s.io", "ingresses", "", "team-a"},
		{"update", "sparkplane.io", "sparkprofiles", "", ""},
		{"update", "coordination.k8s.io", "leases", "", "kube-system"},
		{"create", "rbac.authorization.k8s.io", "clusterrolebindings", "", ""},
		{"create", "rbac.authorization.k8s.io", "clusterroles", "", ""},
		{"update", "rbac.authorization.k8s.io", "roles", "", "team-a"},
		{"delete", "rbac.authorization.k8s.io", "rolebindings", "", "team-a"},
		{"escalate", "rbac.authorization.k8s.io", "roles", "", "team-a"},
		{"bind", "rbac.authorization.k8s.io", "roles", "", "team-a"},
		{"update", "", "serviceaccounts", "", "team-a"},
		{"delete", "", "nodes", "", ""},
		{"delete", "", "namespaces", "", ""},
		{"update", "", "namespaces", "", ""},
		{"update", "apiextensions.k8s.io", "customresourcedefinitions", "", ""},
		{"create", "", "serviceaccounts", "token", "team-a"},
		{"create", "scheduling.k8s.io", "priorityclasses", "", ""},
		{"update", "", "resourcequotas", "", "team-a"},
	}
	checkAccess(t, env, "operator", ServiceAccount, allowed, denied)
}

// TestApplyFailsClearly: an object the API server refuses names itself.
func TestApplyFailsClearly(t *testing.T) {
	bad := &corev1.ConfigMap{}
	bad.APIVersion, bad.Kind = "v1", "ConfigMap"
	bad.Name, bad.Namespace = "Not_A_Valid_Name", "default"
	err := Apply(context.Background(), apiServer(t).Client, []client.Object{bad}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "configmap/Not_A_Valid_Name") {
		t.Fatalf("got %v, want an error naming configmap/Not_A_Valid_Name", err)
	}
}

// access is one request a ServiceAccount may or may not make.
type access struct {
	verb, group, resource, subresource, namespace string
}

// checkAccess asks the API server's authorizer, with a SubjectAccessReview,
// whether install's ServiceAccount account (in Namespace) may make each
// request: every allowed one must be allowed, every denied one refused.
// who names the account in the errors.
func checkAccess(t *testing.T, env *testenv.Env, who, account string, allowed, denied []access) {
	t.Helper()
	check := func(a access, want bool) {
		t.Helper()
		review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:   "system:serviceaccount:" + Namespace + ":" + account,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + Namespace, "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Verb: a.verb, Group: a.group, Resource: a.resource, Subresource: a.subresource, Namespace: a.namespace,
			},
		}}
		if err := env.Client.Create(context.Background(), review); err != nil {
			t.Fatalf("SubjectAccessReview: %v", err)
		}
		if review.Status.Allowed != want {
			scope := a.namespace
			if scope == "" {
				scope = "cluster-wide"
			}
			t.Errorf("%s may %s %s.%s/%s (%s): got allowed=%v, want %v (%s)",
				who, a.verb, a.resource, a.group, a.subresource, scope, review.Status.Allowed, want, review.Status.Reason)
		}
	}
	for _, a := range allowed {
		check(a, true)
	}
	for _, a := range denied {
		check(a, false)
	}
}
