package devcluster

import (
	"encoding/json"
	"fmt"
	"math"

	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"
)

// instanceType is one simulated EC2 instance type. Sizes, pod limits and
// prices follow AWS's published figures; docs/dev-cluster.md names the sources.
type instanceType struct {
	Name      string
	Arch      string
	CPU       int64 // vCPUs
	MemoryGiB int64 // nominal memory
	// MaxPods is the VPC CNI's ENI-based limit (eni-max-pods.txt).
	MaxPods int64
	// OnDemandPrice in USD per hour, us-east-1, Linux.
	OnDemandPrice float64
}

// spotPriceFactor is the spot price as a fraction of on-demand: the Spot
// Instance Advisor shows savings of about 60-70% for the m7/c7/r7 families in
// us-east-1, so spot costs about 0.35x on-demand.
const spotPriceFactor = 0.35

// vmMemoryOverhead is the share of nominal memory the hypervisor and kernel
// keep, Karpenter's VM_MEMORY_OVERHEAD_PERCENT default.
const vmMemoryOverhead = 0.075

// instanceTypes is the catalogue both the static fleet and Karpenter's kwok
// provider draw from. Each Graviton (g) type costs about 19% less than the x86
// (i) type of the same size it replaces, as on AWS's price list.
var instanceTypes = []instanceType{
	{"m7g.large", ArchArm64, 2, 8, 29, 0.0816},
	{"m7g.xlarge", ArchArm64, 4, 16, 58, 0.1632},
	{"m7g.2xlarge", ArchArm64, 8, 32, 58, 0.3264},
	{"m7g.4xlarge", ArchArm64, 16, 64, 234, 0.6528},
	{"m7g.8xlarge", ArchArm64, 32, 128, 234, 1.3056},
	{"c7g.2xlarge", ArchArm64, 8, 16, 58, 0.2890},
	{"r7g.2xlarge", ArchArm64, 8, 64, 58, 0.4284},
	{"m7i.large", ArchAmd64, 2, 8, 29, 0.1008},
	{"m7i.xlarge", ArchAmd64, 4, 16, 58, 0.2016},
	{"m7i.2xlarge", ArchAmd64, 8, 32, 58, 0.4032},
	{"m7i.4xlarge", ArchAmd64, 16, 64, 234, 0.8064},
	{"m7i.8xlarge", ArchAmd64, 32, 128, 234, 1.6128},
	{"c7i.2xlarge", ArchAmd64, 8, 16, 58, 0.3570},
	{"r7i.2xlarge", ArchAmd64, 8, 64, 58, 0.5292},
}

func lookupInstanceType(name string) (instanceType, error) {
	for _, it := range instanceTypes {
		if it.Name == name {
			return it, nil
		}
	}
	return instanceType{}, fmt.Errorf("unknown instance type %q", name)
}

// capacityMemoryMiB is what the kubelet would report as memory capacity.
func (it instanceType) capacityMemoryMiB() int64 {
	return int64(math.Floor(float64(it.MemoryGiB*1024) * (1 - vmMemoryOverhead)))
}

// allocatableCPUMilli follows the EKS AMI's kube-reserved CPU formula: 6% of
// the first core, 1% of the second, 0.5% of the next two, 0.25% of the rest.
func (it instanceType) allocatableCPUMilli() int64 {
	reserved := 0.0
	for core := int64(1); core <= it.CPU; core++ {
		switch {
		case core == 1:
			reserved += 60
		case core == 2:
			reserved += 10
		case core <= 4:
			reserved += 5
		default:
			reserved += 2.5
		}
	}
	return it.CPU*1000 - int64(math.Ceil(reserved))
}

// allocatableMemoryMiB follows the EKS AMI: kube-reserved memory is
// 11 MiB per pod plus 255 MiB, and the eviction threshold keeps 100 MiB.
func (it instanceType) allocatableMemoryMiB() int64 {
	return it.capacityMemoryMiB() - (11*it.MaxPods + 255) - 100
}

func (it instanceType) spotPrice() float64 {
	return math.Round(it.OnDemandPrice*spotPriceFactor*100000) / 100000
}

// The JSON shapes Karpenter's kwok provider reads from INSTANCE_TYPES_FILE_PATH.
type kwokInstanceType struct {
	Name             string            `json:"name"`
	Offerings        []kwokOffering    `json:"offerings"`
	Architecture     string            `json:"architecture"`
	OperatingSystems []string          `json:"operatingSystems"`
	Resources        map[string]string `json:"resources"`
}

type kwokOffering struct {
	Price        float64               `json:"Price"`
	Available    bool                  `json:"Available"`
	Requirements []kwokNodeRequirement `json:"Requirements"`
}

type kwokNodeRequirement struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values"`
}

// renderInstanceTypes returns the instance-type file for Karpenter's kwok
// provider: every catalogue type offered as spot and on-demand in every one of
// MaxZones zones (the NodePools narrow the zones to the cluster's).
func renderInstanceTypes() ([]byte, error) {
	var out []kwokInstanceType
	for _, it := range instanceTypes {
		kit := kwokInstanceType{
			Name:             it.Name,
			Architecture:     it.Arch,
			OperatingSystems: []string{"linux"},
			Resources: map[string]string{
				"cpu":    fmt.Sprint(it.CPU),
				"memory": fmt.Sprintf("%dMi", it.capacityMemoryMiB()),
				"pods":   fmt.Sprint(it.MaxPods),
			},
		}
		for _, zone := range Zones(MaxZones) {
			for _, offer := range []struct {
				capacityType string
				price        float64
			}{{karpv1.CapacityTypeSpot, it.spotPrice()}, {karpv1.CapacityTypeOnDemand, it.OnDemandPrice}} {
				kit.Offerings = append(kit.Offerings, kwokOffering{
					Price:     offer.price,
					Available: true,
					Requirements: []kwokNodeRequirement{
						{Key: karpv1.CapacityTypeLabelKey, Operator: "In", Values: []string{offer.capacityType}},
						{Key: "topology.kubernetes.io/zone", Operator: "In", Values: []string{zone}},
					},
				})
			}
		}
		out = append(out, kit)
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}
