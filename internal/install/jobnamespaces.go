package install

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CheckJobNamespaces returns an error naming every job namespace that does
// not exist, with the command that creates them, so that install refuses
// before it applies anything rather than half-way through with the API
// server's NotFound. sparkplane does not create tenants' namespaces: who
// owns a namespace (its labels, quotas, Pod Security level) is the platform
// team's decision.
func CheckJobNamespaces(ctx context.Context, c client.Reader, names []string) error {
	var missing []string
	for _, name := range names {
		err := c.Get(ctx, client.ObjectKey{Name: name}, &corev1.Namespace{})
		switch {
		case apierrors.IsNotFound(err):
			missing = append(missing, name)
		case err != nil:
			return fmt.Errorf("checking job namespace %q: %w", name, err)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if len(missing) == 1 {
		return fmt.Errorf("--job-namespaces: namespace %s not found on this cluster; create it first (kubectl create namespace %s) or leave it out; nothing was installed", missing[0], missing[0])
	}
	return fmt.Errorf("--job-namespaces: namespaces %s not found on this cluster; create them first (kubectl create namespace %s) or leave them out; nothing was installed",
		strings.Join(missing, ", "), strings.Join(missing, " "))
}
