package sparkapplication

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// finished handles an application that has ended for good: it waits for the
// TTL and then deletes the application.
func (c *Controller) finished(ctx context.Context, s *scope) (reconcile.Result, bool, error) {
	st := &s.app.Status
	if !s.state().IsTerminal() {
		return reconcile.Result{}, false, nil
	}
	c.submitted.Delete(client.ObjectKeyFromObject(s.app))
	ttl := s.app.Spec.TimeToLiveSeconds
	if ttl == nil || st.TerminationTime == nil {
		return reconcile.Result{}, true, nil
	}
	ttlDuration := time.Duration(*ttl) * time.Second
	if remaining := st.TerminationTime.Add(ttlDuration).Sub(s.now); remaining > 0 {
		return reconcile.Result{RequeueAfter: remaining}, true, nil
	}
	c.events.ttlExpired(s.app, ttlDuration)
	if err := c.client.Delete(ctx, s.app, client.Preconditions{UID: &s.app.UID}, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
		return reconcile.Result{}, true, fmt.Errorf("deleting the application after its TTL: %w", err)
	}
	log.FromContext(ctx).V(1).Info("Deleted application after its TTL", "ttl", ttlDuration)
	ttlDeletionsTotal.Inc()
	s.deleted = true
	return reconcile.Result{}, true, nil
}

// ttlRequeue is when to delete an application that has ended for good and
// has a TTL; zero otherwise.
func ttlRequeue(s *scope) reconcile.Result {
	st := &s.app.Status
	ttl := s.app.Spec.TimeToLiveSeconds
	if !stateOf(st).IsTerminal() || ttl == nil || st.TerminationTime == nil {
		return reconcile.Result{}
	}
	return reconcile.Result{RequeueAfter: max(st.TerminationTime.Add(time.Duration(*ttl)*time.Second).Sub(s.now), time.Millisecond)}
}
