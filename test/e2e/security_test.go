//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/install"
	"github.com/sparkplane/sparkplane/internal/spark"
	"github.com/sparkplane/sparkplane/internal/submit"
	"github.com/sparkplane/sparkplane/internal/testenv"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// TestNoConfusedDeputyOnLocalCluster: on the local cluster (RBAC
// authorization, the API server's ValidatingAdmissionPolicy and
// PodSecurity admission), with sparkplane installed by the CLI, the
// operator running as its own ServiceAccount and the driver emulator, in a
// namespace that enforces Pod Security "restricted" (a pod without a
// security context is refused there):
//   - a user bound only to SparkApplication create is refused, for an
//     application and for a schedule, and by `sparkplane submit`, with a
//     message that names the missing permission (create pods);
//   - a namespace editor (built-in edit) is admitted;
//   - with pods create the driver's ServiceAccount is asked for (get
//     serviceaccounts sparkplane-spark), and with that too the application
//     is admitted and runs to Succeeded: its driver pod and executor pods
//     (created by the emulated driver from the template) are admitted by
//     Pod Security restricted.
func TestNoConfusedDeputyOnLocalCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a local cluster")
	}
	c := framework.Up(t, devcluster.Options{Zones: 1})
	installSparkplane(t, c)
	cl := sparkplaneClient(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	startOperator(t, impersonatingKubeconfig(t, c.Kubeconfig()))
	ns := c.Namespace(t)
	namespace := &corev1.Namespace{}
	if err := cl.Get(ctx, client.ObjectKey{Name: ns}, namespace); err != nil {
		t.Fatal(err)
	}
	for k, v := range install.PodSecurityLabels(submit.PodSecurityRestricted) {
		namespace.Labels[k] = v
	}
	if err := cl.Update(ctx, namespace); err != nil {
		t.Fatal(err)
	}

	// Pod Security admission is on and enforcing there: a pod as
	// spark-submit makes it (no security context) is refused.
	plain := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "plain"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "spark", Image: "spark:3.5.3"}}},
	}
	testenv.Eventually(t, 30*time.Second, "Pod Security to refuse a pod without a security context", func() (bool, string) {
		err := cl.Create(ctx, plain.DeepCopy(), client.DryRunAll)
		return apierrors.IsForbidden(err) && strings.Contains(err.Error(), "violates PodSecurity"), fmt.Sprint(err)
	})

	shuffleVolumes(t, cl, "confused-deputy-shuffle", 4)
	runEmulator(t, ctx, c, ns)

	const user = "tenant-alice"
	grantUser := func(name string, rule rbacv1.PolicyRule) {
		t.Helper()
		for _, obj := range []client.Object{
			&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: []rbacv1.PolicyRule{rule}},
			&rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
				Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
			},
		} {
			if err := cl.Create(ctx, obj); err != nil {
				t.Fatal(err)
			}
		}
	}
	grantUser("submit", rbacv1.PolicyRule{APIGroups: []string{v1alpha1.GroupVersion.Group},
		Resources: []string{"sparkapplications", "scheduledsparkapplications"}, Verbs: []string{"create", "get"}})
	cfg := rest.CopyConfig(c.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
	alice, err := client.New(cfg, client.Options{Scheme: sparkplaneScheme()})
	if err != nil {
		t.Fatal(err)
	}

	newApp := func(name string) *v1alpha1.SparkApplication { return emulatedSparkPi(ns, name) }
	// refusedUntil creates obj as the user until the refusal names want (RBAC
	// reaches the authorizer through informers, a moment after a grant).
	refusedUntil := func(obj client.Object, want string) {
		t.Helper()
		var last error
		testenv.Eventually(t, 30*time.Second, "a refusal naming "+want, func() (bool, string) {
			last = alice.Create(ctx, obj)
			return apierrors.IsForbidden(last) && strings.Contains(last.Error(), want), fmt.Sprint(last)
		})
		t.Logf("refused: %v", last)
		for _, w := range []string{install.SubmitterPolicy, user, ns} {
			if !strings.Contains(last.Error(), w) {
				t.Errorf("refusal does not name %q: %v", w, last)
			}
		}
	}

	// A namespace editor (the built-in edit role, into which install
	// aggregates sparkplane-edit) holds create pods and get serviceaccounts:
	// admitted as before the policy.
	editBinding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "editor"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "tenant-editor"}},
	}
	if err := cl.Create(ctx, editBinding); err != nil {
		t.Fatal(err)
	}
	editorCfg := rest.CopyConfig(c.Config)
	editorCfg.Impersonate = rest.ImpersonationConfig{UserName: "tenant-editor", Groups: []string{"system:authenticated"}}
	editor, err := client.New(editorCfg, client.Options{Scheme: sparkplaneScheme()})
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "a namespace editor's application to be admitted (dry run)", func() (bool, string) {
		err := editor.Create(ctx, newApp("by-editor"), client.DryRunAll)
		return err == nil, fmt.Sprint(err)
	})

	refusedUntil(newApp("pi"), "missing permission: create pods")
	// What the user sees from the CLI: the API server's refusal, naming the
	// permission, and a failing exit code.
	r := framework.Run(t, nil, "submit", "--kubeconfig", c.Kubeconfig(), "--as", user, "--as-group", "system:authenticated",
		"-n", ns, "-f", filepath.Join(framework.RepoRoot(t), "examples", "spark-pi.yaml"))
	if r.Err == nil || !strings.Contains(r.Stdout+r.Stderr, "missing permission: create pods") {
		t.Errorf("sparkplane submit as %s without pod rights: err %v, output does not name the missing permission:\n%s%s", user, r.Err, r.Stdout, r.Stderr)
	}
	schedule := &v1alpha1.ScheduledSparkApplication{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "nightly"},
		Spec:       v1alpha1.ScheduledSparkApplicationSpec{Schedule: "0 3 * * *", Template: newApp("nightly").Spec},
	}
	refusedUntil(schedule, "missing permission: create pods")

	grantUser("pods", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"create"}})
	refusedUntil(newApp("pi"), "missing permission: get serviceaccounts "+submit.DriverServiceAccount)

	grantUser("driver-account", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"serviceaccounts"},
		Verbs: []string{"get"}, ResourceNames: []string{submit.DriverServiceAccount}})
	app := newApp("pi")
	testenv.Eventually(t, 30*time.Second, "the application to be admitted", func() (bool, string) {
		err := alice.Create(ctx, app)
		return err == nil, fmt.Sprint(err)
	})

	// Executor pods, as the emulated driver creates them from the template,
	// must get through Pod Security: watch for them while the application runs.
	var executor *corev1.Pod
	testenv.Eventually(t, 4*time.Minute, "the application in the restricted namespace to end", func() (bool, error) {
		if executor == nil && app.Status.SparkApplicationID != "" {
			pods := &corev1.PodList{}
			if err := cl.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{
				spark.LabelAppSelector: app.Status.SparkApplicationID, spark.LabelRole: spark.RoleExecutor,
			}); err != nil {
				return false, err
			}
			if len(pods.Items) > 0 {
				executor = &pods.Items[0]
			}
		}
		if err := cl.Get(ctx, client.ObjectKeyFromObject(app), app); err != nil {
			return false, err
		}
		return app.Status.State.IsTerminal(), nil
	})
	if app.Status.State != v1alpha1.StateSucceeded {
		t.Fatalf("application in the restricted namespace: %s %+v; want Succeeded", app.Status.State, app.Status.Conditions)
	}
	driver := &corev1.Pod{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: app.Status.DriverInfo.PodName}, driver); err != nil {
		t.Fatal(err)
	}
	if sc := driver.Spec.SecurityContext; sc == nil || !ptr.Deref(sc.RunAsNonRoot, false) || ptr.Deref(sc.RunAsUser, 0) != submit.SparkUID {
		t.Errorf("driver pod security context %+v: want runAsNonRoot as Spark's user", sc)
	}
	if executor == nil {
		t.Fatal("no executor pod was seen while the application ran")
	}
	if sc := executor.Spec.Containers[0].SecurityContext; sc == nil || ptr.Deref(sc.AllowPrivilegeEscalation, true) {
		t.Errorf("executor %s container security context %+v", executor.Name, sc)
	}
	t.Logf("in a restricted namespace: driver %s and executor %s admitted; application %s", driver.Name, executor.Name, app.Status.State)
}
