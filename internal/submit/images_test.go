package submit

import (
	"testing"

	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/spark"
)

// TestImagesAgreeWithBuild: spark.Images (what the resolver looks up in the
// registry) names the images the built driver pod and executors run.
func TestImagesAgreeWithBuild(t *testing.T) {
	cases := map[string]func(*v1alpha1.SparkApplication){
		"spec.image": func(*v1alpha1.SparkApplication) {},
		"per-role images": func(a *v1alpha1.SparkApplication) {
			a.Spec.Driver.Image = ptr.To("r/driver:1")
			a.Spec.Executor.Image = ptr.To("r/executor:1")
		},
		"executor image conf": func(a *v1alpha1.SparkApplication) {
			a.Spec.Executor.Image = ptr.To("r/executor:1")
			a.Spec.SparkConf = map[string]string{spark.ConfExecutorContainerImage: "r/conf-executor:2"}
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			app := scalaApp()
			mutate(app)
			objs, err := Build(app, Options{Attempt: 1})
			if err != nil {
				t.Fatal(err)
			}
			driver, executor := spark.Images(&app.Spec)
			if got := objs.DriverPod.Spec.Containers[0].Image; got != driver {
				t.Errorf("driver pod runs %s, spark.Images says %s", got, driver)
			}
			if got := objs.Conf[spark.ConfExecutorContainerImage]; got != executor {
				t.Errorf("executors run %s (spark.properties), spark.Images says %s", got, executor)
			}
		})
	}
}
