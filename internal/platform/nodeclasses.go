package platform

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	kwokv1alpha1 "sigs.k8s.io/karpenter/kwok/apis/v1alpha1"
)

// EC2NodeClass mirrors the part of karpenter.k8s.aws/v1 EC2NodeClass
// (github.com/aws/karpenter-provider-aws) that the bundle sets. The provider's
// module pulls the AWS SDK and more, so this small mirror is used instead; the
// tests dry-run it against the provider's own CRD (testdata/crds), whose
// OpenAPI schema and CEL rules reject any field this mirror gets wrong.
type EC2NodeClass struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              EC2NodeClassSpec `json:"spec"`
}

// EC2NodeClassSpec mirrors the upstream spec fields the bundle uses.
type EC2NodeClassSpec struct {
	AMISelectorTerms           []AMISelectorTerm          `json:"amiSelectorTerms"`
	SubnetSelectorTerms        []SelectorTerm             `json:"subnetSelectorTerms"`
	SecurityGroupSelectorTerms []SelectorTerm             `json:"securityGroupSelectorTerms"`
	Role                       string                     `json:"role,omitempty"`
	MetadataOptions            *MetadataOptions           `json:"metadataOptions,omitempty"`
	BlockDeviceMappings        []BlockDeviceMapping       `json:"blockDeviceMappings,omitempty"`
	InstanceStorePolicy        string                     `json:"instanceStorePolicy,omitempty"`
	Tags                       map[string]string          `json:"tags,omitempty"`
	Kubelet                    *EC2NodeClassKubeletConfig `json:"kubelet,omitempty"`
	DetailedMonitoring         *bool                      `json:"detailedMonitoring,omitempty"`
	AssociatePublicIPAddress   *bool                      `json:"associatePublicIPAddress,omitempty"`
}

// AMISelectorTerm selects the AMI; the bundle uses an alias (bottlerocket@version).
type AMISelectorTerm struct {
	Alias string `json:"alias,omitempty"`
}

// SelectorTerm selects subnets or security groups by tags.
type SelectorTerm struct {
	Tags map[string]string `json:"tags,omitempty"`
}

// MetadataOptions configure the instance metadata service.
type MetadataOptions struct {
	HTTPEndpoint            string `json:"httpEndpoint,omitempty"`
	HTTPProtocolIPv6        string `json:"httpProtocolIPv6,omitempty"`
	HTTPPutResponseHopLimit *int64 `json:"httpPutResponseHopLimit,omitempty"`
	HTTPTokens              string `json:"httpTokens,omitempty"`
}

// BlockDeviceMapping attaches an EBS volume.
type BlockDeviceMapping struct {
	DeviceName string       `json:"deviceName,omitempty"`
	EBS        *BlockDevice `json:"ebs,omitempty"`
	RootVolume bool         `json:"rootVolume,omitempty"`
}

// BlockDevice is an EBS volume's settings.
type BlockDevice struct {
	DeleteOnTermination *bool              `json:"deleteOnTermination,omitempty"`
	Encrypted           *bool              `json:"encrypted,omitempty"`
	IOPS                *int64             `json:"iops,omitempty"`
	Throughput          *int64             `json:"throughput,omitempty"`
	VolumeSize          *resource.Quantity `json:"volumeSize,omitempty"`
	VolumeType          string             `json:"volumeType,omitempty"`
}

// EC2NodeClassKubeletConfig mirrors the kubelet settings the bundle sets.
type EC2NodeClassKubeletConfig struct {
	// EvictionMaxPodGracePeriod bounds soft-eviction grace, so a Spot node's
	// pods leave within the 2-minute notice.
	EvictionMaxPodGracePeriod *int32 `json:"evictionMaxPodGracePeriod,omitempty"`
}

