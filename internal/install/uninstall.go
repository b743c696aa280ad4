package install

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// UninstallOptions choose what Uninstall removes.
type UninstallOptions struct {
	// CRDs removes the CustomResourceDefinitions too, and with them every
	// SparkApplication and SparkProfile in the cluster.
	CRDs bool
	// CRDWait is how long to wait for the deleted CRDs to be gone (0: do
	// not wait). The API server removes a CRD only after every object of
	// it, and its finalizer can retry for minutes (e.g. "storage is
	// (re)initializing" right after the CRDs were applied); an install
	// started before they are gone finds them terminating.
	CRDWait time.Duration
}

// crdPoll is how often Uninstall looks whether the deleted CRDs are gone.
const crdPoll = 500 * time.Millisecond

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
// With opts.CRDs it then waits up to opts.CRDWait for the CRDs to be gone.
func Uninstall(ctx context.Context, c client.Client, objs []client.Object, opts UninstallOptions, progress io.Writer) error {
	var crds []string // the CRDs deleted
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
		if isCRD {
			crds = append(crds, u.GetName())
		}
	}
	if len(crds) == 0 || opts.CRDWait <= 0 {
		return nil
	}
	return waitCRDsGone(ctx, c, crds, opts.CRDWait, progress)
}

// waitCRDsGone waits up to timeout for the named CRDs to be gone, and
// names those still there, with why, when they are not.
func waitCRDsGone(ctx context.Context, c client.Client, names []string, timeout time.Duration, progress io.Writer) error {
	fmt.Fprintf(progress, "waiting up to %s for %d CRDs to be removed (the API server deletes every object of them first)\n", timeout, len(names))
	start := time.Now()
	left := names // those seen there in the last look
	// One list per look, with the caller's context: the wait's deadline
	// ends the looks, not one in the middle.
	err := wait.PollUntilContextTimeout(ctx, crdPoll, timeout, true, func(context.Context) (bool, error) {
		list := &apiextensionsv1.CustomResourceDefinitionList{}
		if err := c.List(ctx, list); err != nil {
			return false, fmt.Errorf("listing CRDs: %w", err)
		}
		var there []string
		for i := range list.Items {
			if crd := &list.Items[i]; slices.Contains(names, crd.Name) {
				there = append(there, crd.Name+terminatingReason(crd))
			}
		}
		left = there
		return len(there) == 0, nil
	})
	if err == nil {
		fmt.Fprintf(progress, "%d CRDs removed in %s\n", len(names), time.Since(start).Round(time.Millisecond))
		return nil
	}
	// wait.Interrupted covers the wait's own timeout and a context's end;
	// the caller's context ending (Ctrl-C) is its error, not a timeout.
	if ctx.Err() != nil || !wait.Interrupted(err) {
		return err
	}
	return fmt.Errorf("after %s these CRDs are still terminating: %s; the API server keeps trying to delete them (see `kubectl get crd NAME -o yaml`): run uninstall again with a longer --timeout, and install again only once they are gone",
		timeout, strings.Join(left, "; "))
}

// terminatingReason is " (reason: message)" of a CRD's Terminating
// condition, or "".
func terminatingReason(crd *apiextensionsv1.CustomResourceDefinition) string {
	for _, cond := range crd.Status.Conditions {
		if cond.Type == apiextensionsv1.Terminating && cond.Message != "" {
			return fmt.Sprintf(" (%s: %s)", cond.Reason, cond.Message)
		}
	}
	return ""
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
