package sparkapplication_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/sparkapplication"
	"github.com/sparkplane/sparkplane/internal/operator"
	"github.com/sparkplane/sparkplane/internal/profile"
	"github.com/sparkplane/sparkplane/internal/spark"
	"github.com/sparkplane/sparkplane/internal/submit"
	"github.com/sparkplane/sparkplane/internal/testenv"
)

// startRegisteredManager runs the operator as `sparkplane operator` builds
// it (operator.New) until the test ends, and returns the context it runs
// under. Skipping the controller-name check lets several tests of this
// process each start their own.
func startRegisteredManager(t *testing.T) context.Context {
	t.Helper()
	startOperator(t)
	return context.Background()
}

// startOperator is startRegisteredManager returning the operator.
func startOperator(t *testing.T) *operator.Operator {
	t.Helper()
	env.ShuffleStorageClass(t, profile.DefaultShuffleStorageClass)
	op, err := operator.New(env.Config, operator.Options{SkipControllerNameValidation: true})
	if err != nil {
		t.Fatal(err)
	}
	testenv.Run(t, "operator", op.Start)
	testenv.Eventually(t, testenv.Timeout, "the operator's caches", func() string {
		if err := op.Ready(); err != nil {
			return err.Error()
		}
		return ""
	})
	return op
}

// TestSubmissionReadsWatchedFromStart: what every submission reads through
// the operator's cache is watched (and synced) by the time the operator is
// ready, so the first submissions do not wait for an informer to start.
func TestSubmissionReadsWatchedFromStart(t *testing.T) {
	op := startOperator(t)
	for _, obj := range []client.Object{&corev1.Namespace{}, &storagev1.StorageClass{}, &schedulingv1.PriorityClass{}} {
		informer, err := op.GetCache().GetInformer(context.Background(), obj, cache.BlockUntilSynced(false))
		if err != nil {
			t.Fatal(err)
		}
		if !informer.HasSynced() {
			t.Errorf("%T: the ready operator's cache had no synced informer; the first read started one", obj)
		}
	}
}

// TestRegisteredController runs the controller the way the operator does —
// a manager, controller.Register, the slim pod cache and its watches — and
// checks an application goes from created to Running with executor counts
// and events, driven only by pod changes.
func TestRegisteredController(t *testing.T) {
	ns := env.Namespace(t)
	ctx := startRegisteredManager(t)

	c := env.Client
	if err := c.Create(ctx, scalaApp(ns, "managed")); err != nil {
		t.Fatal(err)
	}
	app := &v1alpha1.SparkApplication{}
	get := func() *v1alpha1.SparkApplication {
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "managed"}, app); err != nil {
			t.Fatal(err)
		}
		return app
	}
	testenv.Eventually(t, testenv.Timeout, "submission", func() string {
		if st := get().Status; st.State != v1alpha1.StatePending {
			return fmt.Sprintf("state %q", st.State)
		}
		return ""
	})
	names := submit.NamesFor(app, 1)
	driver := &corev1.Pod{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: names.DriverPod}, driver); err != nil {
		t.Fatal(err)
	}
	driver.Status.Phase = corev1.PodRunning
	if err := c.Status().Update(ctx, driver); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		exec := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-exec-%d", names.Prefix, i), Namespace: ns, Labels: map[string]string{
				v1alpha1.LabelApplication: "managed", spark.LabelAppSelector: names.AppID, spark.LabelRole: spark.RoleExecutor}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: spark.ExecutorContainerName, Image: "apache/spark:3.5.3"}}},
		}
		if err := c.Create(ctx, exec); err != nil {
			t.Fatal(err)
		}
		exec.Status.Phase = corev1.PodRunning
		if err := c.Status().Update(ctx, exec); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, testenv.Timeout, "running with executors", func() string {
		if st := get().Status; st.State != v1alpha1.StateRunning || st.Executors.Running != 3 {
			return fmt.Sprintf("state %q executors %+v", st.State, st.Executors)
		}
		return ""
	})
	testenv.Eventually(t, testenv.Timeout, "events", func() string {
		list := &eventsv1.EventList{}
		if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
			return err.Error()
		}
		seen := map[string]bool{}
		for _, e := range list.Items {
			if e.Regarding.Name == "managed" {
				seen[e.Reason] = true
			}
		}
		// A submission writes no event (the status's Submitted condition
		// and the submissions counter record it); running does.
		if seen["Submitted"] || !seen["DriverRunning"] {
			return fmt.Sprintf("events seen: %v, want DriverRunning and no Submitted", seen)
		}
		return ""
	})
}

// reconcileCounts are the reconciles the sparkapplication controller has
// run in this process by result, from controller-runtime's metrics.
func reconcileCounts(t *testing.T) map[string]float64 {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelValue(m, "controller") == sparkapplication.ControllerName {
				counts[labelValue(m, "result")] += m.GetCounter().GetValue()
			}
		}
	}
	return counts
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// TestSubmissionTakesOneReconcile: in the operator, an application is
// submitted by one reconcile, and nothing wakes it again until its driver
// changes: neither the creation of the driver pod it made, nor its own
// status write. (Before, the driver's creation event brought a reconcile
// that found the cache without the status write and polled every 250 ms:
// at least two reconciles an application.)
func TestSubmissionTakesOneReconcile(t *testing.T) {
	ns := env.Namespace(t)
	// The applications of the tests before, which a new operator would
	// reconcile (and requeue) while this one counts, go first.
	all := &v1alpha1.SparkApplicationList{}
	if err := env.Client.List(context.Background(), all); err != nil {
		t.Fatal(err)
	}
	for i := range all.Items {
		if err := env.Client.Delete(context.Background(), &all.Items[i]); client.IgnoreNotFound(err) != nil {
			t.Fatal(err)
		}
	}
	ctx := startRegisteredManager(t)
	// Until its start-up reconciles (the pods left behind) are done.
	before := reconcileCounts(t)
	testenv.Eventually(t, testenv.Timeout, "the operator's start-up reconciles", func() string {
		time.Sleep(time.Second)
		now := reconcileCounts(t)
		if fmt.Sprint(now) != fmt.Sprint(before) {
			before = now
			return fmt.Sprintf("reconciles %v", now)
		}
		return ""
	})
	const apps = 6
	for i := range apps {
		if err := env.Client.Create(ctx, scalaApp(ns, fmt.Sprintf("once-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, testenv.Timeout, "submission", func() string {
		list := &v1alpha1.SparkApplicationList{}
		if err := env.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
			return err.Error()
		}
		for _, app := range list.Items {
			if app.Status.State != v1alpha1.StatePending {
				return fmt.Sprintf("%s: state %q", app.Name, app.Status.State)
			}
		}
		return ""
	})
	time.Sleep(time.Second) // what would wake them again has happened
	// One more than one each: the driver's creation event may pass
	// before its create's reply is remembered (a reconcile, and its
	// wait for the status write's event: two).
	after := reconcileCounts(t)
	got := 0.0
	for result, n := range after {
		after[result] = n - before[result]
		got += after[result]
	}
	if got < apps || got > apps+2 {
		t.Errorf("%v reconciles for %d applications (by result: %v); want one each", got, apps, after)
	}
}
