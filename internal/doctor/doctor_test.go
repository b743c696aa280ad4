package doctor

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/install"
	"github.com/sparkplane/sparkplane/internal/profile"
	"github.com/sparkplane/sparkplane/internal/submit"
	"github.com/sparkplane/sparkplane/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	var err error
	env, err = testenv.Start(testenv.Options{Scheme: Scheme()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = env.Stop()
	os.Exit(code)
}

func results(t *testing.T, namespace string) map[string]Result {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Result{}
	for _, r := range Run(context.Background(), Cluster{Client: env.Client, Discovery: dc}, Options{Namespace: namespace}) {
		t.Logf("%s %s: %s (fix: %s)", r.Status.Symbol(), r.Check, r.Message, r.Fix)
		out[r.Check] = r
	}
	return out
}

func expect(t *testing.T, got map[string]Result, check string, status Status, words ...string) {
	t.Helper()
	r, ok := got[check]
	if !ok {
		t.Errorf("no %s check", check)
		return
	}
	if r.Status != status {
		t.Errorf("%s: %s %q, want %s", check, r.Status, r.Message, status)
	}
	for _, w := range words {
		if !strings.Contains(r.Message+" "+r.Fix, w) {
			t.Errorf("%s: %q (fix %q) does not mention %q", check, r.Message, r.Fix, w)
		}
	}
}

// TestDoctor runs the checks against a bare API server, then after install,
// then with pieces taken away: each check says what it found and each ✗
// names its fix. (Karpenter's checks and the operator's run on the local
// cluster, in the e2e test TestInstallOnLocalCluster.)
func TestDoctor(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)

	bare := results(t, ns)
	expect(t, bare, CheckAPIServer, OK, "reachable")
	expect(t, bare, CheckCRDs, Fail, "sparkapplications.sparkplane.io", "sparkplane install")
	expect(t, bare, CheckOperator, Fail, "sparkplane install")
	expect(t, bare, CheckKarpenter, Fail, "nodepools.karpenter.sh")
	expect(t, bare, CheckPriorityClass, Fail, "no SparkProfiles", "sparkplane install")
	expect(t, bare, CheckSubmitterPolicy, Warn, install.SubmitterPolicy, "is missing", "sparkplane install")
	expect(t, bare, CheckMetricsStack, Warn, "podmonitors.monitoring.coreos.com")
	if !Failed(resultsList(bare)) {
		t.Error("Failed() is false with failing checks")
	}

	objs, err := install.Objects(install.Options{SkipOperatorDeployment: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := install.Apply(ctx, env.Client, objs, io.Discard); err != nil {
		t.Fatal(err)
	}
	installed := results(t, ns)
	expect(t, installed, CheckCRDs, OK, "match this binary")
	expect(t, installed, CheckPriorityClass, OK, v1alpha1.PriorityClassDriver, v1alpha1.PriorityClassExecutor)
	expect(t, installed, CheckStorageClass, Fail, profile.DefaultShuffleStorageClass, "platform render", profile.CostOptimized)
	expect(t, installed, CheckPodSecurity, OK, "admitted")
	expect(t, installed, CheckSubmitterPolicy, OK, install.SubmitterPolicy, "Deny")
	auditOnly := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: install.SubmitterPolicy}, auditOnly); err != nil {
		t.Fatal(err)
	}
	auditOnly.Spec.ValidationActions = []admissionregistrationv1.ValidationAction{admissionregistrationv1.Audit}
	if err := env.Client.Update(ctx, auditOnly); err != nil {
		t.Fatal(err)
	}
	expect(t, results(t, ns), CheckSubmitterPolicy, Warn, "[Audit]", "with Deny")
	expect(t, installed, CheckDriverAccount, Warn, submit.DriverServiceAccount)

	shuffle := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: profile.DefaultShuffleStorageClass}, Provisioner: "ebs.csi.aws.com"}
	if err := env.Client.Create(ctx, shuffle); err != nil {
		t.Fatal(err)
	}
	withClass := results(t, ns)
	expect(t, withClass, CheckStorageClass, OK, profile.DefaultShuffleStorageClass)
	expect(t, withClass, CheckCSIDriver, Fail, "ebs.csi.aws.com", "aws-ebs-csi-driver")
	csi := &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: "ebs.csi.aws.com"}}
	if err := env.Client.Create(ctx, csi); err != nil {
		t.Fatal(err)
	}
	expect(t, results(t, ns), CheckCSIDriver, OK, "ebs.csi.aws.com")

	if err := env.Client.Delete(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.PriorityClassExecutor}}); err != nil {
		t.Fatal(err)
	}
	expect(t, results(t, ns), CheckPriorityClass, Fail, v1alpha1.PriorityClassExecutor, "sparkplane install")

	account := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: submit.DriverServiceAccount}}
	if err := env.Client.Create(ctx, account); err != nil {
		t.Fatal(err)
	}
	expect(t, results(t, ns), CheckDriverAccount, Fail, "may not", "create pods")
	// The Role and RoleBinding install --job-namespaces (or the operator) creates.
	_, role, binding := submit.DriverIdentity(ns)
	for _, obj := range []client.Object{role, binding} {
		if err := env.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	expect(t, results(t, ns), CheckDriverAccount, OK, "may do what Spark's driver does")

	restricted := &corev1.Namespace{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: ns}, restricted); err != nil {
		t.Fatal(err)
	}
	restricted.Labels[submit.LabelPodSecurityEnforce] = submit.PodSecurityRestricted
	if err := env.Client.Update(ctx, restricted); err != nil {
		t.Fatal(err)
	}
	// The operator makes its pods meet restricted where it is enforced.
	expect(t, results(t, ns), CheckPodSecurity, OK, "admitted", ns+": restricted")
	// Another admission refusal (here a LimitRange smaller than a driver)
	// fails the check, naming it.
	tiny := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tiny"},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer,
			Max: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Mi")}}}}}
	if err := env.Client.Create(ctx, tiny); err != nil {
		t.Fatal(err)
	}
	expect(t, results(t, ns), CheckPodSecurity, Fail, "would be refused", "maximum memory")
}

func resultsList(m map[string]Result) []Result {
	var out []Result
	for _, r := range m {
		out = append(out, r)
	}
	return out
}
