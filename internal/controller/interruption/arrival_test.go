package interruption

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

// TestNoticeClockStartsAtArrival: a notice without a time of its own (the
// Karpenter taint is NoSchedule: no timeAdded) starts its clock when the watch
// event showing it arrived, not when a worker reconciles the node; a taint's
// own time, when earlier, wins; a node without a notice leaves no mark, and
// a gone node counts only when node deletion is a signal.
func TestNoticeClockStartsAtArrival(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	clock := clocktesting.NewFakeClock(t0)
	c, err := NewController(Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	tainted := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "spot-1"},
		Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: TaintKarpenterDisrupted, Effect: corev1.TaintEffectNoSchedule}}}}
	healthy := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "healthy"}}

	c.noteArrival(tainted, false)
	c.noteArrival(healthy, false)
	clock.Step(3 * time.Second)   // the node waited in the queue
	c.noteArrival(tainted, false) // a later event of the same notice keeps the first arrival

	notice, ok := DetectNotice(tainted, c.signals, c.firstSeen(tainted.Name, clock.Now()))
	if !ok || !notice.Time.Equal(t0) {
		t.Errorf("notice time = %v (found %v), want the event's arrival %v, not the reconcile's %v", notice.Time, ok, t0, clock.Now())
	}
	if got := c.firstSeen(healthy.Name, clock.Now()); !got.Equal(clock.Now()) {
		t.Errorf("a node without a notice got an arrival time %v", got)
	}

	// A taint that carries its time: the earlier of it and the arrival.
	added := metav1.NewTime(t0.Add(-2 * time.Second))
	timed := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "asg-1"},
		Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: TaintNTHASGLifecycleTermination, Effect: corev1.TaintEffectNoExecute, TimeAdded: &added}}}}
	c.noteArrival(timed, false)
	if notice, _ := DetectNotice(timed, c.signals, c.firstSeen(timed.Name, clock.Now())); !notice.Time.Equal(added.Time) {
		t.Errorf("notice time = %v, want the taint's timeAdded %v", notice.Time, added.Time)
	}

	// A node gone: noted only when node deletion is a signal.
	c.noteArrival(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "gone"}}, true)
	if c.deletion == nil {
		t.Fatal("the default signals include node deletion")
	}
	clock.Step(time.Second)
	if got := c.firstSeen("gone", clock.Now()); !got.Equal(t0.Add(3 * time.Second)) {
		t.Errorf("gone node first seen %v, want its delete event's arrival %v", got, t0.Add(3*time.Second))
	}
	noDeletion, err := NewController(Options{Clock: clock, Signals: []Signal{{Name: SignalKarpenterDisrupted, TaintKey: TaintKarpenterDisrupted}}})
	if err != nil {
		t.Fatal(err)
	}
	noDeletion.noteArrival(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "gone"}}, true)
	if _, ok := noDeletion.arrivals.Load("gone"); ok {
		t.Error("a gone node was noted although node deletion is not a signal")
	}
}
