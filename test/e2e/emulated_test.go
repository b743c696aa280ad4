//go:build e2e

package e2e

import (
	"context"
	"testing"

	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/emulator"
	"github.com/sparkplane/sparkplane/internal/testenv"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// runEmulator runs the driver emulator for namespace ns until the test ends.
func runEmulator(t testing.TB, ctx context.Context, c *framework.Cluster, ns string) {
	t.Helper()
	em, err := emulator.New(c.Config, emulator.Options{Namespace: ns, EventLogDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	emCtx, stopEmulator := context.WithCancel(ctx)
	emDone := make(chan error, 1)
	go func() { emDone <- em.Run(emCtx) }()
	t.Cleanup(func() { stopEmulator(); <-emDone })
}

// emulatedSparkPi is a SparkPi with two executors whose emulated run takes
// a few seconds.
func emulatedSparkPi(ns, name string) *v1alpha1.SparkApplication {
	app := testenv.SparkPi(ns, name)
	app.Spec.Executor.Instances = ptr.To[int32](2)
	app.Spec.Executor.Cores = ptr.To[int32](1)
	app.Spec.Executor.Memory = ptr.To(v1alpha1.MemorySize("1g"))
	app.Spec.SparkConf = map[string]string{
		"spark.sparkplane.emulator.workload":      "small",
		"spark.sparkplane.emulator.tasksPerStage": "8",
		"spark.sparkplane.emulator.taskDuration":  "1s",
		"spark.sparkplane.emulator.timeScale":     "4",
	}
	return app
}