// DeepCopyObject makes EC2NodeClass a runtime.Object.
func (in *EC2NodeClass) DeepCopyObject() runtime.Object {
	out := *in
	in.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	out.Spec = EC2NodeClassSpec{}
	// The spec holds only values the bundle builds afresh; a JSON-free deep
	// copy through the typed fields keeps the mirror small.
	out.Spec.AMISelectorTerms = append([]AMISelectorTerm(nil), in.Spec.AMISelectorTerms...)
	for _, term := range in.Spec.SubnetSelectorTerms {
		out.Spec.SubnetSelectorTerms = append(out.Spec.SubnetSelectorTerms, SelectorTerm{Tags: copyMap(term.Tags)})
	}
	for _, term := range in.Spec.SecurityGroupSelectorTerms {
		out.Spec.SecurityGroupSelectorTerms = append(out.Spec.SecurityGroupSelectorTerms, SelectorTerm{Tags: copyMap(term.Tags)})
	}
	out.Spec.Role = in.Spec.Role
	if in.Spec.MetadataOptions != nil {
		options := *in.Spec.MetadataOptions
		if options.HTTPPutResponseHopLimit != nil {
			options.HTTPPutResponseHopLimit = ptr.To(*options.HTTPPutResponseHopLimit)
		}
		out.Spec.MetadataOptions = &options
	}
	for _, mapping := range in.Spec.BlockDeviceMappings {
		copied := mapping
		if mapping.EBS != nil {
			ebs := *mapping.EBS
			if ebs.VolumeSize != nil {
				ebs.VolumeSize = ptr.To(ebs.VolumeSize.DeepCopy())
			}
			copied.EBS = &ebs
		}
		out.Spec.BlockDeviceMappings = append(out.Spec.BlockDeviceMappings, copied)
	}
	out.Spec.InstanceStorePolicy = in.Spec.InstanceStorePolicy
	out.Spec.Tags = copyMap(in.Spec.Tags)
	if in.Spec.Kubelet != nil {
		kubelet := *in.Spec.Kubelet
		out.Spec.Kubelet = &kubelet
	}
	out.Spec.DetailedMonitoring = in.Spec.DetailedMonitoring
	out.Spec.AssociatePublicIPAddress = in.Spec.AssociatePublicIPAddress
	return &out
}

func copyMap(in map[string]string) map[string]string {
	if in == nil {
		return nil
	}
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

// ec2NodeClasses renders the default class (Bottlerocket, IMDSv2, tag-based
// discovery) and the instance-store class that assembles local NVMe as RAID0.
func ec2NodeClasses(cfg Config) []*EC2NodeClass {
	newClass := func(name string) *EC2NodeClass {
		discovery := map[string]string{cfg.AWS.DiscoveryTagKey: cfg.ClusterName}
		return &EC2NodeClass{
			TypeMeta:   metav1.TypeMeta{APIVersion: "karpenter.k8s.aws/v1", Kind: "EC2NodeClass"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{labelManagedBy: managedBy}},
			Spec: EC2NodeClassSpec{
				// Bottlerocket: container-optimised, immutable root, SELinux
				// enforcing, atomic A/B updates with rollback.
				AMISelectorTerms:           []AMISelectorTerm{{Alias: "bottlerocket@" + cfg.AWS.BottlerocketVersion}},
				SubnetSelectorTerms:        []SelectorTerm{{Tags: discovery}},
				SecurityGroupSelectorTerms: []SelectorTerm{{Tags: copyMap(discovery)}},
				Role:                       cfg.AWS.NodeRole,
				// IMDSv2 only, hop limit 1: pods cannot reach the node's credentials.
				MetadataOptions: &MetadataOptions{
					HTTPEndpoint:            "enabled",
					HTTPProtocolIPv6:        "disabled",
					HTTPPutResponseHopLimit: ptr.To[int64](1),
					HTTPTokens:              "required",
				},
				BlockDeviceMappings: []BlockDeviceMapping{
					// Bottlerocket's OS volume and its data volume (images, logs, emptyDir).
					{DeviceName: "/dev/xvda", EBS: &BlockDevice{VolumeSize: ptr.To(resource.MustParse("4Gi")), VolumeType: "gp3", Encrypted: ptr.To(true), DeleteOnTermination: ptr.To(true)}},
					{DeviceName: "/dev/xvdb", EBS: &BlockDevice{VolumeSize: ptr.To(resource.MustParse(cfg.AWS.DataVolumeSize)), VolumeType: "gp3", Encrypted: ptr.To(true), DeleteOnTermination: ptr.To(true)}},
				},
				Tags:                     map[string]string{"sparkplane.io/cluster": cfg.ClusterName, "sparkplane.io/node-class": name},
				Kubelet:                  &EC2NodeClassKubeletConfig{EvictionMaxPodGracePeriod: ptr.To[int32](110)},
				AssociatePublicIPAddress: ptr.To(false),
			},
		}
	}
	nvme := newClass(NodeClassNVMeRAID0)
	// Karpenter assembles every instance-store NVMe disk into one RAID0 array
	// and puts the kubelet's and containerd's state (so emptyDir and Spark's
	// local dirs) on it.
	nvme.Spec.InstanceStorePolicy = "RAID0"
	return []*EC2NodeClass{newClass(NodeClassDefault), nvme}
}

// kwokNodeClasses renders the KWOKNodeClass the kwok NodePools refer to.
func kwokNodeClasses() []*kwokv1alpha1.KWOKNodeClass {
	return []*kwokv1alpha1.KWOKNodeClass{{
		TypeMeta:   metav1.TypeMeta{APIVersion: "karpenter.kwok.sh/v1alpha1", Kind: "KWOKNodeClass"},
		ObjectMeta: metav1.ObjectMeta{Name: NodeClassDefault, Labels: map[string]string{labelManagedBy: managedBy}},
	}}
}
