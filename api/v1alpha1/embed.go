package v1alpha1

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// crdFiles holds the CRD manifests controller-gen writes (hack/generate.sh),
// so the installer and the tests use the very bytes that were generated.
//
//go:embed crds/*.yaml
var crdFiles embed.FS

// CRDManifests returns the generated CRD manifests, one YAML document per
// file, keyed by file name (e.g. "sparkplane.io_sparkapplications.yaml").
func CRDManifests() (map[string][]byte, error) {
	entries, err := fs.ReadDir(crdFiles, "crds")
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(entries))
	for _, e := range entries {
		data, err := crdFiles.ReadFile(path.Join("crds", e.Name()))
		if err != nil {
			return nil, err
		}
		out[e.Name()] = data
	}
	return out, nil
}

// CRDs returns every CRD of this package, decoded, sorted by name.
func CRDs() ([]*apiextensionsv1.CustomResourceDefinition, error) {
	manifests, err := CRDManifests()
	if err != nil {
		return nil, err
	}
	var crds []*apiextensionsv1.CustomResourceDefinition
	for name, data := range manifests {
		if len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(data, crd); err != nil {
			return nil, fmt.Errorf("decoding embedded CRD %s: %w", name, err)
		}
		crds = append(crds, crd)
	}
	sort.Slice(crds, func(i, j int) bool { return crds[i].Name < crds[j].Name })
	return crds, nil
}
