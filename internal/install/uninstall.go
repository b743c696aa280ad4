package install

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// UninstallOptions choose what Uninstall removes.
type UninstallOptions struct {
	// CRDs removes the CustomResourceDefinitions too, and with them every
	// SparkApplication and SparkProfile in the cluster.
	CRDs bool
}

// CustomResourceCounts counts what deleting the CRDs would delete with them.
func CustomResourceCounts(ctx context.Context, c client.Client) (applications, profiles int, err error) {
	apps := &v1alpha1.SparkApplicationList{}
	if err := c.List(ctx, apps); err != nil && !meta.IsNoMatchError(err) {
		return 0, 0, fmt.Errorf("counting SparkApplications: %w", err)
	}
	profs := &v1alpha1.SparkProfileList{}
	if err := c.List(ctx, profs); err != nil && !meta.IsNoMatchError(err) {
		return 0, 0, fmt.Errorf("counting SparkProfiles: %w", err)
	}
	return len(apps.Items), len(profs.Items), nil
}

// Uninstall deletes what install applied (objs, as Objects returns them),
// in reverse order: the Deployment first, so the operator stops before its
// permissions go. It keeps
//   - the CRDs, and so every SparkApplication and user SparkProfile, unless
//     opts.CRDs;
//   - an object some other field manager also applied (the platform bundle's
//     PriorityClasses and namespace), naming who.
//
// Objects already gone count as deleted. progress gets one line per object.
func Uninstall(ctx context.Context, c client.Client, objs []client.Object, opts UninstallOptions, progress io.Writer) error {
	for _, obj := range slices.Backward(objs) {
		u, err := ToUnstructured(obj)
		if err != nil {
			return err
		}
		isCRD := u.GetKind() == "CustomResourceDefinition"
		if isCRD && !opts.CRDs {
			fmt.Fprintf(progress, "%s kept (uninstall --crds removes it)\n", describe(u))
			continue
		}
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(u.GroupVersionKind())
		if err := c.Get(ctx, client.ObjectKeyFromObject(u), live); apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			continue
		} else if err != nil {
			return fmt.Errorf("reading %s: %w", describe(u), err)
		}
		if others := otherManagers(live); len(others) > 0 && !isCRD {
			fmt.Fprintf(progress, "%s kept (also applied by %v)\n", describe(u), others)
			continue
		}
		if err := c.Delete(ctx, live, client.PropagationPolicy("Background")); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting %s: %w", describe(u), err)
		}
		fmt.Fprintf(progress, "%s deleted\n", describe(u))
	}
	return nil
}

// otherManagers are who else applied obj: server-side appliers other than
// install, and kubectl (client-side apply or create). Controllers that only
// update status or defaults do not count.
func otherManagers(obj *unstructured.Unstructured) []string {
	var out []string
	for _, mf := range obj.GetManagedFields() {
		byKubectl := strings.HasPrefix(mf.Manager, "kubectl")
		if mf.Manager == FieldManager || mf.Subresource != "" || (mf.Operation != "Apply" && !byKubectl) {
			continue
		}
		if !slices.Contains(out, mf.Manager) {
			out = append(out, mf.Manager)
		}
	}
	return out
}
