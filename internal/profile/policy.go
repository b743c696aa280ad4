package profile

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// layered is one policy value with the layer that decided it.
type layered[T any] struct {
	v   T
	src Source
}

// policy is the profile merged over the built-in defaults, field by field.
type policy struct {
	tiers               layered[[]v1alpha1.PlacementTier]
	architectures       layered[[]string]
	executorTolerations layered[[]corev1.Toleration]
	executorPriority    layered[string]
	driverCapacityType  layered[string]
	driverRequired      layered[[]corev1.NodeSelectorRequirement]
	driverPreferred     layered[[]corev1.NodeSelectorRequirement]
	driverTolerations   layered[[]corev1.Toleration]
	doNotDisrupt        layered[bool]
	driverPriority      layered[string]
	driverAccount       layered[string]
	zoneMode            layered[v1alpha1.ZoneMode]
	allowedZones        layered[[]string]
	storage             layered[v1alpha1.ShuffleStorage]
	decommission        layered[bool]
	shuffleBlocks       layered[bool]
	rddBlocks           layered[bool]
	fallbackStoragePath layered[string]
	executorGracePeriod layered[int64]
	daEnabled           layered[*bool]
	daShuffleTracking   layered[*bool]
	daInitial, daMin    layered[*int32]
	daMax               layered[*int32]
	sparkConf           map[string]layered[string]
	labels, annotations map[string]layered[string]
}

// over returns the profile's value when set, else the built-in one.
func over[T any](builtin T, profile T, set bool, profileSrc Source) layered[T] {
	if set {
		return layered[T]{v: profile, src: profileSrc}
	}
	return layered[T]{v: builtin, src: builtinSource}
}

// mergePolicy layers spec (the profile's; zero value when there is none)
// over builtin. builtin must have every field set (BuiltinDefaults does).
func mergePolicy(builtin, spec v1alpha1.SparkProfileSpec, src Source) policy {
	var p policy
	ex := ptr.Deref(spec.Executor, v1alpha1.ExecutorPolicy{})
	bex := ptr.Deref(builtin.Executor, v1alpha1.ExecutorPolicy{})
	p.tiers = over(bex.Tiers, ex.Tiers, len(ex.Tiers) > 0, src)
	p.architectures = over(bex.Architectures, ex.Architectures, len(ex.Architectures) > 0, src)
	p.executorTolerations = over(bex.Tolerations, ex.Tolerations, len(ex.Tolerations) > 0, src)
	p.executorPriority = over(bex.PriorityClassName, ex.PriorityClassName, ex.PriorityClassName != "", src)

	dr := ptr.Deref(spec.Driver, v1alpha1.DriverPolicy{})
	bdr := ptr.Deref(builtin.Driver, v1alpha1.DriverPolicy{})
	p.driverCapacityType = over(bdr.CapacityType, dr.CapacityType, dr.CapacityType != "", src)
	p.driverRequired = over(bdr.MatchExpressions, dr.MatchExpressions, len(dr.MatchExpressions) > 0, src)
	p.driverPreferred = over(bdr.PreferredMatchExpressions, dr.PreferredMatchExpressions, len(dr.PreferredMatchExpressions) > 0, src)
	p.driverTolerations = over(bdr.Tolerations, dr.Tolerations, len(dr.Tolerations) > 0, src)
	p.doNotDisrupt = over(ptr.Deref(bdr.DoNotDisrupt, false), ptr.Deref(dr.DoNotDisrupt, false), dr.DoNotDisrupt != nil, src)
	p.driverPriority = over(bdr.PriorityClassName, dr.PriorityClassName, dr.PriorityClassName != "", src)
	p.driverAccount = over(bdr.ServiceAccountName, dr.ServiceAccountName, dr.ServiceAccountName != "", src)

	z := ptr.Deref(spec.Zone, v1alpha1.ZonePolicy{})
	bz := ptr.Deref(builtin.Zone, v1alpha1.ZonePolicy{})
	p.zoneMode = over(bz.Mode, z.Mode, z.Mode != "", src)
	p.allowedZones = over(bz.AllowedZones, z.AllowedZones, len(z.AllowedZones) > 0, src)

	bst := ptr.Deref(builtin.ShuffleStorage, v1alpha1.ShuffleStorage{Type: v1alpha1.ShuffleEmptyDir})
	if spec.ShuffleStorage != nil {
		p.storage = layered[v1alpha1.ShuffleStorage]{v: withStorageDefaults(*spec.ShuffleStorage), src: src}
	} else {
		p.storage = layered[v1alpha1.ShuffleStorage]{v: withStorageDefaults(bst), src: builtinSource}
	}

	d := ptr.Deref(spec.Decommission, v1alpha1.DecommissionPolicy{})
	bd := ptr.Deref(builtin.Decommission, v1alpha1.DecommissionPolicy{})
	p.decommission = over(ptr.Deref(bd.Enabled, false), ptr.Deref(d.Enabled, false), d.Enabled != nil, src)
	p.shuffleBlocks = over(ptr.Deref(bd.ShuffleBlocks, false), ptr.Deref(d.ShuffleBlocks, false), d.ShuffleBlocks != nil, src)
	p.rddBlocks = over(ptr.Deref(bd.RDDBlocks, false), ptr.Deref(d.RDDBlocks, false), d.RDDBlocks != nil, src)
	p.fallbackStoragePath = over(bd.FallbackStoragePath, d.FallbackStoragePath, d.FallbackStoragePath != "", src)
	p.executorGracePeriod = over(ptr.Deref(bd.ExecutorTerminationGracePeriodSeconds, DefaultExecutorTerminationGracePeriodSeconds),
		ptr.Deref(d.ExecutorTerminationGracePeriodSeconds, 0), d.ExecutorTerminationGracePeriodSeconds != nil, src)

	def := ptr.Deref(spec.Defaults, v1alpha1.ProfileDefaults{})
	bdef := ptr.Deref(builtin.Defaults, v1alpha1.ProfileDefaults{})
	da := ptr.Deref(def.DynamicAllocation, v1alpha1.ProfileDynamicAllocation{})
	bda := ptr.Deref(bdef.DynamicAllocation, v1alpha1.ProfileDynamicAllocation{})
	p.daEnabled = over(bda.Enabled, da.Enabled, da.Enabled != nil, src)
	p.daShuffleTracking = over(bda.ShuffleTrackingEnabled, da.ShuffleTrackingEnabled, da.ShuffleTrackingEnabled != nil, src)
	if da.ShuffleTrackingEnabled == nil && p.storage.v.Type == v1alpha1.ShuffleRemoteShuffleService {
		// Celeborn keeps shuffle data, so executors need not be kept for it;
		// its docs recommend shuffle tracking off.
		p.daShuffleTracking = layered[*bool]{v: ptr.To(false), src: p.storage.src}
	}
	p.daInitial = over(bda.InitialExecutors, da.InitialExecutors, da.InitialExecutors != nil, src)
	p.daMin = over(bda.MinExecutors, da.MinExecutors, da.MinExecutors != nil, src)
	p.daMax = over(bda.MaxExecutors, da.MaxExecutors, da.MaxExecutors != nil, src)

	p.sparkConf = mergeMaps(bdef.SparkConf, def.SparkConf, src)
	p.labels = mergeMaps(bdef.Labels, def.Labels, src)
	p.annotations = mergeMaps(bdef.Annotations, def.Annotations, src)
	return p
}

