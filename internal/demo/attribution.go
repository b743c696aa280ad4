package demo

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// Who deleted an executor of a noticed node (report.json
// interruptions.bySource).
const (
	// SourceSparkplane: sparkplane's interruption controller started the
	// executor's termination with its graceful delete; read back from the
	// ExecutorDecommissioning (or DecommissionDeadlineMissed) event it
	// writes on the pod only for deletes that came first.
	SourceSparkplane = "sparkplane"
	// SourceKarpenter: Karpenter's drain evicted it (its "Evicted" event on
	// the pod, or an Eviction API eviction on a node Karpenter had tainted
	// karpenter.sh/disrupted) and sparkplane's delete did not come first.
	SourceKarpenter = "karpenter"
	// SourceOther: a graceful delete or eviction by anyone else.
	SourceOther = "other"
	// SourceLost: the pod went without a grace period (a delete with
	// gracePeriodSeconds 0, or gone with its node).
	SourceLost = "lost"
)

// Sources lists the sources in report order.
var Sources = []string{SourceSparkplane, SourceKarpenter, SourceOther, SourceLost}

// What Karpenter writes when its drain evicts a pod: a core/v1 Event from
// its recorder ("karpenter") with reason Evicted (karpenter
// pkg/controllers/node/termination/terminator/events.EvictPod).
const (
	karpenterComponent     = "karpenter"
	karpenterReasonEvicted = "Evicted"
)

// startEvents watches pod events for the marks that attribute deletes, until
// ctx ends, and returns once the watch synced.
func (t *tracker) startEvents(ctx context.Context, cs kubernetes.Interface) error {
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = "involvedObject.kind=Pod"
	}))
	events := factory.Core().V1().Events().Informer()
	handle := func(obj any) {
		if ev, ok := obj.(*corev1.Event); ok {
			t.onEvent(ev)
		}
	}
	if _, err := events.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: handle, UpdateFunc: func(_, obj any) { handle(obj) }}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), events.HasSynced) {
		return fmt.Errorf("demo: event watch did not sync")
	}
	return nil
}

// onEvent records a delete mark on a pod.
func (t *tracker) onEvent(ev *corev1.Event) {
	if ev.InvolvedObject.Kind != "Pod" || ev.InvolvedObject.UID == "" {
		return
	}
	mark := markOf(ev)
	if mark == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	// sparkplane's mark wins: it is only written when its delete came first.
	if t.marks[ev.InvolvedObject.UID] != SourceSparkplane {
		t.marks[ev.InvolvedObject.UID] = mark
	}
}

// markOf returns the source an event attributes its pod's delete to, or "".
func markOf(ev *corev1.Event) string {
	switch {
	case ev.Reason == v1alpha1.EventReasonExecutorDecommissioning, ev.Reason == v1alpha1.EventReasonDecommissionDeadlineMissed:
		return SourceSparkplane
	case ev.Reason == karpenterReasonEvicted && (ev.Source.Component == karpenterComponent || ev.ReportingController == karpenterComponent):
		return SourceKarpenter
	}
	return ""
}

// evictedByAPI reports whether p carries the DisruptionTarget condition the
// Eviction API sets (reason EvictionByEvictionAPI) before deleting a pod.
func evictedByAPI(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue && c.Reason == reasonEvictionByEvictionAPI {
			return true
		}
	}
	return false
}

// reasonEvictionByEvictionAPI is the DisruptionTarget reason the API server's
// eviction subresource writes (k8s.io/kubernetes pkg/registry/core/pod/storage).
const reasonEvictionByEvictionAPI = "EvictionByEvictionAPI"

// deleteSource attributes a deleted executor: lost without a grace period,
// else by the mark its pod got (none: other).
func deleteSource(graceful bool, mark string) string {
	switch {
	case !graceful:
		return SourceLost
	case mark == SourceSparkplane, mark == SourceKarpenter:
		return mark
	}
	return SourceOther
}

// attribute fills d's source and reaction for an executor deleted at
// deleteSeen, with its pod's mark, on a node noticed at notice.
func attribute(d *Decommission, graceful bool, mark string, notice, deleteSeen time.Time) {
	d.Source = deleteSource(graceful, mark)
	d.Decommissioned = graceful
	d.Reaction = max(deleteSeen.Sub(notice), 0)
}
