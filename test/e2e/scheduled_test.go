//go:build e2e

package e2e

import (
	"context"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/sparkprofile"
	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/testenv"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// TestScheduledEvery10s: on the local cluster, a ScheduledSparkApplication
// with "@every 10s" starts a run per slot, each an ordinary SparkApplication
// named from its slot and submitted by the operator; as runs succeed (the
// test plays each driver's end, as the kubelet reports it) the history keeps
// exactly one, the successfulRunHistoryLimit default.
func TestScheduledEvery10s(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a local cluster")
	}
	c := framework.Up(t, devcluster.Options{Zones: 1})
	cl := operatorOn(t, c, sparkprofile.ResolverOptions{})
	ns := c.Namespace(t)
	ctx := context.Background()

	sched := &v1alpha1.ScheduledSparkApplication{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "every10"},
		Spec: v1alpha1.ScheduledSparkApplicationSpec{
			Schedule: "@every 10s",
			Template: v1alpha1.SparkApplicationSpec{
				Type: v1alpha1.SparkApplicationTypeScala, SparkVersion: "3.5.3", Image: ptr.To("spark:3.5.3"),
				MainClass:           ptr.To("org.apache.spark.examples.SparkPi"),
				MainApplicationFile: ptr.To("local:///opt/spark/examples/jars/spark-examples.jar"),
				Executor:            v1alpha1.ExecutorSpec{Instances: ptr.To[int32](0)},
			},
		},
	}
	if err := cl.Create(ctx, sched); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	finishDrivers := func() error {
		runs := &v1alpha1.SparkApplicationList{}
		if err := cl.List(ctx, runs, client.InNamespace(ns), client.MatchingLabels{v1alpha1.LabelScheduledBy: sched.Name}); err != nil {
			return err
		}
		for _, run := range runs.Items {
			seen[run.Name] = true
			driverName := run.Status.DriverInfo.PodName
			if driverName == "" || run.Status.State.IsTerminal() {
				continue
			}
			driver := &corev1.Pod{}
			if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: driverName}, driver); err != nil {
				if apierrors.IsNotFound(err) {
					continue
				}
				return err
			}
			if driver.Status.Phase == corev1.PodSucceeded {
				continue
			}
			// The driver's end, as the kubelet reports it (kwok keeps it).
			base := driver.DeepCopy()
			driver.Status.Phase = corev1.PodSucceeded
			if err := cl.Status().Patch(ctx, driver, client.MergeFrom(base)); err != nil && !apierrors.IsNotFound(err) {
				return err
			}
		}
		return nil
	}
	testenv.Eventually(t, 2*time.Minute, "three runs started and the history pruned to one", func() (bool, error) {
		if err := finishDrivers(); err != nil {
			return false, err
		}
		if err := cl.Get(ctx, client.ObjectKeyFromObject(sched), sched); err != nil {
			return false, err
		}
		runs := &v1alpha1.SparkApplicationList{}
		if err := cl.List(ctx, runs, client.InNamespace(ns), client.MatchingLabels{v1alpha1.LabelScheduledBy: sched.Name}); err != nil {
			return false, err
		}
		succeeded := 0
		for _, run := range runs.Items {
			if run.Status.State == v1alpha1.StateSucceeded {
				succeeded++
			}
		}
		return len(seen) >= 3 && succeeded == 1 && len(sched.Status.PastSuccessfulRunNames) == 1, nil
	})

	// Run names are <schedule>-<slot in Unix seconds>, slots 10s apart.
	var slots []int64
	for name := range seen {
		suffix, ok := strings.CutPrefix(name, sched.Name+"-")
		slot, err := strconv.ParseInt(suffix, 10, 64)
		if !ok || err != nil {
			t.Fatalf("run %q is not named <schedule>-<unix seconds>", name)
		}
		slots = append(slots, slot)
	}
	sort.Slice(slots, func(i, j int) bool { return slots[i] < slots[j] })
	for i := 1; i < len(slots); i++ {
		if d := slots[i] - slots[i-1]; d%10 != 0 {
			t.Errorf("slots %v are not on the @every 10s grid", slots)
		}
	}
	st := sched.Status
	if !slices.Contains(keys(seen), st.LastRunName) || st.NextRun == nil || st.ScheduleState != v1alpha1.ScheduleStateScheduled {
		t.Errorf("status: lastRunName %q nextRun %v state %q", st.LastRunName, st.NextRun, st.ScheduleState)
	}
	t.Logf("runs seen: %d (%v); kept: successful %v, last %s", len(seen), slots, st.PastSuccessfulRunNames, st.LastRunName)
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
