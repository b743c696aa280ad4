package platform

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

func meta(namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: map[string]string{labelManagedBy: managedBy}}
}

// Pod Security levels of the bundle's namespaces: each is labelled for what
// its pods need, and warns and audits at the level it enforces, so a pod
// refused there is reported to whoever applied it and in the audit log, never
// refused silently.
const (
	PodSecurityRestricted = "restricted"
	PodSecurityBaseline   = "baseline"
	PodSecurityPrivileged = "privileged"
)

// NamespacePodSecurity is the Pod Security level of each namespace the
// bundle creates: sparkplane's own (operator, History Server) "restricted";
// the logging namespace "privileged" (Fluent Bit reads /var/log through
// hostPath on the host's network); monitoring "baseline". Spark namespaces
// are left to the cluster's policy.
func NamespacePodSecurity(cfg Config) map[string]string {
	return map[string]string{
		cfg.Namespace:           PodSecurityRestricted,
		cfg.LoggingNamespace:    PodSecurityPrivileged,
		cfg.MonitoringNamespace: PodSecurityBaseline,
	}
}

func namespaces(cfg Config) []*corev1.Namespace {
	names := append([]string{cfg.Namespace, cfg.LoggingNamespace, cfg.MonitoringNamespace}, cfg.SparkNamespaces...)
	levels := NamespacePodSecurity(cfg)
	var out []*corev1.Namespace
	seen := map[string]bool{}
	for _, name := range names {
		if seen[name] {
			continue
		}
		seen[name] = true
		ns := &corev1.Namespace{TypeMeta: typeMeta("v1", "Namespace"), ObjectMeta: meta("", name)}
		if level, ok := levels[name]; ok {
			for _, mode := range []string{"enforce", "warn", "audit"} {
				ns.Labels["pod-security.kubernetes.io/"+mode] = level
			}
		}
		out = append(out, ns)
	}
	return out
}

// Priority values: below the system-* classes (2e9), drivers above executors.
const (
	driverPriority   = 1_000_000
	executorPriority = 100_000
)

// PriorityClasses are the classes the built-in profiles give drivers and
// executors. `sparkplane install` creates them too (they depend on nothing
// the cloud provides), so the default profile works without the bundle.
func PriorityClasses() []*schedulingv1.PriorityClass {
	return []*schedulingv1.PriorityClass{
		{
			TypeMeta: typeMeta("scheduling.k8s.io/v1", "PriorityClass"), ObjectMeta: meta("", PriorityClassDriver),
			Value:            driverPriority,
			PreemptionPolicy: ptr.To(corev1.PreemptLowerPriority),
			Description:      "Spark drivers: scheduled before executors, and may preempt them, because losing a driver loses the whole application.",
		},
		{
			TypeMeta: typeMeta("scheduling.k8s.io/v1", "PriorityClass"), ObjectMeta: meta("", PriorityClassExecutor),
			Value: executorPriority,
			// Executors wait for Karpenter's new nodes instead of evicting other
			// applications' executors.
			PreemptionPolicy: ptr.To(corev1.PreemptNever),
			Description:      "Spark executors: below drivers; never preempt other pods, Karpenter adds nodes instead.",
		},
	}
}

func storageClasses(cfg Config) []*storagev1.StorageClass {
	class := &storagev1.StorageClass{
		TypeMeta:             typeMeta("storage.k8s.io/v1", "StorageClass"),
		ObjectMeta:           meta("", cfg.Storage.ShuffleStorageClass),
		ReclaimPolicy:        ptr.To(corev1.PersistentVolumeReclaimDelete),
		AllowVolumeExpansion: ptr.To(true),
		// Bind where the executor lands, so the volume is in its zone; Karpenter
		// also sees the volume's zone when it picks the node.
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
	}
	if cfg.Provider == ProviderAWS {
		class.Provisioner = "ebs.csi.aws.com"
		class.Parameters = map[string]string{
			"type":                      cfg.Storage.VolumeType,
			"encrypted":                 "true",
			"csi.storage.k8s.io/fstype": "ext4",
		}
		if cfg.Storage.VolumeType != "gp2" {
			class.Parameters["iops"] = strconv.Itoa(cfg.Storage.IOPS)
		}
		if cfg.Storage.VolumeType == "gp3" {
			class.Parameters["throughput"] = strconv.Itoa(cfg.Storage.Throughput)
		}
	} else {
		class.Provisioner = cfg.Storage.KWOKProvisioner
	}
	return []*storagev1.StorageClass{class}
}

