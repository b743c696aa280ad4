package demo

import (
	"testing"
	"time"

	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	"github.com/google/go-cmp/cmp"
	"github.com/sparkplane/sparkplane/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// TestTrackerNotice feeds the tracker the watch events of one interruption,
// with a fake clock, and checks the notice's outcome: reactions from the
// earliest notice time, a hard delete counted as a miss (lost), an executor
// that ended before the notice left out, and each delete attributed by the
// event marks on its pod (sparkplane's even when Karpenter's eviction event
// comes too, Karpenter's, none: other).
func TestTrackerNotice(t *testing.T) {
	prices, err := ParsePrices([]byte(`[{"name":"m7g.2xlarge","offerings":[{"Price":0.11424,"Available":true,"Requirements":[
		{"key":"karpenter.sh/capacity-type","operator":"In","values":["spot"]},
		{"key":"topology.kubernetes.io/zone","operator":"In","values":["us-east-1a"]}]}]}]`))
	if err != nil {
		t.Fatal(err)
	}
	tr := newTracker(prices)
	clock := at(0)
	tr.now = func() time.Time { return clock }
	tr.setRun(RunOptimized)
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", CreationTimestamp: metav1.NewTime(at(0)), Labels: map[string]string{
		labelNodePool: "arm64-spot", labelInstanceType: "m7g.2xlarge", karpv1.CapacityTypeLabelKey: "spot", labelZone: "us-east-1a"}}}
	tr.onNode(node, false)
	pod := func(name string, phase corev1.PodPhase) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name), Labels: map[string]string{v1alpha1.LabelApplication: "app"}},
			Spec: corev1.PodSpec{NodeName: "n1"}, Status: corev1.PodStatus{Phase: phase}}
	}
	deleting := func(p *corev1.Pod, grace int64) *corev1.Pod {
		p = p.DeepCopy()
		p.DeletionTimestamp = &metav1.Time{Time: clock}
		p.DeletionGracePeriodSeconds = ptr.To(grace)
		return p
	}
	clock = at(5)
	for _, name := range []string{"e1", "e2", "e3", "e4", "e5", "early"} {
		tr.onExecutor(pod(name, corev1.PodRunning), false)
	}
	clock = at(8)
	tr.onExecutor(deleting(pod("early", corev1.PodRunning), 30), false) // released by its driver before the notice

	// The operator persisted a notice time before the watch showed the taint.
	clock = at(20)
	tainted := node.DeepCopy()
	tainted.Spec.Taints = []corev1.Taint{{Key: karpv1.DisruptedTaintKey, Effect: corev1.TaintEffectNoSchedule}}
	tainted.Annotations = map[string]string{v1alpha1.AnnotationInterruptionNoticeTime: at(19.5).Format(time.RFC3339Nano)}
	tr.onNode(tainted, false)

	n := Notice{Node: "n1"}
	if tr.noticeOutcome(&n) {
		t.Fatal("outcome done before any executor was deleted")
	}
	clock = at(19.75)
	tr.onExecutor(deleting(pod("e1", corev1.PodRunning), 115), false)
	clock = at(21)
	tr.onExecutor(deleting(pod("e2", corev1.PodRunning), 114), true) // only the removal seen: still graceful
	clock = at(22)
	tr.onExecutor(pod("e3", corev1.PodRunning), true) // gone without a graceful delete
	tr.onExecutor(deleting(pod("e4", corev1.PodRunning), 30), false)
	evicted := deleting(pod("e5", corev1.PodRunning), 90) // Karpenter's eviction, its event deduplicated away
	evicted.Status.Conditions = []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "EvictionByEvictionAPI"}}
	tr.onExecutor(evicted, false)
	event := func(pod, reason, component string) *corev1.Event {
		return &corev1.Event{InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: pod, UID: types.UID(pod)},
			Reason: reason, Source: corev1.EventSource{Component: component}, ReportingController: component}
	}
	tr.onEvent(event("e1", v1alpha1.EventReasonExecutorDecommissioning, "sparkplane-interruption"))
	tr.onEvent(event("e1", karpenterReasonEvicted, karpenterComponent)) // came second: sparkplane's stays
	tr.onEvent(event("e2", karpenterReasonEvicted, karpenterComponent))
	tr.onEvent(event("e4", karpenterReasonEvicted, "someone-else"))
	tr.onEvent(event("e3", v1alpha1.EventReasonExecutorDecommissioning, "sparkplane-interruption")) // no grace: lost all the same

	if !tr.noticeOutcome(&n) {
		t.Fatal("outcome not done after every executor was deleted")
	}
	want := Notice{Node: "n1", At: at(19.5), Executors: []Decommission{
		{Pod: "ns/e1", Reaction: 250 * time.Millisecond, Decommissioned: true, Source: SourceSparkplane},
		{Pod: "ns/e2", Reaction: 1500 * time.Millisecond, Decommissioned: true, Source: SourceKarpenter},
		{Pod: "ns/e3", Reaction: 2500 * time.Millisecond, Source: SourceLost},
		{Pod: "ns/e4", Reaction: 2500 * time.Millisecond, Decommissioned: true, Source: SourceOther},
		{Pod: "ns/e5", Reaction: 2500 * time.Millisecond, Decommissioned: true, Source: SourceKarpenter},
	}}
	if diff := cmp.Diff(want, n); diff != "" {
		t.Errorf("notice (-want +got):\n%s", diff)
	}

	clock = at(30)
	tr.onNode(tainted, true)
	nodes, execs, errs := tr.collect(RunOptimized, at(100))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if len(nodes) != 1 || !nodes[0].Deleted.Equal(at(30)) || nodes[0].PricePerHour != 0.11424 {
		t.Errorf("nodes %+v: want n1 deleted at 30s, priced 0.11424", nodes)
	}
	if len(execs) != 6 || execs[0].NodePool != "arm64-spot" || !execs[0].End.Equal(at(19.75)) {
		t.Errorf("executors %+v: want 6, the first on arm64-spot ending at 19.75s", execs)
	}
	if other, _, _ := tr.collect(RunBaseline, at(100)); len(other) != 0 {
		t.Errorf("baseline has nodes %v: nodes belong to the run that created them", other)
	}
}

