package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Well-known names a SparkProfile and its selection use. They are contracts:
// the platform bundle labels and taints nodes with them and users annotate
// namespaces with them.
const (
	// NamespaceDefaultProfileAnnotation on a Namespace names the SparkProfile
	// an application in that namespace gets when it sets no spec.profile.
	NamespaceDefaultProfileAnnotation = "sparkplane.io/default-profile"
	// ClusterDefaultProfileLabel set to "true" on exactly one SparkProfile makes
	// it the cluster default: the profile of an application that names none and
	// whose namespace names none.
	ClusterDefaultProfileLabel = "sparkplane.io/cluster-default"

	// LabelLocalNVMe=LocalNVMeRAID0 marks nodes whose instance-store NVMe
	// disks are assembled as RAID0 and mounted for shuffle.
	LabelLocalNVMe = "sparkplane.io/local-nvme"
	LocalNVMeRAID0 = "raid0"

	// LabelApplication is on every pod sparkplane creates or templates; its
	// value is the SparkApplication's name (in the pod's namespace).
	LabelApplication = "sparkplane.io/application"
	// AnnotationInterruptionNoticeTime is the node annotation where the
	// interruption controller persists when it first saw a node's
	// interruption notice (RFC 3339 with nanoseconds), so a restarted
	// operator keeps the original notice time. It is removed when the signal
	// is withdrawn.
	AnnotationInterruptionNoticeTime = "sparkplane.io/interruption-notice-time"
	// LabelNodeRole marks sparkplane's dedicated node pools; the driver pool is
	// labelled LabelNodeRole=NodeRoleDriver and tainted DriverTaintKey=true:NoSchedule.
	LabelNodeRole  = "sparkplane.io/node-role"
	NodeRoleDriver = "driver"
	DriverTaintKey = "sparkplane.io/driver"
	// PriorityClassDriver and PriorityClassExecutor are the PriorityClasses the
	// platform bundle installs; drivers rank above executors.
	PriorityClassDriver   = "sparkplane-driver"
	PriorityClassExecutor = "sparkplane-executor"
)

// SparkProfile names a placement, shuffle-storage and interruption policy that
// SparkApplications pick by name (spec.profile). The operator resolves it once
// per submission attempt: built-in defaults < profile < the application's own
// fields, and records the profile's name and generation on the application.
// Editing a profile never changes an application that is already submitted.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=sprof,categories=sparkplane
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Shuffle",type=string,JSONPath=`.spec.shuffleStorage.type`
// +kubebuilder:printcolumn:name="Applications",type=integer,JSONPath=`.status.applications`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type SparkProfile struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec SparkProfileSpec `json:"spec,omitempty"`
	// +optional
	Status SparkProfileStatus `json:"status,omitempty"`
}

// SparkProfileSpec is the policy. Every field is optional: an unset field
// falls back to sparkplane's built-in default (see docs/profiles.md), and an
// application's own fields win over both.
type SparkProfileSpec struct {
	// Description is shown by `kubectl get` tooling and `sparkplane explain`.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Description string `json:"description,omitempty"`

	// Executor placement: preferred node tiers, tolerations, priority.
	// +optional
	Executor *ExecutorPolicy `json:"executor,omitempty"`

	// Driver placement: required capacity type, driver pool toleration,
	// do-not-disrupt, priority.
	// +optional
	Driver *DriverPolicy `json:"driver,omitempty"`

	// Zone policy: whether driver and executors are pinned to one zone.
	// +optional
	Zone *ZonePolicy `json:"zone,omitempty"`

	// ShuffleStorage is where executors write shuffle and spill data.
	// +optional
	ShuffleStorage *ShuffleStorage `json:"shuffleStorage,omitempty"`

	// Decommission is how executors leave when their node goes away.
	// +optional
	Decommission *DecommissionPolicy `json:"decommission,omitempty"`

	// Defaults are application settings the profile supplies unless the
	// application sets them itself.
	// +optional
	Defaults *ProfileDefaults `json:"defaults,omitempty"`
}

