package sparkapplication

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/sparkplane/sparkplane/internal/submit"
)

// indexAppSelector indexes cached pods by "<namespace>/<spark-app-selector>",
// so counting one attempt's executors reads only its pods.
const indexAppSelector = "sparkplane.io/app-selector"

// newPodCache returns this controller's own informer cache for sparkplane's
// pods (those labelled sparkplane.io/application). It is separate from the
// manager's cache so its slimming transform affects no other controller.
// Executors keep only name, labels, node and phase — about 300 bytes each —
// so 10,000 executors cost a few MB; drivers keep their status but no spec.
func newPodCache(mgr manager.Manager) (cache.Cache, error) {
	hasApp, err := labels.NewRequirement(submit.LabelApplication, selection.Exists, nil)
	if err != nil {
		return nil, err
	}
	c, err := cache.New(mgr.GetConfig(), cache.Options{
		HTTPClient: mgr.GetHTTPClient(),
		Scheme:     mgr.GetScheme(),
		Mapper:     mgr.GetRESTMapper(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}: {
				Label:                 labels.NewSelector().Add(*hasApp),
				Transform:             slimPod,
				UnsafeDisableDeepCopy: ptrTrue(),
			},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the sparkapplication pod cache: %w", err)
	}
	return c, nil
}

func ptrTrue() *bool { b := true; return &b }

func appSelectorKey(namespace, appID string) string { return namespace + "/" + appID }

func indexPodByAppSelector(obj client.Object) []string {
	id := obj.GetLabels()[submit.LabelSparkAppSelector]
	if id == "" {
		return nil
	}
	return []string{appSelectorKey(obj.GetNamespace(), id)}
}

// keptLabels are the only labels a cached pod keeps.
var keptLabels = []string{submit.LabelApplication, submit.LabelSparkAppSelector, submit.LabelSparkRole, submit.LabelSparkExecID}

// slimPod is the cache transform: it keeps what the controller reads (and
// what the index and event mapping need) and drops the rest before the
// object is stored.
func slimPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil // tombstones and the like pass through
	}
	slim := &corev1.Pod{
		TypeMeta: pod.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name:              pod.Name,
			Namespace:         pod.Namespace,
			UID:               pod.UID,
			ResourceVersion:   pod.ResourceVersion,
			CreationTimestamp: pod.CreationTimestamp,
			DeletionTimestamp: pod.DeletionTimestamp,
			Labels:            map[string]string{},
		},
		Spec: corev1.PodSpec{NodeName: pod.Spec.NodeName},
	}
	for _, k := range keptLabels {
		if v, ok := pod.Labels[k]; ok {
			slim.Labels[k] = v
		}
	}
	if pod.Labels[submit.LabelSparkRole] == submit.RoleDriver {
		slim.OwnerReferences = pod.OwnerReferences
		slim.Status = pod.Status
	} else {
		slim.Status.Phase = pod.Status.Phase
	}
	return slim, nil
}
