package install

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/spark"
	"github.com/sparkplane/sparkplane/internal/submit"
	"github.com/sparkplane/sparkplane/internal/testenv"
)

// impersonate returns a client that acts as user (an ordinary
// authenticated user, or a ServiceAccount when user is one's name).
func impersonate(t *testing.T, env *testenv.Env, user string) client.Client {
	t.Helper()
	groups := []string{"system:authenticated"}
	if ns, ok := strings.CutPrefix(user, "system:serviceaccount:"); ok {
		ns, _, _ = strings.Cut(ns, ":")
		groups = append(groups, "system:serviceaccounts", "system:serviceaccounts:"+ns)
	}
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	c, err := client.New(cfg, client.Options{Scheme: env.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// grant gives user rules in ns with a Role and RoleBinding named name, and
// waits until the API server's authorizer (which reads RBAC from its
// informers) allows the first verb of each rule.
func grant(t *testing.T, c client.Client, ns, name, user string, rules ...rbacv1.PolicyRule) {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: rules}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	for _, obj := range []client.Object{role, binding} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatalf("creating %T %s/%s: %v", obj, ns, name, err)
		}
	}
	for _, rule := range rules {
		attrs := &authorizationv1.ResourceAttributes{Namespace: ns, Verb: rule.Verbs[0], Group: rule.APIGroups[0], Resource: rule.Resources[0]}
		if len(rule.ResourceNames) > 0 {
			attrs.Name = rule.ResourceNames[0]
		}
		testenv.Eventually(t, testenv.Timeout, "RBAC to allow "+user+" "+attrs.Verb+" "+attrs.Resource, func() (bool, error) {
			review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: user, ResourceAttributes: attrs}}
			if err := c.Create(ctx, review); err != nil {
				return false, err
			}
			return review.Status.Allowed, nil
		})
	}
}

var submitterRules = []rbacv1.PolicyRule{{
	APIGroups: []string{v1alpha1.GroupVersion.Group},
	Resources: []string{"sparkapplications", "scheduledsparkapplications"},
	Verbs:     []string{"get", "create", "update", "patch"},
}}

func policySchedule(ns, name string) *v1alpha1.ScheduledSparkApplication {
	return &v1alpha1.ScheduledSparkApplication{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       v1alpha1.ScheduledSparkApplicationSpec{Schedule: "@every 1h", Template: testenv.SparkPi(ns, name).Spec},
	}
}

