package image

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

var commitDate = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// fakeBinaries writes one small file per platform standing in for the
// binary, for the tests that check the image around it.
func fakeBinaries(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range Platforms {
		path := filepath.Join(t.TempDir(), "sparkplane")
		if err := os.WriteFile(path, []byte("binary for "+p.Architecture), 0o755); err != nil {
			t.Fatal(err)
		}
		out[p.OS+"/"+p.Architecture] = path
	}
	return out
}

func indexDigest(t *testing.T, b Build) v1.Hash {
	t.Helper()
	idx, err := b.Index()
	if err != nil {
		t.Fatal(err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestSameInputsSameDigest: the image around the binary adds nothing that
// changes between builds (times, owners, order, compression), and what
// should change the digest does.
func TestSameInputsSameDigest(t *testing.T) {
	bins := fakeBinaries(t)
	build := Build{Version: "v0.1.0", Commit: "abc", Created: commitDate, Binaries: bins}
	first, second := indexDigest(t, build), indexDigest(t, build)
	if first != second {
		t.Fatalf("two builds of the same inputs: %s and %s", first, second)
	}
	other := build
	other.Commit = "def"
	if d := indexDigest(t, other); d == first {
		t.Errorf("a different commit gave the same digest %s", d)
	}
	later := build
	later.Created = commitDate.Add(time.Second)
	if d := indexDigest(t, later); d == first {
		t.Errorf("a different commit date gave the same digest %s", d)
	}
}

func TestImageContents(t *testing.T) {
	build := Build{Version: "v0.1.0", Commit: "abc", Created: commitDate, Binaries: fakeBinaries(t)}
	idx, err := build.Index()
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if got := manifest.Annotations["org.opencontainers.image.version"]; got != "v0.1.0" {
		t.Errorf("index version annotation = %q", got)
	}
	for _, desc := range manifest.Manifests {
		img, err := idx.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Architecture != desc.Platform.Architecture || cfg.OS != "linux" {
			t.Errorf("index says %s, config says %s/%s", desc.Platform, cfg.OS, cfg.Architecture)
		}
		if cfg.Config.User != "65532:65532" {
			t.Errorf("%s: user %q, want 65532:65532", desc.Platform, cfg.Config.User)
		}
		for _, label := range []string{"source", "version", "revision"} {
			if cfg.Config.Labels["org.opencontainers.image."+label] == "" {
				t.Errorf("%s: label org.opencontainers.image.%s missing", desc.Platform, label)
			}
		}
		files := layerFiles(t, img)
		if got := string(files[BinaryPath]); got != "binary for "+desc.Platform.Architecture {
			t.Errorf("%s: /%s holds %q", desc.Platform, BinaryPath, got)
		}
		if n := strings.Count(string(files[CABundlePath]), "BEGIN CERTIFICATE"); n < 100 {
			t.Errorf("%s: CA bundle holds %d certificates", desc.Platform, n)
		}
		if !strings.Contains(string(files["etc/passwd"]), ":65532:65532:") {
			t.Errorf("%s: /etc/passwd has no user 65532:\n%s", desc.Platform, files["etc/passwd"])
		}
		for name := range files {
			if strings.HasPrefix(name, "bin/") || strings.HasSuffix(name, "/sh") {
				t.Errorf("%s: image holds %s; it must have no shell", desc.Platform, name)
			}
		}
	}
}

func layerFiles(t *testing.T, img v1.Image) map[string][]byte {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, layer := range layers {
		rc, err := layer.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			hdr, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[hdr.Name] = data
		}
		rc.Close()
	}
	return files
}

// TestRegistryRoundTrip builds the real image (both platforms, the real
// binary), writes and reads back its OCI layout, pushes it to an in-process
// registry on loopback, pulls it back, and runs the linux/amd64 binary from
// the pulled layer: its version is the build's.
func TestRegistryRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles sparkplane twice; not in -short")
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("runs the linux/amd64 binary; this is %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	const version = "v0.0.0-roundtrip"
	dir := t.TempDir()
	binaries, err := Compile(ctx, "../..", filepath.Join(dir, "bin"), version, "0123456789abcdef", commitDate)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := Build{Version: version, Commit: "0123456789abcdef", Created: commitDate, Binaries: binaries}.Index()
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteLayout(filepath.Join(dir, "layout"), idx, version); err != nil {
		t.Fatal(err)
	}
	fromLayout, err := ReadLayout(filepath.Join(dir, "layout"))
	if err != nil {
		t.Fatal(err)
	}
	built, _ := idx.Digest()
	if d, _ := fromLayout.Digest(); d != built {
		t.Fatalf("layout holds %s, built %s", d, built)
	}

	server := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer server.Close()
	ref := strings.TrimPrefix(server.URL, "http://") + "/sparkplane/sparkplane:" + version
	if _, err := Push(ctx, fromLayout, ref); err != nil {
		t.Fatal(err)
	}
	parsed, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Index(parsed, remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("pulling %s: %v", ref, err)
	}
	if d, _ := pulled.Digest(); d != built {
		t.Fatalf("pulled %s, pushed %s", d, built)
	}
	manifest, err := pulled.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	platforms := map[string]v1.Hash{}
	for _, desc := range manifest.Manifests {
		platforms[desc.Platform.String()] = desc.Digest
	}
	if len(platforms) != 2 || platforms["linux/amd64"] == (v1.Hash{}) || platforms["linux/arm64"] == (v1.Hash{}) {
		t.Fatalf("pulled index has platforms %v, want linux/amd64 and linux/arm64", platforms)
	}
	img, err := pulled.Image(platforms["linux/amd64"])
	if err != nil {
		t.Fatal(err)
	}
	binary := filepath.Join(dir, "pulled-sparkplane")
	if err := os.WriteFile(binary, layerFiles(t, img)[BinaryPath], 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, binary, "version", "-o", "json").Output()
	if err != nil {
		t.Fatalf("running the pulled binary: %v", err)
	}
	var info struct{ Version, GitCommit, BuildDate string }
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatalf("version -o json printed %s: %v", out, err)
	}
	if info.Version != version || info.GitCommit != "0123456789abcdef" || info.BuildDate != "2026-12-01T10:00:00Z" {
		t.Errorf("pulled binary says %+v; built %s at 0123456789abcdef, 2026-12-01T10:00:00Z", info, version)
	}
}
