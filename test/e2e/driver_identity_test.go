//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/spark"
	"github.com/sparkplane/sparkplane/internal/submit"
	"github.com/sparkplane/sparkplane/internal/testenv"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// TestDriverAccountOnLocalCluster: on the local cluster, with the operator
// and the driver emulator (which acts as each driver pod's ServiceAccount):
//   - an application whose account may do all a driver does but create pods
//     ends Failed, its status carrying Spark's client error for the refused
//     POST of an executor pod;
//   - the same application naming no account runs as sparkplane-spark, which
//     the operator creates, and succeeds; the log4j2.properties of its
//     sparkConfigMap is in the driver's SPARK_CONF_DIR and in the ConfigMap
//     the driver writes for its executors' conf directory.
func TestDriverAccountOnLocalCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a local cluster")
	}
	c := framework.Up(t, devcluster.Options{Zones: 1})
	installSparkplane(t, c)
	cl := sparkplaneClient(t, c)
	// The operator runs as its own ServiceAccount with exactly the RBAC
	// install grants: creating the drivers' Role and RoleBinding passes the
	// API server's escalation check only because it holds every permission
	// in them.
	startOperator(t, impersonatingKubeconfig(t, c.Kubeconfig()))
	// The default profile keeps shuffle on claims of the shuffle class; the
	// local cluster has no provisioner, so volumes stand ready.
	shuffleVolumes(t, cl, "driver-identity-shuffle", 8)
	ns := c.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	runEmulator(t, ctx, c, ns)

	// An account with every permission of a driver but creating pods.
	rules := submit.DriverRules()
	rules[0].Verbs = []string{"get", "list", "watch", "patch", "delete", "deletecollection"}
	for _, obj := range []client.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "no-create"}},
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "no-create"}, Rules: rules},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "no-create"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "no-create"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "no-create", Namespace: ns}},
		},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "spark-files"}, Data: map[string]string{"log4j2.properties": "rootLogger.level = warn\n"}},
	} {
		if err := cl.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}

	newApp := func(name string) *v1alpha1.SparkApplication {
		app := emulatedSparkPi(ns, name)
		app.Spec.SparkConfigMap = ptr.To("spark-files")
		return app
	}
	restricted := newApp("restricted")
	restricted.Spec.Driver.ServiceAccount = ptr.To("no-create")
	byDefault := newApp("by-default")
	for _, app := range []*v1alpha1.SparkApplication{restricted, byDefault} {
		if err := cl.Create(ctx, app); err != nil {
			t.Fatal(err)
		}
	}
	ended := func(app *v1alpha1.SparkApplication) func() (bool, error) {
		return func() (bool, error) {
			if err := cl.Get(ctx, client.ObjectKeyFromObject(app), app); err != nil {
				return false, err
			}
			return app.Status.State.IsTerminal(), nil
		}
	}

	testenv.Eventually(t, 3*time.Minute, "the restricted application ends", ended(restricted))
	running := meta.FindStatusCondition(restricted.Status.Conditions, v1alpha1.ConditionRunning)
	t.Logf("restricted: %s, Running=%v", restricted.Status.State, running)
	if restricted.Status.State != v1alpha1.StateFailed || running == nil {
		t.Fatalf("restricted application: state %s, Running condition %+v; want Failed with the driver's error", restricted.Status.State, running)
	}
	for _, want := range []string{
		"KubernetesClientException: Failure executing: POST at: https://kubernetes.default.svc/api/v1/namespaces/" + ns + "/pods",
		`"system:serviceaccount:` + ns + `:no-create" cannot create resource "pods"`,
	} {
		if !strings.Contains(running.Message, want) {
			t.Errorf("the driver's failure %q lacks %q", running.Message, want)
		}
	}

	testenv.Eventually(t, 3*time.Minute, "the default-account application ends", ended(byDefault))
	if byDefault.Status.State != v1alpha1.StateSucceeded {
		t.Fatalf("default-account application: %s (%v); want Succeeded", byDefault.Status.State, byDefault.Status.Conditions)
	}
	driver := &corev1.Pod{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: byDefault.Status.DriverInfo.PodName}, driver); err != nil {
		t.Fatal(err)
	}
	if driver.Spec.ServiceAccountName != submit.DriverServiceAccount {
		t.Errorf("driver ran as %q, want %s", driver.Spec.ServiceAccountName, submit.DriverServiceAccount)
	}
	names := submit.NamesFor(byDefault, 1)
	conf := &corev1.ConfigMap{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: names.ConfConfigMap}, conf); err != nil {
		t.Fatal(err)
	}
	if conf.Data["log4j2.properties"] == "" {
		t.Errorf("the driver's SPARK_CONF_DIR ConfigMap lacks log4j2.properties: keys %v", mapKeys(conf.Data))
	}
	execConf := &corev1.ConfigMapList{}
	if err := cl.List(ctx, execConf, client.InNamespace(ns), client.MatchingLabels{
		spark.LabelAppSelector: byDefault.Status.SparkApplicationID, spark.LabelRole: spark.RoleExecutor,
	}); err != nil {
		t.Fatal(err)
	}
	if len(execConf.Items) != 1 || execConf.Items[0].Data["log4j2.properties"] != "rootLogger.level = warn\n" {
		t.Errorf("executor conf ConfigMaps %v: want one holding the driver's log4j2.properties", execConf.Items)
	}
}

func mapKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
