// Package profile resolves a SparkApplication against a SparkProfile: it picks
// the profile (spec.profile, else the namespace's sparkplane.io/default-profile
// annotation, else the profile labelled sparkplane.io/cluster-default=true),
// layers built-in defaults < profile < the application's own fields, chooses
// the application's zone, and returns the effective application with the
// source of every setting it decided (what `sparkplane explain` prints).
//
// The package is pure: it takes values and returns values, with no client, no
// clock and no goroutines. The sparkapplication controller calls Resolve once
// per submission attempt and hands the effective application to submission,
// which knows nothing of profiles.
package profile
