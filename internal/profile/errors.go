package profile

import (
	"fmt"
	"strings"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// NotFoundError says the profile an application asks for does not exist.
// The controller ends the application Failed with its message.
type NotFoundError struct {
	// Name is the profile asked for and Via how it was asked for
	// (spec.profile, the namespace annotation).
	Name, Via string
	// Existing are the names of the profiles that exist, sorted.
	Existing []string
}

func (e *NotFoundError) Error() string {
	existing := "none exist; run `sparkplane install` to install the built-in profiles"
	if len(e.Existing) > 0 {
		existing = "existing profiles: " + strings.Join(e.Existing, ", ")
	}
	return fmt.Sprintf("SparkProfile %q named by %s does not exist (%s); set spec.profile to one of them", e.Name, e.Via, existing)
}

// AmbiguousDefaultError says more than one profile claims to be the cluster
// default.
type AmbiguousDefaultError struct {
	Profiles []string
}

func (e *AmbiguousDefaultError) Error() string {
	return fmt.Sprintf("more than one SparkProfile is labelled sparkplane.io/cluster-default=true (%s); keep the label on one, or set spec.profile",
		strings.Join(e.Profiles, ", "))
}

// Conflict is one application field that cannot be honoured together with
// the profile.
type Conflict struct {
	// Field is the application's field, e.g. spec.executor.nodeSelector[kubernetes.io/arch].
	Field string `json:"field"`
	// Value is what the application asks for.
	Value string `json:"value"`
	// Policy is the profile field it contradicts and what that says.
	Policy string `json:"policy"`
	// Fix says what to change.
	Fix string `json:"fix"`
}

func (c Conflict) String() string {
	return fmt.Sprintf("%s=%s conflicts with %s: %s", c.Field, c.Value, c.Policy, c.Fix)
}

// ConflictError lists every conflict between an application and its profile,
// field by field.
type ConflictError struct {
	Profile   string
	Conflicts []Conflict
}

func (e *ConflictError) Error() string {
	parts := make([]string, len(e.Conflicts))
	for i, c := range e.Conflicts {
		parts[i] = c.String()
	}
	subject := "the built-in defaults"
	if e.Profile != "" {
		subject = "SparkProfile " + e.Profile
	}
	return fmt.Sprintf("the application conflicts with %s: %s", subject, strings.Join(parts, "; "))
}

// RejectionReason is the condition reason an application that cannot be
// resolved ends with (status.conditions Accepted=False): the profile it
// names does not exist.
func (e *NotFoundError) RejectionReason() string { return v1alpha1.ReasonProfileNotFound }

// RejectionReason: no single cluster default profile.
func (e *AmbiguousDefaultError) RejectionReason() string { return v1alpha1.ReasonProfileNotFound }

// RejectionReason: the application contradicts its profile.
func (e *ConflictError) RejectionReason() string { return v1alpha1.ReasonInvalidSpec }