// mergeMaps merges per key: the profile's keys win over the built-in ones.
func mergeMaps(builtin, profile map[string]string, src Source) map[string]layered[string] {
	out := map[string]layered[string]{}
	for k, v := range builtin {
		out[k] = layered[string]{v: v, src: builtinSource}
	}
	for k, v := range profile {
		out[k] = layered[string]{v: v, src: src}
	}
	return out
}

// withStorageDefaults fills the defaults of the storage member its type
// names, and drops the other members.
func withStorageDefaults(s v1alpha1.ShuffleStorage) v1alpha1.ShuffleStorage {
	out := v1alpha1.ShuffleStorage{Type: s.Type}
	switch s.Type {
	case v1alpha1.ShuffleEmptyDir:
		out.EmptyDir = ptr.To(ptr.Deref(s.EmptyDir, v1alpha1.EmptyDirShuffle{}))
	case v1alpha1.ShufflePersistentVolumeClaim:
		pvc := ptr.Deref(s.PersistentVolumeClaim, v1alpha1.PVCShuffle{})
		if pvc.Size == nil {
			pvc.Size = ptr.To(resource.MustParse(DefaultPVCSize))
		}
		if pvc.MountPath == "" {
			pvc.MountPath = DefaultPVCMountPath
		}
		if pvc.Reuse == nil {
			pvc.Reuse = ptr.To(true)
		}
		if pvc.ShuffleRecovery == nil {
			pvc.ShuffleRecovery = ptr.To(*pvc.Reuse)
		}
		out.PersistentVolumeClaim = &pvc
	case v1alpha1.ShuffleLocalNVMe:
		nvme := ptr.Deref(s.LocalNVMe, v1alpha1.LocalNVMeShuffle{})
		if nvme.HostPath == "" {
			nvme.HostPath = DefaultNVMeHostPath
		}
		if nvme.MountPath == "" {
			nvme.MountPath = DefaultNVMeMountPath
		}
		if len(nvme.NodeSelector) == 0 {
			nvme.NodeSelector = map[string]string{v1alpha1.LabelLocalNVMe: v1alpha1.LocalNVMeRAID0}
		}
		out.LocalNVMe = &nvme
	case v1alpha1.ShuffleRemoteShuffleService:
		rss := ptr.Deref(s.RemoteShuffleService, v1alpha1.RemoteShuffleService{})
		if rss.Replicate == nil {
			rss.Replicate = ptr.To(true)
		}
		if rss.ShuffleWriter == "" {
			rss.ShuffleWriter = "hash"
		}
		out.RemoteShuffleService = &rss
	}
	return out
}
