//go:build e2e

package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/testenv"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// BenchmarkDevUp measures `dev up` to every node Ready (the figure the issue
// asks to keep under 20 s) and, as the reference measured in the same run on
// the same machine, envtest's start of etcd and kube-apiserver alone: the part
// of dev up no local cluster can avoid.
func BenchmarkDevUp(b *testing.B) {
	var devUp, envtestUp time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		env, err := testenv.Start(testenv.Options{})
		if err != nil {
			b.Fatal(err)
		}
		envtestUp += time.Since(start)
		if err := env.Stop(); err != nil {
			b.Fatal(err)
		}

		name := framework.UniqueName(b)
		c, err := devcluster.Up(context.Background(), devcluster.Options{Name: name})
		if err != nil {
			b.Fatal(err)
		}
		devUp += c.ReadyAfter
		if err := devcluster.Down(name, false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(devUp.Seconds()/float64(b.N), "devup-s/op")
	b.ReportMetric(envtestUp.Seconds()/float64(b.N), "envtest-apiserver-s/op")
	b.ReportMetric(0, "ns/op")
}
