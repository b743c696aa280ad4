package sparkapplication

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// leaseRecheck is how soon a copy held back for want of a lease is looked
// at again when no lease change wakes it first.
const leaseRecheck = 2 * time.Second

// leaseGate holds back the driver of a copy a hub placed on this cluster
// (label sparkplane.io/hub) until the hub's lease on it is valid: the
// member never starts what the hub may have given to another member. It
// acts only when the next phase would create a driver; while the lease is
// missing or expired it sets Leased=False (WaitingForLease), which is the
// hub's cue to grant one, and stops the reconcile. An application the hub
// did not place passes untouched.
func (c *Controller) leaseGate(_ context.Context, s *scope) (reconcile.Result, bool, error) {
	if _, placed := s.app.Labels[v1alpha1.LabelHubID]; !placed {
		return reconcile.Result{}, false, nil
	}
	st := &s.app.Status
	if st.Attempts > 0 && s.state() != v1alpha1.StateRetrying {
		return reconcile.Result{}, false, nil // the driver exists: nothing to start
	}
	if c.lastSubmitted(s.app) > st.Attempts {
		// This process started the attempt (under a valid lease) and the
		// cache has not seen that status yet: submitAttempt waits for it.
		// Rewriting Leased from the stale copy would only conflict.
		return reconcile.Result{}, false, nil
	}
	expires, ok := v1alpha1.LeaseExpiry(s.app)
	if ok && s.now.Before(expires) {
		c.setCondition(s, v1alpha1.ConditionLeased, metav1.ConditionTrue, v1alpha1.ReasonLeaseValid,
			fmt.Sprintf("the hub's lease is valid until %s", expires.UTC().Format(time.RFC3339)))
		return reconcile.Result{}, false, nil
	}
	msg := "waiting for the hub to grant a lease before starting the driver (the hub that placed this copy has not been reachable, or has not answered yet)"
	if ok {
		msg = fmt.Sprintf("the hub's lease expired at %s; waiting for the hub to renew it before starting the driver", expires.UTC().Format(time.RFC3339))
	}
	if cond := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionLeased); cond == nil || cond.Status != metav1.ConditionFalse || cond.Message != msg {
		c.setCondition(s, v1alpha1.ConditionLeased, metav1.ConditionFalse, v1alpha1.ReasonWaitingForLease, msg)
	}
	return reconcile.Result{RequeueAfter: leaseRecheck}, true, nil
}

// leaseChanged passes updates that change a copy's lease, which the hub
// writes as an annotation (no generation change).
type leaseChanged struct {
	predicate.Funcs
}

func (leaseChanged) Update(e event.UpdateEvent) bool {
	return e.ObjectOld.GetAnnotations()[v1alpha1.AnnotationLeaseExpires] != e.ObjectNew.GetAnnotations()[v1alpha1.AnnotationLeaseExpires]
}
