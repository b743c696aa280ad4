package install

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// FieldManager owns the fields install applies.
const FieldManager = "sparkplane-install"

// EstablishTimeout bounds the wait for the API server to serve a new CRD.
var EstablishTimeout = time.Minute

// ToUnstructured converts a typed object to the map server-side apply sends:
// without status and without the empty creationTimestamp a typed object
// carries.
func ToUnstructured(obj client.Object) (*unstructured.Unstructured, error) {
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("converting %s %s: %w", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), err)
	}
	delete(content, "status")
	if meta, ok := content["metadata"].(map[string]any); ok {
		delete(meta, "creationTimestamp")
	}
	return &unstructured.Unstructured{Object: content}, nil
}

// Apply server-side-applies objs in order with force (install owns these
// fields), waits after the CRDs until the API server serves them, and writes
// one kubectl-style progress line per object to progress. Running it again is
// harmless: unchanged objects stay unchanged.
func Apply(ctx context.Context, c client.Client, objs []client.Object, progress io.Writer) error {
	var pendingCRDs []string
	for i, obj := range objs {
		if _, isCRD := obj.(*apiextensionsv1.CustomResourceDefinition); !isCRD && len(pendingCRDs) > 0 {
			if err := waitEstablished(ctx, c, pendingCRDs, progress); err != nil {
				return err
			}
			pendingCRDs = nil
		}
		u, err := ToUnstructured(obj)
		if err != nil {
			return err
		}
		if err := applyOne(ctx, c, u); err != nil {
			return fmt.Errorf("applying %s: %w", describe(u), err)
		}
		fmt.Fprintf(progress, "%s serverside-applied\n", describe(u))
		if _, isCRD := obj.(*apiextensionsv1.CustomResourceDefinition); isCRD {
			pendingCRDs = append(pendingCRDs, obj.GetName())
		}
		if i == len(objs)-1 && len(pendingCRDs) > 0 {
			if err := waitEstablished(ctx, c, pendingCRDs, progress); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyOne applies u. A kind whose CRD was just established may be missing
// from the API server's discovery for a moment longer: that is retried until
// EstablishTimeout.
func applyOne(ctx context.Context, c client.Client, u *unstructured.Unstructured) error {
	var err error
	_ = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, EstablishTimeout, true, func(ctx context.Context) (bool, error) {
		err = c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u.DeepCopy()), client.FieldOwner(FieldManager), client.ForceOwnership)
		if meta.IsNoMatchError(err) {
			return false, nil
		}
		return true, nil
	})
	return err
}

// describe names an object as kubectl does: kind.group/name, lower case.
func describe(u *unstructured.Unstructured) string {
	gvk := u.GroupVersionKind()
	kind := strings.ToLower(gvk.Kind)
	if gvk.Group != "" {
		kind += "." + gvk.Group
	}
	return kind + "/" + u.GetName()
}

// waitEstablished polls the CRDs until each is Established (the API server
// serves the kind) or fails with the condition that holds it back.
func waitEstablished(ctx context.Context, c client.Client, names []string, progress io.Writer) error {
	fmt.Fprintf(progress, "waiting for %d CRDs to be established\n", len(names))
	start := time.Now()
	for _, name := range names {
		var last string
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, EstablishTimeout, true, func(ctx context.Context) (bool, error) {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := c.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
				last = err.Error()
				return false, nil
			}
			for _, cond := range crd.Status.Conditions {
				switch {
				case cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue:
					return true, nil
				case cond.Type == apiextensionsv1.NamesAccepted && cond.Status == apiextensionsv1.ConditionFalse:
					return false, fmt.Errorf("CRD %s: names not accepted: %s", name, cond.Message)
				}
			}
			last = "not established yet"
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("waiting for CRD %s to be established (%s): %w", name, last, err)
		}
	}
	fmt.Fprintf(progress, "%d CRDs established in %s\n", len(names), time.Since(start).Round(time.Millisecond))
	return nil
}
