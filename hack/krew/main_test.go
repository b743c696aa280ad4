package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestManifest(t *testing.T) {
	dir := t.TempDir()
	var archives []string
	sums := map[string]string{}
	for _, p := range []string{"linux_amd64", "linux_arm64", "darwin_arm64"} {
		path := filepath.Join(dir, "sparkplane_v0.3.1_"+p+".tar.gz")
		data := []byte("archive " + p)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		sums[p] = hex.EncodeToString(sum[:])
		archives = append(archives, path)
	}
	out, err := manifestFor("v0.3.1", "https://example.com/dl/v0.3.1/", archives)
	if err != nil {
		t.Fatal(err)
	}
	var got plugin
	if err := yaml.UnmarshalStrict(out, &got); err != nil {
		t.Fatal(err)
	}
	if got.Kind != "Plugin" || got.Metadata["name"] != "sparkplane" || got.Spec.Version != "v0.3.1" || len(got.Spec.Platforms) != 3 {
		t.Fatalf("manifest:\n%s", out)
	}
	for _, p := range got.Spec.Platforms {
		labels := p.Selector["matchLabels"]
		key := labels["os"] + "_" + labels["arch"]
		if p.Sha256 != sums[key] || p.Bin != "kubectl-sparkplane" || p.URI != "https://example.com/dl/v0.3.1/sparkplane_v0.3.1_"+key+".tar.gz" {
			t.Errorf("platform %s: %+v", key, p)
		}
	}
	for _, bad := range []struct {
		version, url string
		archives     []string
		want         string
	}{
		{"0.3.1", "u", archives, "semantic version with a leading v"},
		{"v0.3.1", "", archives, "-url is required"},
		{"v0.3.2", "u", archives, "not named sparkplane_v0.3.2_<os>_<arch>.tar.gz"},
	} {
		if _, err := manifestFor(bad.version, bad.url, bad.archives); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%+v: got %v", bad, err)
		}
	}
}
