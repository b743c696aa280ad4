package queue

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

func TestNewWorkload(t *testing.T) {
	app := &v1alpha1.SparkApplication{ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "team", UID: "uid-1"}}
	app.Spec.Type = v1alpha1.SparkApplicationTypeScala
	app.Spec.SparkVersion = "3.5.3"
	app.Spec.Image = ptr.To("spark")
	app.Spec.MainClass = ptr.To("Pi")
	app.Spec.MainApplicationFile = ptr.To("local:///pi.jar")
	app.Spec.Executor.Instances = ptr.To[int32](3)
	app.Spec.Executor.Cores = ptr.To[int32](2)
	w, err := NewWorkload(app, "team-queue")
	if err != nil {
		t.Fatal(err)
	}
	if w.GetName() != "sparkapplication-pi" || w.GetOwnerReferences()[0].UID != "uid-1" {
		t.Errorf("workload %s owners %v", w.GetName(), w.GetOwnerReferences())
	}
	if q, _, _ := unstructured.NestedString(w.Object, "spec", "queueName"); q != "team-queue" {
		t.Errorf("queueName = %q", q)
	}
	sets, _, _ := unstructured.NestedSlice(w.Object, "spec", "podSets")
	if len(sets) != 2 {
		t.Fatalf("pod sets = %v", sets)
	}
	exec := sets[1].(map[string]any)
	containers, _, _ := unstructured.NestedSlice(exec, "template", "spec", "containers")
	cpu, _, _ := unstructured.NestedString(containers[0].(map[string]any), "resources", "requests", "cpu")
	if exec["name"] != "executor" || exec["count"] != int64(3) || cpu != "2" {
		t.Errorf("executor pod set: name %v count %v cpu %q", exec["name"], exec["count"], cpu)
	}
	// Deep-copyable, as the client needs.
	_ = w.DeepCopy()

	app.Spec.Executor.Instances = ptr.To[int32](0)
	w, _ = NewWorkload(app, "q")
	if sets, _, _ := unstructured.NestedSlice(w.Object, "spec", "podSets"); len(sets) != 1 {
		t.Errorf("no executors: pod sets %v, want the driver's only", sets)
	}
}
