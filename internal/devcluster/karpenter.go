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

// KarpenterObjects returns what `dev up --karpenter` applies after the CRDs:
// the KWOKNodeClass and the NodePools of the four executor tiers (weights
// strictly decreasing, arm64 spot capped at armSpotCPULimit CPUs) and of the
// driver pool (on-demand, both architectures, tainted sparkplane.io/driver),
// all restricted to zones. It is the one place these objects are made, so it
// can later return the platform bundle's typed NodePools instead.
func KarpenterObjects(zones []string, armSpotCPULimit int) ([]*unstructured.Unstructured, error) {
	if len(zones) == 0 {
		return nil, fmt.Errorf("zones: at least one zone is needed")
	}
	if armSpotCPULimit <= 0 {
		return nil, fmt.Errorf("arm64-spot CPU limit: %d is not positive", armSpotCPULimit)
	}
	objects := []*unstructured.Unstructured{{Object: map[string]any{
		"apiVersion": "karpenter.kwok.sh/v1alpha1",
		"kind":       "KWOKNodeClass",
		"metadata":   map[string]any{"name": NodeClassName},
	}}}
	for _, tier := range ExecutorTiers {
		pool := nodePool(tier.NodePool, NodeRoleExecutor, []string{tier.Arch}, tier.CapacityType, zones, nil)
		spec := pool.Object["spec"].(map[string]any)
		spec["weight"] = int64(tier.Weight)
		if tier.NodePool == NodePoolArm64Spot {
			spec["limits"] = map[string]any{"cpu": fmt.Sprint(armSpotCPULimit)}
		}
		objects = append(objects, pool)
	}
	driverTaint := map[string]any{"key": DriverTaintKey, "value": DriverTaintValue, "effect": "NoSchedule"}
	objects = append(objects, nodePool(NodePoolDriver, NodeRoleDriver, []string{ArchArm64, ArchAmd64}, CapacityTypeOnDem, zones, driverTaint))
	return objects, nil
}

func nodePool(name, role string, arches []string, capacityType string, zones []string, taint map[string]any) *unstructured.Unstructured {
	requirement := func(key string, values ...string) map[string]any {
		list := make([]any, len(values))
		for i, v := range values {
			list[i] = v
		}
		return map[string]any{"key": key, "operator": "In", "values": list}
	}
	templateSpec := map[string]any{
		"requirements": []any{
			requirement("kubernetes.io/arch", arches...),
			requirement("kubernetes.io/os", "linux"),
			requirement(LabelCapacityType, capacityType),
			requirement("topology.kubernetes.io/zone", zones...),
		},
		"nodeClassRef": map[string]any{"group": "karpenter.kwok.sh", "kind": "KWOKNodeClass", "name": NodeClassName},
		"expireAfter":  "720h",
	}
	if taint != nil {
		templateSpec["taints"] = []any{taint}
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "karpenter.sh/v1",
		"kind":       "NodePool",
		"metadata":   map[string]any{"name": name},
		"spec": map[string]any{
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{LabelNodeRole: role}},
				"spec":     templateSpec,
			},
			"disruption": map[string]any{
				"consolidationPolicy": "WhenEmptyOrUnderutilized",
				"consolidateAfter":    "30s",
			},
		},
	}}
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
