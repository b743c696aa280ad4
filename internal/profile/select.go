package profile

import (
	"sort"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// Selection is the profile an application gets and how it got it.
type Selection struct {
	// Profile is nil when nothing names a profile and no profile is the
	// cluster default: the application then gets the built-in defaults only.
	Profile *v1alpha1.SparkProfile
	// Via says how: "spec.profile", "namespace annotation sparkplane.io/default-profile",
	// "cluster default (label sparkplane.io/cluster-default=true)" or "" when none.
	Via string
}

// Via values.
const (
	ViaSpec           = "spec.profile"
	ViaNamespace      = "namespace annotation " + v1alpha1.NamespaceDefaultProfileAnnotation
	ViaClusterDefault = "cluster default (label " + v1alpha1.ClusterDefaultProfileLabel + "=true)"
)

// Select picks the application's profile: spec.profile, else the namespace's
// sparkplane.io/default-profile annotation, else the one profile labelled
// sparkplane.io/cluster-default=true. A name that matches no profile is a
// *NotFoundError listing the profiles that exist; two cluster defaults are an
// *AmbiguousDefaultError.
func Select(app *v1alpha1.SparkApplication, namespaceAnnotations map[string]string, profiles []v1alpha1.SparkProfile) (Selection, error) {
	byName := make(map[string]*v1alpha1.SparkProfile, len(profiles))
	names := make([]string, 0, len(profiles))
	var defaults []string
	for i := range profiles {
		p := &profiles[i]
		if p.DeletionTimestamp != nil {
			continue
		}
		byName[p.Name] = p
		names = append(names, p.Name)
		if p.Labels[v1alpha1.ClusterDefaultProfileLabel] == "true" {
			defaults = append(defaults, p.Name)
		}
	}
	sort.Strings(names)
	sort.Strings(defaults)

	lookup := func(name, via string) (Selection, error) {
		p, ok := byName[name]
		if !ok {
			return Selection{}, &NotFoundError{Name: name, Via: via, Existing: names}
		}
		return Selection{Profile: p, Via: via}, nil
	}
	if app.Spec.Profile != "" {
		return lookup(app.Spec.Profile, ViaSpec)
	}
	if name := namespaceAnnotations[v1alpha1.NamespaceDefaultProfileAnnotation]; name != "" {
		return lookup(name, ViaNamespace+" on namespace "+app.Namespace)
	}
	switch len(defaults) {
	case 0:
		return Selection{}, nil
	case 1:
		return Selection{Profile: byName[defaults[0]], Via: ViaClusterDefault}, nil
	default:
		return Selection{}, &AmbiguousDefaultError{Profiles: defaults}
	}
}
