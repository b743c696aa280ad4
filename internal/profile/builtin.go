package profile

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/spark/shuffle"
)

// Names of the built-in profiles `sparkplane install` applies.
const (
	CostOptimized = "cost-optimized"
	OnDemand      = "on-demand"
	NVMeShuffle   = "nvme-shuffle"
	RemoteShuffle = "remote-shuffle"
)

// Defaults of the built-in layer that docs/profiles.md quotes.
const (
	// DefaultPVCSize, DefaultPVCMountPath and DefaultShuffleStorageClass
	// are the on-demand shuffle claim's size, mount path and StorageClass
	// (see internal/spark/shuffle, shared with the advisor).
	DefaultPVCSize             = shuffle.ClaimSize
	DefaultPVCMountPath        = shuffle.MountPath
	DefaultShuffleStorageClass = shuffle.StorageClass
	// DefaultNVMeHostPath is where the instance-store node class mounts its
	// RAID0 array.
	DefaultNVMeHostPath = "/mnt/k8s-disks/0"
	// DefaultNVMeMountPath is where executors see it.
	DefaultNVMeMountPath = "/data/spark-local"
	// DefaultExecutorTerminationGracePeriodSeconds fits decommissioning inside
	// the 120 s Spot notice with room for the pod's own shutdown.
	DefaultExecutorTerminationGracePeriodSeconds int64 = 90
	// DefaultCelebornEndpoints are the masters of the Celeborn Helm chart
	// installed in namespace celeborn.
	DefaultCelebornEndpoints = "celeborn-master-0.celeborn-master-svc.celeborn.svc.cluster.local:9097"
)

// defaultTiers are the executor tiers of the practices: arm64 spot > amd64
// spot > arm64 on-demand > amd64 on-demand.
func defaultTiers() []v1alpha1.PlacementTier {
	return []v1alpha1.PlacementTier{
		{Name: "arm64-spot", Architecture: "arm64", CapacityType: karpv1.CapacityTypeSpot},
		{Name: "amd64-spot", Architecture: "amd64", CapacityType: karpv1.CapacityTypeSpot},
		{Name: "arm64-on-demand", Architecture: "arm64", CapacityType: karpv1.CapacityTypeOnDemand},
		{Name: "amd64-on-demand", Architecture: "amd64", CapacityType: karpv1.CapacityTypeOnDemand},
	}
}

// spotToleration tolerates clusters that taint spot nodes with their
// capacity type; it is harmless where spot nodes are not tainted.
func spotToleration() corev1.Toleration {
	return corev1.Toleration{Key: karpv1.CapacityTypeLabelKey, Operator: corev1.TolerationOpEqual, Value: karpv1.CapacityTypeSpot, Effect: corev1.TaintEffectNoSchedule}
}

// driverToleration tolerates the driver node pool's taint.
func driverToleration() corev1.Toleration {
	return corev1.Toleration{Key: v1alpha1.DriverTaintKey, Operator: corev1.TolerationOpEqual, Value: "true", Effect: corev1.TaintEffectNoSchedule}
}

// BuiltinDefaults returns the built-in layer: every field set, encoding the
// practices. A profile overrides it field by field; see docs/profiles.md.
func BuiltinDefaults() v1alpha1.SparkProfileSpec {
	size := resource.MustParse(DefaultPVCSize)
	return v1alpha1.SparkProfileSpec{
		Executor: &v1alpha1.ExecutorPolicy{
			Tiers:             defaultTiers(),
			Tolerations:       []corev1.Toleration{spotToleration()},
			PriorityClassName: v1alpha1.PriorityClassExecutor,
		},
		Driver: &v1alpha1.DriverPolicy{
			CapacityType: karpv1.CapacityTypeOnDemand,
			PreferredMatchExpressions: []corev1.NodeSelectorRequirement{{
				Key: v1alpha1.LabelNodeRole, Operator: corev1.NodeSelectorOpIn, Values: []string{v1alpha1.NodeRoleDriver},
			}},
			Tolerations:       []corev1.Toleration{driverToleration()},
			DoNotDisrupt:      ptr.To(true),
			PriorityClassName: v1alpha1.PriorityClassDriver,
		},
		Zone: &v1alpha1.ZonePolicy{Mode: v1alpha1.ZoneModeSingleZone},
		ShuffleStorage: &v1alpha1.ShuffleStorage{
			Type: v1alpha1.ShufflePersistentVolumeClaim,
			PersistentVolumeClaim: &v1alpha1.PVCShuffle{
				StorageClassName: DefaultShuffleStorageClass,
				Size:             &size,
				MountPath:        DefaultPVCMountPath,
				Reuse:            ptr.To(true),
				ShuffleRecovery:  ptr.To(true),
			},
		},
		Decommission: &v1alpha1.DecommissionPolicy{
			Enabled:                               ptr.To(true),
			ShuffleBlocks:                         ptr.To(true),
			RDDBlocks:                             ptr.To(true),
			ExecutorTerminationGracePeriodSeconds: ptr.To(DefaultExecutorTerminationGracePeriodSeconds),
		},
		Defaults: &v1alpha1.ProfileDefaults{
			DynamicAllocation: &v1alpha1.ProfileDynamicAllocation{
				Enabled:                ptr.To(true),
				ShuffleTrackingEnabled: ptr.To(true),
				MinExecutors:           ptr.To[int32](0),
				MaxExecutors:           ptr.To[int32](100),
			},
		},
	}
}

