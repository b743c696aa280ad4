package install

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// TestUninstallWaitsForCRDs: uninstall --crds returns only once the API
// server has removed the CRDs (with an application in them), says how long
// it took, and a CRD that cannot go (a finalizer on one of its objects) is
// named, with why, when the wait runs out. It installs again at the end
// for the tests that follow.
func TestUninstallWaitsForCRDs(t *testing.T) {
	env, objs, _ := installAll(t, "install")
	ctx := context.Background()
	var progress bytes.Buffer
	t.Cleanup(func() {
		progress.Reset()
		if err := Apply(ctx, env.Client, objs, &progress); err != nil {
			t.Errorf("installing again after the test: %v\n%s", err, progress.String())
		}
	})
	// An application whose finalizer nobody removes holds its CRD.
	app := &v1alpha1.SparkApplication{
		ObjectMeta: metav1.ObjectMeta{Name: "held", Namespace: "default", Finalizers: []string{"test.sparkplane.io/hold"}},
		Spec: v1alpha1.SparkApplicationSpec{
			Type: v1alpha1.SparkApplicationTypeScala, SparkVersion: "3.5.3", Image: ptr.To("apache/spark:3.5.3"),
			MainClass:           ptr.To("org.apache.spark.examples.SparkPi"),
			MainApplicationFile: ptr.To("local:///opt/spark/examples/jars/spark-examples.jar"),
		},
	}
	if err := env.Client.Create(ctx, app); err != nil {
		t.Fatal(err)
	}

	// Only the CRDs are uninstalled: this API server has no namespace
	// controller, so a deleted namespace would stay terminating and the
	// tests that follow could not install into it.
	var crds []client.Object
	for _, obj := range objs {
		if _, ok := obj.(*apiextensionsv1.CustomResourceDefinition); ok {
			crds = append(crds, obj)
		}
	}
	if len(crds) != 4 {
		t.Fatalf("install has %d CRDs, want 4", len(crds))
	}
	progress.Reset()
	err := Uninstall(ctx, env.Client, crds, UninstallOptions{CRDs: true, CRDWait: 3 * time.Second}, &progress)
	if err == nil || !strings.Contains(err.Error(), "sparkapplications.sparkplane.io") || !strings.Contains(err.Error(), "still terminating") {
		t.Fatalf("uninstall with a held application: %v, want an error naming sparkapplications.sparkplane.io as still terminating\n%s", err, progress.String())
	}
	for _, gone := range []string{"scheduledsparkapplications.sparkplane.io", "sparkprofiles.sparkplane.io"} {
		if strings.Contains(err.Error(), gone) {
			t.Errorf("the error names %s, which had nothing to hold it: %v", gone, err)
		}
	}
	t.Logf("held: %v", err)

	// Released, the wait ends.
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(app), app); err != nil {
		t.Fatal(err)
	}
	app.Finalizers = nil
	if err := env.Client.Update(ctx, app); err != nil {
		t.Fatal(err)
	}
	progress.Reset()
	if err := Uninstall(ctx, env.Client, crds, UninstallOptions{CRDs: true, CRDWait: time.Minute}, &progress); err != nil {
		t.Fatalf("uninstall after the release: %v\n%s", err, progress.String())
	}
	if !strings.Contains(progress.String(), "CRDs removed in") {
		t.Errorf("progress does not say the CRDs were removed:\n%s", progress.String())
	}
	err = env.Client.Get(ctx, client.ObjectKey{Name: "sparkapplications.sparkplane.io"}, &apiextensionsv1.CustomResourceDefinition{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("sparkapplications.sparkplane.io after uninstall returned: %v, want not found", err)
	}
}
