//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/spark"
	"github.com/sparkplane/sparkplane/internal/testenv"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// benchApplication is a SparkPi application. schedulerName, when set, keeps
// the driver pod away from kube-scheduler (benchmarks measure submission,
// not scheduling on two cores).
// benchImage is the image of benchApplication's applications. The
// submission benchmark points it at an in-process registry: offline, the
// operator's image platform lookups of apache/spark would fail (an event and
// a condition per application, and a wait for the registry every
// FailureTTL), which production with a reachable registry does not pay.
var benchImage = "apache/spark:3.5.3"

func benchApplication(namespace, name, schedulerName string) *v1alpha1.SparkApplication {
	app := &v1alpha1.SparkApplication{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: v1alpha1.SparkApplicationSpec{
			Type:                v1alpha1.SparkApplicationTypeScala,
			SparkVersion:        "3.5.3",
			Image:               ptr.To(benchImage),
			MainClass:           ptr.To("org.apache.spark.examples.SparkPi"),
			MainApplicationFile: ptr.To("local:///opt/spark/examples/jars/spark-examples_2.12-3.5.3.jar"),
			Arguments:           []string{"1000"},
			Driver: v1alpha1.DriverSpec{SparkPodSpec: v1alpha1.SparkPodSpec{
				Cores: ptr.To[int32](1), Memory: ptr.To[v1alpha1.MemorySize]("1g"),
			}},
			Executor: v1alpha1.ExecutorSpec{
				SparkPodSpec: v1alpha1.SparkPodSpec{Cores: ptr.To[int32](1), Memory: ptr.To[v1alpha1.MemorySize]("2g")},
				Instances:    ptr.To[int32](10),
			},
		},
	}
	if schedulerName != "" {
		app.Spec.Driver.SchedulerName = ptr.To(schedulerName)
		app.Spec.Executor.SchedulerName = ptr.To(schedulerName)
	}
	return app
}

// countDriverPods returns the driver pods in namespace by application.
func countDriverPods(ctx context.Context, c client.Client, namespace string) (map[string]int, error) {
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace(namespace), client.MatchingLabels{spark.LabelRole: spark.RoleDriver}); err != nil {
		return nil, err
	}
	byApp := map[string]int{}
	for _, p := range pods.Items {
		byApp[p.Labels[v1alpha1.LabelApplication]]++
	}
	return byApp, nil
}

// TestOperatorKilledDuringBurst is issue 3's "Done when": killing the
// operator (SIGKILL) during a burst of 500 submissions and restarting it
// leaves exactly 500 driver pods, one per application, each application on
// its first attempt. The operator runs as its ServiceAccount (impersonated),
// so this also proves that the RBAC `sparkplane install` grants suffices.
func TestOperatorKilledDuringBurst(t *testing.T) {
	const apps = 500
	c := framework.Up(t, devcluster.Options{})
	installSparkplane(t, c)
	ns := c.Namespace(t)
	cl := sparkplaneClient(t, c)
	ctx := context.Background()
	kubeconfig := impersonatingKubeconfig(t, c.Kubeconfig())

	op := startOperator(t, kubeconfig)

	// The burst: 16 clients create 500 applications as fast as they can.
	var created atomic.Int32
	var submitErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := cl.Create(ctx, benchApplication(ns, fmt.Sprintf("burst-%03d", i), "")); err != nil {
					errOnce.Do(func() { submitErr = err })
					continue
				}
				created.Add(1)
			}
		}()
	}
	go func() {
		for i := 0; i < apps; i++ {
			work <- i
		}
		close(work)
	}()

	// Kill the operator mid-burst: once it has created some drivers and
	// while applications are still arriving.
	testenv.Eventually(t, 5*time.Minute, "50 driver pods before the kill", func() (bool, error) {
		byApp, err := countDriverPods(ctx, cl, ns)
		return len(byApp) >= 50, err
	})
	op.kill()
	killedAt := created.Load()
	before, _ := countDriverPods(ctx, cl, ns)
	t.Logf("SIGKILLed the operator with %d applications created and %d driver pods", killedAt, len(before))
	if killedAt >= apps {
		t.Logf("the burst ended before the kill; the test still checks the restart, but not mid-burst")
	}
	wg.Wait()
	if submitErr != nil {
		t.Fatalf("creating applications: %v", submitErr)
	}

	startOperator(t, kubeconfig)
	// Generous: the test judges exactness, not speed (the benchmark does),
	// and a shared two-core machine can be slow.
	testenv.Eventually(t, 10*time.Minute, "a driver pod for every application after the restart", func() (bool, error) {
		byApp, err := countDriverPods(ctx, cl, ns)
		return len(byApp) >= apps, err
	})
	// Wait for every status, then give a duplicate the chance to appear
	// before judging.
	testenv.Eventually(t, 5*time.Minute, "every application's attempt recorded", func() (bool, error) {
		list := &v1alpha1.SparkApplicationList{}
		if err := cl.List(ctx, list, client.InNamespace(ns)); err != nil {
			return false, err
		}
		for _, app := range list.Items {
			if app.Status.Attempts == 0 {
				return false, nil
			}
		}
		return true, nil
	})
	time.Sleep(5 * time.Second)

	byApp, err := countDriverPods(ctx, cl, ns)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for app, n := range byApp {
		total += n
		if n != 1 {
			t.Errorf("application %s has %d driver pods, want 1", app, n)
		}
	}
	if total != apps {
		t.Errorf("%d driver pods, want exactly %d", total, apps)
	}
	list := &v1alpha1.SparkApplicationList{}
	if err := cl.List(ctx, list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, app := range list.Items {
		if app.Status.Attempts != 1 || app.Status.DriverInfo.PodName == "" {
			t.Errorf("application %s: attempts %d, driver %q; want attempt 1 with its driver recorded", app.Name, app.Status.Attempts, app.Status.DriverInfo.PodName)
		}
	}
	for _, kind := range []struct {
		list client.ObjectList
		want int
		what string
	}{
		{&corev1.ServiceList{}, apps, "driver services"},
		{&corev1.ConfigMapList{}, 2 * apps, "spark.properties and pod template config maps"},
	} {
		if err := cl.List(ctx, kind.list, client.InNamespace(ns), client.HasLabels{v1alpha1.LabelApplication}); err != nil {
			t.Fatal(err)
		}
		if n := meta.LenList(kind.list); n != kind.want {
			t.Errorf("%d %s, want %d", n, kind.what, kind.want)
		}
	}
}
