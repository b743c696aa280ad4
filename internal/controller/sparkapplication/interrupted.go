package sparkapplication

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// interruptedDriver is what the interruption controller reported for the
// current attempt's driver pod: the DriverNodeInterrupted condition when it
// is True and status.interruptions.driver names driverPod (nil report: an
// older operator set the condition alone). Pod names carry the attempt
// number, so a report about an earlier attempt's driver (which that
// controller may repeat after a restart while the old pod still runs) does
// not end this attempt.
type interruptedDriver struct {
	condition *metav1.Condition
	// report is nil when only the condition was written.
	report *v1alpha1.DriverInterruption
}

func driverNodeInterrupted(st *v1alpha1.SparkApplicationStatus, driverPod string) *interruptedDriver {
	cond := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionDriverNodeInterrupted)
	if cond == nil || cond.Status != metav1.ConditionTrue {
		return nil
	}
	var report *v1alpha1.DriverInterruption
	if st.Interruptions != nil {
		report = st.Interruptions.Driver
	}
	if report != nil && report.Pod != driverPod {
		return nil
	}
	return &interruptedDriver{condition: cond, report: report}
}

// endInterrupted ends the current attempt because its driver's node got an
// interruption notice. It deletes the driver first (UID precondition; a pod
// already terminating is left alone): its executors go with it through their
// owner references, a Never application does not leave a driver running
// after it is reported Failed, and the interruption controller skips
// terminating pods, so it does not report this driver again. The delete comes
// before the status write, so an operator killed in between finds the
// condition still True and repeats the same decision (NotFound is done).
func (c *Controller) endInterrupted(ctx context.Context, s *scope, podName string, driver *corev1.Pod, interrupted *interruptedDriver) (reconcile.Result, bool, error) {
	node := ""
	if interrupted.report != nil {
		node = interrupted.report.Node
	}
	if driver != nil {
		if driver.Spec.NodeName != "" {
			node = driver.Spec.NodeName
		}
		if driver.DeletionTimestamp.IsZero() {
			if err := c.client.Delete(ctx, driver, client.Preconditions{UID: &driver.UID}); client.IgnoreNotFound(err) != nil {
				return reconcile.Result{}, true, fmt.Errorf("deleting driver pod %s on interrupted node %s: %w", podName, node, err)
			}
		}
	}
	if node == "" {
		node = "(unknown)"
	}
	profile := "the application's SparkProfile"
	if p := s.app.Status.Profile; p != nil && p.Name != "" {
		profile = fmt.Sprintf("SparkProfile %s", p.Name)
	}
	message := fmt.Sprintf("driver pod %s was on node %s, which got an interruption notice, and was deleted (%s); "+
		"drivers belong on nodes that are not reclaimed: set spec.driver.capacityType: on-demand (the default) in %s and keep its driver placement from allowing spot nodes",
		podName, node, strings.TrimSuffix(interrupted.condition.Message, "."), profile)
	st := &s.app.Status
	attempt := st.Attempts
	s.then(func() { c.events.driverNodeInterrupted(s.app, attempt, podName, node) })
	c.endAttempt(ctx, s, false, v1alpha1.ReasonDriverNodeInterrupted, message)
	return c.afterEnd(s), true, nil
}
