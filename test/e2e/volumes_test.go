//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/internal/profile"
)

// shuffleVolumes creates n PersistentVolumes of the default shuffle
// StorageClass, named prefix-NN, standing ready for the claims of the
// PVC-shuffle profiles as a real cluster's provisioner would make them
// (installSparkplane's class names no provisioner that runs locally).
func shuffleVolumes(t testing.TB, cl client.Client, prefix string, n int) {
	t.Helper()
	for i := range n {
		pv := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%02d", prefix, i)},
			Spec: corev1.PersistentVolumeSpec{
				StorageClassName:              profile.DefaultShuffleStorageClass,
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Ti")},
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
				PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: fmt.Sprintf("/mnt/%s-%02d", prefix, i)}},
			},
		}
		if err := cl.Create(context.Background(), pv); err != nil {
			t.Fatal(err)
		}
	}
}
