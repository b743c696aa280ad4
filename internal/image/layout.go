package image

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// VersionPackage is the package whose variables -ldflags -X stamps.
const VersionPackage = "github.com/sparkplane/sparkplane/internal/version"

// LDFlags are the linker flags of a release binary: symbols stripped and the
// version, commit and build date stamped (the Makefile's LDFLAGS plus -s -w).
func LDFlags(version, commit string, created time.Time) string {
	return strings.Join([]string{
		"-s", "-w",
		"-X", VersionPackage + ".version=" + version,
		"-X", VersionPackage + ".commit=" + commit,
		"-X", VersionPackage + ".buildDate=" + created.UTC().Format(time.RFC3339),
	}, " ")
}

// Compile cross-compiles the sparkplane command in moduleRoot, statically
// (CGO_ENABLED=0) and with -trimpath so the bytes do not depend on the build
// machine, for every platform of Platforms into outDir/<os>-<arch>/sparkplane,
// and returns the Binaries map of a Build.
func Compile(ctx context.Context, moduleRoot, outDir, version, commit string, created time.Time) (map[string]string, error) {
	binaries := map[string]string{}
	for _, p := range Platforms {
		out := filepath.Join(outDir, p.OS+"-"+p.Architecture, BinaryPath)
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false",
			"-ldflags", LDFlags(version, commit, created), "-o", out, "./cmd/sparkplane")
		cmd.Dir = moduleRoot
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Architecture, "GOFLAGS=-buildvcs=false")
		if output, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building sparkplane for %s/%s: %w\n%s", p.OS, p.Architecture, err, output)
		}
		binaries[p.OS+"/"+p.Architecture] = out
	}
	return binaries, nil
}

// WriteLayout replaces dir with an OCI image layout holding idx, its
// index.json entry annotated with the tag (org.opencontainers.image.ref.name).
func WriteLayout(dir string, idx v1.ImageIndex, tag string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	path, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("creating the OCI layout %s: %w", dir, err)
	}
	return path.AppendIndex(idx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag}))
}

// ReadLayout returns the image index WriteLayout stored in dir.
func ReadLayout(dir string) (v1.ImageIndex, error) {
	outer, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the OCI layout %s (run make image first): %w", dir, err)
	}
	manifest, err := outer.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(manifest.Manifests) != 1 {
		return nil, fmt.Errorf("OCI layout %s holds %d entries; expected the one index make image writes", dir, len(manifest.Manifests))
	}
	return outer.ImageIndex(manifest.Manifests[0].Digest)
}

// Push pushes idx and every image in it to ref ("registry/repository:tag"),
// with the credentials of the Docker config (~/.docker/config.json) or a
// credential helper, as `docker push` would use.
func Push(ctx context.Context, idx v1.ImageIndex, ref string) (name.Reference, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w (want registry/repository[:tag])", ref, err)
	}
	if err := remote.WriteIndex(r, idx, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return nil, fmt.Errorf("pushing %s: %w", r, err)
	}
	return r, nil
}
