// Package examples holds runnable SparkApplication manifests (see
// docs/install.md). Its test decodes each strictly and builds what native
// submission would create from it, so a manifest with a misspelt or
// unsupported field, or one the operator would refuse, fails here; the e2e
// test TestExamplesSucceed runs each on the local cluster.
package examples

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/submit"
)

func TestExamplesAreValid(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 7 {
		t.Fatalf("found %d examples, want SparkPi, Python pi, dynamic allocation and one per built-in profile", len(files))
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			app := &v1alpha1.SparkApplication{}
			if err := yaml.UnmarshalStrict(data, app); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if app.Kind != "SparkApplication" || app.APIVersion != v1alpha1.GroupVersion.String() {
				t.Fatalf("%s is a %s %s", file, app.APIVersion, app.Kind)
			}
			app.Namespace, app.UID = "default", types.UID("00000000-0000-4000-8000-000000000001")
			if _, err := submit.Build(app, submit.Options{Attempt: 1}); err != nil {
				t.Errorf("%s: %v", file, err)
			}
		})
	}
}
