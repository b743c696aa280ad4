package emulator

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/sparkplane/sparkplane/internal/testenv"
)

// sparkDriverRules are the permissions docs/security.md lists for a Spark
// driver (what sparkplane's operator grants sparkplane-spark). The emulator
// imports no operator code, so its tests spell them out.
func sparkDriverRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch", "create", "patch", "delete", "deletecollection"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create", "deletecollection"}},
		{APIGroups: []string{""}, Resources: []string{"persistentvolumeclaims"}, Verbs: []string{"create", "list", "deletecollection"}},
		{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"deletecollection"}},
	}
}

// createDriverAccounts creates ServiceAccounts in ns bound to a Role with
// rules, as an administrator (or sparkplane's operator) would for drivers:
// the emulator acts as the driver pod's account.
func createDriverAccounts(ctx context.Context, t *testing.T, client kubernetes.Interface, ns string, rules []rbacv1.PolicyRule, accounts ...string) {
	t.Helper()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "spark-driver", Namespace: ns}, Rules: rules}
	if _, err := client.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	for _, sa := range accounts {
		if _, err := client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		binding := &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "spark-driver-" + sa, Namespace: ns},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: ns}},
		}
		if _, err := client.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
}

// TestIntegrationDriverActsAsItsServiceAccount: the emulated driver's calls
// are made as the driver pod's ServiceAccount. With an account that may do
// everything a driver does but create pods, the driver ends Failed with
// Spark's client error naming the refused call, and no executor exists;
// with the full set it creates executors. The driver's conf directory files
// (here log4j2.properties) reach the executors' ConfigMap.
func TestIntegrationDriverActsAsItsServiceAccount(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	client := kubernetes.NewForConfigOrDie(env.Config)

	run := func(t *testing.T, rules []rbacv1.PolicyRule) (string, *corev1.Pod) {
		_, ns, driver, _ := startApplicationAs(t, ctx, "spark.kubernetes.allocation.batch.delay=100ms\n", rules, func(driver *corev1.Pod, cms []*corev1.ConfigMap) {
			for _, cm := range cms {
				if cm.Name == "spark-pi-7f3a-driver-conf-map" {
					cm.Data["log4j2.properties"] = "rootLogger.level = warn\n"
				}
			}
			for i := range driver.Spec.Volumes {
				if cm := driver.Spec.Volumes[i].ConfigMap; cm != nil && cm.Name == "spark-pi-7f3a-driver-conf-map" {
					cm.Items = append(cm.Items, corev1.KeyToPath{Key: "log4j2.properties", Path: "log4j2.properties"})
				}
			}
		})
		return ns, driver
	}

	t.Run("without create pods", func(t *testing.T) {
		rules := sparkDriverRules()
		rules[0].Verbs = []string{"get", "list", "watch", "patch", "delete", "deletecollection"}
		ns, driver := run(t, rules)
		var pod *corev1.Pod
		testenv.Eventually(t, time.Minute, "the driver to fail", func() bool {
			var err error
			pod, err = client.CoreV1().Pods(ns).Get(ctx, driver.Name, metav1.GetOptions{})
			return err == nil && pod.Status.Phase == corev1.PodFailed
		})
		for _, want := range []string{
			"io.fabric8.kubernetes.client.KubernetesClientException: Failure executing: POST at: https://kubernetes.default.svc/api/v1/namespaces/" + ns + "/pods",
			"Forbidden!Configured service account doesn't have access",
			`User "system:serviceaccount:` + ns + `:default" cannot create resource "pods"`,
		} {
			if !strings.Contains(pod.Status.Message, want) {
				t.Errorf("driver status message %q lacks %q", pod.Status.Message, want)
			}
		}
		execs, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelSparkRole + "=" + RoleExecutor})
		if err != nil {
			t.Fatal(err)
		}
		if len(execs.Items) != 0 {
			t.Errorf("%d executors exist though the driver may not create pods", len(execs.Items))
		}
	})

	t.Run("with the driver's permissions", func(t *testing.T) {
		ns, _ := run(t, sparkDriverRules())
		var execs *corev1.PodList
		testenv.Eventually(t, time.Minute, "executors", func() bool {
			var err error
			execs, err = client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelSparkRole + "=" + RoleExecutor})
			return err == nil && len(execs.Items) > 0
		})
		cms, err := client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelSparkRole + "=" + RoleExecutor})
		if err != nil || len(cms.Items) != 1 {
			t.Fatalf("executor ConfigMaps: %v, %v; want one", cms, err)
		}
		if got := cms.Items[0].Data["log4j2.properties"]; got != "rootLogger.level = warn\n" {
			t.Errorf("executor ConfigMap log4j2.properties = %q, want the driver's", got)
		}
		mounted := false
		for _, m := range execs.Items[0].Spec.Containers[0].VolumeMounts {
			mounted = mounted || (m.MountPath == "/opt/spark/conf" && m.Name == execConfVolume)
		}
		if !mounted {
			t.Errorf("executor does not mount its ConfigMap at /opt/spark/conf")
		}
	})
}
