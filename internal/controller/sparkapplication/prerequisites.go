package sparkapplication

import (
	"context"
	"fmt"
	"sort"
	"strings"

	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/internal/submit"
)

// missingPrerequisite returns, for an attempt about to be created, a
// message naming a StorageClass its on-demand volumes (shuffle PVCs) need
// that does not exist, and the command that creates it; "" when all exist.
// Such an application could only wait forever for claims that never bind,
// so it ends Failed at once instead; `sparkplane doctor` names the same
// classes. (A PriorityClass is different: one the application names itself
// is a submission failure retried as spec.restartPolicy says, since creating
// it clears the error; one only its profile names is left unset by the
// resolver with a warning, and `sparkplane install` creates the built-in
// profiles' classes.)
func (c *Controller) missingPrerequisite(ctx context.Context, objs *submit.Objects) (string, error) {
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
