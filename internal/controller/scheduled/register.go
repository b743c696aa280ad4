package scheduled

import (
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// Register wires the controller into mgr: it reconciles a schedule when its
// spec changes, at its next slot (RequeueAfter), and when one of its runs is
// created, deleted or changes state (history and Forbid depend on it).
func (c *Controller) Register(mgr manager.Manager) error {
	c.client = mgr.GetClient()
	c.events = eventRecorder{mgr.GetEventRecorder("sparkplane-scheduled")}
	return builder.ControllerManagedBy(mgr).
		Named(ControllerName).
		For(&v1alpha1.ScheduledSparkApplication{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&v1alpha1.SparkApplication{}, builder.WithPredicates(runStateChanged{})).
		Complete(c)
}

// runStateChanged passes run creations, deletions and state changes.
type runStateChanged struct {
	predicate.Funcs
}

func (runStateChanged) Update(e event.UpdateEvent) bool {
	oldRun, ok1 := e.ObjectOld.(*v1alpha1.SparkApplication)
	newRun, ok2 := e.ObjectNew.(*v1alpha1.SparkApplication)
	return ok1 && ok2 && oldRun.Status.State != newRun.Status.State
}
