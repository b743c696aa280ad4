package interruption

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// Event reasons. They are contracts: dashboards and the application
// controller match on them.
const (
	// ReasonExecutorDecommissioning is on an executor pod, and on its
	// application, when the controller starts the executor's graceful
	// decommission because its node is going away.
	ReasonExecutorDecommissioning = v1alpha1.EventReasonExecutorDecommissioning
	// ReasonDecommissionDeadlineMissed is on an executor pod decommissioned
	// with less than the minimum grace period left.
	ReasonDecommissionDeadlineMissed = v1alpha1.EventReasonDecommissionDeadlineMissed
	// ReasonDriverNodeInterrupted is on a driver pod, and its application,
	// when the driver's node is going away. It is also the condition type
	// and reason set on the application.
	ReasonDriverNodeInterrupted = "DriverNodeInterrupted"
)

// Event actions (events.k8s.io "action": what the controller did).
const (
	actionDecommission = "Decommission"
	actionReport       = "Report"
)

// events wraps the recorder with one constructor per event the controller
// emits. The recorder (events.k8s.io) folds repeats into a series.
type eventRecorder struct{ events.EventRecorder }

func (r eventRecorder) executorDecommissioning(pod *corev1.Pod, node string, n Notice, grace int64, missed bool) {
	if missed {
		r.Eventf(pod, nil, corev1.EventTypeWarning, ReasonDecommissionDeadlineMissed, actionDecommission,
			"Node %s got a %s notice at %s and less than the minimum grace was left: decommissioning with %ds; blocks may be lost. Check the operator's reaction latency (sparkplane_interruption_reaction_seconds).",
			node, n.Signal, n.Time.UTC().Format(time.RFC3339), grace)
		return
	}
	r.Eventf(pod, nil, corev1.EventTypeNormal, ReasonExecutorDecommissioning, actionDecommission,
		"Node %s got a %s notice at %s: graceful decommission with %ds grace so the executor migrates its shuffle and cached blocks.",
		node, n.Signal, n.Time.UTC().Format(time.RFC3339), grace)
}

func (r eventRecorder) applicationExecutorsDecommissioning(app runtime.Object, nodes []string, signal string, lastNotice time.Time, executors int, minGrace int64) {
	const shown = 5
	names := strings.Join(nodes[:min(len(nodes), shown)], ", ")
	if len(nodes) > shown {
		names += fmt.Sprintf(" and %d more", len(nodes)-shown)
	}
	r.Eventf(app, nil, corev1.EventTypeNormal, ReasonExecutorDecommissioning, actionDecommission,
		"%d executor(s) on node(s) %s decommissioning after a %s notice (latest at %s), with at least %ds grace; Spark migrates their blocks to the surviving executors.",
		executors, names, signal, lastNotice.UTC().Format(time.RFC3339), minGrace)
}

func (r eventRecorder) driverNodeInterrupted(driver *corev1.Pod, app runtime.Object, node string, n Notice) {
	const note = "Driver %s/%s is on node %s, which got a %s notice at %s and goes away when the notice runs out; the application is retried per its restartPolicy. Keep drivers on on-demand nodes (use a profile that places them there)."
	args := []any{driver.Namespace, driver.Name, node, n.Signal, n.Time.UTC().Format(time.RFC3339)}
	r.Eventf(driver, nil, corev1.EventTypeWarning, ReasonDriverNodeInterrupted, actionReport, note, args...)
	if app != nil {
		r.Eventf(app, driver, corev1.EventTypeWarning, ReasonDriverNodeInterrupted, actionReport, note, args...)
	}
}
