package platform

import (
	"strconv"
	"time"

	"github.com/sparkplane/sparkplane/api/v1alpha1"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"
)

// Names and labels shared with the profiles (api/v1alpha1), the operator and
// the local cluster (internal/devcluster). They are contracts: changing one
// strands the pods that select on it.
const (
	NodePoolArm64Spot     = "arm64-spot"
	NodePoolAmd64Spot     = "amd64-spot"
	NodePoolArm64OnDemand = "arm64-on-demand"
	NodePoolAmd64OnDemand = "amd64-on-demand"
	NodePoolDriver        = "driver"
	NodePoolSystem        = "system"

	// LabelNodeRole marks every node of a sparkplane pool with its role.
	LabelNodeRole    = v1alpha1.LabelNodeRole
	NodeRoleDriver   = v1alpha1.NodeRoleDriver
	NodeRoleExecutor = "executor"
	NodeRoleSystem   = "system"
	// DriverTaintKey taints the driver pool: value "true", effect NoSchedule.
	DriverTaintKey = v1alpha1.DriverTaintKey
	// CriticalAddonsOnlyTaintKey taints the system pool (value "true",
	// NoSchedule): only the operator, CoreDNS and monitoring tolerate it.
	CriticalAddonsOnlyTaintKey = "CriticalAddonsOnly"
	// LabelLocalNVMe=LocalNVMeRAID0 marks nodes whose instance-store NVMe is
	// one RAID0 volume.
	LabelLocalNVMe = v1alpha1.LabelLocalNVMe
	LocalNVMeRAID0 = v1alpha1.LocalNVMeRAID0

	PriorityClassDriver   = v1alpha1.PriorityClassDriver
	PriorityClassExecutor = v1alpha1.PriorityClassExecutor

	ArchArm64 = "arm64"
	ArchAmd64 = "amd64"

	labelArch         = corev1.LabelArchStable
	labelOS           = corev1.LabelOSStable
	labelZone         = corev1.LabelTopologyZone
	labelCapacityType = karpv1.CapacityTypeLabelKey

	labelAWSInstanceCategory   = "karpenter.k8s.aws/instance-category"
	labelAWSInstanceGeneration = "karpenter.k8s.aws/instance-generation"
	labelAWSInstanceLocalNVMe  = "karpenter.k8s.aws/instance-local-nvme"
)

// ExecutorTier is one of the four executor NodePools.
type ExecutorTier struct {
	NodePool     string
	Arch         string
	CapacityType string
	// Weight orders the tiers for Karpenter: higher is tried first.
	Weight    int32
	configKey string
}

// ExecutorTiers are the executor NodePools in the order Karpenter tries them:
// arm64 spot, amd64 spot, arm64 on-demand, amd64 on-demand (weights strictly
// decreasing).
var ExecutorTiers = []ExecutorTier{
	{NodePool: NodePoolArm64Spot, Arch: ArchArm64, CapacityType: karpv1.CapacityTypeSpot, Weight: 100, configKey: "arm64Spot"},
	{NodePool: NodePoolAmd64Spot, Arch: ArchAmd64, CapacityType: karpv1.CapacityTypeSpot, Weight: 75, configKey: "amd64Spot"},
	{NodePool: NodePoolArm64OnDemand, Arch: ArchArm64, CapacityType: karpv1.CapacityTypeOnDemand, Weight: 50, configKey: "arm64OnDemand"},
	{NodePool: NodePoolAmd64OnDemand, Arch: ArchAmd64, CapacityType: karpv1.CapacityTypeOnDemand, Weight: 25, configKey: "amd64OnDemand"},
}

func (t ExecutorTier) cpuLimit(limits TierCPULimits) int64 {
	switch t.configKey {
	case "arm64Spot":
		return limits.Arm64Spot
	case "amd64Spot":
		return limits.Amd64Spot
	case "arm64OnDemand":
		return limits.Arm64OnDemand
	default:
		return limits.Amd64OnDemand
	}
}

// Node class names the NodePools refer to.
const (
	NodeClassDefault   = "default"
	NodeClassNVMeRAID0 = "nvme-raid0"
)

func nodeClassRef(provider Provider, name string) *karpv1.NodeClassReference {
	if provider == ProviderKWOK {
		return &karpv1.NodeClassReference{Group: "karpenter.kwok.sh", Kind: "KWOKNodeClass", Name: name}
	}
	return &karpv1.NodeClassReference{Group: "karpenter.k8s.aws", Kind: "EC2NodeClass", Name: name}
}

