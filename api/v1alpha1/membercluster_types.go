package v1alpha1

import (
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Names the hub and its members share: the hub operator writes them on every
// copy it places on a member, and the member's SparkApplication controller
// reads them (the lease gate). They are contracts between two clusters that
// may run different operator versions.
const (
	// LabelHubID on a member's SparkApplication names the hub that placed it
	// (the hub's --hub-id). A copy without it is an ordinary application.
	LabelHubID = "sparkplane.io/hub"
	// LabelOriginUID is the UID of the hub's SparkApplication the copy was
	// made from; garbage collection deletes copies whose origin is gone.
	LabelOriginUID = "sparkplane.io/origin-uid"
	// LabelPlacementEpoch is the hub placement's epoch the copy belongs to
	// (status.placement.epoch, decimal). A copy with a lower epoch than the
	// hub's placement is stale and is deleted.
	LabelPlacementEpoch = "sparkplane.io/epoch"
	// AnnotationLeaseExpires on a copy is when the hub's permission to start
	// a driver for it ends (RFC 3339, the hub's clock). The member starts a
	// driver only before that instant; the hub writes it only after it has
	// recorded status.placement.leaseGrantTime on its own application.
	AnnotationLeaseExpires = "sparkplane.io/lease-expires"
	// LabelOperatorVersion is on the member operator's leader-election
	// Lease: the elected replica's version (a label value: characters
	// outside [A-Za-z0-9_.-] become "-"). The hub reports it in
	// status.capacity.operatorVersion.
	LabelOperatorVersion = "sparkplane.io/operator-version"
)

// Condition types and reasons of a copy placed by the hub (on the member)
// and of the hub's application.
const (
	// ConditionLeased on a member's copy: False with reason WaitingForLease
	// while the member holds a driver back for want of a valid lease (the
	// hub's cue to grant one), True with reason LeaseValid once it started.
	ConditionLeased = "Leased"
	// ConditionPlaced on the hub's application: True once status.placement
	// names a member; False with reason NoEligibleCluster and a message
	// listing why each member was refused.
	ConditionPlaced = "Placed"
	// ConditionStale on the hub's application: True when the status mirrored
	// from the member is older than the hub's stale-after (the member is
	// unreachable); the mirrored fields are then the last known ones.
	ConditionStale = "Stale"
	// ConditionClusterLost on the hub's application: True when the member
	// it was placed on was declared Lost after the application may have
	// started there; it is then resubmitted per spec.restartPolicy
	// (at-least-once) or ends Failed with reason ClusterLost.
	ConditionClusterLost = "ClusterLost"

	ReasonWaitingForLease   = "WaitingForLease"
	ReasonLeaseValid        = "LeaseValid"
	ReasonPlaced            = "Placed"
	ReasonReplaced          = "Replaced"
	ReasonNoEligibleCluster = "NoEligibleCluster"
	ReasonStatusFresh       = "StatusFresh"
	ReasonMemberUnreachable = "MemberUnreachable"
	ReasonClusterLost       = "ClusterLost"
)

// MemberState is a one-word summary of a MemberCluster's conditions.
type MemberState string

// The member states.
const (
	// MemberHealthy: reachable and accepting new applications.
	MemberHealthy MemberState = "Healthy"
	// MemberDraining: reachable, spec.draining is set: no new placements,
	// placed applications run to their end.
	MemberDraining MemberState = "Draining"
	// MemberUnreachable: the last heartbeat failed, for less than lost-after.
	MemberUnreachable MemberState = "Unreachable"
	// MemberLost: unreachable for longer than lost-after (which exceeds the
	// lease): its not-started applications are re-placed elsewhere.
	MemberLost MemberState = "Lost"
)

// Condition types of a MemberCluster.
const (
	// MemberConditionReachable is True while heartbeats succeed; its reason
	// is HeartbeatSucceeded, HeartbeatFailed, KubeconfigInvalid or Lost.
	MemberConditionReachable = "Reachable"
	// MemberConditionOperatorHealthy is True when the member's operator
	// renewed its leader lease recently (within 3 × its lease duration).
	MemberConditionOperatorHealthy = "OperatorHealthy"

	ReasonHeartbeatSucceeded = "HeartbeatSucceeded"
	ReasonHeartbeatFailed    = "HeartbeatFailed"
	ReasonKubeconfigInvalid  = "KubeconfigInvalid"
	ReasonLost               = "Lost"
	ReasonLeaseRenewed       = "LeaseRenewed"
	ReasonLeaseStale         = "LeaseStale"
	ReasonNoOperatorLease    = "NoOperatorLease"
)

// SecretKeyReference names one key of a Secret.
type SecretKeyReference struct {
	// Namespace of the Secret on the hub.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace"`
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Key holding a kubeconfig file; "kubeconfig" when empty.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key,omitempty"`
}

// LeaseExpiry reads a copy's lease (AnnotationLeaseExpires); ok is false
// when it has none or it does not parse.
func LeaseExpiry(app *SparkApplication) (expires time.Time, ok bool) {
	v, found := app.Annotations[AnnotationLeaseExpires]
	if !found {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	return t, err == nil
}

// DefaultKubeconfigKey is the Secret key read when SecretKeyReference.Key is empty.
const DefaultKubeconfigKey = "kubeconfig"

// MemberClusterSpec is how the hub reaches a member and how it weighs it.
// The member's labels (env: prod, region: ...) are the object's own
// metadata.labels, which spec.clusterSelector of an application selects.
type MemberClusterSpec struct {
	// KubeconfigSecretRef names the hub Secret holding the member's kubeconfig
	// (its current context is used).
	KubeconfigSecretRef SecretKeyReference `json:"kubeconfigSecretRef"`

	// Weight breaks ties between members that are otherwise equal: higher
	// first. Default 100.
	// +optional
	// +kubebuilder:default=100
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10000
	Weight int32 `json:"weight,omitempty"`

	// Draining stops new placements on the member; applications already
	// placed there run to their end.
	// +optional
	Draining bool `json:"draining,omitempty"`
}

// TierCapacity is the free capacity of one placement tier of a member, from
// its Karpenter NodePools: limits minus what the pool's nodes already hold.
type TierCapacity struct {
	// Name of the tier: the NodePool's capacity type and architecture
	// (e.g. spot/arm64, on-demand/amd64).
	Name string `json:"name"`
	// CPU free in the tier's NodePools; absent when a pool sets no CPU limit.
	// +optional
	CPU *resource.Quantity `json:"cpu,omitempty"`
	// Memory free in the tier's NodePools; absent when a pool sets no memory limit.
	// +optional
	Memory *resource.Quantity `json:"memory,omitempty"`
}

// MemberCapacity is what the hub last read from a member.
type MemberCapacity struct {
	// Tiers is the free capacity per placement tier; empty when the member
	// has no Karpenter NodePools (capacity is then not limited by the hub).
	// +optional
	// +listType=map
	// +listMapKey=name
	Tiers []TierCapacity `json:"tiers,omitempty"`
	// PendingDrivers counts driver pods that are Pending.
	// +optional
	PendingDrivers int32 `json:"pendingDrivers,omitempty"`
	// OldestPendingDriverSeconds is the age of the oldest Pending driver pod.
	// +optional
	OldestPendingDriverSeconds int64 `json:"oldestPendingDriverSeconds,omitempty"`
	// RunningApplications counts this hub's copies whose driver runs.
	// +optional
	RunningApplications int32 `json:"runningApplications,omitempty"`
	// PlacedApplications counts this hub's copies that have not ended.
	// +optional
	PlacedApplications int32 `json:"placedApplications,omitempty"`
	// OperatorVersion is the member operator's version, from the label
	// sparkplane.io/operator-version of its leader-election Lease (empty
	// when the operator runs without leader election, or is older).
	// +optional
	OperatorVersion string `json:"operatorVersion,omitempty"`
}

// MemberClusterStatus is what the hub observed of the member.
type MemberClusterStatus struct {
	// ObservedGeneration is the spec generation the status was computed from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Reachable, OperatorHealthy.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// State is a one-word summary: Healthy, Draining, Unreachable, Lost.
	// +optional
	State MemberState `json:"state,omitempty"`
	// LastHeartbeatTime is when the hub last reached the member's API server.
	// +optional
	LastHeartbeatTime *metav1.Time `json:"lastHeartbeatTime,omitempty"`
	// Capacity is what the hub read from the member at the last heartbeat.
	// +optional
	Capacity MemberCapacity `json:"capacity,omitempty"`
}

// MemberCluster is a cluster the hub may place SparkApplications on.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=member;members,categories=sparkplane
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`
// +kubebuilder:printcolumn:name="Weight",type=integer,JSONPath=`.spec.weight`
// +kubebuilder:printcolumn:name="Placed",type=integer,JSONPath=`.status.capacity.placedApplications`
// +kubebuilder:printcolumn:name="Pending Drivers",type=integer,JSONPath=`.status.capacity.pendingDrivers`
// +kubebuilder:printcolumn:name="Heartbeat",type=date,JSONPath=`.status.lastHeartbeatTime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type MemberCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   MemberClusterSpec   `json:"spec"`
	Status MemberClusterStatus `json:"status,omitempty"`
}

// MemberClusterList is a list of MemberClusters.
//
// +kubebuilder:object:root=true
type MemberClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MemberCluster `json:"items"`
}

