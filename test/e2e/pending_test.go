//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/profile"
	"github.com/sparkplane/sparkplane/internal/submit"
	"github.com/sparkplane/sparkplane/internal/testenv"
	"github.com/sparkplane/sparkplane/internal/toolchain"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// writeManifest writes a SparkApplication manifest for `sparkplane submit -f`.
func writeManifest(t *testing.T, name, extra string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".yaml")
	manifest := `apiVersion: sparkplane.io/v1alpha1
kind: SparkApplication
metadata:
  name: ` + name + `
spec:
  type: Scala
  sparkVersion: 3.5.3
  image: apache/spark:3.5.3
  mainClass: org.apache.spark.examples.SparkPi
  mainApplicationFile: local:///opt/spark/examples/jars/spark-examples_2.12-3.5.3.jar
  driver:
    cores: 1
    memory: 1g
  executor:
    instances: 2
    cores: 1
    memory: 1g
  restartPolicy:
    type: Never
` + extra
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestExecutorsPendingWithoutStorageClass submits applications on the
// default profile whose shuffle StorageClass has no provisioner (the class
// installSparkplane creates; a class that does not exist at all fails the
// application at submission since d70390c, MissingPrerequisite): within
// 90 s the application says why its executors wait — ExecutorsPending with
// the scheduler's reason and the claim's class, in list and describe — and
// one with spec.executorStartTimeoutSeconds ends Failed with that reason.
func TestExecutorsPendingWithoutStorageClass(t *testing.T) {
	c := framework.Up(t, devcluster.Options{Zones: 1})
	installSparkplane(t, c)
	kubeconfig := c.Kubeconfig()
	startOperator(t, impersonatingKubeconfig(t, kubeconfig))
	startProcess(t, "dev", "driver-emulator", "--kubeconfig", kubeconfig, "-A")
	cl := sparkplaneClient(t, c)
	ctx := context.Background()
	ns := c.Namespace(t)
	submitted := time.Now()
	framework.MustRun(t, "submit", "--kubeconfig", kubeconfig, "-n", ns, "-f", writeManifest(t, "waits", ""))
	framework.MustRun(t, "submit", "--kubeconfig", kubeconfig, "-n", ns, "-f", writeManifest(t, "gives-up", "  executorStartTimeoutSeconds: 30\n"))

	// installSparkplane's class has no provisioner: the claims never bind.
	cause := `of StorageClass "` + profile.DefaultShuffleStorageClass + `" (provisioner kubernetes.io/no-provisioner) is not bound`
	app := &v1alpha1.SparkApplication{}
	testenv.Eventually(t, 90*time.Second, "ExecutorsPending=True (PersistentVolumeClaimUnbound) on waits", func() (bool, error) {
		if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: "waits"}, app); err != nil {
			return false, err
		}
		cond := meta.FindStatusCondition(app.Status.Conditions, v1alpha1.ConditionExecutorsPending)
		return cond != nil && cond.Status == "True" && cond.Reason == v1alpha1.ReasonClaimUnbound, nil
	})
	t.Logf("ExecutorsPending after %s: %s", time.Since(submitted).Round(time.Second), meta.FindStatusCondition(app.Status.Conditions, v1alpha1.ConditionExecutorsPending).Message)
	if app.Status.ExecutorsPending == nil || len(app.Status.ExecutorsPending.Pods) == 0 || !strings.Contains(app.Status.ExecutorsPending.Message, "persistent volumes to bind") {
		t.Errorf("status.executorsPending = %+v: want the pods and the scheduler's message", app.Status.ExecutorsPending)
	}
	list := framework.MustRun(t, "list", "--kubeconfig", kubeconfig, "-n", ns)
	if !strings.Contains(list.Stdout, cause+")") {
		t.Errorf("list does not say why the executors wait:\n%s", list.Stdout)
	}
	describe := framework.MustRun(t, "describe", "waits", "--kubeconfig", kubeconfig, "-n", ns)
	for _, want := range []string{"ExecutorsPending", cause, app.Status.ExecutorsPending.Pods[0]} {
		if !strings.Contains(describe.Stdout, want) {
			t.Errorf("describe lacks %q:\n%s", want, describe.Stdout)
		}
	}

	testenv.Eventually(t, 2*time.Minute, "gives-up to fail with ExecutorsStartTimedOut", func() (bool, error) {
		if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: "gives-up"}, app); err != nil {
			return false, err
		}
		return app.Status.State == v1alpha1.StateFailed, nil
	})
	done := meta.FindStatusCondition(app.Status.Conditions, v1alpha1.ConditionCompleted)
	if done == nil || done.Reason != v1alpha1.ReasonExecutorsStartTimedOut || !strings.Contains(done.Message, cause) {
		t.Errorf("gives-up ended with %+v: want reason %s naming %s", done, v1alpha1.ReasonExecutorsStartTimedOut, cause)
	}
}

