package toolchain

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestVersionsMatchToolsModules fails when a tools/ module is bumped without
// the constants here, which would make the product look in the wrong folder.
func TestVersionsMatchToolsModules(t *testing.T) {
	cases := map[string]struct{ gomod, module, want string }{
		"kubernetes":       {"kube/go.mod", "k8s.io/kubernetes", KubeVersion},
		"etcd":             {"etcd/go.mod", "go.etcd.io/etcd/server/v3", EtcdVersion},
		"kwok":             {"kwok/go.mod", "sigs.k8s.io/kwok", KwokVersion},
		"karpenter":        {"karpenter-kwok/go.mod", "sigs.k8s.io/karpenter", KarpenterVersion},
		"controller-tools": {"codegen/go.mod", "sigs.k8s.io/controller-tools", ControllerTools},
		"helm":             {"helm/go.mod", "helm.sh/helm/v4", HelmVersion},
		"kueue":            {"kueue/go.mod", "sigs.k8s.io/kueue", KueueVersion},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "..", "tools", tc.gomod))
			if err != nil {
				t.Fatal(err)
			}
			re := regexp.MustCompile(`(?m)^\s*(?:require\s+)?` + regexp.QuoteMeta(tc.module) + `\s+(v\S+)`)
			m := re.FindSubmatch(data)
			if m == nil {
				t.Fatalf("%s does not require %s", tc.gomod, tc.module)
			}
			if got := string(m[1]); got != tc.want {
				t.Errorf("%s pins %s %s, toolchain expects %s", tc.gomod, tc.module, got, tc.want)
			}
		})
	}
}

func TestPathExplainsHowToBuild(t *testing.T) {
	t.Setenv("SPARKPLANE_CACHE", t.TempDir())
	_, err := Etcd.Path()
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "make tools") {
		t.Fatalf("want ErrMissing naming `make tools`, got %v", err)
	}
	if err := os.MkdirAll(Etcd.Dir(), 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(Etcd.Dir(), "etcd")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := Etcd.Path()
	if err != nil || got != bin {
		t.Fatalf("Path() = %q, %v; want %q", got, err, bin)
	}
}
