// Package v1alpha1 holds sparkplane's API types (group sparkplane.io, version
// v1alpha1): SparkApplication and the types other controllers add beside it.
// It holds types, validation markers, generated deepcopy and the generated CRD
// manifests (embedded, see CRDs) and imports nothing else of sparkplane's.
//
// +kubebuilder:object:generate=true
// +groupName=sparkplane.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of every type in this package.
	GroupVersion = schema.GroupVersion{Group: "sparkplane.io", Version: "v1alpha1"}

	// SchemeBuilder registers this package's types; each types file calls
	// SchemeBuilder.Register in its init.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds every type of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