func requirement(key string, operator corev1.NodeSelectorOperator, values ...string) karpv1.NodeSelectorRequirementWithMinValues {
	return karpv1.NodeSelectorRequirementWithMinValues{
		NodeSelectorRequirement: corev1.NodeSelectorRequirement{Key: key, Operator: operator, Values: values},
	}
}

// nodePools renders the four executor pools, the driver pool and the system pool.
func nodePools(cfg Config) []*karpv1.NodePool {
	provider := cfg.Provider
	var pools []*karpv1.NodePool
	budget := cfg.Executors.DisruptionBudget
	for _, tier := range ExecutorTiers {
		requirements := []karpv1.NodeSelectorRequirementWithMinValues{
			requirement(labelArch, corev1.NodeSelectorOpIn, tier.Arch),
			requirement(labelOS, corev1.NodeSelectorOpIn, "linux"),
			requirement(labelCapacityType, corev1.NodeSelectorOpIn, tier.CapacityType),
			requirement(labelZone, corev1.NodeSelectorOpIn, cfg.Zones...),
		}
		labels := map[string]string{LabelNodeRole: NodeRoleExecutor}
		class := NodeClassDefault
		if provider == ProviderAWS {
			category := requirement(labelAWSInstanceCategory, corev1.NodeSelectorOpIn, cfg.Executors.InstanceCategories...)
			if tier.CapacityType == karpv1.CapacityTypeSpot {
				// Spot needs several instance categories to choose from, or the
				// price-capacity allocation has little to optimise and interruptions cluster.
				category.MinValues = ptr.To(min(2, len(cfg.Executors.InstanceCategories)))
			}
			requirements = append(requirements, category,
				requirement(labelAWSInstanceGeneration, corev1.NodeSelectorOpGt, strconv.Itoa(cfg.Executors.MinInstanceGeneration)))
			if cfg.Executors.LocalNVMe {
				requirements = append(requirements, requirement(labelAWSInstanceLocalNVMe, corev1.NodeSelectorOpGt, "0"))
				labels[LabelLocalNVMe] = LocalNVMeRAID0
				class = NodeClassNVMeRAID0
			}
		}
		pool := nodePool(tier.NodePool, labels, requirements, nodeClassRef(provider, class), cfg.Executors.ExpireAfter)
		pool.Spec.Weight = ptr.To(tier.Weight)
		pool.Spec.Limits = karpv1.Limits{corev1.ResourceCPU: *resource.NewQuantity(tier.cpuLimit(cfg.Executors.CPULimits), resource.DecimalSI)}
		pool.Spec.Disruption = karpv1.Disruption{
			ConsolidationPolicy: karpv1.ConsolidationPolicyWhenEmptyOrUnderutilized,
			ConsolidateAfter:    karpv1.MustParseNillableDuration(cfg.Executors.ConsolidateAfter),
			Budgets: []karpv1.Budget{
				// Empty nodes go at once; a running executor's node moves only a few at
				// a time so decommissioning (block migration) keeps up.
				{Nodes: "100%", Reasons: []karpv1.DisruptionReason{karpv1.DisruptionReasonEmpty}},
				{Nodes: budget, Reasons: []karpv1.DisruptionReason{karpv1.DisruptionReasonUnderutilized, karpv1.DisruptionReasonDrifted}},
			},
		}
		pools = append(pools, pool)
	}

	driverRequirements := []karpv1.NodeSelectorRequirementWithMinValues{
		requirement(labelArch, corev1.NodeSelectorOpIn, cfg.Driver.Architectures...),
		requirement(labelOS, corev1.NodeSelectorOpIn, "linux"),
		requirement(labelCapacityType, corev1.NodeSelectorOpIn, karpv1.CapacityTypeOnDemand),
		requirement(labelZone, corev1.NodeSelectorOpIn, cfg.DriverZone),
	}
	if provider == ProviderAWS {
		driverRequirements = append(driverRequirements, requirement(labelAWSInstanceCategory, corev1.NodeSelectorOpIn, cfg.Driver.InstanceCategories...))
	}
	driver := nodePool(NodePoolDriver, map[string]string{LabelNodeRole: NodeRoleDriver}, driverRequirements, nodeClassRef(provider, NodeClassDefault), cfg.Executors.ExpireAfter)
	driver.Spec.Template.Spec.Taints = []corev1.Taint{{Key: DriverTaintKey, Value: "true", Effect: corev1.TaintEffectNoSchedule}}
	driver.Spec.Limits = karpv1.Limits{corev1.ResourceCPU: *resource.NewQuantity(cfg.Driver.CPULimit, resource.DecimalSI)}
	driver.Spec.Disruption = karpv1.Disruption{
		// A driver's node is never consolidated while a driver runs on it: only
		// empty nodes go, and drift/expiry replacements wait for them too.
		ConsolidationPolicy: karpv1.ConsolidationPolicyWhenEmpty,
		ConsolidateAfter:    karpv1.MustParseNillableDuration("5m"),
		Budgets: []karpv1.Budget{
			{Nodes: "100%", Reasons: []karpv1.DisruptionReason{karpv1.DisruptionReasonEmpty}},
			{Nodes: "0", Reasons: []karpv1.DisruptionReason{karpv1.DisruptionReasonDrifted, karpv1.DisruptionReasonUnderutilized}},
		},
	}
	// Expiry would evict running drivers: driver nodes are replaced only by drift
	// once empty.
	driver.Spec.Template.Spec.ExpireAfter = karpv1.MustParseNillableDuration("Never")
	pools = append(pools, driver)

	systemRequirements := []karpv1.NodeSelectorRequirementWithMinValues{
		requirement(labelArch, corev1.NodeSelectorOpIn, cfg.System.Architectures...),
		requirement(labelOS, corev1.NodeSelectorOpIn, "linux"),
		requirement(labelCapacityType, corev1.NodeSelectorOpIn, karpv1.CapacityTypeOnDemand),
		requirement(labelZone, corev1.NodeSelectorOpIn, cfg.Zones...),
	}
	if provider == ProviderAWS {
		systemRequirements = append(systemRequirements, requirement(labelAWSInstanceCategory, corev1.NodeSelectorOpIn, cfg.System.InstanceCategories...))
	}
	system := nodePool(NodePoolSystem, map[string]string{LabelNodeRole: NodeRoleSystem}, systemRequirements, nodeClassRef(provider, NodeClassDefault), cfg.Executors.ExpireAfter)
	system.Spec.Template.Spec.Taints = []corev1.Taint{{Key: CriticalAddonsOnlyTaintKey, Value: "true", Effect: corev1.TaintEffectNoSchedule}}
	system.Spec.Limits = karpv1.Limits{corev1.ResourceCPU: *resource.NewQuantity(cfg.System.CPULimit, resource.DecimalSI)}
	system.Spec.Disruption = karpv1.Disruption{
		ConsolidationPolicy: karpv1.ConsolidationPolicyWhenEmptyOrUnderutilized,
		ConsolidateAfter:    karpv1.MustParseNillableDuration("10m"),
		Budgets:             []karpv1.Budget{{Nodes: "1"}},
	}
	pools = append(pools, system)
	return pools
}

func nodePool(name string, labels map[string]string, requirements []karpv1.NodeSelectorRequirementWithMinValues, classRef *karpv1.NodeClassReference, expireAfter string) *karpv1.NodePool {
	return &karpv1.NodePool{
		TypeMeta:   metav1.TypeMeta{APIVersion: "karpenter.sh/v1", Kind: "NodePool"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{labelManagedBy: managedBy}},
		Spec: karpv1.NodePoolSpec{
			Template: karpv1.NodeClaimTemplate{
				ObjectMeta: karpv1.ObjectMeta{Labels: labels},
				Spec: karpv1.NodeClaimTemplateSpec{
					Requirements:           requirements,
					NodeClassRef:           classRef,
					ExpireAfter:            karpv1.MustParseNillableDuration(expireAfter),
					TerminationGracePeriod: &metav1.Duration{Duration: terminationGracePeriod},
				},
			},
		},
	}
}

// terminationGracePeriod bounds how long a disrupted node waits for its pods:
// longer than Spark's decommission of an executor on a Spot notice (2 minutes).
const terminationGracePeriod = 150 * time.Second

const (
	labelManagedBy = "app.kubernetes.io/managed-by"
	managedBy      = "sparkplane"
)
