package install

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// TestReadImagePullSecretsIsOptIn: only with ReadImagePullSecrets does the
// operator get Secrets, and then only get, never list or watch; its
// Deployment runs with the flag that uses them.
func TestReadImagePullSecretsIsOptIn(t *testing.T) {
	for _, on := range []bool{false, true} {
		objs, err := Objects(Options{ReadImagePullSecrets: on})
		if err != nil {
			t.Fatal(err)
		}
		var secretRules []rbacv1.PolicyRule
		var args []string
		for _, obj := range objs {
			switch o := obj.(type) {
			case *rbacv1.ClusterRole:
				for _, r := range o.Rules {
					if slices.Contains(r.Resources, "secrets") {
						secretRules = append(secretRules, r)
					}
				}
			case *appsv1.Deployment:
				args = o.Spec.Template.Spec.Containers[0].Args
			}
		}
		flag := slices.Contains(args, ReadImagePullSecretsFlag)
		switch {
		case !on && (len(secretRules) > 0 || flag):
			t.Errorf("by default: secret rules %v, flag %v; want none", secretRules, flag)
		case on && (len(secretRules) != 1 || !slices.Equal(secretRules[0].Verbs, []string{"get"}) || !flag):
			t.Errorf("with ReadImagePullSecrets: secret rules %v, flag %v; want get only and the flag", secretRules, flag)
		}
	}
}
