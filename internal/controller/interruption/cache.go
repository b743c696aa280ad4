package interruption

import (
	"context"
	"maps"

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
// or persisted notice change; status heartbeats are ignored.
func (c *Controller) nodeSource() source.Source {
	changed := predicate.TypedFuncs[*corev1.Node]{
		UpdateFunc: func(e event.TypedUpdateEvent[*corev1.Node]) bool {
			o, n := e.ObjectOld, e.ObjectNew
			return !equalTaints(o.Spec.Taints, n.Spec.Taints) ||
				(o.DeletionTimestamp == nil) != (n.DeletionTimestamp == nil) ||
				!maps.Equal(o.Annotations, n.Annotations)
		},
	}
	return source.Kind(c.cache, &corev1.Node{}, &handler.TypedEnqueueRequestForObject[*corev1.Node]{}, changed)
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