// ExecutorPolicy places executor pods.
type ExecutorPolicy struct {
	// Tiers in order of preference, rendered as preferred node affinity terms
	// with strictly decreasing weights (the first tier weighs 100). Replaces
	// the built-in tiers as a whole when set.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10
	Tiers []PlacementTier `json:"tiers,omitempty"`

	// Architectures the profile allows executors and drivers on
	// (kubernetes.io/arch values). Empty allows every architecture the tiers
	// name. An application that pins an architecture outside this list is
	// refused with a conflict.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=4
	Architectures []string `json:"architectures,omitempty"`

	// Tolerations added to executor pods, e.g. for tainted spot nodes.
	// Replaces the built-in tolerations as a whole when set.
	// +optional
	// +listType=atomic
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// PriorityClassName of executor pods.
	// +optional
	PriorityClassName string `json:"priorityClassName,omitempty"`
}

// PlacementTier is one preference level: nodes that match all of its
// requirements.
// +kubebuilder:validation:XValidation:rule="has(self.architecture) || has(self.capacityType) || (has(self.matchExpressions) && size(self.matchExpressions) > 0)",message="a tier needs at least one of architecture, capacityType or matchExpressions"
type PlacementTier struct {
	// Name is how explain and events refer to the tier, e.g. "arm64-spot".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// Architecture is a kubernetes.io/arch value (arm64, amd64).
	// +optional
	Architecture string `json:"architecture,omitempty"`
	// CapacityType is a karpenter.sh/capacity-type value.
	// +optional
	// +kubebuilder:validation:Enum=spot;on-demand;reserved
	CapacityType string `json:"capacityType,omitempty"`
	// MatchExpressions are further node requirements of the tier.
	// +optional
	// +listType=atomic
	MatchExpressions []corev1.NodeSelectorRequirement `json:"matchExpressions,omitempty"`
}

// DriverPolicy places driver pods.
type DriverPolicy struct {
	// CapacityType the driver's node must have (karpenter.sh/capacity-type),
	// as a required node affinity. "" in the profile means the built-in
	// default (on-demand).
	// +optional
	// +kubebuilder:validation:Enum=spot;on-demand;reserved
	CapacityType string `json:"capacityType,omitempty"`
	// MatchExpressions are further required node requirements of the driver.
	// +optional
	// +listType=atomic
	MatchExpressions []corev1.NodeSelectorRequirement `json:"matchExpressions,omitempty"`
	// PreferredMatchExpressions are node requirements the driver prefers, as
	// one preferred node affinity term of weight 100; the built-in default
	// prefers the driver node pool (sparkplane.io/node-role=driver).
	// +optional
	// +listType=atomic
	PreferredMatchExpressions []corev1.NodeSelectorRequirement `json:"preferredMatchExpressions,omitempty"`
	// Tolerations of the driver pod; the built-in default tolerates the driver
	// pool's taint sparkplane.io/driver=true:NoSchedule.
	// +optional
	// +listType=atomic
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
	// DoNotDisrupt annotates the driver karpenter.sh/do-not-disrupt=true so
	// consolidation never moves a running driver.
	// +optional
	DoNotDisrupt *bool `json:"doNotDisrupt,omitempty"`
	// PriorityClassName of the driver pod.
	// +optional
	PriorityClassName string `json:"priorityClassName,omitempty"`
	// ServiceAccountName is the ServiceAccount drivers run as when the
	// application names none (spec.driver.serviceAccount). It must exist in
	// the application's namespace: the operator creates only its own default,
	// sparkplane-spark (see docs/security.md).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ServiceAccountName string `json:"serviceAccountName,omitempty"`
}

// ZoneMode says whether an application's pods share one zone.
// +kubebuilder:validation:Enum=SingleZone;Any
type ZoneMode string

const (
	// ZoneModeSingleZone pins driver and executors of one application to one
	// zone, chosen at submission.
	ZoneModeSingleZone ZoneMode = "SingleZone"
	// ZoneModeAny leaves zones to the scheduler.
	ZoneModeAny ZoneMode = "Any"
)

// ZonePolicy is the zone policy.
type ZonePolicy struct {
	// Mode: SingleZone (default) or Any.
	// +optional
	Mode ZoneMode `json:"mode,omitempty"`
	// AllowedZones limits the zones the operator chooses from
	// (topology.kubernetes.io/zone values). Empty allows every zone that has
	// nodes or that the cluster reports.
	// +optional
	// +listType=set
	AllowedZones []string `json:"allowedZones,omitempty"`
}

// ShuffleStorageType names where shuffle data lives.
// +kubebuilder:validation:Enum=emptyDir;persistentVolumeClaim;localNVMe;remoteShuffleService
type ShuffleStorageType string

