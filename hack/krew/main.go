// Command krew writes the krew plugin manifest for sparkplane's release
// archives, so `kubectl krew install --manifest=sparkplane.yaml` installs
// the CLI as the kubectl plugin `kubectl sparkplane`.
//
//	go run ./hack/krew -version v0.1.0 -url https://github.com/sparkplane/sparkplane/releases/download/v0.1.0 dist/*.tar.gz
//
// Each archive is named sparkplane_<version>_<os>_<arch>.tar.gz and holds the
// binary as kubectl-sparkplane; the manifest lists one platform per archive
// with its sha256, computed here from the bytes.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// plugin is krew's Plugin manifest (krew.googlecontainertools.github.com/v1alpha2).
type plugin struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   map[string]any `json:"metadata"`
	Spec       pluginSpec     `json:"spec"`
}

type pluginSpec struct {
	Version          string     `json:"version"`
	Homepage         string     `json:"homepage"`
	ShortDescription string     `json:"shortDescription"`
	Description      string     `json:"description"`
	Platforms        []platform `json:"platforms"`
}

type platform struct {
	Selector map[string]map[string]string `json:"selector"`
	URI      string                       `json:"uri"`
	Sha256   string                       `json:"sha256"`
	Bin      string                       `json:"bin"`
}

var semver = regexp.MustCompile(`^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`)

func main() {
	version := flag.String("version", "", "release version, semver with a leading v (krew requires it)")
	baseURL := flag.String("url", "", "URL the archives are downloaded from (the release's download folder)")
	out := flag.String("o", "", "file to write (default: standard output)")
	flag.Parse()
	if err := run(*version, *baseURL, *out, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "krew:", err)
		os.Exit(1)
	}
}

func run(version, baseURL, out string, archives []string) error {
	manifest, err := manifestFor(version, baseURL, archives)
	if err != nil {
		return err
	}
	if out == "" {
		_, err = os.Stdout.Write(manifest)
		return err
	}
	return os.WriteFile(out, manifest, 0o644)
}

func manifestFor(version, baseURL string, archives []string) ([]byte, error) {
	switch {
	case !semver.MatchString(version):
		return nil, fmt.Errorf("-version %q: krew needs a semantic version with a leading v, e.g. v0.1.0", version)
	case baseURL == "":
		return nil, errors.New("-url is required: where the archives are downloaded from")
	case len(archives) == 0:
		return nil, errors.New("no archives given")
	}
	name := regexp.MustCompile(`^sparkplane_` + regexp.QuoteMeta(version) + `_([a-z]+)_([a-z0-9]+)\.tar\.gz$`)
	p := plugin{
		APIVersion: "krew.googlecontainertools.github.com/v1alpha2",
		Kind:       "Plugin",
		Metadata:   map[string]any{"name": "sparkplane"},
		Spec: pluginSpec{
			Version:          version,
			Homepage:         "https://github.com/sparkplane/sparkplane",
			ShortDescription: "Run, watch and right-size Apache Spark applications",
			Description: `sparkplane submits and watches SparkApplications (submit --wait --follow,
list -w, wait, logs), explains where their pods go, and right-sizes
them from Spark event logs (files, S3 or a History Server).
`,
		},
	}
	for _, archive := range archives {
		m := name.FindStringSubmatch(filepath.Base(archive))
		if m == nil {
			return nil, fmt.Errorf("%s: not named sparkplane_%s_<os>_<arch>.tar.gz", archive, version)
		}
		sum, err := sha256File(archive)
		if err != nil {
			return nil, err
		}
		p.Spec.Platforms = append(p.Spec.Platforms, platform{
			Selector: map[string]map[string]string{"matchLabels": {"os": m[1], "arch": m[2]}},
			URI:      strings.TrimRight(baseURL, "/") + "/" + filepath.Base(archive),
			Sha256:   sum,
			Bin:      "kubectl-sparkplane",
		})
	}
	sort.Slice(p.Spec.Platforms, func(i, j int) bool { return p.Spec.Platforms[i].URI < p.Spec.Platforms[j].URI })
	return yaml.Marshal(p)
}

func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
