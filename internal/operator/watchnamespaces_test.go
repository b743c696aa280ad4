package operator

import (
	"context"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/testenv"
)

// TestWatchNamespaces: an operator started with --watch-namespaces submits
// the applications of those namespaces and leaves every other namespace's
// alone (the flag was parsed but never reached the cache before).
func TestWatchNamespaces(t *testing.T) {
	log.SetLogger(testr.NewWithOptions(t, testr.Options{Verbosity: 1}))
	watched, other := env.Namespace(t), env.Namespace(t)
	op, err := New(env.Config, Options{WatchNamespaces: []string{watched}, SkipControllerNameValidation: true})
	if err != nil {
		t.Fatal(err)
	}
	testenv.Run(t, "operator", op.Start)
	ctx := context.Background()
	app := func(ns string) *v1alpha1.SparkApplication {
		return &v1alpha1.SparkApplication{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pi"},
			Spec: v1alpha1.SparkApplicationSpec{
				Type:                v1alpha1.SparkApplicationTypeScala,
				SparkVersion:        "3.5.3",
				Image:               ptr.To("apache/spark:3.5.3"),
				MainClass:           ptr.To("org.apache.spark.examples.SparkPi"),
				MainApplicationFile: ptr.To("local:///opt/spark/examples/jars/spark-examples_2.12-3.5.3.jar"),
				Driver:              v1alpha1.DriverSpec{SparkPodSpec: v1alpha1.SparkPodSpec{Cores: ptr.To[int32](1), Memory: ptr.To[v1alpha1.MemorySize]("1g")}},
				Executor: v1alpha1.ExecutorSpec{SparkPodSpec: v1alpha1.SparkPodSpec{Cores: ptr.To[int32](1), Memory: ptr.To[v1alpha1.MemorySize]("1g")},
					Instances: ptr.To[int32](1)},
			},
		}
	}
	for _, ns := range []string{other, watched} {
		if err := env.Client.Create(ctx, app(ns)); err != nil {
			t.Fatal(err)
		}
	}
	reconciled := func(ns string) (*v1alpha1.SparkApplication, bool) {
		got := &v1alpha1.SparkApplication{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "pi"}, got); err != nil {
			t.Fatal(err)
		}
		return got, got.Status.State != "" || len(got.Status.Conditions) > 0
	}
	// Whatever the operator decides about it (here: not submitted, for the
	// default profile's StorageClass is missing), it writes a status.
	testenv.Eventually(t, time.Minute, "the watched namespace's application is reconciled", func() bool {
		_, ok := reconciled(watched)
		return ok
	})
	// The other one was created first: by now it would have been
	// reconciled too. Give the operator a moment more all the same.
	time.Sleep(2 * time.Second)
	if got, ok := reconciled(other); ok {
		t.Errorf("the unwatched namespace's application was reconciled: status %+v", got.Status)
	}
}
