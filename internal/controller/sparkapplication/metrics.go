package sparkapplication

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Metrics of the sparkapplication controller. Like events, what a reconcile
// decided is counted in its after-patch hooks (scope.then): a status patch
// lost to a conflict is decided again by the next reconcile and must not be
// counted twice. Deletions (TTL) are counted when the delete succeeded. Label values come from fixed
// sets (results, condition reasons), never from names, so cardinality is
// bounded whatever the number of applications.
var (
	submissionsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "sparkplane", Subsystem: "sparkapplication", Name: "submissions_total",
		Help: "Attempts to create an application's driver pod, by result: created, already_exists (a re-run found it), invalid (spec refused), error (retried).",
	}, []string{"result"})
	submissionLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "sparkplane", Subsystem: "sparkapplication", Name: "submission_latency_seconds",
		Help:    "Time from an application's creation to its first driver pod being created (creationTimestamp has one-second resolution).",
		Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300},
	})
	attemptsFinishedTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "sparkplane", Subsystem: "sparkapplication", Name: "attempts_finished_total",
		Help: "Finished attempts by result (succeeded, failed) and condition reason.",
	}, []string{"result", "reason"})
	retriesTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "sparkplane", Subsystem: "sparkapplication", Name: "retries_total",
		Help: "Attempts started again per spec.restartPolicy.",
	})
	ttlDeletionsTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "sparkplane", Subsystem: "sparkapplication", Name: "ttl_deletions_total",
		Help: "Applications deleted after spec.timeToLiveSeconds.",
	})
	executorsPendingTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "sparkplane", Subsystem: "sparkapplication", Name: "executors_pending_total",
		Help: "Times an attempt's executors were found waiting longer than the pending threshold (ExecutorsPending=True, or a new reason), by reason (StorageClassNotFound, PersistentVolumeClaimUnbound, InsufficientCapacity, ImagePullFailed, QuotaExceeded, AdmissionRefused, Unschedulable, ContainerNotStarted).",
	}, []string{"reason"})
	driverPendingTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "sparkplane", Subsystem: "sparkapplication", Name: "driver_pending_total",
		Help: "Times a driver pod was found waiting longer than the pending threshold with a new cause, by reason (the ExecutorsPending reasons).",
	}, []string{"reason"})
)

func init() {
	metrics.Registry.MustRegister(submissionsTotal, submissionLatency, attemptsFinishedTotal, retriesTotal, ttlDeletionsTotal, executorsPendingTotal, driverPendingTotal)
}

// countSubmission counts a submission result once the status recording it
// is written.
func (c *Controller) countSubmission(s *scope, result string) {
	s.then(submissionsTotal.WithLabelValues(result).Inc)
}