// TestByHandFlow runs the local cluster the way the README and
// docs/dev-cluster.md tell a new user to, outside the demo: dev up
// --karpenter (which brings the shuffle StorageClass, its volume provisioner
// and the PriorityClasses the built-in profiles name), install, the operator
// and the driver emulator as background processes, submit
// examples/spark-pi.yaml on the default profile, and wait for Succeeded. The
// profile must not give it more executors than it asked for, and applying
// the rendered kwok bundle afterwards, as docs/platform.md says, must not
// conflict with what dev up applied.
func TestByHandFlow(t *testing.T) {
	name := framework.UniqueName(t)
	c := framework.UpCLI(t, name, "--karpenter", "--zones", "1")
	kubeconfig := c.Kubeconfig()
	framework.MustRun(t, "install", "--kubeconfig", kubeconfig, "--skip-operator-deployment")
	startProcess(t, "operator", "--kubeconfig", kubeconfig, "--metrics-bind-address", "0", "--health-probe-bind-address", "0")
	startProcess(t, "dev", "driver-emulator", "--kubeconfig", kubeconfig, "-A")
	cl := sparkplaneClient(t, c)
	ctx := context.Background()
	ns := c.Namespace(t)

	framework.MustRun(t, "submit", "--kubeconfig", kubeconfig, "-n", ns, "-f", filepath.Join(framework.RepoRoot(t), "examples", "spark-pi.yaml"))
	app := &v1alpha1.SparkApplication{}
	maxExecutors := int32(0)
	testenv.Eventually(t, 5*time.Minute, "spark-pi to succeed", func() (bool, error) {
		if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: "spark-pi"}, app); err != nil {
			return false, err
		}
		e := app.Status.Executors
		maxExecutors = max(maxExecutors, e.Pending+e.Running+e.Succeeded+e.Failed)
		if app.Status.State == v1alpha1.StateFailed {
			return false, errFailed(app)
		}
		return app.Status.State == v1alpha1.StateSucceeded, nil
	})
	if maxExecutors > 2 {
		t.Errorf("the application asked for 2 executors and had up to %d: the profile outgrew it", maxExecutors)
	}
	conf := &corev1.ConfigMap{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: submit.NamesFor(app, app.Status.Attempts).ConfConfigMap}, conf); err != nil {
		t.Fatal(err)
	}
	props, err := submit.ParseProperties(conf.Data["spark.properties"])
	if err != nil {
		t.Fatal(err)
	}
	if got := props["spark.dynamicAllocation.maxExecutors"]; got != "2" {
		t.Errorf("spark.dynamicAllocation.maxExecutors=%q: the default profile's dynamic allocation must be bounded by the 2 executors asked for", got)
	}
	claims := &corev1.PersistentVolumeClaimList{}
	if err := cl.List(ctx, claims, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	bound := 0
	for _, claim := range claims.Items {
		if claim.Status.Phase == corev1.ClaimBound {
			bound++
		}
	}
	if len(claims.Items) > 0 && bound == 0 {
		t.Errorf("none of the %d shuffle claims was bound by dev up's volume provisioner", len(claims.Items))
	}

	// The documented platform step after dev up: the rendered bundle's
	// cluster objects applied server-side, without --force-conflicts.
	dir := t.TempDir()
	framework.MustRun(t, "platform", "render", "--provider", "kwok", "--out", dir)
	kubectl, err := toolchain.Kubectl.Path()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--kubeconfig", kubeconfig, "apply", "--server-side"}
	for _, f := range []string{"priorityclasses.yaml", "storageclasses.yaml", "nodeclasses.yaml", "nodepools.yaml"} {
		args = append(args, "-f", filepath.Join(dir, f))
	}
	if out, err := exec.Command(kubectl, args...).CombinedOutput(); err != nil {
		t.Errorf("kubectl apply --server-side of the rendered bundle after dev up --karpenter: %v\n%s", err, out)
	}
}

func errFailed(app *v1alpha1.SparkApplication) error {
	cond := meta.FindStatusCondition(app.Status.Conditions, v1alpha1.ConditionCompleted)
	if cond == nil {
		return &failedError{"(no Completed condition)"}
	}
	return &failedError{cond.Reason + ": " + cond.Message}
}

type failedError struct{ msg string }

func (e *failedError) Error() string { return "the application failed: " + e.msg }
