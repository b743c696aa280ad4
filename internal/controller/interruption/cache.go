package interruption

import (
	"context"
	"maps"
	"time"

	"github.com/sparkplane/sparkplane/internal/spark"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// isSparkPod says whether pod is a Spark driver or executor: the shared
// cluster state may hold every pod of the cluster.
func isSparkPod(pod *corev1.Pod) bool {
	role := pod.Labels[spark.LabelRole]
	return role == spark.RoleExecutor || role == spark.RoleDriver
}

// nodeSource enqueues a node when it appears, goes, or its taints, deletion
// or persisted notice change; status heartbeats are ignored. It notes when
// the event that first shows a node's notice (or its deletion) arrived: the
// clock of a notice that carries no time of its own starts there, so the
// reaction time includes the wait in the work queue.
func (c *Controller) nodeSource() source.Source {
	changed := predicate.TypedFuncs[*corev1.Node]{
		UpdateFunc: func(e event.TypedUpdateEvent[*corev1.Node]) bool {
			o, n := e.ObjectOld, e.ObjectNew
			return !equalTaints(o.Spec.Taints, n.Spec.Taints) ||
				(o.DeletionTimestamp == nil) != (n.DeletionTimestamp == nil) ||
				!maps.Equal(o.Annotations, n.Annotations)
		},
	}
	enqueue := func(node *corev1.Node, gone bool, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		c.noteArrival(node, gone)
		q.Add(reconcile.Request{NamespacedName: client.ObjectKey{Name: node.Name}})
	}
	return source.Kind(c.cache, &corev1.Node{}, handler.TypedFuncs[*corev1.Node, reconcile.Request]{
		CreateFunc: func(_ context.Context, e event.TypedCreateEvent[*corev1.Node], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(e.Object, false, q)
		},
		UpdateFunc: func(_ context.Context, e event.TypedUpdateEvent[*corev1.Node], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(e.ObjectNew, false, q)
		},
		DeleteFunc: func(_ context.Context, e event.TypedDeleteEvent[*corev1.Node], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(e.Object, true, q)
		},
		GenericFunc: func(_ context.Context, e event.TypedGenericEvent[*corev1.Node], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(e.Object, false, q)
		},
	}, changed)
}

// noteArrival records now as when node's notice was first seen, if the node
// carries one (or is gone, when node deletion is a signal) and none is
// recorded yet. Reconcile forgets it once the notice is withdrawn.
func (c *Controller) noteArrival(node *corev1.Node, gone bool) {
	now := c.clock.Now()
	if gone && c.deletion == nil {
		return
	}
	if !gone {
		if _, ok := DetectNotice(node, c.signals, now); !ok {
			return
		}
	}
	c.arrivals.LoadOrStore(node.Name, now)
}

// firstSeen is when node's notice was first seen: the arrival of the event
// that showed it, else now (a restarted operator's first look).
func (c *Controller) firstSeen(node string, now time.Time) time.Time {
	if at, ok := c.arrivals.Load(node); ok && at.(time.Time).Before(now) {
		return at.(time.Time)
	}
	return now
}

// podSource enqueues a Spark pod's node when the pod appears on it (which,
// after a restart, re-examines every node that runs Spark pods) or is bound
// to it, and forgets a deleted pod's issued mark.
func (c *Controller) podSource() source.Source {
	enqueueNode := func(pod *corev1.Pod, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		if pod.Spec.NodeName != "" && isSparkPod(pod) {
			q.Add(reconcile.Request{NamespacedName: client.ObjectKey{Name: pod.Spec.NodeName}})
		}
	}
	return source.Kind(c.cache, &corev1.Pod{}, handler.TypedFuncs[*corev1.Pod, reconcile.Request]{
		CreateFunc: func(_ context.Context, e event.TypedCreateEvent[*corev1.Pod], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueueNode(e.Object, q)
		},
		UpdateFunc: func(_ context.Context, e event.TypedUpdateEvent[*corev1.Pod], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if e.ObjectOld.Spec.NodeName != e.ObjectNew.Spec.NodeName {
				enqueueNode(e.ObjectNew, q)
			}
		},
		DeleteFunc: func(_ context.Context, e event.TypedDeleteEvent[*corev1.Pod], _ workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			c.issued.Delete(e.Object.UID)
			c.driversReported.Delete(e.Object.UID)
		},
	})
}

func equalTaints(a, b []corev1.Taint) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].MatchTaint(&b[i]) || a[i].Value != b[i].Value || !a[i].TimeAdded.Equal(b[i].TimeAdded) {
			return false
		}
	}
	return true
}
