package interruption

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/spark"
	"github.com/sparkplane/sparkplane/internal/testenv"
)

// TestSignalDecommissionsExecutors: for each signal, the executors on the
// signalled node get a graceful delete with a grace period under the 120 s
// notice; executors on a healthy node, a non-Spark pod on the signalled node
// and the driver are untouched; the application's status counts the
// decommissions.
func TestSignalDecommissionsExecutors(t *testing.T) {
	cases := map[string]struct {
		taint corev1.Taint
	}{
		"karpenter":                     {taint: corev1.Taint{Key: TaintKarpenterDisrupted, Effect: corev1.TaintEffectNoSchedule}},
		"nth spot-itn":                  {taint: corev1.Taint{Key: TaintNTHSpotITN, Value: "spot-itn-0123", Effect: corev1.TaintEffectNoSchedule}},
		"nth rebalance-recommendation":  {taint: corev1.Taint{Key: TaintNTHRebalanceRecommendation, Value: "rebalance-0123", Effect: corev1.TaintEffectNoSchedule}},
		"nth asg-lifecycle-termination": {taint: corev1.Taint{Key: TaintNTHASGLifecycleTermination, Value: "asg-0123", Effect: corev1.TaintEffectNoExecute}},
		"nth scheduled-maintenance":     {taint: corev1.Taint{Key: TaintNTHScheduledMaintenance, Value: "sched-0123", Effect: corev1.TaintEffectNoSchedule}},
		"cluster-autoscaler":            {taint: corev1.Taint{Key: TaintClusterAutoscaler, Value: "0", Effect: corev1.TaintEffectNoSchedule}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := newCluster(t)
			c.node("doomed", nil)
			c.node("healthy", nil)
			c.application("app", v1alpha1.RestartPolicyType("Never"))
			c.pod("exec-1", "doomed", spark.RoleExecutor, "app")
			c.pod("exec-2", "doomed", spark.RoleExecutor, "app")
			c.pod("exec-3", "healthy", spark.RoleExecutor, "app")
			c.pod("sidecar", "doomed", "", "")
			startController(t, Options{})

			taint := tc.taint
			if taint.Key == TaintClusterAutoscaler {
				taint.Value = stringUnix(time.Now())
			}
			c.taint("doomed", taint)
			for pod, grace := range c.waitDecommissioned("exec-1", "exec-2") {
				if grace <= 100 || grace >= 120 {
					t.Errorf("pod %s grace period = %ds, want in (100, 120): a fresh notice leaves ~115s", pod, grace)
				}
			}
			settle()
			c.assertUntouched("exec-3", "sidecar")
			testenv.Eventually(t, 10*time.Second, "status.interruptions on the application", func() bool {
				s := c.getApplication("app").Status.Interruptions
				return s != nil && s.ExecutorsDecommissioned == 2 && s.Notices == 1 && s.LastNoticeTime != nil
			})
			node := &corev1.Node{}
			if err := env.Client.Get(context.Background(), client.ObjectKey{Name: c.nodeName("doomed")}, node); err != nil {
				t.Fatal(err)
			}
			if _, ok := node.Annotations[NoticeAnnotation]; !ok {
				t.Errorf("node has no %s annotation; a restarted operator would lose the notice time", NoticeAnnotation)
			}
			waitForEvent(t, c.ns, "exec-1", ReasonExecutorDecommissioning)
			waitForEvent(t, c.ns, "app", ReasonExecutorDecommissioning)
		})
	}
}

// TestNodeDeletion: a node being deleted (deletionTimestamp held by a
// finalizer) and a node already gone both get their executors decommissioned.
func TestNodeDeletion(t *testing.T) {
	c := newCluster(t)
	c.node("draining", nil, "example.com/hold")
	c.node("vanishing", nil)
	c.node("healthy", nil)
	c.pod("exec-draining", "draining", spark.RoleExecutor, "app")
	c.pod("exec-vanishing", "vanishing", spark.RoleExecutor, "app")
	c.pod("exec-healthy", "healthy", spark.RoleExecutor, "app")
	startController(t, Options{})
	ctx := context.Background()
	for _, name := range []string{"draining", "vanishing"} {
		if err := env.Client.Delete(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: c.nodeName(name)}}); err != nil {
			t.Fatal(err)
		}
	}
	for pod, grace := range c.waitDecommissioned("exec-draining", "exec-vanishing") {
		if grace <= 100 || grace >= 120 {
			t.Errorf("pod %s grace period = %ds, want in (100, 120)", pod, grace)
		}
	}
	settle()
	c.assertUntouched("exec-healthy")
}

