// Package toolchain finds the binaries that hack/tools.sh builds from the pinned
// modules under tools/ (kube-apiserver, etcd, kwok, ...), so that the local
// cluster and the integration tests run exactly those versions.
package toolchain

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Versions pinned by the modules under tools/. hack/tools.sh reads the same
// versions from those modules' go.mod files; TestVersionsMatchToolsModules keeps
// the two in step.
const (
	KubeVersion      = "v1.35.4"
	EtcdVersion      = "v3.6.16"
	KwokVersion      = "v0.7.0"
	KarpenterVersion = "v1.8.0"
	ControllerTools  = "v0.20.1"
	HelmVersion      = "v4.3.2"
	KueueVersion     = "v0.10.0"
)

// Tool names a binary and the folder (under the cache's bin/) that holds it.
type Tool struct {
	Name   string
	Folder string
}

var (
	KubeAPIServer         = Tool{"kube-apiserver", "kube-" + KubeVersion}
	KubeControllerManager = Tool{"kube-controller-manager", "kube-" + KubeVersion}
	KubeScheduler         = Tool{"kube-scheduler", "kube-" + KubeVersion}
	Kubectl               = Tool{"kubectl", "kube-" + KubeVersion}
	Etcd                  = Tool{"etcd", "etcd-" + EtcdVersion}
	Kwok                  = Tool{"kwok", "kwok-" + KwokVersion}
	KarpenterKwok         = Tool{"kwok", "karpenter-kwok-" + KarpenterVersion}
	ControllerGen         = Tool{"controller-gen", "controller-tools-" + ControllerTools}
	Helm                  = Tool{"helm", "helm-" + HelmVersion}
	Kueue                 = Tool{"kueue", "kueue-" + KueueVersion}
)

// CacheDir is where sparkplane keeps what it builds and the state of local
// clusters: $SPARKPLANE_CACHE, else $HOME/.cache/sparkplane.
func CacheDir() string {
	if dir := os.Getenv("SPARKPLANE_CACHE"); dir != "" {
		return dir
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "sparkplane-cache")
	}
	return filepath.Join(home, ".cache", "sparkplane")
}

// Dir is the folder holding t.
func (t Tool) Dir() string { return filepath.Join(CacheDir(), "bin", t.Folder) }

// ErrMissing is returned (wrapped) when a tool has not been built.
var ErrMissing = errors.New("tool not built")

// Path returns the absolute path of t, or an error that says how to build it.
func (t Tool) Path() (string, error) {
	path := filepath.Join(t.Dir(), t.Name)
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w: %s not found at %s; build it with `make tools` (hack/tools.sh)", ErrMissing, t.Name, path)
	}
	if err != nil {
		return "", fmt.Errorf("checking %s: %w", path, err)
	}
	if info.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%s at %s is not executable; rebuild it with `make tools`", t.Name, path)
	}
	return path, nil
}

// HelmEnv is the environment (added to os.Environ()) that keeps the pinned
// helm's caches, configuration and plugins under home instead of the user's.
func HelmEnv(home string) []string {
	return []string{"HELM_CACHE_HOME=" + home + "/cache", "HELM_CONFIG_HOME=" + home + "/config", "HELM_DATA_HOME=" + home + "/data"}
}