// Placement is the hub's decision for one application: written before the
// copy is created on the member, so the hub never loses track of a copy.
type Placement struct {
	// Cluster is the MemberCluster the application is placed on.
	Cluster string `json:"cluster"`
	// Epoch counts placements of this application, from 1; a re-placement
	// increments it, and copies of an older epoch are deleted.
	Epoch int64 `json:"epoch"`
	// Time the placement was decided.
	Time metav1.Time `json:"time"`
	// Reason says why this member was chosen (or why the application moved).
	// +optional
	Reason string `json:"reason,omitempty"`
	// Scores are the members compared, best first.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	Scores []ClusterScore `json:"scores,omitempty"`
	// LeaseGrantTime is when the hub first allowed the member to start a
	// driver for this epoch (recorded before the lease is written to the
	// member). Unset means the member has never been able to start it, so a
	// lost member's application can be re-placed safely.
	// +optional
	LeaseGrantTime *metav1.Time `json:"leaseGrantTime,omitempty"`
	// SyncTime is when the member's status was last mirrored here.
	// +optional
	SyncTime *metav1.Time `json:"syncTime,omitempty"`
	// Resubmissions counts runs started again on another member after their
	// member was lost (restartPolicy OnFailure or Always).
	// +optional
	Resubmissions int32 `json:"resubmissions,omitempty"`
}

// ClusterScore is one member as the placement compared it.
type ClusterScore struct {
	// Cluster is the MemberCluster's name.
	Cluster string `json:"cluster"`
	// Eligible is false when the member was refused (see Reason).
	Eligible bool `json:"eligible"`
	// PendingDrivers, OldestPendingSeconds and Weight are the figures
	// compared among eligible members, in that order.
	// +optional
	PendingDrivers int32 `json:"pendingDrivers,omitempty"`
	// +optional
	OldestPendingSeconds int64 `json:"oldestPendingSeconds,omitempty"`
	// +optional
	Weight int32 `json:"weight,omitempty"`
	// Reason a member was refused (not selected, draining, unreachable, no
	// capacity for the driver and executors).
	// +optional
	Reason string `json:"reason,omitempty"`
}

func init() {
	SchemeBuilder.Register(&MemberCluster{}, &MemberClusterList{})
}
