package install

import (
	"bytes"
	"context"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
	"k8s.io/component-helpers/auth/rbac/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/internal/submit"
	"github.com/sparkplane/sparkplane/internal/testenv"
)

// access is one SubjectAccessReview question.
type driverAccess struct {
	verb, resource, subresource, namespace string
}

// canDriver asks the API server whether the driver account of ns may do a.
func canDriver(t *testing.T, c client.Client, ns string, a driverAccess) (bool, string) {
	t.Helper()
	review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   "system:serviceaccount:" + ns + ":" + submit.DriverServiceAccount,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Verb: a.verb, Resource: a.resource, Subresource: a.subresource, Namespace: a.namespace,
		},
	}}
	if err := c.Create(context.Background(), review); err != nil {
		t.Fatalf("SubjectAccessReview: %v", err)
	}
	return review.Status.Allowed, review.Status.Reason
}

// TestJobNamespaceDriverAccount installs with --job-namespaces and asks the
// API server what the driver account there may do: every verb of the list in
// docs/security.md (submit.DriverRules) in its namespace, and nothing else —
// no secrets, not another namespace, nothing cluster-scoped, no RBAC.
func TestJobNamespaceDriverAccount(t *testing.T) {
	env := apiServer(t)
	ctx := context.Background()
	ns, other := env.Namespace(t), env.Namespace(t)
	objs, err := Objects(Options{SkipOperatorDeployment: true, JobNamespaces: []string{ns}})
	if err != nil {
		t.Fatal(err)
	}
	if err := Apply(ctx, env.Client, objs, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	// The API server's RBAC authorizer learns of new Roles and bindings
	// through its informers: wait until the grant is seen before asking
	// each permission once.
	testenv.Eventually(t, testenv.Timeout, "the driver's Role to take effect", func() (bool, string) {
		return canDriver(t, env.Client, ns, driverAccess{"create", "pods", "", ns})
	})
	n := 0
	for _, rule := range submit.DriverRules() {
		for _, resource := range rule.Resources {
			for _, verb := range rule.Verbs {
				n++
				if ok, reason := canDriver(t, env.Client, ns, driverAccess{verb, resource, "", ns}); !ok {
					t.Errorf("driver may not %s %s in its namespace: %s", verb, resource, reason)
				}
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d verbs in submit.DriverRules; the list lost its entries", n)
	}
	for _, a := range []driverAccess{
		{"get", "secrets", "", ns},
		{"list", "secrets", "", ns},
		{"watch", "secrets", "", ""},
		{"create", "pods", "", other},
		{"delete", "pods", "", other},
		{"list", "pods", "", ""},
		{"list", "nodes", "", ""},
		{"get", "nodes", "", ""},
		{"create", "pods", "exec", ns},
		{"get", "configmaps", "", ns},
		{"update", "pods", "", ns},
		{"create", "serviceaccounts", "token", ns},
	} {
		if ok, _ := canDriver(t, env.Client, ns, a); ok {
			t.Errorf("driver may %s %s/%s in namespace %q; it must not", a.verb, a.resource, a.subresource, a.namespace)
		}
	}
	// RBAC objects too: asked of the rbac group.
	review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:               "system:serviceaccount:" + ns + ":" + submit.DriverServiceAccount,
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "create", Group: rbacv1.GroupName, Resource: "rolebindings", Namespace: ns},
	}}
	if err := env.Client.Create(ctx, review); err != nil {
		t.Fatal(err)
	}
	if review.Status.Allowed {
		t.Error("driver may create rolebindings; it must not")
	}
}

// TestOperatorGrantsOnlyWhatItHolds creates the driver identity as the
// operator's own ServiceAccount (impersonated), as the sparkapplication
// controller does: the API server's escalation check lets it, because the
// operator holds every permission of the Role; and it refuses a Role with
// one permission more (reading secrets), because the operator has neither
// that permission nor escalate.
func TestOperatorGrantsOnlyWhatItHolds(t *testing.T) {
	env := apiServer(t)
	ctx := context.Background()
	objs, err := Objects(Options{SkipOperatorDeployment: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := Apply(ctx, env.Client, objs, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if covers, missing := validation.Covers(OperatorRules(), submit.DriverRules()); !covers {
		t.Fatalf("the operator's rules do not cover the driver's: missing %v", missing)
	}
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + Namespace + ":" + ServiceAccount,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + Namespace, "system:authenticated"},
	}
	operator, err := client.New(cfg, client.Options{Scheme: env.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	ns := env.Namespace(t)
	sa, role, binding := submit.DriverIdentity(ns)
	for _, obj := range []client.Object{sa, role, binding} {
		if err := operator.Create(ctx, obj); err != nil {
			t.Fatalf("operator creating %T %s/%s: %v", obj, ns, obj.GetName(), err)
		}
	}
	_, wider, _ := submit.DriverIdentity(ns)
	wider.Name = "wider"
	wider.Rules = append(wider.Rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}})
	if err := operator.Create(ctx, wider); !apierrors.IsForbidden(err) {
		t.Fatalf("operator creating a Role that also reads secrets: got %v, want Forbidden (escalation)", err)
	}
}
