package sparkapplication_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/sparkapplication"
	"github.com/sparkplane/sparkplane/internal/spark"
	"github.com/sparkplane/sparkplane/internal/submit"
)

// TestDefaultDriverAccount: the first application of a namespace that names
// no account gets sparkplane-spark, created with the Role of
// submit.DriverRules, labelled as sparkplane's, owned by nothing (so it stays
// when the application goes), and the API server lets that account create
// executors there and nothing in another namespace.
func TestDefaultDriverAccount(t *testing.T) {
	h := newHarness(t, sparkapplication.Options{})
	app := h.create(scalaApp(h.ns, "first"))
	h.reconcile(app.Name)

	driver := &corev1.Pod{}
	if err := env.Client.Get(h.ctx, client.ObjectKey{Namespace: h.ns, Name: "first-1-driver"}, driver); err != nil {
		t.Fatal(err)
	}
	if driver.Spec.ServiceAccountName != submit.DriverServiceAccount {
		t.Errorf("driver runs as %q, want %q", driver.Spec.ServiceAccountName, submit.DriverServiceAccount)
	}
	key := client.ObjectKey{Namespace: h.ns, Name: submit.DriverServiceAccount}
	sa, role, binding := &corev1.ServiceAccount{}, &rbacv1.Role{}, &rbacv1.RoleBinding{}
	for _, obj := range []client.Object{sa, role, binding} {
		if err := env.Client.Get(h.ctx, key, obj); err != nil {
			t.Fatalf("%T: %v", obj, err)
		}
		if obj.GetLabels()["app.kubernetes.io/managed-by"] != "sparkplane" {
			t.Errorf("%T labels %v: want app.kubernetes.io/managed-by=sparkplane", obj, obj.GetLabels())
		}
		if len(obj.GetOwnerReferences()) != 0 {
			t.Errorf("%T has owners %v: it must outlive applications", obj, obj.GetOwnerReferences())
		}
	}
	if diff := cmp.Diff(submit.DriverRules(), role.Rules); diff != "" {
		t.Errorf("Role rules (-want +got):\n%s", diff)
	}
	other := env.Namespace(t)
	for _, c := range []struct {
		verb, resource, ns string
		want               bool
	}{
		{"create", "pods", h.ns, true},
		{"watch", "pods", h.ns, true},
		{"create", "persistentvolumeclaims", h.ns, true},
		{"create", "pods", other, false},
		{"get", "secrets", h.ns, false},
		{"list", "nodes", "", false},
	} {
		review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:               "system:serviceaccount:" + h.ns + ":" + submit.DriverServiceAccount,
			Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + h.ns},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: c.verb, Resource: c.resource, Namespace: c.ns},
		}}
		if err := env.Client.Create(h.ctx, review); err != nil {
			t.Fatal(err)
		}
		if review.Status.Allowed != c.want {
			t.Errorf("%s %s in %q: allowed=%v, want %v", c.verb, c.resource, c.ns, review.Status.Allowed, c.want)
		}
	}

	// Deleting the application keeps the account for the next one.
	if err := env.Client.Delete(h.ctx, app); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Get(h.ctx, key, &corev1.ServiceAccount{}); err != nil {
		t.Errorf("the account went with the application: %v", err)
	}
	h.create(scalaApp(h.ns, "second"))
	h.reconcile("second")
	if st := h.get("second").Status.State; st != v1alpha1.StatePending {
		t.Errorf("second application state %q, want Pending", st)
	}
}

