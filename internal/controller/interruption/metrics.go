package interruption

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// The controller's metrics, registered with controller-runtime's registry (so
// the operator's /metrics serves them). The only label is the signal name,
// bounded by the configured signals.
var (
	noticesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sparkplane_interruption_notices_total",
		Help: "Node interruption notices seen, by signal; counted once per notice (when it is persisted on the node, or first seen for a node already gone).",
	}, []string{"signal"})
	executorsDecommissionedTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sparkplane_interruption_executors_decommissioned_total",
		Help: "Spark executor pods gracefully deleted (decommission started) because their node got an interruption notice, by signal.",
	}, []string{"signal"})
	reactionSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "sparkplane_interruption_reaction_seconds",
		Help:    "Time from an interruption notice to the executor's graceful delete being accepted, by signal. The clock starts at the notice's time on the node (a taint's timeAdded, cluster-autoscaler's value, the deletion timestamp) or, when the node carries none, at the arrival of the watch event that showed it: watch and work-queue delay count.",
		Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120},
	}, []string{"signal"})
	deadlineMissesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sparkplane_interruption_deadline_misses_total",
		Help: "Executors decommissioned with less than the minimum grace period left of the notice budget, by signal.",
	}, []string{"signal"})
	driversInterruptedTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sparkplane_interruption_drivers_interrupted_total",
		Help: "Spark driver pods found on a node with an interruption notice (reported as DriverNodeInterrupted), by signal.",
	}, []string{"signal"})
)

func init() {
	metrics.Registry.MustRegister(noticesTotal, executorsDecommissionedTotal, reactionSeconds, deadlineMissesTotal, driversInterruptedTotal)
}
