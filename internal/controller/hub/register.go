package hub

import (
	"context"
	"time"

	"k8s.io/client-go/util/workqueue"

	"k8s.io/utils/ptr"
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
)

// indexPlacedOn indexes hub applications by status.placement.cluster ("" for
// none), so a member's state change reaches exactly the applications on it.
const indexPlacedOn = "status.placement.cluster"

// registerApplications watches the hub's SparkApplications (spec changes),
// the copies on every member (through members.copyEvents) and reconciles
// the hub application behind each.
//
// The hub's controllers use client-go's rate-limited workqueue, not
// controller-runtime's priority queue (its default): in controller-runtime
// v0.23 that queue can deadlock on shutdown (kubernetes-sigs/controller-runtime
// issue 3538, fixed only in v0.25, which needs client-go v0.37). A worker
// that returns on shutdown leaves the queue's handout goroutine blocked
// sending it an item while holding the queue's locks; the other workers'
// Done calls then wait on those locks forever and the manager gives up
// after its grace period. With hundreds of applications queued it happened
// on nearly every stop of a busy hub.
func (c *Controller) registerApplications(mgr manager.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1alpha1.SparkApplication{}, indexPlacedOn, func(obj client.Object) []string {
		app := obj.(*v1alpha1.SparkApplication)
		if app.Status.State.IsTerminal() {
			return nil
		}
		if app.Status.Placement == nil {
			return []string{""}
		}
		return []string{app.Status.Placement.Cluster}
	}); err != nil {
		return err
	}
	return builder.ControllerManagedBy(mgr).
		Named(ControllerName).
		For(&v1alpha1.SparkApplication{}, builder.WithPredicates(generationChanged())).
		WatchesRawSource(source.Channel(c.members.copyEvents, &handler.TypedEnqueueRequestForObject[*v1alpha1.SparkApplication]{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.opts.MaxConcurrentReconciles, UsePriorityQueue: ptr.To(false), RateLimiter: retryLimiter()}).
		Complete(c)
}

// enqueuePlacedOn reconciles every unfinished hub application placed on
// member ("" : those not placed yet).
func (c *Controller) enqueuePlacedOn(ctx context.Context, member string) error {
	list := &v1alpha1.SparkApplicationList{}
	if err := c.client.List(ctx, list, client.MatchingFields{indexPlacedOn: member}); err != nil {
		return err
	}
	for i := range list.Items {
		app := &v1alpha1.SparkApplication{}
		app.Namespace, app.Name = list.Items[i].Namespace, list.Items[i].Name
		select {
		case c.members.copyEvents <- event.TypedGenericEvent[*v1alpha1.SparkApplication]{Object: app}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// retryLimiter spaces a failed application's retries (5 ms doubling up to
// 30 s), per application only. controller-runtime's default adds a bucket of
// 10 retries a second over all applications, and a hub retries often by
// design: a status write guarded by the resourceVersion it read conflicts
// whenever a copy's event outruns the hub's cache of its own last write.
// Behind that bucket a burst of 200 applications was dispatched at about
// 11 a second, whatever the API servers could take.
func retryLimiter() workqueue.TypedRateLimiter[reconcile.Request] {
	return workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](5*time.Millisecond, 30*time.Second)
}

// generationChanged passes creations, deletions and spec changes: the hub's
// own status writes do not wake it again.
func generationChanged() predicate.Predicate { return predicate.GenerationChangedPredicate{} }

var _ reconcile.Reconciler = (*Controller)(nil)
