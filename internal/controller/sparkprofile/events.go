package sparkprofile

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/events"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/profile"
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

// ReasonProfileSettingSkipped is on a SparkApplication when a profile
// setting could not be applied (a PriorityClass the cluster lacks).
const ReasonProfileSettingSkipped = "ProfileSettingSkipped"

// ResolvedPrefix starts a resolution note.
const ResolvedPrefix = profile.ResolvedPrefix

// ResolvedNote says which profile and zone a resolution chose, and why. The
// operator logs it with the submission and writes no event for it:
// status.profile and status.resolution record the same, which is what
// `sparkplane explain` shows.
func ResolvedNote(res profile.ResolveResult) string {
	return profile.ResolutionNote(res.Profile, res.Resolution(), res.Application.Name)
}

// skipped reports the profile settings resolution had to leave out.
func (r eventRecorder) skipped(app *v1alpha1.SparkApplication, res profile.ResolveResult) {
	if r.EventRecorder == nil {
		return
	}
	for _, w := range res.Warnings {
		r.Eventf(app, nil, corev1.EventTypeWarning, ReasonProfileSettingSkipped, "Resolve", "%s.", w)
	}
}

// ReasonImagePlatformsUnknown is on a SparkApplication whose image's
// platforms could not be read from its registry at submission.
const ReasonImagePlatformsUnknown = v1alpha1.ConditionImagePlatformsUnknown

// imagePlatformsUnknown reports the images whose platforms are unknown.
func (r eventRecorder) imagePlatformsUnknown(app *v1alpha1.SparkApplication, res profile.ResolveResult) {
	if r.EventRecorder == nil {
		return
	}
	for _, img := range res.Images {
		if img.UnknownReason == "" {
			continue
		}
		r.Eventf(app, nil, corev1.EventTypeWarning, ReasonImagePlatformsUnknown, "Resolve",
			"Platforms of image %s (%s) unknown (%s): %s. Submitted with the profile's placement unchanged; if the image lacks an architecture the tiers offer, its pods fail there with exec format error: check the registry, the imagePullSecrets and the operator's --image-platform-timeout.",
			img.Image, strings.Join(img.Roles, ", "), img.UnknownReason, img.Message)
	}
}