// ebsCSIControllerPatch raises the EBS CSI controller sidecars' API client
// limits and workers. Container args are a plain list in a strategic merge
// patch, so each sidecar's full argument list is given.
func ebsCSIControllerPatch(cfg Config) ([]*appsv1.Deployment, PatchTarget) {
	tuning := []string{
		fmt.Sprintf("--kube-api-qps=%d", cfg.Storage.CSIKubeAPIQPS),
		fmt.Sprintf("--kube-api-burst=%d", cfg.Storage.CSIKubeAPIBurst),
		fmt.Sprintf("--worker-threads=%d", cfg.Storage.CSIWorkerThreads),
	}
	common := []string{"--csi-address=$(ADDRESS)", "--v=2", "--leader-election=true"}
	attacher := append(append(append([]string{}, common...), "--timeout=6m", "--retry-interval-max=5m"), tuning...)
	provisioner := append(append(append([]string{}, common...), "--timeout=60s", "--feature-gates=Topology=true", "--extra-create-metadata", "--default-fstype=ext4"), tuning...)
	deployment := &appsv1.Deployment{
		TypeMeta:   typeMeta("apps/v1", "Deployment"),
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "ebs-csi-controller"},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "csi-attacher", Args: attacher},
			{Name: "csi-provisioner", Args: provisioner},
		}}}},
	}
	return []*appsv1.Deployment{deployment}, PatchTarget{Resource: "deployment", Namespace: "kube-system", Name: "ebs-csi-controller"}
}

// corefilePlugin is one directive of a Corefile server block.
type corefilePlugin struct {
	Name  string
	Args  []string
	Block []corefilePlugin
}

// corefileServer is a Corefile server block.
type corefileServer struct {
	Address string
	Plugins []corefilePlugin
}

func (s corefileServer) String() string {
	var b strings.Builder
	var write func(plugins []corefilePlugin, indent string)
	write = func(plugins []corefilePlugin, indent string) {
		for _, p := range plugins {
			b.WriteString(indent + strings.Join(append([]string{p.Name}, p.Args...), " "))
			if len(p.Block) > 0 {
				b.WriteString(" {\n")
				write(p.Block, indent+"    ")
				b.WriteString(indent + "}")
			}
			b.WriteString("\n")
		}
	}
	b.WriteString(s.Address + " {\n")
	write(s.Plugins, "    ")
	b.WriteString("}\n")
	return b.String()
}

func plugin(name string, args ...string) corefilePlugin {
	return corefilePlugin{Name: name, Args: args}
}

func coreDNSCorefile(cfg Config) corefileServer {
	cache := strconv.Itoa(cfg.DNS.CacheSeconds)
	return corefileServer{Address: ".:53", Plugins: []corefilePlugin{
		plugin("errors"),
		{Name: "health", Block: []corefilePlugin{plugin("lameduck", "5s")}},
		plugin("ready"),
		{Name: "kubernetes", Args: []string{"cluster.local", "in-addr.arpa", "ip6.arpa"}, Block: []corefilePlugin{
			plugin("pods", "insecure"),
			plugin("fallthrough", "in-addr.arpa", "ip6.arpa"),
			plugin("ttl", "30"),
		}},
		plugin("prometheus", ":9153"),
		{Name: "forward", Args: []string{".", "/etc/resolv.conf"}, Block: []corefilePlugin{plugin("max_concurrent", "1000")}},
		// A long cache absorbs the lookups of thousands of executors for the same
		// driver services; prefetch refreshes popular names before they expire.
		{Name: "cache", Args: []string{cache}, Block: []corefilePlugin{
			plugin("success", "9984", cache),
			plugin("denial", "9984", "30"),
			plugin("prefetch", "10", "1m", "10%"),
		}},
		plugin("loop"),
		plugin("reload"),
		plugin("loadbalance"),
	}}
}

func coreDNSConfigPatch(cfg Config) ([]*corev1.ConfigMap, PatchTarget) {
	cm := &corev1.ConfigMap{
		TypeMeta:   typeMeta("v1", "ConfigMap"),
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "coredns"},
		Data:       map[string]string{"Corefile": coreDNSCorefile(cfg).String()},
	}
	return []*corev1.ConfigMap{cm}, PatchTarget{Resource: "configmap", Namespace: "kube-system", Name: "coredns"}
}