// TestTrackerNoticeFromTheSpotITNTaint: with the nth or spot-itn delivery and
// no interruption controller (an ablated run), nothing persists a notice
// time and Karpenter taints only when the node is released; the notice is
// when the watch first showed the Spot interruption taint.
func TestTrackerNoticeFromTheSpotITNTaint(t *testing.T) {
	prices, _ := ParsePrices([]byte(`[{"name":"m7g.large","offerings":[{"Price":0.1,"Requirements":[
		{"key":"karpenter.sh/capacity-type","values":["spot"]},{"key":"topology.kubernetes.io/zone","values":["us-east-1a"]}]}]}]`))
	tr := newTracker(prices)
	clock := at(0)
	tr.now = func() time.Time { return clock }
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{
		labelNodePool: "arm64-spot", labelInstanceType: "m7g.large", karpv1.CapacityTypeLabelKey: "spot", labelZone: "us-east-1a"}}}
	tr.onNode(node, false)
	clock = at(10)
	itn := node.DeepCopy()
	itn.Spec.Taints = []corev1.Taint{{Key: taintSpotITN, Value: "x", Effect: corev1.TaintEffectNoSchedule}}
	tr.onNode(itn, false)
	clock = at(90)
	released := itn.DeepCopy()
	released.Spec.Taints = append(released.Spec.Taints, corev1.Taint{Key: karpv1.DisruptedTaintKey, Effect: corev1.TaintEffectNoSchedule})
	tr.onNode(released, false)
	if got := tr.noticeTime("n1"); !got.Equal(at(10)) {
		t.Errorf("notice time %v, want the Spot interruption taint's first sighting at 10s", got.Sub(t0))
	}
}

func TestTrackerUnpricedNode(t *testing.T) {
	prices, _ := ParsePrices([]byte(`[{"name":"m7g.large","offerings":[{"Price":0.1,"Requirements":[
		{"key":"karpenter.sh/capacity-type","values":["spot"]},{"key":"topology.kubernetes.io/zone","values":["us-east-1a"]}]}]}]`))
	tr := newTracker(prices)
	tr.onNode(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "x", Labels: map[string]string{labelNodePool: "p", labelInstanceType: "x9.huge"}}}, false)
	tr.onNode(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "system"}}, false)
	nodes, _, errs := tr.collect("", at(1))
	if len(errs) != 1 || len(nodes) != 1 {
		t.Errorf("want one priced-node error and the system node ignored, got nodes %v errors %v", nodes, errs)
	}
}