const (
	ShuffleEmptyDir              ShuffleStorageType = "emptyDir"
	ShufflePersistentVolumeClaim ShuffleStorageType = "persistentVolumeClaim"
	ShuffleLocalNVMe             ShuffleStorageType = "localNVMe"
	ShuffleRemoteShuffleService  ShuffleStorageType = "remoteShuffleService"
)

// ShuffleStorage is a discriminated union on Type; only the member named by
// Type may be set. It replaces the built-in shuffle storage as a whole.
// +kubebuilder:validation:XValidation:rule="!has(self.persistentVolumeClaim) || self.type == 'persistentVolumeClaim'",message="persistentVolumeClaim may only be set when type is persistentVolumeClaim"
// +kubebuilder:validation:XValidation:rule="!has(self.localNVMe) || self.type == 'localNVMe'",message="localNVMe may only be set when type is localNVMe"
// +kubebuilder:validation:XValidation:rule="!has(self.remoteShuffleService) || self.type == 'remoteShuffleService'",message="remoteShuffleService may only be set when type is remoteShuffleService"
// +kubebuilder:validation:XValidation:rule="self.type != 'remoteShuffleService' || (has(self.remoteShuffleService) && size(self.remoteShuffleService.masterEndpoints) > 0)",message="remoteShuffleService.masterEndpoints is required when type is remoteShuffleService"
// +kubebuilder:validation:XValidation:rule="!has(self.emptyDir) || self.type == 'emptyDir'",message="emptyDir may only be set when type is emptyDir"
type ShuffleStorage struct {
	// Type is one of emptyDir, persistentVolumeClaim, localNVMe,
	// remoteShuffleService.
	Type ShuffleStorageType `json:"type"`
	// +optional
	EmptyDir *EmptyDirShuffle `json:"emptyDir,omitempty"`
	// +optional
	PersistentVolumeClaim *PVCShuffle `json:"persistentVolumeClaim,omitempty"`
	// +optional
	LocalNVMe *LocalNVMeShuffle `json:"localNVMe,omitempty"`
	// +optional
	RemoteShuffleService *RemoteShuffleService `json:"remoteShuffleService,omitempty"`
}

// EmptyDirShuffle keeps shuffle data in the pod's emptyDir (Spark's default).
type EmptyDirShuffle struct {
	// Medium "Memory" makes Spark's local dirs tmpfs
	// (spark.kubernetes.local.dirs.tmpfs=true).
	// +optional
	// +kubebuilder:validation:Enum="";Memory
	Medium string `json:"medium,omitempty"`
}

// PVCShuffle gives every executor an on-demand PersistentVolumeClaim
// (spark.kubernetes.executor.volumes.persistentVolumeClaim.spark-local-dir-1.*)
// owned by the driver and reused by replacement executors (SPARK-35593).
type PVCShuffle struct {
	// StorageClassName of the claims; "" means sparkplane-shuffle, the class
	// `sparkplane platform render` creates. (Spark 3.5 creates an on-demand
	// claim only when a storage class is named, so one is always written.)
	// +optional
	StorageClassName string `json:"storageClassName,omitempty"`
	// Size of each claim (default 100Gi).
	// +optional
	Size *resource.Quantity `json:"size,omitempty"`
	// MountPath in the executor (default /data/spark-x/executor-x, the layout
	// Spark's shuffle recovery scans).
	// +optional
	MountPath string `json:"mountPath,omitempty"`
	// Reuse turns on driver-owned claims reused by new executors
	// (ownPersistentVolumeClaim, reusePersistentVolumeClaim,
	// waitToReusePersistentVolumeClaim). Default true.
	// +optional
	Reuse *bool `json:"reuse,omitempty"`
	// ShuffleRecovery sets Spark's KubernetesLocalDiskShuffleDataIO plugin so a
	// new executor on a reused claim serves the shuffle files it finds there.
	// Requires reuse. Default true.
	// +optional
	ShuffleRecovery *bool `json:"shuffleRecovery,omitempty"`
}