// systemPlacement puts a pod on the system pool: it tolerates
// CriticalAddonsOnly and prefers (not requires, so it still starts before the
// pool has nodes) nodes labelled node-role=system.
func systemPlacement(spec *corev1.PodSpec) {
	spec.Tolerations = append(spec.Tolerations, corev1.Toleration{Key: CriticalAddonsOnlyTaintKey, Operator: corev1.TolerationOpExists})
	spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{
			Weight: 100,
			Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{
				{Key: LabelNodeRole, Operator: corev1.NodeSelectorOpIn, Values: []string{NodeRoleSystem}},
			}},
		}},
	}}
}

func coreDNSDeploymentPatch() ([]*appsv1.Deployment, PatchTarget) {
	spec := corev1.PodSpec{
		Containers: []corev1.Container{{
			Name: "coredns",
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
			},
		}},
		TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: labelZone, WhenUnsatisfiable: corev1.ScheduleAnyway,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}},
		}},
	}
	systemPlacement(&spec)
	deployment := &appsv1.Deployment{
		TypeMeta:   typeMeta("apps/v1", "Deployment"),
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "coredns"},
		Spec:       appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: spec}},
	}
	return []*appsv1.Deployment{deployment}, PatchTarget{Resource: "deployment", Namespace: "kube-system", Name: "coredns"}
}

// linearParams is the cluster-proportional-autoscaler's linear mode.
type linearParams struct {
	CoresPerReplica           int  `json:"coresPerReplica"`
	NodesPerReplica           int  `json:"nodesPerReplica"`
	Min                       int  `json:"min"`
	PreventSinglePointFailure bool `json:"preventSinglePointFailure"`
	IncludeUnschedulableNodes bool `json:"includeUnschedulableNodes"`
}

const dnsAutoscalerName = "coredns-autoscaler"

func dnsAutoscaler(cfg Config) []objectOf {
	params, _ := json.Marshal(linearParams{
		CoresPerReplica: cfg.DNS.CoresPerReplica, NodesPerReplica: cfg.DNS.NodesPerReplica,
		Min: cfg.DNS.MinReplicas, PreventSinglePointFailure: true, IncludeUnschedulableNodes: true,
	})
	labels := map[string]string{"app.kubernetes.io/name": dnsAutoscalerName}
	spec := corev1.PodSpec{
		ServiceAccountName: dnsAutoscalerName,
		PriorityClassName:  "system-cluster-critical",
		SecurityContext:    &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65534), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		Containers: []corev1.Container{{
			Name:  "autoscaler",
			Image: "registry.k8s.io/cpa/cluster-proportional-autoscaler:v1.9.0",
			Args: []string{
				"--namespace=kube-system",
				"--configmap=" + dnsAutoscalerName,
				"--target=Deployment/coredns",
				"--default-params={\"linear\":" + string(params) + "}",
				"--logtostderr=true",
				"--v=2",
			},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("20m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")},
			},
			SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
		}},
	}
	systemPlacement(&spec)
	return []objectOf{
		&corev1.ConfigMap{TypeMeta: typeMeta("v1", "ConfigMap"), ObjectMeta: meta("kube-system", dnsAutoscalerName),
			Data: map[string]string{"linear": string(params)}},
		&corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: meta("kube-system", dnsAutoscalerName)},
		&rbacv1.ClusterRole{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "ClusterRole"), ObjectMeta: meta("", "sparkplane:"+dnsAutoscalerName),
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"list", "watch"}},
				{APIGroups: []string{"apps"}, Resources: []string{"deployments/scale"}, Verbs: []string{"get", "update"}},
				{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "create"}},
			}},
		&rbacv1.ClusterRoleBinding{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"), ObjectMeta: meta("", "sparkplane:"+dnsAutoscalerName),
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "sparkplane:" + dnsAutoscalerName},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "kube-system", Name: dnsAutoscalerName}}},
		&appsv1.Deployment{TypeMeta: typeMeta("apps/v1", "Deployment"), ObjectMeta: meta("kube-system", dnsAutoscalerName),
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](1),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
			}},
	}
}
