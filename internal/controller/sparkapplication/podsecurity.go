package sparkapplication

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/internal/submit"
)

// podSecurityLevel is the Pod Security level namespace ns enforces (its
// pod-security.kubernetes.io/enforce label), which submit.Build makes the
// driver and executor pods meet. Read from the cache: the operator watches
// namespaces already (driverAccount, profile resolution).
func (c *Controller) podSecurityLevel(ctx context.Context, ns string) (string, error) {
	namespace := &corev1.Namespace{}
	if err := c.client.Get(ctx, client.ObjectKey{Name: ns}, namespace); err != nil {
		return "", fmt.Errorf("reading namespace %s for its %s label: %w", ns, submit.LabelPodSecurityEnforce, err)
	}
	return namespace.Labels[submit.LabelPodSecurityEnforce], nil
}

// namespaceBeingDeleted tells whether namespace ns is being deleted (or is
// gone), from the cache.
func (c *Controller) namespaceBeingDeleted(ctx context.Context, ns string) (bool, error) {
	namespace := &corev1.Namespace{}
	if err := c.client.Get(ctx, client.ObjectKey{Name: ns}, namespace); err != nil {
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, fmt.Errorf("reading namespace %s: %w", ns, err)
	}
	return !namespace.DeletionTimestamp.IsZero(), nil
}

// refusedByPodSecurity tells whether the API server refused a pod because
// it breaks its namespace's Pod Security level: trying again cannot help
// until the application or the namespace changes.
func refusedByPodSecurity(err error) bool {
	return apierrors.IsForbidden(err) && strings.Contains(err.Error(), "violates PodSecurity")
}
