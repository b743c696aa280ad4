package interruption

import (
	"context"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// podNodeNameIndex indexes the cached Spark pods by spec.nodeName.
const podNodeNameIndex = "spec.nodeName"

// sparkPodSelector restricts the pod cache to Spark drivers and executors.
func sparkPodSelector() labels.Selector {
	req, err := labels.NewRequirement(LabelSparkRole, selection.In, []string{RoleExecutor, RoleDriver})
	if err != nil {
		panic(err) // constant input
	}
	return labels.NewSelector().Add(*req)
}

// newCache builds the controller's own informer cache: Spark pods only (label
// selector), nodes, each trimmed by a transform to the fields the controller
// reads, and pods indexed by node name. Its own cache keeps the manager's
// shared cache (and other controllers' views of pods) untouched.
func newCache(mgr manager.Manager) (cache.Cache, error) {
	c, err := cache.New(mgr.GetConfig(), cache.Options{
		Scheme:     mgr.GetScheme(),
		Mapper:     mgr.GetRESTMapper(),
		HTTPClient: mgr.GetHTTPClient(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}:  {Label: sparkPodSelector(), Transform: trimPod},
			&corev1.Node{}: {Transform: trimNode},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the interruption controller's cache: %w", err)
	}
	err = c.IndexField(context.Background(), &corev1.Pod{}, podNodeNameIndex, func(o client.Object) []string {
		if pod, ok := o.(*corev1.Pod); ok && pod.Spec.NodeName != "" {
			return []string{pod.Spec.NodeName}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("indexing Spark pods by node: %w", err)
	}
	return c, nil
}

// podLabels are the labels kept on cached pods.
var podLabels = []string{LabelSparkRole, LabelSparkAppSelector, LabelSparkExecID, LabelApplication}

// trimPod keeps what the controller reads of a pod: identity, the Spark
// labels, deletion state, node and phase. At 10,000 executors that is a few
// hundred bytes each instead of several kilobytes.
func trimPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil // a tombstone: keep as is
	}
	trimmed := &corev1.Pod{
		TypeMeta:   pod.TypeMeta,
		ObjectMeta: metaTrimmed(pod.ObjectMeta),
		Spec:       corev1.PodSpec{NodeName: pod.Spec.NodeName},
		Status:     corev1.PodStatus{Phase: pod.Status.Phase},
	}
	trimmed.DeletionGracePeriodSeconds = pod.DeletionGracePeriodSeconds
	for _, key := range podLabels {
		if v, ok := pod.Labels[key]; ok {
			if trimmed.Labels == nil {
				trimmed.Labels = make(map[string]string, len(podLabels))
			}
			trimmed.Labels[key] = v
		}
	}
	return trimmed, nil
}

// trimNode keeps a node's identity, deletion state, taints and the persisted
// notice; images, status and the rest are dropped.
func trimNode(obj any) (any, error) {
	node, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	trimmed := &corev1.Node{
		TypeMeta:   node.TypeMeta,
		ObjectMeta: metaTrimmed(node.ObjectMeta),
		Spec:       corev1.NodeSpec{Taints: node.Spec.Taints, Unschedulable: node.Spec.Unschedulable},
	}
	if v, ok := node.Annotations[NoticeAnnotation]; ok {
		trimmed.Annotations = map[string]string{NoticeAnnotation: v}
	}
	return trimmed, nil
}

func metaTrimmed(m metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:              m.Name,
		Namespace:         m.Namespace,
		UID:               m.UID,
		ResourceVersion:   m.ResourceVersion,
		Generation:        m.Generation,
		CreationTimestamp: m.CreationTimestamp,
		DeletionTimestamp: m.DeletionTimestamp,
	}
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
		if pod.Spec.NodeName != "" {
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
