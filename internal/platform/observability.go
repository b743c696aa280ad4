package platform

import (
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/sparkplane/sparkplane/internal/spark"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

// prometheusName names the Prometheus CR; rules and monitors carry the label
// prometheus=<prometheusName> that it selects.
const prometheusName = "sparkplane"

// VerticalPodAutoscaler mirrors autoscaling.k8s.io/v1 VerticalPodAutoscaler
// (k8s.io/autoscaler/vertical-pod-autoscaler). That module requires newer
// k8s.io/* than sparkplane uses, so this small mirror is checked against its
// CRD (testdata/crds/vpa-v1-crd-gen.yaml) by a server-side dry run instead.
type VerticalPodAutoscaler struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              VPASpec `json:"spec"`
}

// VPASpec mirrors the spec fields the bundle sets.
type VPASpec struct {
	TargetRef      VPATargetRef       `json:"targetRef"`
	UpdatePolicy   *VPAUpdatePolicy   `json:"updatePolicy,omitempty"`
	ResourcePolicy *VPAResourcePolicy `json:"resourcePolicy,omitempty"`
}

// VPATargetRef is the scaled workload (autoscaling/v1 CrossVersionObjectReference).
type VPATargetRef struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
}

// VPAUpdatePolicy says how recommendations are applied.
type VPAUpdatePolicy struct {
	UpdateMode string `json:"updateMode,omitempty"`
}

// VPAResourcePolicy bounds the recommendations per container.
type VPAResourcePolicy struct {
	ContainerPolicies []VPAContainerPolicy `json:"containerPolicies,omitempty"`
}

// VPAContainerPolicy bounds one container's recommendation.
type VPAContainerPolicy struct {
	ContainerName       string                `json:"containerName,omitempty"`
	MinAllowed          corev1.ResourceList   `json:"minAllowed,omitempty"`
	MaxAllowed          corev1.ResourceList   `json:"maxAllowed,omitempty"`
	ControlledResources []corev1.ResourceName `json:"controlledResources,omitempty"`
	ControlledValues    string                `json:"controlledValues,omitempty"`
}

// DeepCopyObject makes VerticalPodAutoscaler a runtime.Object.
func (in *VerticalPodAutoscaler) DeepCopyObject() runtime.Object {
	out := *in
	in.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	if in.Spec.UpdatePolicy != nil {
		out.Spec.UpdatePolicy = ptr.To(*in.Spec.UpdatePolicy)
	}
	if in.Spec.ResourcePolicy != nil {
		policy := VPAResourcePolicy{}
		for _, c := range in.Spec.ResourcePolicy.ContainerPolicies {
			copied := c
			copied.MinAllowed = c.MinAllowed.DeepCopy()
			copied.MaxAllowed = c.MaxAllowed.DeepCopy()
			copied.ControlledResources = append([]corev1.ResourceName(nil), c.ControlledResources...)
			policy.ContainerPolicies = append(policy.ContainerPolicies, copied)
		}
		out.Spec.ResourcePolicy = &policy
	}
	return &out
}

func prometheus(cfg Config) []objectOf {
	ns := cfg.MonitoringNamespace
	selectSparkplane := &metav1.LabelSelector{MatchLabels: map[string]string{"prometheus": prometheusName}}
	spec := monitoringv1.PrometheusSpec{
		CommonPrometheusFields: monitoringv1.CommonPrometheusFields{
			Replicas:                    ptr.To[int32](2),
			ServiceAccountName:          "prometheus-" + prometheusName,
			PodMonitorSelector:          selectSparkplane,
			PodMonitorNamespaceSelector: &metav1.LabelSelector{},
			ScrapeInterval:              "30s",
			ExternalLabels:              map[string]string{"cluster": cfg.ClusterName},
			// Requests are a starting point; the VPA below keeps them matched to
			// the series count as the fleet grows.
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("2Gi"),
			}},
			Tolerations: []corev1.Toleration{{Key: CriticalAddonsOnlyTaintKey, Operator: corev1.TolerationOpExists}},
			Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{Weight: 100, Preference: corev1.NodeSelectorTerm{
					MatchExpressions: []corev1.NodeSelectorRequirement{{Key: LabelNodeRole, Operator: corev1.NodeSelectorOpIn, Values: []string{NodeRoleSystem}}},
				}}},
			}},
		},
		Retention:             monitoringv1.Duration(cfg.Observability.Retention),
		RuleSelector:          selectSparkplane,
		RuleNamespaceSelector: &metav1.LabelSelector{},
	}
	if url := cfg.Observability.RemoteWriteURL; url != "" {
		remote := monitoringv1.RemoteWriteSpec{
			URL: url,
			QueueConfig: &monitoringv1.QueueConfig{
				MaxSamplesPerSend: 2000, MaxShards: 200, Capacity: 10000,
			},
		}
		if cfg.Provider == ProviderAWS {
			// Amazon Managed Service for Prometheus authenticates with SigV4 and the
			// pod's IAM role (IRSA or EKS Pod Identity).
			remote.Sigv4 = &monitoringv1.Sigv4{Region: cfg.AWS.Region}
		}
		spec.RemoteWrite = []monitoringv1.RemoteWriteSpec{remote}
	}
	prom := &monitoringv1.Prometheus{
		TypeMeta:   typeMeta("monitoring.coreos.com/v1", "Prometheus"),
		ObjectMeta: meta(ns, prometheusName),
		Spec:       spec,
	}
	account := "prometheus-" + prometheusName
	vpa := &VerticalPodAutoscaler{
		TypeMeta:   typeMeta("autoscaling.k8s.io/v1", "VerticalPodAutoscaler"),
		ObjectMeta: meta(ns, "prometheus-"+prometheusName),
		Spec: VPASpec{
			TargetRef:    VPATargetRef{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "prometheus-" + prometheusName},
			UpdatePolicy: &VPAUpdatePolicy{UpdateMode: "InPlaceOrRecreate"},
			ResourcePolicy: &VPAResourcePolicy{ContainerPolicies: []VPAContainerPolicy{
				{
					ContainerName:       "prometheus",
					MinAllowed:          corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("1Gi")},
					MaxAllowed:          corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8"), corev1.ResourceMemory: resource.MustParse(cfg.Observability.PrometheusMaxMemory)},
					ControlledResources: []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory},
					ControlledValues:    "RequestsAndLimits",
				},
				{ContainerName: "*", ControlledValues: "RequestsOnly"},
			}},
		},
	}
	return []objectOf{
		&corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: meta(ns, account)},
		&rbacv1.ClusterRole{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "ClusterRole"), ObjectMeta: meta("", "sparkplane:"+account),
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"nodes", "nodes/metrics", "services", "endpoints", "pods"}, Verbs: []string{"get", "list", "watch"}},
				{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"get", "list", "watch"}},
				{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}},
			}},
		&rbacv1.ClusterRoleBinding{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"), ObjectMeta: meta("", "sparkplane:"+account),
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "sparkplane:" + account},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: account}}},
		prom,
		vpa,
	}
}

