package devcluster

import (
	"bytes"
	"embed"
	"fmt"
	"io"
	"path"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/sparkplane/sparkplane/internal/platform"
)

// crdFiles are copies of the CRDs of sigs.k8s.io/karpenter v1.8.0
// (pkg/apis/crds and kwok/apis/crds), embedded so that `dev up --karpenter`
// does not need the Go module cache.
//
//go:embed crds/*.yaml
var crdFiles embed.FS

// karpenterInstanceTypes is the instance-type file given to Karpenter's kwok
// provider (INSTANCE_TYPES_FILE_PATH); renderInstanceTypes writes it and
// TestInstanceTypesFile keeps the two equal (go test -update rewrites it).
//
//go:embed instance-types.json
var karpenterInstanceTypes []byte

// ArmSpotCPULimit is the default limits.cpu of the arm64-spot NodePool: small,
// so that the fallback to amd64 spot shows with a few pods.
const ArmSpotCPULimit = 32

// NodeClassName is the KWOKNodeClass every NodePool refers to.
const NodeClassName = "default"

// KarpenterCRDs returns the Karpenter CRDs (NodePool, NodeClaim, NodeOverlay,
// KWOKNodeClass).
func KarpenterCRDs() ([]*apiextensionsv1.CustomResourceDefinition, error) {
	entries, err := crdFiles.ReadDir("crds")
	if err != nil {
		return nil, err
	}
	var crds []*apiextensionsv1.CustomResourceDefinition
	for _, entry := range entries {
		data, err := crdFiles.ReadFile(path.Join("crds", entry.Name()))
		if err != nil {
			return nil, err
		}
		decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := decoder.Decode(crd); err == io.EOF {
				break
			} else if err != nil {
				return nil, fmt.Errorf("decoding %s: %w", entry.Name(), err)
			}
			if crd.Name == "" {
				continue
			}
			crds = append(crds, crd)
		}
	}
	return crds, nil
}

// ApplyFieldManager is the field manager `dev up --karpenter` applies the
// kwok bundle's objects with: the one `kubectl apply --server-side` uses, so
// applying the rendered bundle afterwards, as docs/platform.md says, updates
// those objects instead of conflicting with them.
const ApplyFieldManager = "kubectl"

// KarpenterObjects returns what `dev up --karpenter` applies after the CRDs:
// the Karpenter part of the kwok platform bundle (`sparkplane platform render
// --provider kwok`) and its shuffle StorageClass (provisioned by the
// volume-provisioner component): PriorityClasses, the KWOKNodeClass and the NodePools of
// the four executor tiers (weights strictly decreasing, arm64 spot capped at
// armSpotCPULimit CPUs), the driver pool (on-demand, tainted
// sparkplane.io/driver, in the first zone) and the system pool, all
// restricted to zones. The local cluster thus runs the very pools a platform
// team would apply.
func KarpenterObjects(zones []string, armSpotCPULimit int) ([]*unstructured.Unstructured, error) {
	if len(zones) == 0 {
		return nil, fmt.Errorf("zones: at least one zone is needed")
	}
	if armSpotCPULimit <= 0 {
		return nil, fmt.Errorf("arm64-spot CPU limit: %d is not positive", armSpotCPULimit)
	}
	cfg := platform.DefaultConfig(platform.ProviderKWOK)
	cfg.Zones = zones
	cfg.DriverZone = zones[0]
	cfg.Executors.CPULimits.Arm64Spot = int64(armSpotCPULimit)
	bundle, err := platform.Render(cfg)
	if err != nil {
		return nil, fmt.Errorf("rendering the kwok platform bundle: %w", err)
	}
	var objects []*unstructured.Unstructured
	cluster := bundle.KarpenterObjects()
	if f := bundle.File("storageclasses.yaml"); f != nil {
		cluster = append(cluster, f.Objects...)
	}
	for _, obj := range cluster {
		u, err := platform.ToUnstructured(obj)
		if err != nil {
			return nil, err
		}
		objects = append(objects, u)
	}
	return objects, nil
}

// marshalObjects renders objects as a multi-document YAML stream (for golden files).
func marshalObjects(objects []*unstructured.Unstructured) ([]byte, error) {
	var buf bytes.Buffer
	for _, obj := range objects {
		data, err := yaml.Marshal(obj.Object)
		if err != nil {
			return nil, err
		}
		buf.WriteString("---\n")
		buf.Write(data)
	}
	return buf.Bytes(), nil
}
