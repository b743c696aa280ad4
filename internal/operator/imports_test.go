package operator

import (
	"go/build"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/sparkplane/sparkplane/"

// allowedImports is docs/architecture.md's table: what each package may
// import of ours (a trailing "/" allows the folder's packages).
var allowedImports = map[string][]string{
	"api/v1alpha1":                         {},
	"internal/spark":                       {"api/v1alpha1"},
	"internal/submit":                      {"internal/spark", "api/v1alpha1"},
	"internal/profile":                     {"internal/spark", "internal/spark/", "api/v1alpha1"},
	"internal/platform":                    {"internal/spark", "api/v1alpha1", "internal/platform/"},
	"internal/advisor":                     {"internal/spark/shuffle"},
	"internal/controller/clusterstate":     {"internal/profile", "internal/spark", "api/v1alpha1"},
	"internal/controller/sparkapplication": {"internal/controller/clusterstate", "internal/submit", "internal/profile", "internal/spark", "api/v1alpha1"},
	"internal/controller/interruption":     {"internal/controller/clusterstate", "internal/spark", "api/v1alpha1"},
	"internal/controller/sparkprofile":     {"internal/controller/clusterstate", "internal/profile", "internal/spark", "internal/imageplatforms", "api/v1alpha1"},
	"internal/controller":                  {"internal/controller/"},
	"internal/operator":                    {"internal/controller", "internal/controller/hub", "internal/version", "api/v1alpha1"},
	"internal/devcluster":                  {"internal/platform", "internal/toolchain", "api/v1alpha1"},
	"internal/devcluster/notice":           {"internal/controller/interruption", "internal/spark"},
	"internal/emulator":                    {},
	"internal/testenv":                     {"internal/toolchain", "api/v1alpha1"},
	"internal/imageplatforms":              {},
	"internal/imageplatforms/registrytest": {"internal/imageplatforms"},
	"internal/crdgen":                      {},
	"internal/demo":                        {"internal/devcluster", "internal/devcluster/notice", "internal/emulator", "internal/platform", "internal/install", "internal/spark", "internal/imageplatforms/registrytest", "api/v1alpha1"},
}

// TestImportRules: no package imports outside its row of the table, so the
// layers stay as docs/architecture.md draws them (controllers never import
// each other; pure packages import no controller; the emulator none of ours).
func TestImportRules(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found from %s: %v", root, err)
	}
	for pkg, allowed := range allowedImports {
		p, err := build.ImportDir(filepath.Join(root, pkg), 0)
		if err != nil {
			t.Errorf("%s: %v", pkg, err)
			continue
		}
		for _, imp := range p.Imports {
			rel, ours := strings.CutPrefix(imp, module)
			if !ours || permitted(rel, allowed) {
				continue
			}
			t.Errorf("%s imports %s, outside what docs/architecture.md allows it (%v)", pkg, rel, allowed)
		}
	}
}

func permitted(imp string, allowed []string) bool {
	for _, a := range allowed {
		if imp == a || (strings.HasSuffix(a, "/") && strings.HasPrefix(imp, a)) {
			return true
		}
	}
	return false
}
