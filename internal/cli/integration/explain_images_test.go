package integration

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/internal/imageplatforms/registrytest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestExplainImagePlatforms: explain reads the images' platforms from the
// registry as the operator does and shows the digest, the platforms, the
// tiers left out and the narrowed placement, pinned by golden files (the
// registry's address and the namespace replaced).
func TestExplainImagePlatforms(t *testing.T) {
	reg, err := registrytest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	ns := env.Namespace(t)
	kc := kubeconfigFor(t, env.Config, ns)
	builtinPriorityClasses(t)
	explainProfile(t, "explain-images")
	for name, repo := range map[string]string{"amd64-only": registrytest.AMD64Repo, "unknown": "spark:no-such-tag"} {
		t.Run(name, func(t *testing.T) {
			app := explainApp(t, ns, name, "explain-images")
			patch := client.MergeFrom(app.DeepCopy())
			app.Spec.Image = ptr.To(reg.Image(repo))
			if err := env.Client.Patch(t.Context(), app, patch); err != nil {
				t.Fatal(err)
			}
			r := sparkplane(t, kc, "", "explain", name)
			if r.err != nil {
				t.Fatalf("explain: %v\n%s", r.err, r.stderr)
			}
			got := strings.ReplaceAll(strings.ReplaceAll(r.stdout, reg.Host, "REGISTRY"), ns, "NAMESPACE")
			path := filepath.Join("testdata", "explain-"+name+".golden.txt")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("explain output differs from %s (-want +got); run go test -update if intended:\n%s", path, diff)
			}
		})
	}
}