// TestMissingDriverAccountFails: an account named by the application, its
// profile (through the resolver) or its namespace that does not exist ends
// the application Failed at once, naming the account and who named it, and
// creates no driver.
func TestMissingDriverAccountFails(t *testing.T) {
	cases := map[string]struct {
		setup      func(h *harness, app *v1alpha1.SparkApplication)
		resolve    sparkapplication.Resolver
		wantSource string
	}{
		"driver serviceAccount": {
			setup: func(_ *harness, app *v1alpha1.SparkApplication) {
				app.Spec.Driver.ServiceAccount = ptr.To("etl-runner")
			},
			wantSource: "spec.driver.serviceAccount",
		},
		"sparkConf": {
			setup: func(_ *harness, app *v1alpha1.SparkApplication) {
				app.Spec.SparkConf = map[string]string{spark.ConfDriverServiceAccount: "etl-runner"}
			},
			wantSource: spark.ConfDriverServiceAccount,
		},
		"profile": {
			resolve: func(_ context.Context, app *v1alpha1.SparkApplication) (*v1alpha1.SparkApplication, string, error) {
				app.Spec.Driver.ServiceAccount = ptr.To("etl-runner")
				app.Status.Profile = &v1alpha1.ProfileReference{Name: "batch"}
				return app, "", nil
			},
			wantSource: "SparkProfile batch",
		},
		"namespace annotation": {
			setup: func(h *harness, _ *v1alpha1.SparkApplication) {
				ns := &corev1.Namespace{}
				if err := env.Client.Get(h.ctx, client.ObjectKey{Name: h.ns}, ns); err != nil {
					h.t.Fatal(err)
				}
				patch := client.MergeFrom(ns.DeepCopy())
				metav1.SetMetaDataAnnotation(&ns.ObjectMeta, submit.AnnotationDriverServiceAccount, "etl-runner")
				if err := env.Client.Patch(h.ctx, ns, patch); err != nil {
					h.t.Fatal(err)
				}
			},
			wantSource: submit.AnnotationDriverServiceAccount,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, sparkapplication.Options{Resolve: tc.resolve})
			app := scalaApp(h.ns, "named")
			if tc.setup != nil {
				tc.setup(h, app)
			}
			h.create(app)
			h.reconcile(app.Name)
			got := h.get(app.Name)
			if got.Status.State != v1alpha1.StateFailed {
				t.Fatalf("state %q, want Failed", got.Status.State)
			}
			cond := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionAccepted)
			if cond == nil || cond.Reason != v1alpha1.ReasonServiceAccountNotFound {
				t.Fatalf("Accepted condition %+v, want reason %s", cond, v1alpha1.ReasonServiceAccountNotFound)
			}
			for _, want := range []string{"ServiceAccount " + h.ns + "/etl-runner", tc.wantSource} {
				if !strings.Contains(cond.Message, want) {
					t.Errorf("message %q does not name %q", cond.Message, want)
				}
			}
			pods := &corev1.PodList{}
			if err := env.Client.List(h.ctx, pods, client.InNamespace(h.ns)); err != nil {
				t.Fatal(err)
			}
			if len(pods.Items) != 0 {
				t.Errorf("%d pods created for an application that cannot run", len(pods.Items))
			}
			if err := env.Client.Get(h.ctx, client.ObjectKey{Namespace: h.ns, Name: submit.DriverServiceAccount}, &corev1.ServiceAccount{}); err == nil {
				t.Errorf("the default account was created though the application named another")
			}

			// Once the account exists, a new application naming it runs as it.
			if err := env.Client.Create(h.ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "etl-runner"}}); err != nil {
				t.Fatal(err)
			}
			again := scalaApp(h.ns, "again")
			if tc.setup != nil && name != "namespace annotation" {
				tc.setup(h, again)
			}
			h.create(again)
			h.reconcile(again.Name)
			driver := &corev1.Pod{}
			if err := env.Client.Get(h.ctx, client.ObjectKey{Namespace: h.ns, Name: "again-1-driver"}, driver); err != nil {
				t.Fatal(err)
			}
			if driver.Spec.ServiceAccountName != "etl-runner" {
				t.Errorf("driver runs as %q, want etl-runner", driver.Spec.ServiceAccountName)
			}
		})
	}
}

// TestFirstApplicationsShareDriverIdentity: the first applications of a
// namespace reconciled at once (the operator's 32 workers after a burst)
// create sparkplane-spark's Role, RoleBinding and ServiceAccount once
// between them, and every one of them is submitted as that account.
func TestFirstApplicationsShareDriverIdentity(t *testing.T) {
	var roleCreates atomic.Int32
	watching, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	counting := interceptor.NewClient(watching, interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			if _, ok := obj.(*rbacv1.Role); ok {
				roleCreates.Add(1)
			}
			return c.Create(ctx, obj, opts...)
		},
	})
	h := newHarness(t, sparkapplication.Options{})
	ctrl := sparkapplication.NewController(counting, counting, sparkapplication.Options{Clock: h.clock})
	const apps = 8
	for i := range apps {
		h.create(scalaApp(h.ns, fmt.Sprintf("burst-%d", i)))
	}
	var wg sync.WaitGroup
	errs := make([]error, apps)
	for i := range apps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = ctrl.Reconcile(h.ctx, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: h.ns, Name: fmt.Sprintf("burst-%d", i)}})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("reconcile burst-%d: %v", i, err)
		}
		if sa := h.pod(fmt.Sprintf("burst-%d-1-driver", i)).Spec.ServiceAccountName; sa != submit.DriverServiceAccount {
			t.Errorf("burst-%d's driver runs as %q, want %q", i, sa, submit.DriverServiceAccount)
		}
	}
	if n := roleCreates.Load(); n != 1 {
		t.Errorf("%d applications reconciled at once created the driver Role %d times, want once", apps, n)
	}
}