// BuiltinProfiles returns the profiles `sparkplane install` applies, as
// typed objects with TypeMeta set. cost-optimized carries the cluster-default
// label. Each call returns fresh objects.
func BuiltinProfiles() []*v1alpha1.SparkProfile {
	newProfile := func(name, description string, spec v1alpha1.SparkProfileSpec) *v1alpha1.SparkProfile {
		spec.Description = description
		return &v1alpha1.SparkProfile{
			TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "SparkProfile"},
			ObjectMeta: metav1.ObjectMeta{
				Name:   name,
				Labels: map[string]string{"app.kubernetes.io/managed-by": "sparkplane"},
			},
			Spec: spec,
		}
	}

	costOptimized := newProfile(CostOptimized,
		"Executors on arm64 spot first, then amd64 spot, arm64 on-demand, amd64 on-demand; drivers on on-demand nodes; one zone per application; shuffle on reusable PVCs; decommissioning on.",
		BuiltinDefaults())
	costOptimized.Labels[v1alpha1.ClusterDefaultProfileLabel] = "true"

	onDemandSpec := BuiltinDefaults()
	onDemandSpec.Executor.Tiers = []v1alpha1.PlacementTier{
		{Name: "arm64-on-demand", Architecture: "arm64", CapacityType: karpv1.CapacityTypeOnDemand},
		{Name: "amd64-on-demand", Architecture: "amd64", CapacityType: karpv1.CapacityTypeOnDemand},
	}
	onDemandSpec.Executor.Tolerations = nil
	onDemand := newProfile(OnDemand,
		"Everything on on-demand capacity (arm64 first): for jobs with deadlines that cannot absorb Spot interruptions.",
		onDemandSpec)

	nvmeSpec := BuiltinDefaults()
	nvmeSpec.ShuffleStorage = &v1alpha1.ShuffleStorage{
		Type: v1alpha1.ShuffleLocalNVMe,
		LocalNVMe: &v1alpha1.LocalNVMeShuffle{
			HostPath:     DefaultNVMeHostPath,
			MountPath:    DefaultNVMeMountPath,
			NodeSelector: map[string]string{v1alpha1.LabelLocalNVMe: v1alpha1.LocalNVMeRAID0},
		},
	}
	nvme := newProfile(NVMeShuffle,
		"Shuffle on instance-store NVMe assembled as RAID0, for shuffle-heavy jobs that need throughput; executors only on nodes with the array.",
		nvmeSpec)

	rssSpec := BuiltinDefaults()
	rssSpec.ShuffleStorage = &v1alpha1.ShuffleStorage{
		Type: v1alpha1.ShuffleRemoteShuffleService,
		RemoteShuffleService: &v1alpha1.RemoteShuffleService{
			MasterEndpoints: []string{DefaultCelebornEndpoints},
			Replicate:       ptr.To(true),
			ShuffleWriter:   "hash",
		},
	}
	rssSpec.Defaults.DynamicAllocation.ShuffleTrackingEnabled = ptr.To(false)
	rss := newProfile(RemoteShuffle,
		"Shuffle in an Apache Celeborn cluster, so losing a Spot executor loses no shuffle data; edit masterEndpoints to your Celeborn masters.",
		rssSpec)

	return []*v1alpha1.SparkProfile{costOptimized, onDemand, nvme, rss}
}
