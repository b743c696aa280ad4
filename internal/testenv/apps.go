package testenv

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// SparkPi is Spark's SparkPi example as tests submit it: Scala, Spark
// 3.5.3, image spark:3.5.3 and its examples jar, nothing else set.
func SparkPi(ns, name string) *v1alpha1.SparkApplication {
	app := &v1alpha1.SparkApplication{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	app.Spec.Type = v1alpha1.SparkApplicationTypeScala
	app.Spec.SparkVersion = "3.5.3"
	app.Spec.Image = ptr.To("spark:3.5.3")
	app.Spec.MainClass = ptr.To("org.apache.spark.examples.SparkPi")
	app.Spec.MainApplicationFile = ptr.To("local:///opt/spark/examples/jars/spark-examples.jar")
	return app
}
