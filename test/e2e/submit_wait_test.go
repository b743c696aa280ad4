//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/emulator"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// TestSubmitWaitFollow: `sparkplane submit --wait --follow` on the local
// cluster, with the operator and the driver emulator running, blocks until
// the application ends, prints its state changes, and exits 0 when it
// Succeeded; an application that fails (the emulator's driver aborts its
// job) makes it exit non-zero with Spark's failure message. The local
// cluster's kwok nodes serve no kubelet log endpoint, so --follow says the
// driver's log is not available and the wait goes on (the log stream itself
// is client-go's pods/log, as kubectl logs -f).
func TestSubmitWaitFollow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a local cluster")
	}
	c := framework.Up(t, devcluster.Options{Zones: 1})
	installSparkplane(t, c)
	shuffleVolumes(t, sparkplaneClient(t, c), "submit-wait-shuffle", 8)
	ns := c.Namespace(t)
	startOperator(t, impersonatingKubeconfig(t, c.Kubeconfig()))
	runEmulator(t, context.Background(), c, ns)

	example := filepath.Join(framework.RepoRoot(t), "examples", "spark-pi.yaml")
	r := framework.Run(t, nil, "submit", "--kubeconfig", c.Kubeconfig(), "-n", ns, "-f", example, "--wait", "--follow", "--timeout", "2m")
	if r.Err != nil {
		t.Fatalf("submit --wait --follow of a succeeding application exited with %v:\n%s", r.Err, r.Stderr)
	}
	for _, want := range []string{"sparkapplication.sparkplane.io/spark-pi created", "sparkapplication.sparkplane.io/spark-pi Running",
		"the log of driver pod spark-pi-1-driver is not available", "sparkapplication.sparkplane.io/spark-pi Succeeded"} {
		if !strings.Contains(r.Stdout+r.Stderr, want) {
			t.Errorf("submit --wait --follow did not print %q", want)
		}
	}

	data, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	failing := strings.Replace(string(data), "name: spark-pi", "name: spark-pi-fails", 1) +
		"  sparkConf:\n    " + emulator.ConfOutcome + ": fail\n"
	path := filepath.Join(t.TempDir(), "fails.yaml")
	if err := os.WriteFile(path, []byte(failing), 0o644); err != nil {
		t.Fatal(err)
	}
	r = framework.Run(t, nil, "submit", "--kubeconfig", c.Kubeconfig(), "-n", ns, "-f", path, "--wait", "--follow", "--timeout", "2m")
	if r.Err == nil {
		t.Fatalf("submit --wait --follow of a failing application exited 0:\n%s%s", r.Stdout, r.Stderr)
	}
	for _, want := range []string{"sparkapplication.sparkplane.io/spark-pi-fails Failed", "Job aborted due to stage failure"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("the failure's output lacks %q:\n%s", want, r.Stderr)
		}
	}
}
