package sparkapplication

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/submit"
)

// suspension applies spec.suspend to an application that has not ended.
// True: the current attempt's driver pod is deleted (its executors,
// ConfigMaps and Service go with it through their owner references), the
// state becomes Suspended and the reconcile stops there, so nothing is
// submitted. False on a Suspended application: it lets submitAttempt start
// the next attempt, which records the resume. The delete comes before the
// status write, so an operator killed in between repeats the same decision
// (NotFound is done).
func (c *Controller) suspension(ctx context.Context, s *scope) (reconcile.Result, bool, error) {
	st := &s.app.Status
	if !c.suspended(s.app) {
		return reconcile.Result{}, false, nil
	}
	if s.state() == v1alpha1.StateSuspended {
		return reconcile.Result{}, true, nil
	}
	deleted := ""
	if state := s.state(); st.Attempts > 0 && (state == v1alpha1.StatePending || state == v1alpha1.StateRunning) {
		name := submit.NamesFor(s.app, st.Attempts).DriverPod
		driver := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: s.app.Namespace, Name: name}}
		if err := c.client.Delete(ctx, driver, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
			return reconcile.Result{}, true, fmt.Errorf("deleting driver pod %s to suspend the application: %w", name, err)
		}
		deleted = name
		st.TerminationTime = &metav1.Time{Time: s.now}
		c.setCondition(s, v1alpha1.ConditionRunning, metav1.ConditionFalse, v1alpha1.ReasonSuspended,
			fmt.Sprintf("Driver pod %s was deleted because spec.suspend is true", name))
		c.setCondition(s, v1alpha1.ConditionSubmitted, metav1.ConditionFalse, v1alpha1.ReasonSuspended,
			fmt.Sprintf("Attempt %d was stopped by spec.suspend", st.Attempts))
	}
	st.Executors = v1alpha1.ExecutorCounts{}
	c.setCondition(s, v1alpha1.ConditionSuspended, metav1.ConditionTrue, v1alpha1.ReasonSuspended,
		suspendReason(s.app))
	c.setCondition(s, v1alpha1.ConditionCompleted, metav1.ConditionFalse, v1alpha1.ReasonSuspended, "The application is suspended")
	log.FromContext(ctx).V(1).Info("Suspended", "deletedDriver", deleted)
	s.then(func() { c.events.suspended(s.app, deleted) })
	return reconcile.Result{}, true, nil
}

// suspended is spec.suspend, or, with Kueue admission on (Options.QueueAdmission),
// an application labelled for a Kueue queue whose spec.suspend is unset: it
// waits for Kueue to admit it (the queue controller then sets spec.suspend).
func (c *Controller) suspended(app *v1alpha1.SparkApplication) bool {
	if app.Spec.Suspend != nil {
		return *app.Spec.Suspend
	}
	return c.opts.QueueAdmission && app.Labels[v1alpha1.LabelKueueQueueName] != ""
}

// resumed records, on the attempt submitAttempt just started, that it ends
// a suspension.
func (c *Controller) resumed(s *scope, wasSuspended bool, attempt int32) {
	if !wasSuspended {
		return
	}
	c.setCondition(s, v1alpha1.ConditionSuspended, metav1.ConditionFalse, v1alpha1.ReasonResumed,
		fmt.Sprintf("spec.suspend is false: attempt %d started", attempt))
	s.then(func() { c.events.resumed(s.app, attempt) })
}

func suspendReason(app *v1alpha1.SparkApplication) string {
	if app.Spec.Suspend == nil {
		return "waiting for Kueue to admit the application's Workload (queue " + app.Labels[v1alpha1.LabelKueueQueueName] + ")"
	}
	return "spec.suspend is true: no driver runs; set it to false to start a new attempt"
}
