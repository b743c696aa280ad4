package scheduled

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Metrics of the scheduled controller; label values come from fixed sets.
var (
	runsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "sparkplane", Subsystem: "scheduled", Name: "runs_total",
		Help: "Slots acted on by result: started, replaced (an unfinished run deleted for a new one), skipped_forbid, skipped_deadline, refused.",
	}, []string{"result"})
	runsPrunedTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "sparkplane", Subsystem: "scheduled", Name: "runs_pruned_total",
		Help: "Finished runs deleted beyond the history limits.",
	})
)

func init() {
	metrics.Registry.MustRegister(runsTotal, runsPrunedTotal)
}
