package platform

import (
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// FluentBitConfig is Fluent Bit's YAML configuration (fluent-bit.yaml, Fluent
// Bit 2.0+), reduced to what the bundle sets.
type FluentBitConfig struct {
	Service  FluentBitService  `json:"service"`
	Pipeline FluentBitPipeline `json:"pipeline"`
}

// FluentBitService is the [SERVICE] section.
type FluentBitService struct {
	Flush       int    `json:"flush"`
	LogLevel    string `json:"log_level"`
	HTTPServer  bool   `json:"http_server"`
	HTTPPort    int    `json:"http_port"`
	HealthCheck bool   `json:"health_check"`
	ParsersFile string `json:"parsers_file"`
}

// FluentBitPipeline is the input → filter → output chain.
type FluentBitPipeline struct {
	Inputs  []FluentBitTailInput        `json:"inputs"`
	Filters []FluentBitKubernetesFilter `json:"filters"`
	Outputs []FluentBitS3Output         `json:"outputs"`
}

// FluentBitTailInput tails the containers' log files.
type FluentBitTailInput struct {
	Name            string `json:"name"`
	Tag             string `json:"tag"`
	Path            string `json:"path"`
	MultilineParser string `json:"multiline.parser"`
	DB              string `json:"db"`
	MemBufLimit     string `json:"mem_buf_limit"`
	SkipLongLines   bool   `json:"skip_long_lines"`
	RefreshInterval int    `json:"refresh_interval"`
}

// FluentBitKubernetesFilter adds pod metadata to each record.
type FluentBitKubernetesFilter struct {
	Name          string `json:"name"`
	Match         string `json:"match"`
	KubeTagPrefix string `json:"kube_tag_prefix"`
	// UseKubelet takes metadata from the node's kubelet (/pods) instead of
	// the API server: one local call per node instead of thousands of
	// API-server watches and gets.
	UseKubelet  bool   `json:"use_kubelet"`
	KubeletHost string `json:"kubelet_host"`
	KubeletPort int    `json:"kubelet_port"`
	BufferSize  string `json:"buffer_size"`
	MergeLog    bool   `json:"merge_log"`
	Labels      bool   `json:"labels"`
	Annotations bool   `json:"annotations"`
}

// FluentBitS3Output ships records to object storage.
type FluentBitS3Output struct {
	Name          string `json:"name"`
	Match         string `json:"match"`
	Bucket        string `json:"bucket"`
	Region        string `json:"region"`
	Endpoint      string `json:"endpoint,omitempty"`
	S3KeyFormat   string `json:"s3_key_format"`
	TotalFileSize string `json:"total_file_size"`
	UploadTimeout string `json:"upload_timeout"`
	Compression   string `json:"compression"`
	UsePutObject  bool   `json:"use_put_object"`
	StoreDir      string `json:"store_dir"`
	StoreDirLimit string `json:"store_dir_limit_size"`
	RetryLimit    int    `json:"retry_limit"`
	PreserveOrder bool   `json:"preserve_data_ordering"`
}

const fluentBitName = "fluent-bit"

// FluentBit returns the Fluent Bit configuration the bundle ships.
func FluentBit(cfg Config) FluentBitConfig {
	return FluentBitConfig{
		Service: FluentBitService{Flush: 5, LogLevel: "info", HTTPServer: true, HTTPPort: 2020, HealthCheck: true, ParsersFile: "/fluent-bit/etc/parsers.conf"},
		Pipeline: FluentBitPipeline{
			Inputs: []FluentBitTailInput{{
				Name: "tail", Tag: "kube.*", Path: "/var/log/containers/*.log", MultilineParser: "cri",
				DB: "/var/fluent-bit/state/tail-containers.db", MemBufLimit: "50MB", SkipLongLines: true, RefreshInterval: 10,
			}},
			Filters: []FluentBitKubernetesFilter{{
				Name: "kubernetes", Match: "kube.*", KubeTagPrefix: "kube.var.log.containers.",
				UseKubelet: true, KubeletHost: "${NODE_IP}", KubeletPort: 10250, BufferSize: "0",
				MergeLog: true, Labels: true, Annotations: false,
			}},
			Outputs: []FluentBitS3Output{{
				Name: "s3", Match: "kube.*", Bucket: cfg.ObjectStore.Bucket, Region: cfg.AWS.Region, Endpoint: cfg.ObjectStore.Endpoint,
				S3KeyFormat:   "/" + cfg.ObjectStore.LogsPrefix + "/$TAG[4]/%Y/%m/%d/%H/$UUID.gz",
				TotalFileSize: "100M", UploadTimeout: "5m", Compression: "gzip", UsePutObject: true,
				StoreDir: "/var/fluent-bit/s3", StoreDirLimit: "2G", RetryLimit: 5, PreserveOrder: true,
			}},
		},
	}
}

func fluentBit(cfg Config) []objectOf {
	ns := cfg.LoggingNamespace
	config, err := yaml.Marshal(FluentBit(cfg))
	if err != nil {
		panic(err) // plain structs always marshal
	}
	labels := map[string]string{"app.kubernetes.io/name": fluentBitName}
	hostPath := func(name, path string) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path}}}
	}
	spec := corev1.PodSpec{
		ServiceAccountName: fluentBitName,
		PriorityClassName:  "system-node-critical",
		// On the host's network the kubelet is local, and the DaemonSet takes no
		// VPC address per node.
		HostNetwork: true,
		DNSPolicy:   corev1.DNSClusterFirstWithHostNet,
		// Every node ships its logs, whatever its taints (drivers, system, spot).
		Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
		Containers: []corev1.Container{{
			Name:  fluentBitName,
			Image: "cr.fluentbit.io/fluent/fluent-bit:3.2.10",
			Args:  []string{"--config=/fluent-bit/etc/conf/fluent-bit.yaml"},
			Env:   []corev1.EnvVar{{Name: "NODE_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.hostIP"}}}},
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 2020, Protocol: corev1.ProtocolTCP}},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
			},
			LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/api/v1/health", Port: intstr.FromString("http")}}},
			VolumeMounts: []corev1.VolumeMount{
				{Name: "config", MountPath: "/fluent-bit/etc/conf"},
				{Name: "varlog", MountPath: "/var/log", ReadOnly: true},
				{Name: "state", MountPath: "/var/fluent-bit"},
			},
		}},
		Volumes: []corev1.Volume{
			{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: fluentBitName}}}},
			hostPath("varlog", "/var/log"),
			hostPath("state", "/var/fluent-bit"),
		},
	}
	return []objectOf{
		&corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: meta(ns, fluentBitName)},
		&rbacv1.ClusterRole{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "ClusterRole"), ObjectMeta: meta("", "sparkplane:"+fluentBitName),
			// Only the kubelet's pod list (nodes/proxy): nothing is read from the API server.
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"nodes/proxy"}, Verbs: []string{"get"}}}},
		&rbacv1.ClusterRoleBinding{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"), ObjectMeta: meta("", "sparkplane:"+fluentBitName),
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "sparkplane:" + fluentBitName},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: fluentBitName}}},
		&corev1.ConfigMap{TypeMeta: typeMeta("v1", "ConfigMap"), ObjectMeta: meta(ns, fluentBitName), Data: map[string]string{"fluent-bit.yaml": string(config)}},
		&appsv1.DaemonSet{TypeMeta: typeMeta("apps/v1", "DaemonSet"), ObjectMeta: meta(ns, fluentBitName),
			Spec: appsv1.DaemonSetSpec{
				Selector:       &metav1.LabelSelector{MatchLabels: labels},
				UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType, RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromString("10%"))}},
				Template:       corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
			}},
	}
}

