package advisor

// This test alone brings Kubernetes packages into the advisor's tests: it
// follows the --emit-conf patch through native submission (internal/submit)
// and Spark's executor construction (the driver emulator). The advisor
// package itself imports none.

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kptr "k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/emulator"
	"github.com/sparkplane/sparkplane/internal/profile"
	"github.com/sparkplane/sparkplane/internal/submit"
)

// TestPVCReusePatchMakesCompleteClaims: the PVC-reuse recommendation's
// sparkConf, applied to an application and submitted natively, makes the
// driver (as Spark 3.5 builds executors) create a complete OnDemand claim
// for each executor — storage class and size, the cost-optimized profile's
// values — mounted where shuffle recovery looks. Without storageClass and
// sizeLimit Spark creates no claim and executors would wait forever.
func TestPVCReusePatchMakesCompleteClaims(t *testing.T) {
	rep := &Report{Totals: Totals{ShuffleReadBytes: 40 << 30, ShuffleWriteBytes: 40 << 30}}
	rec := recommendShuffleStorage(rep)
	if rec == nil || rec.Profile["shuffleStorage"] != "pvc-reuse" {
		t.Fatalf("recommendation %+v, want pvc-reuse", rec)
	}
	app := &v1alpha1.SparkApplication{
		ObjectMeta: metav1.ObjectMeta{Name: "etl", Namespace: "jobs", UID: types.UID("5a1f0e7c-8b2d-4c3e-9f4a-6b7c8d9e0f1a")},
		Spec: v1alpha1.SparkApplicationSpec{
			Type: v1alpha1.SparkApplicationTypeScala, SparkVersion: "3.5.3", Image: kptr.To("apache/spark:3.5.3"),
			MainClass: kptr.To("com.example.ETL"), MainApplicationFile: kptr.To("local:///opt/app/etl.jar"),
			SparkConf: rec.SparkConf,
		},
	}
	objs, err := submit.Build(app, submit.Options{Attempt: 1})
	if err != nil {
		t.Fatalf("native submission refused the patch: %v", err)
	}
	driver := objs.DriverPod.DeepCopy()
	driver.UID = "driver-uid"
	objs.OwnByDriver(driver)
	configMaps := map[string]*corev1.ConfigMap{objs.ConfConfigMap.Name: objs.ConfConfigMap, objs.PodTemplateConfigMap.Name: objs.PodTemplateConfigMap}
	spec, err := emulator.ResolveDriver(context.Background(), driver, func(_ context.Context, _, name string) (*corev1.ConfigMap, error) {
		if cm, ok := configMaps[name]; ok {
			return cm, nil
		}
		return nil, fmt.Errorf("no ConfigMap %s", name)
	})
	if err != nil {
		t.Fatal(err)
	}
	factory, err := emulator.NewExecutorFactory(spec)
	if err != nil {
		t.Fatal(err)
	}
	pod, claims := factory.ExecutorPod(1)
	if len(claims) != 1 {
		t.Fatalf("%d claims for executor 1, want 1 OnDemand claim", len(claims))
	}
	claim := claims[0]
	if sc := kptr.Deref(claim.Spec.StorageClassName, ""); sc != profile.DefaultShuffleStorageClass {
		t.Errorf("claim storage class %q, want the profile's %q", sc, profile.DefaultShuffleStorageClass)
	}
	if size := claim.Spec.Resources.Requests.Storage().String(); size != profile.DefaultPVCSize {
		t.Errorf("claim size %s, want the profile's %s", size, profile.DefaultPVCSize)
	}
	mounted := false
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == claim.Name {
			for _, m := range pod.Spec.Containers[0].VolumeMounts {
				mounted = mounted || (m.Name == v.Name && m.MountPath == profile.DefaultPVCMountPath)
			}
		}
	}
	if !mounted {
		t.Errorf("executor does not mount claim %s at %s", claim.Name, profile.DefaultPVCMountPath)
	}
}
