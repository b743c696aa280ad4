package imageplatforms

import "github.com/prometheus/client_golang/prometheus"

// For the external tests: the metrics they check.
var CacheHitsTotal prometheus.Counter = cacheHitsTotal

func FailuresTotal(reason string) prometheus.Counter { return failuresTotal.WithLabelValues(reason) }
