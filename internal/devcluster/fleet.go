package devcluster

import (
	"fmt"

	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FleetOptions shape the static node fleet.
type FleetOptions struct {
	// Zones is the number of zones (1..MaxZones).
	Zones int
	// NodesPerTier is how many nodes each executor tier has in each zone.
	NodesPerTier int
	// SystemOnly leaves out the executor and driver nodes: with Karpenter
	// those come and go with demand, and only the system node is static.
	SystemOnly bool
}

// Instance types of the static fleet.
const (
	executorInstanceArm64 = "m7g.4xlarge"
	executorInstanceAmd64 = "m7i.4xlarge"
	driverInstanceArm64   = "m7g.xlarge"
	driverInstanceAmd64   = "m7i.xlarge"
	systemInstance        = "m7g.large"
)

// StaticFleet returns the kwok nodes of a cluster without Karpenter: one
// system node tainted CriticalAddonsOnly; in each zone, NodesPerTier nodes of
// every executor tier and one arm64 and one amd64 on-demand driver node
// tainted sparkplane.io/driver. The nodes carry the labels Karpenter would
// put on real ones. With SystemOnly, only the system node, which then has no
// karpenter.sh/nodepool label so that Karpenter does not count it as its own.
func StaticFleet(opts FleetOptions) ([]*corev1.Node, error) {
	if opts.Zones < 1 || opts.Zones > MaxZones {
		return nil, fmt.Errorf("zones: %d is out of range; use 1 to %d", opts.Zones, MaxZones)
	}
	if opts.NodesPerTier < 1 && !opts.SystemOnly {
		return nil, fmt.Errorf("nodes per tier: %d is out of range; use at least 1", opts.NodesPerTier)
	}
	zones := Zones(opts.Zones)
	var nodes []*corev1.Node
	system, err := newNode(nodeSpec{
		name: "system-" + zones[0] + "-0", instanceType: systemInstance, zone: zones[0],
		capacityType: karpv1.CapacityTypeOnDemand, nodePool: NodePoolSystem, role: NodeRoleSystem,
		taint: &corev1.Taint{Key: SystemTaintKey, Value: SystemTaintValue, Effect: corev1.TaintEffectNoSchedule},
	})
	if err != nil {
		return nil, err
	}
	if opts.SystemOnly {
		delete(system.Labels, karpv1.NodePoolLabelKey)
		return append(nodes, system), nil
	}
	nodes = append(nodes, system)
	for _, zone := range zones {
		for _, tier := range ExecutorTiers {
			instance := executorInstanceAmd64
			if tier.Arch == ArchArm64 {
				instance = executorInstanceArm64
			}
			for i := 0; i < opts.NodesPerTier; i++ {
				node, err := newNode(nodeSpec{
					name: fmt.Sprintf("%s-%s-%d", tier.NodePool, zone, i), instanceType: instance, zone: zone,
					capacityType: tier.CapacityType, nodePool: tier.NodePool, role: NodeRoleExecutor,
				})
				if err != nil {
					return nil, err
				}
				nodes = append(nodes, node)
			}
		}
		for _, instance := range []string{driverInstanceArm64, driverInstanceAmd64} {
			it, err := lookupInstanceType(instance)
			if err != nil {
				return nil, err
			}
			node, err := newNode(nodeSpec{
				name: fmt.Sprintf("%s-%s-%s-0", NodePoolDriver, it.Arch, zone), instanceType: instance, zone: zone,
				capacityType: karpv1.CapacityTypeOnDemand, nodePool: NodePoolDriver, role: NodeRoleDriver,
				taint: &corev1.Taint{Key: DriverTaintKey, Value: DriverTaintValue, Effect: corev1.TaintEffectNoSchedule},
			})
			if err != nil {
				return nil, err
			}
			nodes = append(nodes, node)
		}
	}
	return nodes, nil
}

type nodeSpec struct {
	name, instanceType, zone, capacityType, nodePool, role string
	taint                                                  *corev1.Taint
}

func newNode(spec nodeSpec) (*corev1.Node, error) {
	it, err := lookupInstanceType(spec.instanceType)
	if err != nil {
		return nil, err
	}
	node := &corev1.Node{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Node"},
		ObjectMeta: metav1.ObjectMeta{
			Name: spec.name,
			Labels: map[string]string{
				corev1.LabelArchStable:         it.Arch,
				corev1.LabelOSStable:           "linux",
				corev1.LabelHostname:           spec.name,
				corev1.LabelInstanceTypeStable: it.Name,
				corev1.LabelTopologyZone:       spec.zone,
				corev1.LabelTopologyRegion:     Region,
				karpv1.CapacityTypeLabelKey:    spec.capacityType,
				karpv1.NodePoolLabelKey:        spec.nodePool,
				LabelNodeRole:                  spec.role,
				"karpenter.sh/registered":      "true",
				"karpenter.sh/initialized":     "true",
				"node.kubernetes.io/exclude-from-external-load-balancers": "true",
			},
			Annotations: map[string]string{KwokAnnotation: KwokAnnotationValue},
		},
		Status: corev1.NodeStatus{
			Capacity: corev1.ResourceList{
				corev1.ResourceCPU:              *resource.NewQuantity(it.CPU, resource.DecimalSI),
				corev1.ResourceMemory:           resource.MustParse(fmt.Sprintf("%dMi", it.capacityMemoryMiB())),
				corev1.ResourcePods:             *resource.NewQuantity(it.MaxPods, resource.DecimalSI),
				corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
			},
			Allocatable: corev1.ResourceList{
				corev1.ResourceCPU:              *resource.NewMilliQuantity(it.allocatableCPUMilli(), resource.DecimalSI),
				corev1.ResourceMemory:           resource.MustParse(fmt.Sprintf("%dMi", it.allocatableMemoryMiB())),
				corev1.ResourcePods:             *resource.NewQuantity(it.MaxPods, resource.DecimalSI),
				corev1.ResourceEphemeralStorage: resource.MustParse("95Gi"),
			},
			NodeInfo: corev1.NodeSystemInfo{
				Architecture:    it.Arch,
				OperatingSystem: "linux",
			},
			Phase: corev1.NodeRunning,
		},
	}
	if spec.taint != nil {
		node.Spec.Taints = []corev1.Taint{*spec.taint}
	}
	return node, nil
}
