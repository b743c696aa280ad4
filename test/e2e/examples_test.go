//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/emulator"
	"github.com/sparkplane/sparkplane/internal/testenv"
	"github.com/sparkplane/sparkplane/internal/toolchain"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// TestExamplesSucceed applies every manifest in examples/ with kubectl's
// strict validation on a local cluster where sparkplane is installed and the
// operator and the driver emulator run; each application reaches Succeeded.
// The local cluster stands in for the platform bundle's storage the way a
// real cluster's would serve it: PersistentVolumes of the shuffle class for
// the PVC-shuffle profiles, and executor nodes labelled as having the NVMe
// RAID0 array for nvme-shuffle.
func TestExamplesSucceed(t *testing.T) {
	if testing.Short() {
		t.Skip("long: runs every example application on a local cluster")
	}
	c := framework.Up(t, devcluster.Options{Zones: 1})
	installSparkplane(t, c)
	cl := sparkplaneClient(t, c)
	ctx := context.Background()
	ns := c.Namespace(t)

	shuffleVolumes(t, cl, "shuffle", 40)
	var nodes corev1.NodeList
	if err := cl.List(ctx, &nodes, client.MatchingLabels{devcluster.LabelNodeRole: devcluster.NodeRoleExecutor}); err != nil {
		t.Fatal(err)
	}
	for i := range nodes.Items {
		n := &nodes.Items[i]
		n.Labels[v1alpha1.LabelLocalNVMe] = v1alpha1.LocalNVMeRAID0
		if err := cl.Update(ctx, n); err != nil {
			t.Fatal(err)
		}
	}

	startOperator(t, impersonatingKubeconfig(t, c.Kubeconfig()))
	em, err := emulator.New(c.Config, emulator.Options{Namespace: ns, TimeScale: 200})
	if err != nil {
		t.Fatal(err)
	}
	emCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- em.Run(emCtx) }()
	defer func() { stop(); <-done }()

	kubectl, err := toolchain.Kubectl.Path()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(framework.RepoRoot(t), "examples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples (%v)", err)
	}
	var names []string
	for _, file := range files {
		out, err := exec.Command(kubectl, "--kubeconfig", c.Kubeconfig(), "apply", "--validate=strict", "-n", ns, "-f", file).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl apply --validate=strict -f %s: %v\n%s", filepath.Base(file), err, out)
		}
		t.Logf("%s: %s", filepath.Base(file), strings.TrimSpace(string(out)))
		// "sparkapplication.sparkplane.io/NAME created"
		names = append(names, strings.Fields(strings.TrimPrefix(string(out), "sparkapplication.sparkplane.io/"))[0])
	}
	for i, name := range names {
		testenv.Eventually(t, 5*time.Minute, filepath.Base(files[i])+" Succeeded", func() (bool, error) {
			app := &v1alpha1.SparkApplication{}
			if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, app); err != nil {
				return false, err
			}
			if app.Status.State == v1alpha1.StateFailed {
				var why []string
				for _, cond := range app.Status.Conditions {
					if cond.Status == metav1.ConditionFalse || cond.Type == v1alpha1.ConditionCompleted {
						why = append(why, cond.Type+"="+cond.Reason+": "+cond.Message)
					}
				}
				return false, fmt.Errorf("%s failed: %s", name, strings.Join(why, "; "))
			}
			return app.Status.State == v1alpha1.StateSucceeded, nil
		})
	}
}
