package install

import (
	"bytes"
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

// TestHubRBACIsLeastPrivilege: install --hub, applied to a real API server,
// lets the hub's account do what the hub controller and the schedules'
// controller do on a hub, read the members' kubeconfigs in Namespace only,
// and nothing of Spark.
func TestHubRBACIsLeastPrivilege(t *testing.T) {
	env := apiServer(t)
	ctx := context.Background()
	objs, err := Objects(Options{Hub: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := Apply(ctx, env.Client, objs, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	allowed := []access{
		{"watch", "sparkplane.io", "sparkapplications", "", ""},
		{"create", "sparkplane.io", "sparkapplications", "", "team-a"},
		{"delete", "sparkplane.io", "sparkapplications", "", "team-a"},
		{"patch", "sparkplane.io", "sparkapplications", "status", "team-a"},
		{"watch", "sparkplane.io", "memberclusters", "", ""},
		{"patch", "sparkplane.io", "memberclusters", "status", ""},
		{"watch", "sparkplane.io", "scheduledsparkapplications", "", ""},
		{"patch", "sparkplane.io", "scheduledsparkapplications", "status", "team-a"},
		{"update", "sparkplane.io", "scheduledsparkapplications", "finalizers", "team-a"},
		{"list", "sparkplane.io", "sparkprofiles", "", ""},
		{"get", "", "secrets", "", Namespace},
		{"update", "coordination.k8s.io", "leases", "", Namespace},
		{"create", "", "events", "", "team-a"},
		{"create", "events.k8s.io", "events", "", "team-a"},
	}
	denied := []access{
		{"get", "", "secrets", "", "team-a"},
		{"list", "", "secrets", "", Namespace},
		{"watch", "", "secrets", "", ""},
		{"create", "", "pods", "", "team-a"},
		{"watch", "", "pods", "", ""},
		{"create", "", "configmaps", "", "team-a"},
		{"watch", "", "nodes", "", ""},
		{"update", "sparkplane.io", "sparkapplications", "", "team-a"},
		{"update", "sparkplane.io", "memberclusters", "", ""},
		{"delete", "sparkplane.io", "memberclusters", "", ""},
		{"update", "sparkplane.io", "sparkprofiles", "", ""},
		{"update", "coordination.k8s.io", "leases", "", "kube-system"},
		{"create", "rbac.authorization.k8s.io", "roles", "", "team-a"},
		{"create", "", "serviceaccounts", "", "team-a"},
	}
	checkAccess(t, env, "hub", HubServiceAccount, allowed, denied)

	// The Deployment runs the hub, elected, as its own account.
	var hub *appsv1.Deployment
	for _, obj := range objs {
		if d, ok := obj.(*appsv1.Deployment); ok {
			hub = d
		}
	}
	if hub == nil || hub.Name != HubDeployment {
		t.Fatalf("install --hub has no Deployment %s", HubDeployment)
	}
	args := strings.Join(hub.Spec.Template.Spec.Containers[0].Args, " ")
	if !strings.HasPrefix(args, "operator --hub --leader-elect") || hub.Spec.Template.Spec.ServiceAccountName != HubServiceAccount {
		t.Errorf("hub Deployment runs %q as %s; want operator --hub --leader-elect as %s", args, hub.Spec.Template.Spec.ServiceAccountName, HubServiceAccount)
	}
	for _, obj := range objs {
		if obj.GetName() == Deployment || obj.GetName() == OperatorRole || obj.GetObjectKind().GroupVersionKind().Kind == "PriorityClass" {
			t.Errorf("install --hub includes %s %s, which belongs to a member", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName())
		}
	}
	if _, err := Objects(Options{Hub: true, JobNamespaces: []string{"team-a"}}); err == nil || !strings.Contains(err.Error(), "drop --job-namespaces") {
		t.Errorf("install --hub --job-namespaces: %v; want a refusal naming the flag", err)
	}
}
