package imageplatforms

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Metrics of every Lookup in the process (the operator has one). The
// failure reason is one of the Reason constants.
var (
	lookupsTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "sparkplane_image_platform_lookups_total",
		Help: "Image platform lookups asked for (one per image of a submission), answered from the cache or the registry.",
	})
	cacheHitsTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "sparkplane_image_platform_cache_hits_total",
		Help: "Image platform lookups answered from the cache, without a registry round trip.",
	})
	failuresTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sparkplane_image_platform_lookup_failures_total",
		Help: "Image platform lookups that failed, by reason (RegistryTimeout, RegistryUnreachable, RegistryUnauthorized, ImageNotFound, InvalidImageReference, NotAnImage, RegistryError).",
	}, []string{"reason"})
	lookupDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "sparkplane_image_platform_lookup_duration_seconds",
		Help:    "Duration of the registry round trips of image platform lookups (cache hits are not counted).",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5},
	})
)

func init() {
	metrics.Registry.MustRegister(lookupsTotal, cacheHitsTotal, failuresTotal, lookupDuration)
}