// TestWithdrawnSignal: a rebalance recommendation withdrawn before the
// controller acted leaves the executors alone, and a persisted notice whose
// signal is gone is removed (a later notice starts its own clock).
func TestWithdrawnSignal(t *testing.T) {
	c := newCluster(t)
	c.node("recommended", nil)
	c.pod("exec-1", "recommended", spark.RoleExecutor, "app")
	// Withdrawn while no controller ran: the taint came and went.
	c.taint("recommended", corev1.Taint{Key: TaintNTHRebalanceRecommendation, Effect: corev1.TaintEffectNoSchedule})
	c.updateNode("recommended", func(n *corev1.Node) { n.Spec.Taints = nil })
	// Withdrawn after a previous operator persisted the notice but before it
	// acted.
	c.node("persisted", nil)
	c.pod("exec-2", "persisted", spark.RoleExecutor, "app")
	c.updateNode("persisted", func(n *corev1.Node) {
		n.Annotations = map[string]string{NoticeAnnotation: time.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano)}
	})
	startController(t, Options{})
	testenv.Eventually(t, 10*time.Second, "the stale notice annotation to be removed", func() bool {
		n := &corev1.Node{}
		_ = env.Client.Get(context.Background(), client.ObjectKey{Name: c.nodeName("persisted")}, n)
		_, ok := n.Annotations[NoticeAnnotation]
		return n.Name != "" && !ok
	})
	settle()
	c.assertUntouched("exec-1", "exec-2")

	// A fresh notice on the same node is then acted on from its own time.
	c.taint("persisted", corev1.Taint{Key: TaintNTHRebalanceRecommendation, Effect: corev1.TaintEffectNoSchedule})
	if grace := c.waitDecommissioned("exec-2")["exec-2"]; grace <= 100 {
		t.Errorf("grace period = %ds after a fresh notice, want > 100 (the withdrawn notice's clock must not count)", grace)
	}
}

// TestRestartMidInterruption: an operator stopped after the taint and a new
// one started finishes the job from what the cluster shows: it keeps the
// persisted notice time (so the grace period shrinks with the time spent),
// handles a node tainted while no operator ran, and never deletes an
// already terminating executor again.
func TestRestartMidInterruption(t *testing.T) {
	c := newCluster(t)
	c.node("doomed", nil)
	c.node("tainted-while-down", nil)
	c.pod("exec-1", "doomed", spark.RoleExecutor, "app")
	c.pod("exec-2", "doomed", spark.RoleExecutor, "app")
	c.pod("exec-4", "tainted-while-down", spark.RoleExecutor, "app")
	c.application("app", v1alpha1.RestartPolicyType("Never"))

	noticeTime := time.Now().Truncate(time.Second)
	stopFirst := startController(t, Options{Clock: clocktesting.NewFakePassiveClock(noticeTime)})
	c.taint("doomed", corev1.Taint{Key: TaintKarpenterDisrupted, Effect: corev1.TaintEffectNoSchedule})
	first := c.waitDecommissioned("exec-1", "exec-2")
	testenv.Eventually(t, 10*time.Second, "the first operator to count 2 executors", func() bool {
		s := c.getApplication("app").Status.Interruptions
		return s != nil && s.ExecutorsDecommissioned == 2
	})
	stopFirst()

	// While no operator runs: an executor lands on the doomed node (bound
	// before the taint, seen late) and another node is tainted.
	c.pod("exec-3", "doomed", spark.RoleExecutor, "app")
	c.taint("tainted-while-down", corev1.Taint{Key: TaintNTHSpotITN, Effect: corev1.TaintEffectNoSchedule})

	startController(t, Options{Clock: clocktesting.NewFakePassiveClock(noticeTime.Add(60 * time.Second))})
	graces := c.waitDecommissioned("exec-3", "exec-4")
	if graces["exec-3"] != 55 {
		t.Errorf("exec-3 grace = %ds, want 55: 120s notice, 60s already spent, 5s reserve", graces["exec-3"])
	}
	if graces["exec-4"] != 115 {
		t.Errorf("exec-4 grace = %ds, want 115: its notice is first seen by the new operator", graces["exec-4"])
	}
	settle()
	for name, grace := range first {
		if got := ptr.Deref(c.getPod(name).DeletionGracePeriodSeconds, -1); got != grace {
			t.Errorf("pod %s grace changed from %ds to %ds: deleted twice", name, grace, got)
		}
	}
	testenv.Eventually(t, 10*time.Second, "the application to count 4 executors and 2 notices (the doomed node's counted once)", func() bool {
		s := c.getApplication("app").Status.Interruptions
		return s != nil && s.ExecutorsDecommissioned == 4 && s.Notices == 2
	})
}

