package v1alpha1

// Event reasons of the interruption controller that other programs read back
// (the demo's attribution of executor deletes, dashboards). An executor pod
// carries one of them (events.k8s.io/v1, regarding the pod) exactly when
// sparkplane's graceful delete is what started the pod's termination: the
// delete is made with the pod's resourceVersion as a precondition, so one that
// came after an eviction or another delete fails instead of being counted.
// The event's note names the node, the notice's signal and its time.
const (
	// EventReasonExecutorDecommissioning: decommission started inside the
	// notice's budget.
	EventReasonExecutorDecommissioning = "ExecutorDecommissioning"
	// EventReasonDecommissionDeadlineMissed: decommission started with less
	// than the minimum grace period left.
	EventReasonDecommissionDeadlineMissed = "DecommissionDeadlineMissed"
)
