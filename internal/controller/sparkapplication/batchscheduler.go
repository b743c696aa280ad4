package sparkapplication

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/submit"
)

// createPodGroup creates the attempt's Volcano PodGroup (spec.batchScheduler
// volcano) before the driver pod, so Volcano sees the gang before its first
// member. It exists already from an earlier attempt or run: AlreadyExists is
// done. A cluster without Volcano's CRD ends the application Failed with the
// fix (done true); other errors are retried.
func (c *Controller) createPodGroup(ctx context.Context, s *scope, objs *submit.Objects) (done bool, err error) {
	if objs.PodGroup == nil {
		return false, nil
	}
	err = c.client.Create(ctx, objs.PodGroup)
	switch {
	case err == nil, apierrors.IsAlreadyExists(err):
		return false, nil
	case meta.IsNoMatchError(err) || apierrors.IsNotFound(err):
		c.reject(s, v1alpha1.ReasonSubmissionFailed, fmt.Sprintf(
			"spec.batchScheduler is volcano but the cluster has no Volcano PodGroup CRD (%s): install Volcano, or remove spec.batchScheduler to use the default scheduler",
			submit.PodGroupGVK.GroupVersion()))
		return true, nil
	case apierrors.IsInvalid(err):
		c.reject(s, v1alpha1.ReasonSubmissionFailed, fmt.Sprintf("the API server refused PodGroup %s: %v", objs.PodGroup.GetName(), err))
		return true, nil
	}
	return false, fmt.Errorf("creating PodGroup %s: %w", objs.PodGroup.GetName(), err)
}
