package sparkapplication

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// imagePlatformsCondition sets ImagePlatformsUnknown from the resolver's
// decision (status.resolution.images): True with the lookup's reason when
// an image's platforms could not be read, False once a later attempt read
// them; absent while they were always known.
func (c *Controller) imagePlatformsCondition(s *scope, res *v1alpha1.Resolution) {
	if res == nil || len(res.Images) == 0 {
		return
	}
	var unknown []string
	reason := ""
	for _, img := range res.Images {
		if img.UnknownReason == "" {
			continue
		}
		if reason == "" {
			reason = img.UnknownReason
		}
		unknown = append(unknown, fmt.Sprintf("image %s (%s): %s", img.Image, strings.Join(img.Roles, ", "), img.Message))
	}
	if len(unknown) > 0 {
		c.setCondition(s, v1alpha1.ConditionImagePlatformsUnknown, metav1.ConditionTrue, reason,
			"Platforms unknown, so the pods got the profile's placement unchanged: "+strings.Join(unknown, "; "))
		return
	}
	if meta.FindStatusCondition(s.app.Status.Conditions, v1alpha1.ConditionImagePlatformsUnknown) != nil {
		var found []string
		for _, img := range res.Images {
			found = append(found, fmt.Sprintf("%s [%s]", img.Image, strings.Join(img.Platforms, " ")))
		}
		c.setCondition(s, v1alpha1.ConditionImagePlatformsUnknown, metav1.ConditionFalse, v1alpha1.ReasonPlatformsFound,
			"Platforms read from the registry: "+strings.Join(found, "; "))
	}
}
