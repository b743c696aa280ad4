package sparkprofile

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// applicationsUsing is bounded by the number of SparkProfiles (a handful per
// cluster).
var applicationsUsing = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "sparkplane_profile_applications",
	Help: "Unfinished SparkApplications resolved from each SparkProfile.",
}, []string{"profile"})

func init() { metrics.Registry.MustRegister(applicationsUsing) }