// The driver PodMonitor scrapes both kinds of Spark metrics an application
// may expose: Spark's own PrometheusServlet on the driver's UI port (Spark 3+
// with spark.ui.prometheus.enabled=true and the PrometheusServlet sink, which
// the history-server sparkConf below turns on) — the driver's metrics and,
// through the driver, every executor's — and the Prometheus JMX exporter
// agent that spec.monitoring.prometheus adds, on its named port. A pod
// without one of the ports is simply not a target for that endpoint; the
// executor PodMonitor scrapes the exporter on executors
// (spec.monitoring.exposeExecutorMetrics).
const (
	sparkUIPortName          = spark.UIPortName
	sparkDriverMetricsPath   = spark.DriverServletMetricsPath
	sparkExecutorMetricsPath = spark.ExecutorServletMetricsPath
)

func podMonitors(cfg Config) []*monitoringv1.PodMonitor {
	labels := func(name string) metav1.ObjectMeta {
		m := meta(cfg.MonitoringNamespace, name)
		m.Labels["prometheus"] = prometheusName
		return m
	}
	operator := &monitoringv1.PodMonitor{
		TypeMeta:   typeMeta("monitoring.coreos.com/v1", "PodMonitor"),
		ObjectMeta: labels("sparkplane-operator"),
		Spec: monitoringv1.PodMonitorSpec{
			Selector:          metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "sparkplane", "app.kubernetes.io/component": "operator"}},
			NamespaceSelector: monitoringv1.NamespaceSelector{MatchNames: []string{cfg.Namespace}},
			PodMetricsEndpoints: []monitoringv1.PodMetricsEndpoint{
				{Port: ptr.To("metrics"), Path: "/metrics", Interval: "30s"},
			},
		},
	}
	drivers := &monitoringv1.PodMonitor{
		TypeMeta:   typeMeta("monitoring.coreos.com/v1", "PodMonitor"),
		ObjectMeta: labels("spark-drivers"),
		Spec: monitoringv1.PodMonitorSpec{
			Selector:          metav1.LabelSelector{MatchLabels: map[string]string{spark.LabelRole: spark.RoleDriver}},
			NamespaceSelector: monitoringv1.NamespaceSelector{MatchNames: cfg.SparkNamespaces},
			// The application id label lets dashboards group drivers and
			// executors by application.
			PodTargetLabels: []string{spark.LabelAppSelector, spark.LabelAppName},
			PodMetricsEndpoints: []monitoringv1.PodMetricsEndpoint{
				{Port: ptr.To(sparkUIPortName), Path: sparkDriverMetricsPath, Interval: "30s"},
				{Port: ptr.To(sparkUIPortName), Path: sparkExecutorMetricsPath, Interval: "30s"},
				{Port: ptr.To(spark.DefaultJMXExporterPortName), Path: spark.JMXExporterMetricsPath, Interval: "30s"},
			},
		},
	}
	executors := &monitoringv1.PodMonitor{
		TypeMeta:   typeMeta("monitoring.coreos.com/v1", "PodMonitor"),
		ObjectMeta: labels("spark-executors"),
		Spec: monitoringv1.PodMonitorSpec{
			Selector:          metav1.LabelSelector{MatchLabels: map[string]string{spark.LabelRole: spark.RoleExecutor}},
			NamespaceSelector: monitoringv1.NamespaceSelector{MatchNames: cfg.SparkNamespaces},
			PodTargetLabels:   []string{spark.LabelAppSelector, spark.LabelAppName},
			PodMetricsEndpoints: []monitoringv1.PodMetricsEndpoint{
				{Port: ptr.To(spark.DefaultJMXExporterPortName), Path: spark.JMXExporterMetricsPath, Interval: "30s"},
			},
		},
	}
	return []*monitoringv1.PodMonitor{operator, drivers, executors}
}