// SparkProperties is a spark-defaults.conf: one "key value" line per entry,
// sorted by key.
type SparkProperties map[string]string

func (p SparkProperties) String() string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %s\n", k, p[k])
	}
	return b.String()
}

func (cfg Config) eventLogDir() string {
	return "s3a://" + cfg.ObjectStore.Bucket + "/" + cfg.ObjectStore.EventLogPrefix + "/"
}

func (cfg Config) s3aProperties() SparkProperties {
	props := SparkProperties{"spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem"}
	if cfg.ObjectStore.Endpoint != "" {
		props["spark.hadoop.fs.s3a.endpoint"] = cfg.ObjectStore.Endpoint
		props["spark.hadoop.fs.s3a.path.style.access"] = "true"
	} else {
		props["spark.hadoop.fs.s3a.endpoint.region"] = cfg.AWS.Region
		// The pod's IAM role (IRSA / EKS Pod Identity), never static keys.
		props["spark.hadoop.fs.s3a.aws.credentials.provider"] = "com.amazonaws.auth.DefaultAWSCredentialsProviderChain"
	}
	return props
}

// ApplicationSparkConf is the sparkConf applications use so the History
// Server finds their event logs, and so their drivers serve Prometheus
// metrics for themselves and their executors.
func ApplicationSparkConf(cfg Config) SparkProperties {
	props := cfg.s3aProperties()
	for k, v := range map[string]string{
		"spark.eventLog.enabled":                            "true",
		"spark.eventLog.dir":                                cfg.eventLogDir(),
		"spark.eventLog.compress":                           "true",
		"spark.eventLog.rolling.enabled":                    "true",
		"spark.eventLog.rolling.maxFileSize":                "128m",
		"spark.ui.prometheus.enabled":                       "true",
		"spark.metrics.conf.*.sink.prometheusServlet.class": "org.apache.spark.metrics.sink.PrometheusServlet",
		"spark.metrics.conf.*.sink.prometheusServlet.path":  "/metrics/prometheus",
	} {
		props[k] = v
	}
	return props
}

