package sparkapplication

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/clusterstate"
	"github.com/sparkplane/sparkplane/internal/spark"
	"github.com/sparkplane/sparkplane/internal/submit"
)

// observeDriver follows the current attempt's driver pod into the status.
func (c *Controller) observeDriver(ctx context.Context, s *scope) (reconcile.Result, bool, error) {
	st := &s.app.Status
	if state := s.state(); st.Attempts == 0 || state.IsTerminal() || state == v1alpha1.StateRetrying {
		return reconcile.Result{}, true, nil
	}
	names := submit.NamesFor(s.app, st.Attempts)
	driver, err := c.driverPod(ctx, s.app.Namespace, names.DriverPod)
	if err != nil {
		return reconcile.Result{}, true, err
	}
	interrupted := driverNodeInterrupted(st, names.DriverPod)
	if driver == nil {
		if gone, err := c.namespaceBeingDeleted(ctx, s.app.Namespace); err != nil || gone {
			// The driver went with its namespace, as the application is
			// about to: ending the attempt would be a status write and an
			// event (refused in a terminating namespace) for an
			// application on its way out, and a failure counted that is
			// none (about 3 reconciles and a write per application when
			// BenchmarkSubmission deletes a phase's namespace).
			return reconcile.Result{}, true, err
		}
		if interrupted != nil {
			return c.endInterrupted(ctx, s, names.DriverPod, nil, interrupted)
		}
		c.endAttempt(ctx, s, false, v1alpha1.ReasonDriverDeleted,
			fmt.Sprintf("driver pod %s was deleted before it finished", names.DriverPod))
		return c.afterEnd(s), true, nil
	}
	if err := c.countExecutors(ctx, s, names.AppID); err != nil {
		return reconcile.Result{}, true, err
	}
	done, success, reason, message := driverOutcome(driver)
	if interrupted != nil && !(done && success) {
		// A driver that failed because its node went away is reported as
		// interrupted too: that is the cause the user can act on.
		return c.endInterrupted(ctx, s, names.DriverPod, driver, interrupted)
	}
	if done {
		if success {
			c.endAttempt(ctx, s, true, v1alpha1.ReasonDriverSucceeded, fmt.Sprintf("driver pod %s completed", driver.Name))
		} else {
			c.endAttempt(ctx, s, false, v1alpha1.ReasonDriverFailed, fmt.Sprintf("driver pod %s failed: %s (%s)", driver.Name, message, reason))
		}
		return c.afterEnd(s), true, nil
	}
	switch driver.Status.Phase {
	case corev1.PodRunning:
		if s.state() != v1alpha1.StateRunning {
			s.then(func() { c.events.driverRunning(s.app, driver.Name) })
		}
		if st.StartTime == nil {
			start := metav1.NewTime(s.now)
			if driver.Status.StartTime != nil {
				start = *driver.Status.StartTime
			}
			st.StartTime = &start
		}
		c.setCondition(s, v1alpha1.ConditionRunning, metav1.ConditionTrue, v1alpha1.ReasonDriverRunning, fmt.Sprintf("Driver pod %s is running", driver.Name))
		result, _, err := c.observeExecutorsPending(ctx, s, driver, names.AppID)
		return result, true, err
	default: // Pending or Unknown
		blockedAt := c.observeDriverPending(s, driver)
		if c.opts.DriverPendingTimeout < 0 || driver.CreationTimestamp.Add(c.opts.DriverPendingTimeout).After(s.now) {
			return c.pendingRequeue(driver, blockedAt, s.now), true, nil
		}
		if err := c.client.Delete(ctx, driver, client.Preconditions{UID: &driver.UID}); client.IgnoreNotFound(err) != nil {
			return reconcile.Result{}, true, fmt.Errorf("deleting driver pod %s after the pending timeout: %w", driver.Name, err)
		}
		timeout := c.opts.DriverPendingTimeout
		s.then(func() { c.events.pendingTimeout(s.app, driver.Name, timeout) })
		c.endAttempt(ctx, s, false, v1alpha1.ReasonDriverPendingTimeout,
			fmt.Sprintf("driver pod %s stayed Pending for more than %s (%s); it was deleted — check capacity, quotas and the image, or raise the operator's --driver-pending-timeout",
				driver.Name, timeout, driverPendingMessage(driver)))
		return c.afterEnd(s), true, nil
	}
}

