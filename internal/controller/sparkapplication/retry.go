package sparkapplication

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// retryDelay is the wait after attempt n ended: the base interval doubling
// per failed attempt, capped at maxBackoffFactor times the base.
func (c *Controller) retryDelay(app *v1alpha1.SparkApplication, attempt int32, failed bool) time.Duration {
	base := c.opts.DefaultRetryInterval
	if iv := app.Spec.RestartPolicy.OnFailureRetryInterval; iv != nil {
		base = time.Duration(*iv) * time.Second
	}
	if !failed {
		return base
	}
	factor := int64(1)
	for i := int32(1); i < attempt && factor < maxBackoffFactor; i++ {
		factor *= 2
	}
	return time.Duration(min(factor, maxBackoffFactor)) * base
}

// waitForRetry holds a Retrying application until its backoff has passed.
func (c *Controller) waitForRetry(_ context.Context, s *scope) (reconcile.Result, bool, error) {
	st := &s.app.Status
	if s.state() != v1alpha1.StateRetrying {
		return reconcile.Result{}, false, nil
	}
	ended := s.now
	if st.TerminationTime != nil {
		ended = st.TerminationTime.Time
	}
	failed := conditionReason(st.Conditions, v1alpha1.ConditionRunning) != v1alpha1.ReasonDriverSucceeded
	if remaining := ended.Add(c.retryDelay(s.app, st.Attempts, failed)).Sub(s.now); remaining > 0 {
		return reconcile.Result{RequeueAfter: remaining}, true, nil
	}
	return reconcile.Result{}, false, nil
}

// afterEnd requeues a Retrying application when its backoff ends.
func (c *Controller) afterEnd(s *scope) reconcile.Result {
	st := &s.app.Status
	if s.state() != v1alpha1.StateRetrying {
		return reconcile.Result{}
	}
	failed := conditionReason(st.Conditions, v1alpha1.ConditionRunning) != v1alpha1.ReasonDriverSucceeded
	return reconcile.Result{RequeueAfter: max(st.TerminationTime.Add(c.retryDelay(s.app, st.Attempts, failed)).Sub(s.now), time.Millisecond)}
}

// endAttempt records the end of the current attempt and decides, per
// spec.restartPolicy, between Retrying and a terminal state.
func (c *Controller) endAttempt(ctx context.Context, s *scope, success bool, reason, message string) {
	st := &s.app.Status
	st.TerminationTime = &metav1.Time{Time: s.now}
	result := "failed"
	if success {
		result = "succeeded"
	}
	s.then(attemptsFinishedTotal.WithLabelValues(result, reason).Inc)
	attempt := st.Attempts
	runningStatus := metav1.ConditionFalse
	c.setCondition(s, v1alpha1.ConditionRunning, runningStatus, reason, message)

	if c.shouldRetry(s.app, success) {
		delay := c.retryDelay(s.app, attempt, !success)
		c.setCondition(s, v1alpha1.ConditionSubmitted, metav1.ConditionFalse, v1alpha1.ReasonWaitingForRetry,
			fmt.Sprintf("Attempt %d ended (%s); attempt %d starts at %s", attempt, reason, attempt+1, s.now.Add(delay).UTC().Format(time.RFC3339)))
		c.setCondition(s, v1alpha1.ConditionCompleted, metav1.ConditionFalse, v1alpha1.ReasonInProgress, message)
		log.FromContext(ctx).V(1).Info("Attempt ended; retrying", "attempt", attempt, "reason", reason, "after", delay)
		s.then(func() { c.events.retrying(s.app, attempt, reason, delay) })
		return
	}
	if success {
		c.setCondition(s, v1alpha1.ConditionCompleted, metav1.ConditionTrue, v1alpha1.ReasonSucceeded, message)
		s.then(func() { c.events.succeeded(s.app, attempt) })
		return
	}
	c.setCondition(s, v1alpha1.ConditionCompleted, metav1.ConditionTrue, reason, message)
	s.then(func() { c.events.failed(s.app, reason, message) })
}

// shouldRetry applies spec.restartPolicy: Never never retries; OnFailure
// retries failures while attempts ≤ onFailureRetries; Always reruns after a
// success and retries failures within onFailureRetries when it is set.
func (c *Controller) shouldRetry(app *v1alpha1.SparkApplication, success bool) bool {
	rp := app.Spec.RestartPolicy
	retries := int32(0)
	if rp.OnFailureRetries != nil {
		retries = *rp.OnFailureRetries
	}
	switch rp.Type {
	case v1alpha1.RestartPolicyAlways:
		if success {
			return true
		}
		return rp.OnFailureRetries == nil || app.Status.Attempts <= retries
	case v1alpha1.RestartPolicyOnFailure:
		return !success && app.Status.Attempts <= retries
	}
	return false
}