// historyServerProperties is the History Server's spark-defaults.conf.
func historyServerProperties(cfg Config) SparkProperties {
	props := cfg.s3aProperties()
	for k, v := range map[string]string{
		"spark.history.fs.logDirectory":           cfg.eventLogDir(),
		"spark.history.fs.update.interval":        "30s",
		"spark.history.fs.cleaner.enabled":        "true",
		"spark.history.fs.cleaner.maxAge":         "30d",
		"spark.history.fs.numReplayThreads":       "8",
		"spark.history.store.hybridStore.enabled": "true",
		"spark.history.ui.port":                   "18080",
	} {
		props[k] = v
	}
	return props
}

const historyServerName = "spark-history-server"

func historyServer(cfg Config) []objectOf {
	ns := cfg.Namespace
	labels := map[string]string{"app.kubernetes.io/name": historyServerName}
	spec := corev1.PodSpec{
		ServiceAccountName: historyServerName,
		// Pod Security "restricted", like everything in cfg.Namespace.
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](185), FSGroup: ptr.To[int64](185),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		Containers: []corev1.Container{{
			SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false),
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
			Name:    "history-server",
			Image:   cfg.HistoryServer.Image,
			Command: []string{"/opt/spark/bin/spark-class", "org.apache.spark.deploy.history.HistoryServer"},
			Env:     []corev1.EnvVar{{Name: "SPARK_CONF_DIR", Value: "/opt/spark/conf-sparkplane"}, {Name: "SPARK_NO_DAEMONIZE", Value: "true"}},
			Ports:   []corev1.ContainerPort{{Name: "http", ContainerPort: 18080, Protocol: corev1.ProtocolTCP}},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("2Gi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("4Gi")},
			},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromString("http")}}, InitialDelaySeconds: 10},
			VolumeMounts: []corev1.VolumeMount{
				{Name: "conf", MountPath: "/opt/spark/conf-sparkplane"},
				{Name: "scratch", MountPath: "/tmp"},
			},
		}},
		Volumes: []corev1.Volume{
			{Name: "conf", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: historyServerName}}}},
			{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		},
	}
	systemPlacement(&spec)
	return []objectOf{
		&corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: meta(ns, historyServerName)},
		&corev1.ConfigMap{TypeMeta: typeMeta("v1", "ConfigMap"), ObjectMeta: meta(ns, historyServerName),
			Data: map[string]string{"spark-defaults.conf": historyServerProperties(cfg).String()}},
		&corev1.ConfigMap{TypeMeta: typeMeta("v1", "ConfigMap"), ObjectMeta: meta(ns, "spark-application-defaults"),
			Data: map[string]string{"spark-defaults.conf": ApplicationSparkConf(cfg).String()}},
		&appsv1.Deployment{TypeMeta: typeMeta("apps/v1", "Deployment"), ObjectMeta: meta(ns, historyServerName),
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](1),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
			}},
		&corev1.Service{TypeMeta: typeMeta("v1", "Service"), ObjectMeta: meta(ns, historyServerName),
			Spec: corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Name: "http", Port: 18080, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}}}},
	}
}
