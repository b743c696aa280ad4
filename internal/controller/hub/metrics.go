package hub

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Metrics of the hub. Label values come from fixed sets (member states),
// never from names.
var (
	placementsTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "sparkplane", Subsystem: "hub", Name: "placements_total",
		Help: "Placements written (first placements and re-placements).",
	})
	replacementsTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "sparkplane", Subsystem: "hub", Name: "replacements_total",
		Help: "Applications moved off a Lost member (epoch + 1).",
	})
	copiesCreatedTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "sparkplane", Subsystem: "hub", Name: "copies_created_total",
		Help: "Copies created on members.",
	})
	copiesDeletedTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "sparkplane", Subsystem: "hub", Name: "copies_deleted_total",
		Help: "Copies deleted on members: stale epochs, orphans, deleted applications.",
	})
	leasesGrantedTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "sparkplane", Subsystem: "hub", Name: "leases_granted_total",
		Help: "Leases written on copies (grants and renewals).",
	})
	memberTransitions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "sparkplane", Subsystem: "hub", Name: "member_transitions_total",
		Help: "MemberCluster state changes, by the state entered.",
	}, []string{"state"})
)

func init() {
	metrics.Registry.MustRegister(placementsTotal, replacementsTotal, copiesCreatedTotal, copiesDeletedTotal, leasesGrantedTotal, memberTransitions)
}
