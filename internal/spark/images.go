package spark

import (
	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// Image confs: spark-submit's container images (Spark's Config.scala).
const (
	ConfExecutorContainerImage = "spark.kubernetes.executor.container.image"
)

// Images returns the images the driver and the executors run, as
// submission gives them: the driver pod's is spec.driver.image, else
// spec.image (submission refuses an application with neither; a
// spark.kubernetes.driver.container.image conf does not change the pod
// sparkplane creates); the executors' is what the driver reads from
// spark.kubernetes.executor.container.image, which spec.sparkConf may set
// over spec.executor.image and spec.image.
func Images(spec *v1alpha1.SparkApplicationSpec) (driver, executor string) {
	first := func(values ...string) string {
		for _, v := range values {
			if v != "" {
				return v
			}
		}
		return ""
	}
	conf := spec.SparkConf
	driver = first(ptr.Deref(spec.Driver.Image, ""), ptr.Deref(spec.Image, ""))
	executor = first(conf[ConfExecutorContainerImage], ptr.Deref(spec.Executor.Image, ""), ptr.Deref(spec.Image, ""))
	return driver, executor
}