// TestNoDoubleAction: a pod someone else is already deleting is not deleted
// again, and repeated signals on the same node do not re-delete.
func TestNoDoubleAction(t *testing.T) {
	c := newCluster(t)
	c.node("doomed", nil)
	c.pod("exec-terminating", "doomed", spark.RoleExecutor, "app")
	c.pod("exec-1", "doomed", spark.RoleExecutor, "app")
	ctx := context.Background()
	if err := env.Client.Delete(ctx, c.getPod("exec-terminating"), client.GracePeriodSeconds(300)); err != nil {
		t.Fatal(err)
	}
	before := counterValue(t, executorsDecommissionedTotal.WithLabelValues(SignalNTHSpotITN))
	startController(t, Options{})
	c.taint("doomed", corev1.Taint{Key: TaintNTHSpotITN, Effect: corev1.TaintEffectNoSchedule})
	grace := c.waitDecommissioned("exec-1")["exec-1"]
	// A second signal on the same node (repeated notices are common).
	c.taint("doomed", corev1.Taint{Key: TaintKarpenterDisrupted, Effect: corev1.TaintEffectNoSchedule})
	settle()
	if got := ptr.Deref(c.getPod("exec-terminating").DeletionGracePeriodSeconds, -1); got != 300 {
		t.Errorf("already terminating pod's grace = %ds, want its own 300", got)
	}
	if got := ptr.Deref(c.getPod("exec-1").DeletionGracePeriodSeconds, -1); got != grace {
		t.Errorf("exec-1 grace changed from %d to %d after a repeated signal", grace, got)
	}
	if got := counterValue(t, executorsDecommissionedTotal.WithLabelValues(SignalNTHSpotITN)) - before; got != 1 {
		t.Errorf("executors decommissioned = %v, want 1", got)
	}
}

// TestDriverOnInterruptedNode: a driver on a node that is going away is not
// deleted (the application controller owns retries) but reported with the
// DriverNodeInterrupted condition and events.
func TestDriverOnInterruptedNode(t *testing.T) {
	c := newCluster(t)
	c.node("doomed", nil)
	c.application("app", v1alpha1.RestartPolicyType("OnFailure"))
	c.pod("app-driver", "doomed", spark.RoleDriver, "app")
	c.pod("exec-1", "doomed", spark.RoleExecutor, "app")
	startController(t, Options{})
	c.taint("doomed", corev1.Taint{Key: TaintKarpenterDisrupted, Effect: corev1.TaintEffectNoSchedule})
	c.waitDecommissioned("exec-1")
	testenv.Eventually(t, 10*time.Second, "the DriverNodeInterrupted condition and status.interruptions.driver", func() string {
		st := c.getApplication("app").Status
		cond := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionDriverNodeInterrupted)
		if cond == nil || cond.Status != metav1.ConditionTrue || cond.Reason != v1alpha1.ReasonDriverNodeInterrupted {
			return fmt.Sprintf("condition %+v", cond)
		}
		if st.Interruptions == nil || st.Interruptions.Driver == nil {
			return "no status.interruptions.driver"
		}
		d := st.Interruptions.Driver
		if d.Pod != "app-driver" || d.Node != c.nodeName("doomed") || d.Signal == "" || d.NoticeTime.IsZero() {
			return fmt.Sprintf("status.interruptions.driver %+v", *d)
		}
		return ""
	})
	waitForEvent(t, c.ns, "app-driver", ReasonDriverNodeInterrupted)
	waitForEvent(t, c.ns, "app", ReasonDriverNodeInterrupted)
	c.assertUntouched("app-driver")
}