// pendingRequeue looks at a pending driver again when it crosses the
// pending threshold (crossing; zero when it has) or its pending timeout
// ends, whichever comes first.
func (c *Controller) pendingRequeue(driver *corev1.Pod, crossing, now time.Time) reconcile.Result {
	if c.opts.DriverPendingTimeout < 0 {
		return requeueAt(crossing, now)
	}
	created := driver.CreationTimestamp.Time
	if created.IsZero() {
		created = now
	}
	at := created.Add(c.opts.DriverPendingTimeout)
	if !crossing.IsZero() && crossing.Before(at) {
		at = crossing
	}
	return requeueAt(at, now)
}

// driverPod reads the driver from the pod cache, and from the API server
// when the cache does not have it (yet): nil means it does not exist.
func (c *Controller) driverPod(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	pod := &corev1.Pod{}
	key := client.ObjectKey{Namespace: namespace, Name: name}
	err := c.pods.Get(ctx, key, pod)
	if apierrors.IsNotFound(err) && c.pods != c.apiReader {
		err = c.apiReader.Get(ctx, key, pod)
	}
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading driver pod %s: %w", name, err)
	}
	return pod, nil
}

// driverOutcome says whether the driver has finished, from the pod phase or,
// when sidecars keep the pod running, from the driver container itself.
func driverOutcome(pod *corev1.Pod) (done, success bool, reason, message string) {
	var driverState *corev1.ContainerStateTerminated
	for i := range pod.Status.ContainerStatuses {
		cs := &pod.Status.ContainerStatuses[i]
		if cs.Name == spark.DriverContainerName && cs.State.Terminated != nil {
			driverState = cs.State.Terminated
		}
	}
	switch {
	case pod.Status.Phase == corev1.PodSucceeded:
		return true, true, "Completed", ""
	case pod.Status.Phase == corev1.PodFailed:
		if driverState != nil {
			return true, false, terminatedReason(driverState), terminatedMessage(driverState)
		}
		reason := firstNonEmpty(pod.Status.Reason, "PodFailed")
		return true, false, reason, firstNonEmpty(pod.Status.Message, "the pod failed")
	case driverState != nil:
		if driverState.ExitCode == 0 {
			return true, true, "Completed", ""
		}
		return true, false, terminatedReason(driverState), terminatedMessage(driverState)
	}
	return false, false, "", ""
}

func terminatedReason(t *corev1.ContainerStateTerminated) string {
	return firstNonEmpty(t.Reason, "Error")
}

func terminatedMessage(t *corev1.ContainerStateTerminated) string {
	msg := fmt.Sprintf("container %s exited with code %d", spark.DriverContainerName, t.ExitCode)
	if t.Message != "" {
		msg += ": " + strings.TrimSpace(t.Message)
	}
	return msg
}

// countExecutors sets status.executors from the pod cache.
func (c *Controller) countExecutors(ctx context.Context, s *scope, appID string) error {
	pods := &corev1.PodList{}
	opts := []client.ListOption{client.InNamespace(s.app.Namespace)}
	if c.podsIndexed {
		opts = append(opts, client.MatchingFields{clusterstate.IndexAppSelector: clusterstate.AppSelectorKey(s.app.Namespace, appID)})
	} else {
		opts = append(opts, client.MatchingLabels{spark.LabelAppSelector: appID})
	}
	if err := c.pods.List(ctx, pods, opts...); err != nil {
		return fmt.Errorf("listing executor pods: %w", err)
	}
	var counts v1alpha1.ExecutorCounts
	for i := range pods.Items {
		pod := &pods.Items[i]
		if pod.Labels[spark.LabelRole] != spark.RoleExecutor {
			continue
		}
		switch pod.Status.Phase {
		case corev1.PodPending:
			counts.Pending++
		case corev1.PodRunning:
			counts.Running++
		case corev1.PodSucceeded:
			counts.Succeeded++
		case corev1.PodFailed:
			counts.Failed++
		}
	}
	s.app.Status.Executors = counts
	return nil
}