// installPolicy applies what install does and waits until the API server
// enforces SubmitterPolicy (its admission plugin loads policies from an
// informer, a moment after they are written): a probe user without pod
// rights is refused.
func installPolicy(t *testing.T, env *testenv.Env) {
	t.Helper()
	ctx := context.Background()
	objs, err := Objects(Options{SkipOperatorDeployment: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := Apply(ctx, env.Client, objs, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	ns := env.Namespace(t)
	const probe = "policy-probe"
	grant(t, env.Client, ns, "probe", probe, submitterRules...)
	c := impersonate(t, env, probe)
	i := 0
	testenv.Eventually(t, testenv.Timeout, "the API server to enforce "+SubmitterPolicy, func() (bool, string) {
		i++
		err := c.Create(ctx, testenv.SparkPi(ns, fmt.Sprintf("probe-%d", i)))
		return apierrors.IsForbidden(err), fmt.Sprint(err)
	})
}

// TestSubmitterPolicy: a user who may create SparkApplications but not
// pods is refused, in a message naming the permission missing; with pods
// create the driver's ServiceAccount is asked for next; with both it works.
// The same holds for a ScheduledSparkApplication's template, for an account
// the application names, for the executors' account, and for an update
// that changes the spec, not for one that only labels.
func TestSubmitterPolicy(t *testing.T) {
	env := apiServer(t)
	ctx := context.Background()
	installPolicy(t, env)
	ns := env.Namespace(t)
	const user = "alice"
	grant(t, env.Client, ns, "submitter", user, submitterRules...)
	alice := impersonate(t, env, user)

	refused := func(t *testing.T, obj client.Object, want ...string) {
		t.Helper()
		err := alice.Create(ctx, obj)
		if !apierrors.IsForbidden(err) {
			t.Fatalf("creating %s as %s: got %v, want Forbidden", obj.GetName(), user, err)
		}
		for _, w := range append(want, SubmitterPolicy, user) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("refusal does not say %q: %v", w, err)
			}
		}
	}
	refused(t, testenv.SparkPi(ns, "no-pods"), "missing permission: create pods", "namespace "+ns)
	refused(t, policySchedule(ns, "no-pods"), "missing permission: create pods", "ScheduledSparkApplication")

	grant(t, env.Client, ns, "pods", user, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"create"}})
	refused(t, testenv.SparkPi(ns, "no-account"), "missing permission: get serviceaccounts "+submit.DriverServiceAccount, ns+"/"+submit.DriverServiceAccount)

	grant(t, env.Client, ns, "account", user, rbacv1.PolicyRule{
		APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"get"}, ResourceNames: []string{submit.DriverServiceAccount},
	})
	if err := alice.Create(ctx, testenv.SparkPi(ns, "allowed")); err != nil {
		t.Fatalf("with pods create and get on %s: %v", submit.DriverServiceAccount, err)
	}
	if err := alice.Create(ctx, policySchedule(ns, "allowed")); err != nil {
		t.Fatalf("schedule with pods create and get on %s: %v", submit.DriverServiceAccount, err)
	}

	// Accounts the application names, for the driver or the executors, by
	// field or by Spark conf; and the schedule's template.
	named := testenv.SparkPi(ns, "named-driver")
	named.Spec.Driver.ServiceAccount = ptr.To("powerful")
	refused(t, named, "missing permission: get serviceaccounts powerful", "driver")
	byConf := testenv.SparkPi(ns, "conf-driver")
	byConf.Spec.SparkConf = map[string]string{spark.ConfDriverServiceAccount: "powerful"}
	refused(t, byConf, "get serviceaccounts powerful")
	executors := testenv.SparkPi(ns, "named-executor")
	executors.Spec.Executor.ServiceAccount = ptr.To("powerful")
	refused(t, executors, "missing permission: get serviceaccounts powerful", "executors")
	schedule := policySchedule(ns, "named-driver")
	schedule.Spec.Template.SparkConf = map[string]string{spark.ConfExecutorServiceAccount: "powerful"}
	refused(t, schedule, "get serviceaccounts powerful")

	// The namespace's default account replaces sparkplane-spark.
	nsObj := &corev1.Namespace{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: ns}, nsObj); err != nil {
		t.Fatal(err)
	}
	nsObj.Annotations = map[string]string{submit.AnnotationDriverServiceAccount: "team-driver"}
	if err := env.Client.Update(ctx, nsObj); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, testenv.Timeout, "the namespace's driver account to be asked for", func() (bool, string) {
		err := alice.Create(ctx, testenv.SparkPi(ns, "ns-account"))
		return err != nil && strings.Contains(err.Error(), "get serviceaccounts team-driver"), fmt.Sprint(err)
	})

	// Updates: metadata only passes without pod rights; a spec change does not.
	bob := "bob"
	grant(t, env.Client, ns, "editor", bob, submitterRules...)
	bobClient := impersonate(t, env, bob)
	app := &v1alpha1.SparkApplication{}
	if err := bobClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "allowed"}, app); err != nil {
		t.Fatal(err)
	}
	app.Labels = map[string]string{"team": "a"}
	if err := bobClient.Update(ctx, app); err != nil {
		t.Fatalf("a label change by a user without pod rights: %v", err)
	}
	app.Spec.Arguments = []string{"1000"}
	if err := bobClient.Update(ctx, app); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "missing permission: create pods") {
		t.Fatalf("a spec change by a user without pod rights: got %v, want Forbidden naming create pods", err)
	}
}

// TestSubmitterPolicyExemptsTheOperator: the operator's ServiceAccount,
// which creates the runs of schedules, is not asked. Its ClusterRole would
// pass the checks anyway, so the test takes it away and grants the
// operator's name SparkApplication create in one namespace only: the
// operator is let through where another user with the same rights is
// refused.
func TestSubmitterPolicyExemptsTheOperator(t *testing.T) {
	env := apiServer(t)
	ctx := context.Background()
	installPolicy(t, env)
	binding := operatorClusterRoleBinding()
	if err := env.Client.Delete(ctx, binding); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := Apply(ctx, env.Client, []client.Object{operatorClusterRoleBinding()}, &bytes.Buffer{}); err != nil {
			t.Errorf("restoring the operator's binding: %v", err)
		}
	})
	ns := env.Namespace(t)
	operator := OperatorUsername()
	grant(t, env.Client, ns, "operator", operator, submitterRules...)
	grant(t, env.Client, ns, "twin", "operator-twin", submitterRules...)
	operatorClient := impersonate(t, env, operator)
	testenv.Eventually(t, testenv.Timeout, "the operator, without its ClusterRole, to create a run", func() (bool, string) {
		err := operatorClient.Create(ctx, testenv.SparkPi(ns, "run"))
		return err == nil, fmt.Sprint(err)
	})
	err := impersonate(t, env, "operator-twin").Create(ctx, testenv.SparkPi(ns, "twin"))
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "missing permission: create pods") {
		t.Fatalf("a user with the operator's rights but not its name: got %v, want Forbidden", err)
	}
}
