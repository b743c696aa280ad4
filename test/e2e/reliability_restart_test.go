//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/testenv"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// readinessLog polls the operator's /readyz and records every answer (not
// only changes: on loaded cores a probe may time out before an outage, and
// the outage must still be seen).
type readinessLog struct {
	mu      sync.Mutex
	changes []readinessChange
}

type readinessChange struct {
	at    time.Time
	ready bool
}

func watchReadiness(ctx context.Context, op *operatorProcess) *readinessLog {
	l := &readinessLog{}
	go func() {
		for ctx.Err() == nil {
			l.add(op.readyz())
			time.Sleep(100 * time.Millisecond)
		}
	}()
	return l
}

func (l *readinessLog) add(ready bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.changes = append(l.changes, readinessChange{at: time.Now(), ready: ready})
}

// firstAfter is the first answer at or after since that was ready.
func (l *readinessLog) firstAfter(since time.Time, ready bool) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.changes {
		if !c.at.Before(since) && c.ready == ready {
			return c.at, true
		}
	}
	return time.Time{}, false
}

// runningApps lists the namespace's applications not in a final state.
func runningApps(t testing.TB, ctx context.Context, cl client.Client, ns string) map[string]bool {
	out := map[string]bool{}
	list := &v1alpha1.SparkApplicationList{}
	if err := cl.List(ctx, list, client.InNamespace(ns)); err != nil {
		t.Logf("listing applications: %v", err)
		return nil
	}
	for _, app := range list.Items {
		if !app.Status.State.IsTerminal() {
			out[app.Name] = true
		}
	}
	return out
}

// TestReliabilityControlPlaneRestart is issue 18's scenario 2: mid-fleet the
// API server stops, stays down 10 s and starts again; later etcd does the
// same. The operator's readiness probe turns false while it cannot reach a
// serving API server and true after; it reconnects, resyncs and finishes
// every application, none twice. Short: it runs in make test too.
func TestReliabilityControlPlaneRestart(t *testing.T) {
	framework.Reliability(t, "two 10 s outages under a 300-application fleet, 2-3 minutes")
	s := framework.NewScenario(t, "2-control-plane-restart",
		"kube-apiserver stopped mid-fleet for 10 s and started again; then etcd stopped for 10 s and started again")
	perOutage := reliabilityScale(t, 150)
	const down = 10 * time.Second
	const ttl = 15 * time.Second
	s.SetScale("%d applications per outage, %d in all", perOutage, 2*perOutage)
	c := framework.Up(t, devcluster.Options{Zones: 1})
	installSparkplane(t, c)
	ns := c.Namespace(t)
	cl := sparkplaneClient(t, c)
	tracker := framework.Track(t, c.Config, ns)
	framework.RunDrivers(t, c.Config, ns, 3*time.Second)
	// Without leader election: a leader that cannot renew its lease for
	// --leader-elect-renew-deadline (10 s) stops by design, and its
	// Deployment restarts it; this scenario is about reconnecting.
	op := startOperator(t, impersonatingKubeconfig(t, c.Kubeconfig()))
	s.Note(t, "the operator runs without leader election here: with it, a leader that cannot renew its lease for --leader-elect-renew-deadline (10 s) exits on purpose and its Deployment restarts it")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	readiness := watchReadiness(ctx, op)

	sub := &submitter{cl: cl}
	total := 0
	for _, outage := range []struct{ name, component string }{
		{"API server", devcluster.ComponentAPIServer},
		{"etcd", devcluster.ComponentEtcd},
	} {
		// Mid-fleet: applications arrive at a steady rate before, during
		// and after the outage.
		first := total
		sub.submit(ctx, t, perOutage, 4, float64(perOutage)/30, func(i int) *v1alpha1.SparkApplication {
			return reliabilityApp(ns, fmt.Sprintf("restart-%04d", first+i), ttl)
		})
		total += perOutage
		testenv.Eventually(t, 3*time.Minute, fmt.Sprintf("a third of the %s batch final before the outage", outage.name), func() (bool, error) {
			return tracker.Terminal() >= first+perOutage/3, nil
		})
		stoppedAt := time.Now()
		if err := devcluster.StopComponent(c.Name, outage.component); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s stopped (%.1fs to stop)", outage.name, time.Since(stoppedAt).Seconds())
		time.Sleep(time.Until(stoppedAt.Add(down)))
		startedAt := time.Now()
		if err := devcluster.StartComponent(context.Background(), c.Name, outage.component, 2*time.Minute); err != nil {
			t.Fatal(err)
		}
		servingAt := time.Now()
		pendingAtStart := runningApps(t, ctx, cl, ns)
		t.Logf("%s started again; the API server serves %.1fs later", outage.name, servingAt.Sub(startedAt).Seconds())
		testenv.Eventually(t, time.Minute, "the operator not ready during the "+outage.name+" outage and ready again after", func() (bool, error) {
			notReady, wentDown := readiness.firstAfter(stoppedAt, false)
			if !wentDown {
				return false, nil
			}
			_, ok := readiness.firstAfter(notReady, true)
			return ok, nil
		})
		notReady, _ := readiness.firstAfter(stoppedAt, false)
		readyAgain, _ := readiness.firstAfter(notReady, true)
		s.Check(t, "readiness false while the "+outage.name+" is down", notReady.Before(servingAt),
			"/readyz turned false %.1fs after the stop", notReady.Sub(stoppedAt).Seconds())
		s.Figure(t, outage.name+": readiness false after stop", notReady.Sub(stoppedAt).Seconds(), "s",
			"from the stop command to the first failed /readyz of the operator (polled every 100 ms)")
		s.Figure(t, outage.name+": API server serving after the start", servingAt.Sub(startedAt).Seconds(), "s",
			"from starting the stopped component to the API server's first 200 on /readyz (polled every 100 ms)")
		s.Figure(t, outage.name+": operator ready after the start", readyAgain.Sub(startedAt).Seconds(), "s",
			"from starting the stopped component to the operator's first 200 on /readyz (polled every 100 ms)")
		testenv.Eventually(t, 2*time.Minute, "an application finishing after the "+outage.name+" restart", func() (bool, error) {
			now := runningApps(t, ctx, cl, ns)
			for name := range pendingAtStart {
				if !now[name] {
					return true, nil
				}
			}
			return len(pendingAtStart) == 0, nil
		})
		s.Figure(t, outage.name+": first application progress after the restart", time.Since(servingAt).Seconds(), "s",
			"from the API server serving again to the first application that was not final then reaching a final state (listed every 100 ms): the operator reconnected and resynced")
		tracker.WaitFinal(t, total, 5*time.Minute)
		s.Figure(t, outage.name+": every application of the batch final after the restart", time.Since(servingAt).Seconds(), "s",
			"from the API server serving again to every application created so far in a final state")
	}
	sub.wait()
	tracker.Check(t, s, framework.Expectations{Apps: total, Succeeded: true, TTL: ttl})
	rss, _, err := op.memory()
	if err != nil {
		t.Fatal(err)
	}
	s.CheckMemory(t, rss, 1<<30)
}
