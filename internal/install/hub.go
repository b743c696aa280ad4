package install

import (
	"errors"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/profile"
)

// Names of what `sparkplane install --hub` creates, beside Namespace and the
// edit and view roles it shares with a member's install. A cluster may be a
// hub and a member at once: none of these names is a member's.
const (
	HubServiceAccount     = "sparkplane-hub"
	HubRole               = "sparkplane-hub"
	HubLeaderElectionRole = "sparkplane-hub-leader-election"
	// HubKubeconfigsRole lets the hub read the members' kubeconfig Secrets,
	// in Namespace only (where `sparkplane clusters add` writes them).
	HubKubeconfigsRole = "sparkplane-hub-member-kubeconfigs"
	HubDeployment      = "sparkplane-hub"
	// HubLeaderElectionID is the Lease the hub operator's replicas compete for.
	HubLeaderElectionID = "sparkplane-hub"
)

// HubPodLabels select the hub operator's pods.
var HubPodLabels = map[string]string{"app.kubernetes.io/name": "sparkplane", "app.kubernetes.io/component": "hub"}

// HubRules are the hub operator's cluster-wide permissions: what
// internal/controller/hub and the schedules' controller do on a hub, and
// nothing of Spark (a hub runs no pods). Applications: read, create (a
// schedule's runs), delete (TTL, history limits) and their status (placement,
// the mirrored state); MemberClusters: read and their status (heartbeats);
// SparkProfiles: read (placement fits an application's profile tiers);
// events. The members' kubeconfigs come from HubKubeconfigsRole, in Namespace
// only.
func HubRules() []rbacv1.PolicyRule {
	group := v1alpha1.GroupVersion.Group
	return []rbacv1.PolicyRule{
		{APIGroups: []string{group}, Resources: []string{"sparkapplications"}, Verbs: verbs(readVerbs, []string{"create", "delete"})},
		{APIGroups: []string{group}, Resources: []string{"sparkapplications/status", "scheduledsparkapplications/status", "memberclusters/status"}, Verbs: []string{"get", "update", "patch"}},
		{APIGroups: []string{group}, Resources: []string{"scheduledsparkapplications", "memberclusters", "sparkprofiles"}, Verbs: readVerbs},
		// A schedule's runs are owned by it (blockOwnerDeletion).
		{APIGroups: []string{group}, Resources: []string{"scheduledsparkapplications/finalizers"}, Verbs: []string{"update"}},
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
		{APIGroups: []string{"events.k8s.io"}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
	}
}

// HubObjects returns what `sparkplane install --hub` applies, in apply
// order: the CRDs, the built-in SparkProfiles (the hub fits applications
// against their tiers), the namespace, the hub's ServiceAccount and RBAC, the
// roles that let namespace editors and viewers use SparkApplications (users
// submit to the hub), and the hub operator's Deployment (`operator --hub
// --leader-elect`). No PriorityClasses, submitter policy or driver accounts:
// nothing runs Spark on a hub.
func HubObjects(opts Options) ([]client.Object, error) {
	if len(opts.JobNamespaces) > 0 || opts.ReadImagePullSecrets {
		return nil, errors.New("--hub installs a hub, which runs no Spark: drop --job-namespaces and --read-image-pull-secrets (they belong to the members' install)")
	}
	crds, err := v1alpha1.CRDs()
	if err != nil {
		return nil, err
	}
	var objs []client.Object
	for _, crd := range crds {
		crd.APIVersion, crd.Kind = "apiextensions.k8s.io/v1", "CustomResourceDefinition"
		objs = append(objs, crd)
	}
	for _, p := range profile.BuiltinProfiles() {
		objs = append(objs, p)
	}
	objs = append(objs, namespace(), hubServiceAccount())
	objs = append(objs, hubRBAC()...)
	view := viewClusterRole()
	view.Rules = append(view.Rules, rbacv1.PolicyRule{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"memberclusters", "memberclusters/status"}, Verbs: readVerbs})
	objs = append(objs, editClusterRole(), view)
	if !opts.SkipOperatorDeployment {
		image := opts.Image
		if image == "" {
			image = DefaultImage()
		}
		objs = append(objs, hubDeployment(image))
	}
	return objs, nil
}

func hubServiceAccount() client.Object {
	sa := serviceAccount()
	sa.Name, sa.Labels = HubServiceAccount, labels("hub")
	return sa
}

// hubRBAC: the cluster role and its binding, the Secrets and leader
// election roles in Namespace and their bindings, all to the hub's account.
func hubRBAC() []client.Object {
	subjects := []rbacv1.Subject{{Kind: "ServiceAccount", Name: HubServiceAccount, Namespace: Namespace}}
	role := &rbacv1.ClusterRole{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
		ObjectMeta: metav1.ObjectMeta{Name: HubRole, Labels: labels("hub")},
		Rules:      HubRules(),
	}
	binding := &rbacv1.ClusterRoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: HubRole, Labels: labels("hub")},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: HubRole},
		Subjects:   subjects,
	}
	objs := []client.Object{role, binding}
	for _, r := range []struct {
		name  string
		rules []rbacv1.PolicyRule
	}{
		{HubKubeconfigsRole, []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}}},
		{HubLeaderElectionRole, leaderElectionRole().Rules},
	} {
		name, rules := r.name, r.rules
		objs = append(objs,
			&rbacv1.Role{
				TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace, Labels: labels("hub")},
				Rules:      rules,
			},
			&rbacv1.RoleBinding{
				TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace, Labels: labels("hub")},
				RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
				Subjects:   subjects,
			})
	}
	return objs
}

// hubDeployment is the operator's Deployment running `operator --hub`:
// same image, probes and hardening, its own account, labels and Lease.
func hubDeployment(image string) *appsv1.Deployment {
	d := deployment(image)
	d.Name, d.Labels = HubDeployment, labels("hub")
	d.Spec.Selector.MatchLabels = HubPodLabels
	d.Spec.Template.Labels = HubPodLabels
	spec := &d.Spec.Template.Spec
	spec.ServiceAccountName = HubServiceAccount
	c := &spec.Containers[0]
	c.Name = "hub"
	c.Args = append([]string{"operator", "--hub"}, c.Args[1:]...)
	return d
}