// LocalNVMeShuffle mounts instance-store NVMe, prepared as RAID0 by the node
// class, through a hostPath, and selects the nodes that have it.
type LocalNVMeShuffle struct {
	// HostPath of the RAID0 array on the node (default /mnt/k8s-disks/0).
	// +optional
	HostPath string `json:"hostPath,omitempty"`
	// MountPath in the executor (default /data/spark-local).
	// +optional
	MountPath string `json:"mountPath,omitempty"`
	// NodeSelector finds nodes with the array. Default
	// sparkplane.io/local-nvme=raid0, the label the platform bundle's
	// instance-store node pool sets.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
}

// RemoteShuffleService sends shuffle data to Apache Celeborn.
type RemoteShuffleService struct {
	// MasterEndpoints of the Celeborn masters, host:port
	// (spark.celeborn.master.endpoints).
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	MasterEndpoints []string `json:"masterEndpoints"`
	// Replicate pushes every partition to two workers
	// (spark.celeborn.client.push.replicate.enabled). Default true.
	// +optional
	Replicate *bool `json:"replicate,omitempty"`
	// ShuffleWriter is hash or sort (spark.celeborn.client.spark.shuffle.writer).
	// Default hash.
	// +optional
	// +kubebuilder:validation:Enum=hash;sort
	ShuffleWriter string `json:"shuffleWriter,omitempty"`
}

// DecommissionPolicy is Spark's graceful decommissioning.
type DecommissionPolicy struct {
	// Enabled sets spark.decommission.enabled. Default true.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
	// ShuffleBlocks migrates shuffle blocks off a leaving executor
	// (spark.storage.decommission.shuffleBlocks.enabled). Default true.
	// +optional
	ShuffleBlocks *bool `json:"shuffleBlocks,omitempty"`
	// RDDBlocks migrates cached RDD blocks
	// (spark.storage.decommission.rddBlocks.enabled). Default true.
	// +optional
	RDDBlocks *bool `json:"rddBlocks,omitempty"`
	// FallbackStoragePath receives blocks no peer can take
	// (spark.storage.decommission.fallbackStorage.path), e.g. s3a://bucket/path/.
	// +optional
	FallbackStoragePath string `json:"fallbackStoragePath,omitempty"`
	// ExecutorTerminationGracePeriodSeconds of executor pods; must fit inside
	// the 120 s Spot notice. Default 90.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=120
	ExecutorTerminationGracePeriodSeconds *int64 `json:"executorTerminationGracePeriodSeconds,omitempty"`
}

// ProfileDefaults are application settings a profile supplies.
type ProfileDefaults struct {
	// DynamicAllocation defaults (shuffle tracking and bounds).
	// +optional
	DynamicAllocation *ProfileDynamicAllocation `json:"dynamicAllocation,omitempty"`
	// SparkConf entries, each used unless the application sets the same key.
	// +optional
	SparkConf map[string]string `json:"sparkConf,omitempty"`
	// Labels added to driver and executor pods unless the application sets the key.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// Annotations added to driver and executor pods unless the application
	// sets the key.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ProfileDynamicAllocation are dynamic-allocation defaults.
// +kubebuilder:validation:XValidation:rule="!has(self.minExecutors) || !has(self.maxExecutors) || self.minExecutors <= self.maxExecutors",message="minExecutors must not exceed maxExecutors"
type ProfileDynamicAllocation struct {
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
	// ShuffleTrackingEnabled (spark.dynamicAllocation.shuffleTracking.enabled)
	// lets dynamic allocation work without an external shuffle service.
	// +optional
	ShuffleTrackingEnabled *bool `json:"shuffleTrackingEnabled,omitempty"`
	// +optional
	// +kubebuilder:validation:Minimum=0
	InitialExecutors *int32 `json:"initialExecutors,omitempty"`
	// +optional
	// +kubebuilder:validation:Minimum=0
	MinExecutors *int32 `json:"minExecutors,omitempty"`
	// +optional
	// +kubebuilder:validation:Minimum=1
	MaxExecutors *int32 `json:"maxExecutors,omitempty"`
}

// SparkProfileStatus is written by the sparkprofile controller.
type SparkProfileStatus struct {
	// ObservedGeneration is the generation the controller last counted for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Applications is the number of SparkApplications whose status records
	// this profile.
	// +optional
	Applications int32 `json:"applications"`
	// Conditions: Ready when the controller has observed the spec.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// SparkProfileList is a list of SparkProfiles.
// +kubebuilder:object:root=true
type SparkProfileList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SparkProfile `json:"items"`
}

func init() {
	SchemeBuilder.Register(&SparkProfile{}, &SparkProfileList{})
}
