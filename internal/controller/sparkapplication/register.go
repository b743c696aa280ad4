package sparkapplication

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/clusterstate"
	"github.com/sparkplane/sparkplane/internal/spark"
)

// Register wires the controller into mgr: it reads SparkApplications from
// the manager's cache and pods from the operator's shared, trimmed cluster
// state (clusterstate; started by the manager), records events as "sparkplane-sparkapplication",
// and reconciles an application when it changes (generation) or its
// DriverNodeInterrupted condition changes (set by the interruption
// controller on the status), when its
// driver pod changes, and when one of its executors changes phase.
// The manager's scheme must include v1alpha1 and core/v1.
func (c *Controller) Register(mgr manager.Manager) error {
	podCache, err := clusterstate.For(mgr, clusterstate.Options{})
	if err != nil {
		return err
	}
	c.client = mgr.GetClient()
	c.apiReader = mgr.GetAPIReader()
	c.pods = podCache
	c.podsIndexed = true
	// ResourceQuotas are few and small: the manager's cache watches them
	// from the first read on.
	c.quotas = mgr.GetClient()
	c.events = eventRecorder{mgr.GetEventRecorder("sparkplane-" + ControllerName)}

	podToApp := handler.TypedEnqueueRequestsFromMapFunc(func(_ context.Context, pod *corev1.Pod) []reconcile.Request {
		name := pod.Labels[v1alpha1.LabelApplication]
		if name == "" {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: pod.Namespace, Name: name}}}
	})
	return builder.ControllerManagedBy(mgr).
		Named(ControllerName).
		For(&v1alpha1.SparkApplication{}, builder.WithPredicates(predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, interruptedChanged{}, leaseChanged{}))).
		WatchesRawSource(source.Kind(podCache, &corev1.Pod{}, podToApp, podChanged{threshold: c.opts.PendingThreshold, clock: c.opts.Clock})).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.opts.MaxConcurrentReconciles}).
		Complete(c)
}

// podChanged passes creations and deletions, any update of a driver pod,
// and executor updates that change the phase (what status.executors counts)
// or what blocks an executor that has waited the pending threshold (what
// ExecutorsPending says). A younger executor's scheduling news wakes nobody:
// the reconcile due when it crosses the threshold reads it then.
type podChanged struct {
	predicate.TypedFuncs[*corev1.Pod]
	threshold time.Duration
	clock     clock.PassiveClock
}

func (p podChanged) Update(e event.TypedUpdateEvent[*corev1.Pod]) bool {
	if e.ObjectNew.Labels[spark.LabelRole] == spark.RoleDriver {
		return true
	}
	if e.ObjectOld.Status.Phase != e.ObjectNew.Status.Phase {
		return true
	}
	if e.ObjectNew.Status.Phase != corev1.PodPending || p.clock.Since(e.ObjectNew.CreationTimestamp.Time) < p.threshold {
		return false
	}
	return pendingSignature(e.ObjectOld) != pendingSignature(e.ObjectNew)
}

// interruptedChanged passes application updates that change the
// DriverNodeInterrupted condition, which the interruption controller sets on
// the status (no generation change).
type interruptedChanged struct {
	predicate.Funcs
}

func (interruptedChanged) Update(e event.UpdateEvent) bool {
	oldApp, ok1 := e.ObjectOld.(*v1alpha1.SparkApplication)
	newApp, ok2 := e.ObjectNew.(*v1alpha1.SparkApplication)
	if !ok1 || !ok2 {
		return false
	}
	if !equality.Semantic.DeepEqual(interruptedReport(&oldApp.Status), interruptedReport(&newApp.Status)) {
		return true
	}
	before := meta.FindStatusCondition(oldApp.Status.Conditions, v1alpha1.ConditionDriverNodeInterrupted)
	after := meta.FindStatusCondition(newApp.Status.Conditions, v1alpha1.ConditionDriverNodeInterrupted)
	if before == nil || after == nil {
		return (before == nil) != (after == nil)
	}
	return before.Status != after.Status || before.Message != after.Message
}

func interruptedReport(st *v1alpha1.SparkApplicationStatus) *v1alpha1.DriverInterruption {
	if st.Interruptions == nil {
		return nil
	}
	return st.Interruptions.Driver
}
