// Package devcluster runs a real local Kubernetes cluster on one machine for
// development, demos and end-to-end tests: etcd, kube-apiserver (token
// authentication, RBAC, its own certificates), kube-controller-manager,
// kube-scheduler and kwok for simulated nodes, optionally with Karpenter's kwok
// cloud provider so that nodes come and go with demand.
//
// Every cluster keeps its state (certificates, etcd data, kubeconfigs, logs) in
// its own folder, StateDir(name), which ends in dev/<name>. Every process it
// starts carries that folder on its command line, so Down finds and stops them
// all by scanning /proc even when the recorded process ids are stale.
//
// The node fleet and the Karpenter NodePools follow the tier order sparkplane is
// built around: arm64 spot, then amd64 spot, then arm64 on-demand, then amd64
// on-demand for executors; drivers on their own on-demand pool; system add-ons
// on a node tainted CriticalAddonsOnly. The names here are shared with the
// profiles and the platform bundle.
package devcluster

import (
	"github.com/sparkplane/sparkplane/internal/platform"

	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"
)

// Node pool names: the values of the karpenter.sh/nodepool label on the local
// cluster's nodes and the names of its Karpenter NodePools.
const (
	NodePoolArm64Spot     = platform.NodePoolArm64Spot
	NodePoolAmd64Spot     = platform.NodePoolAmd64Spot
	NodePoolArm64OnDemand = platform.NodePoolArm64OnDemand
	NodePoolAmd64OnDemand = platform.NodePoolAmd64OnDemand
	NodePoolDriver        = platform.NodePoolDriver
	NodePoolSystem        = platform.NodePoolSystem
)

// Labels, taints and values sparkplane puts on nodes, beside the well-known
// Kubernetes and Karpenter ones.
const (
	// LabelNodeRole marks a node's role: NodeRoleDriver, NodeRoleExecutor or NodeRoleSystem.
	LabelNodeRole    = platform.LabelNodeRole
	NodeRoleDriver   = platform.NodeRoleDriver
	NodeRoleExecutor = platform.NodeRoleExecutor
	NodeRoleSystem   = platform.NodeRoleSystem

	// DriverTaintKey taints the driver pool's nodes (value "true", NoSchedule):
	// only pods that tolerate it (Spark drivers) land there.
	DriverTaintKey   = platform.DriverTaintKey
	DriverTaintValue = "true"

	// SystemTaintKey taints the system node (value "true", NoSchedule), as EKS
	// does for nodes kept for cluster add-ons.
	SystemTaintKey   = "CriticalAddonsOnly"
	SystemTaintValue = "true"

	ArchArm64 = "arm64"
	ArchAmd64 = "amd64"

	// KwokAnnotation (value "fake") marks the nodes kwok manages; Karpenter's
	// kwok provider puts it on the nodes it creates, and the static fleet carries it too.
	KwokAnnotation      = "kwok.x-k8s.io/node"
	KwokAnnotationValue = "fake"

	// Region holds the simulated zones.
	Region = "us-east-1"
	// MaxZones is the number of zones Region offers (us-east-1a … us-east-1f).
	MaxZones = 6
)

// Tier is one executor node pool: an architecture and a capacity type, with
// the Karpenter weight that puts it in sparkplane's preference order.
type Tier struct {
	NodePool     string
	Arch         string
	CapacityType string
	// Weight is the Karpenter NodePool weight: higher is tried first.
	Weight int32
}

// ExecutorTiers lists the executor pools in preference order: arm64 spot, amd64
// spot, arm64 on-demand, amd64 on-demand. Weights strictly decrease.
var ExecutorTiers = []Tier{
	{NodePool: NodePoolArm64Spot, Arch: ArchArm64, CapacityType: karpv1.CapacityTypeSpot, Weight: 100},
	{NodePool: NodePoolAmd64Spot, Arch: ArchAmd64, CapacityType: karpv1.CapacityTypeSpot, Weight: 75},
	{NodePool: NodePoolArm64OnDemand, Arch: ArchArm64, CapacityType: karpv1.CapacityTypeOnDemand, Weight: 50},
	{NodePool: NodePoolAmd64OnDemand, Arch: ArchAmd64, CapacityType: karpv1.CapacityTypeOnDemand, Weight: 25},
}

// Zones returns the first n zones of Region: us-east-1a, us-east-1b, ...
func Zones(n int) []string {
	zones := make([]string, 0, n)
	for i := 0; i < n && i < MaxZones; i++ {
		zones = append(zones, Region+string(rune('a'+i)))
	}
	return zones
}
