package sparkapplication

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStorageClassesOf(t *testing.T) {
	conf := map[string]string{
		"spark.kubernetes.executor.volumes.persistentVolumeClaim.spark-local-dir-1.options.storageClass": "sparkplane-shuffle",
		"spark.kubernetes.executor.volumes.persistentVolumeClaim.spark-local-dir-1.options.claimName":    "OnDemand",
		"spark.kubernetes.driver.volumes.persistentVolumeClaim.data.options.storageClass":                "gp3",
		"spark.kubernetes.executor.volumes.emptyDir.scratch.options.storageClass":                        "not-a-pvc",
		"spark.kubernetes.executor.volumes.persistentVolumeClaim.empty.options.storageClass":             "",
	}
	want := []storageClassRef{
		{"spark.kubernetes.driver.volumes.persistentVolumeClaim.data.options.storageClass", "gp3"},
		{"spark.kubernetes.executor.volumes.persistentVolumeClaim.spark-local-dir-1.options.storageClass", "sparkplane-shuffle"},
	}
	if diff := cmp.Diff(want, storageClassesOf(conf), cmp.AllowUnexported(storageClassRef{})); diff != "" {
		t.Errorf("storageClassesOf (-want +got):\n%s", diff)
	}
}
