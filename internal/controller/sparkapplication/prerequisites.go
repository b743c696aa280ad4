package sparkapplication

import (
	"context"
	"fmt"
	"sort"
	"strings"

	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/submit"
)

// missingPrerequisite returns, for an attempt about to be created, the
// message naming the first cluster object its pods need that does not exist
// — a PriorityClass the driver or executors run at, or a StorageClass their
// on-demand volumes (shuffle PVCs) are provisioned from — and the command
// that creates it; "" when all exist. Such an application could only wait
// forever (a pod that admission refuses, a PVC that never binds), so it ends
// Failed at once instead, and `sparkplane doctor` names the same objects.
func (c *Controller) missingPrerequisite(ctx context.Context, effective *v1alpha1.SparkApplication, objs *submit.Objects) (string, error) {
	for _, pc := range []struct{ field, name string }{
		{"spec.driver.priorityClassName", ptr.Deref(effective.Spec.Driver.PriorityClassName, "")},
		{"spec.executor.priorityClassName", ptr.Deref(effective.Spec.Executor.PriorityClassName, "")},
	} {
		if pc.name == "" {
			continue
		}
		err := c.client.Get(ctx, client.ObjectKey{Name: pc.name}, &schedulingv1.PriorityClass{})
		if apierrors.IsNotFound(err) {
			return fmt.Sprintf("PriorityClass %s (%s) does not exist: `sparkplane install` creates sparkplane-driver and sparkplane-executor; create any other class with `kubectl create priorityclass %s --value=N`", pc.name, pc.field, pc.name), nil
		} else if err != nil {
			return "", fmt.Errorf("reading PriorityClass %s: %w", pc.name, err)
		}
	}
	for _, sc := range storageClassesOf(objs.Conf) {
		err := c.client.Get(ctx, client.ObjectKey{Name: sc.name}, &storagev1.StorageClass{})
		if apierrors.IsNotFound(err) {
			return fmt.Sprintf("StorageClass %s (%s) does not exist, so its volumes would never bind: the platform bundle creates it (`sparkplane platform render --provider aws --out platform && kubectl apply --server-side -k platform`), or pick a profile without PVC shuffle", sc.name, sc.key), nil
		} else if err != nil {
			return "", fmt.Errorf("reading StorageClass %s: %w", sc.name, err)
		}
	}
	return "", nil
}

type storageClassRef struct{ key, name string }

// storageClassesOf returns the StorageClasses of the on-demand
// PersistentVolumeClaims Spark will create, from the spark.kubernetes.
// {driver,executor}.volumes.persistentVolumeClaim.NAME.options.storageClass
// keys of conf, sorted by key.
func storageClassesOf(conf map[string]string) []storageClassRef {
	var out []storageClassRef
	for key, value := range conf {
		if value == "" || !strings.HasSuffix(key, ".options.storageClass") {
			continue
		}
		if strings.HasPrefix(key, "spark.kubernetes.driver.volumes.persistentVolumeClaim.") ||
			strings.HasPrefix(key, "spark.kubernetes.executor.volumes.persistentVolumeClaim.") {
			out = append(out, storageClassRef{key: key, name: value})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}
