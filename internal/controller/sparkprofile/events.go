package sparkprofile

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/events"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// Event reasons.
const (
	// ReasonInvalidProfileEvent is on a SparkProfile no application can
	// resolve against.
	ReasonInvalidProfileEvent = "InvalidProfile"
)

type eventRecorder struct{ events.EventRecorder }

func (r eventRecorder) invalidProfile(p *v1alpha1.SparkProfile, err error) {
	if r.EventRecorder == nil {
		return
	}
	r.Eventf(p, nil, corev1.EventTypeWarning, ReasonInvalidProfileEvent, "Validate",
		"Applications using this profile will fail: %v. Fix the profile's spec.", err)
}
