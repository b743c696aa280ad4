package v1alpha1

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Field names and meanings follow the Kubeflow spark-operator's
// sparkoperator.k8s.io/v1beta2 SparkApplication wherever the meaning is the
// same, so a manifest moves over by changing apiVersion. Differences:
//   - status keeps executor counts by state (ExecutorCounts) instead of
//     Kubeflow's map with one entry per executor, so its size stays bounded
//     at 10,000 executors and status patches stay small;
//   - status.state is one word (Pending, Running, Succeeded, ...) summarising
//     status.conditions, which carry the detail;
//   - spec.profile names a SparkProfile that fills in placement, storage and
//     interruption policy;
//   - fields of Kubeflow's that sparkplane does not implement (template,
//     gpu, envVars, envSecretKeyRefs, runtimeClassName, ports, podName,
//     kubernetesMaster, failureRetries, retryInterval) are refused by the API
//     server with a message naming the alternative (see unsupported_types.go),
//     rather than silently pruned.

// SparkApplicationType is the language of the application's main resource.
// +kubebuilder:validation:Enum=Java;Scala;Python;R
type SparkApplicationType string

// The application types.
const (
	SparkApplicationTypeJava   SparkApplicationType = "Java"
	SparkApplicationTypeScala  SparkApplicationType = "Scala"
	SparkApplicationTypePython SparkApplicationType = "Python"
	SparkApplicationTypeR      SparkApplicationType = "R"
)

// IsJVM reports whether the type runs its main resource on the JVM directly.
func (t SparkApplicationType) IsJVM() bool {
	return t == SparkApplicationTypeJava || t == SparkApplicationTypeScala
}

// DeployMode is how the driver runs. sparkplane submits in cluster mode only.
// +kubebuilder:validation:Enum=cluster
type DeployMode string

// DeployModeCluster runs the driver in a pod of its own.
const DeployModeCluster DeployMode = "cluster"

// MemorySize is a Spark memory size as spark.driver.memory takes it: an
// integer with an optional unit b, k, kb, m, mb, g, gb, t, tb, p or pb (any
// case); no unit means MiB.
// +kubebuilder:validation:MaxLength=24
// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9]+([bBkKmMgGtTpP]|[kKmMgGtTpP][bB])?$')",message="must be a Spark memory size: a whole number with an optional unit k, m, g, t or p (e.g. 4g or 4096m)"
type MemorySize string

// CPUQuantity is a positive Kubernetes CPU quantity such as 500m or 2.
// +kubebuilder:validation:MaxLength=24
// +kubebuilder:validation:XValidation:rule="isQuantity(self) && quantity(self).isGreaterThan(quantity('0'))",message="must be a positive CPU quantity (e.g. 500m or 2)"
type CPUQuantity string

// SparkApplicationSpec is what the user asks for.
//
// +kubebuilder:validation:XValidation:rule="!(self.type in ['Python', 'R'] && has(self.mainClass))",message="mainClass is for Java and Scala applications only; remove it (Python and R applications start from mainApplicationFile)",fieldPath=".mainClass",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!(self.type in ['Java', 'Scala']) || has(self.mainClass)",message="a Java or Scala application needs mainClass (e.g. org.apache.spark.examples.SparkPi)",fieldPath=".mainClass",reason=FieldValueRequired
// +kubebuilder:validation:XValidation:rule="(has(self.image) && size(self.image) > 0) || (has(self.driver.image) && has(self.executor.image))",message="an image is required: set spec.image (or both spec.driver.image and spec.executor.image)",fieldPath=".image",reason=FieldValueRequired
// +kubebuilder:validation:XValidation:rule="!has(self.failureRetries)",message="failureRetries is Kubeflow's deprecated retry count: use restartPolicy.onFailureRetries (sparkplane convert rewrites it)",fieldPath=".failureRetries",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.retryInterval)",message="retryInterval is Kubeflow's deprecated retry interval: use restartPolicy.onFailureRetryInterval (sparkplane convert rewrites it)",fieldPath=".retryInterval",reason=FieldValueForbidden
type SparkApplicationSpec struct {
	// Type is the language of the application: Java, Scala, Python or R.
	Type SparkApplicationType `json:"type"`

	// SparkVersion is the Spark version of the image (e.g. 3.5.3); it becomes
	// the spark-version label.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	SparkVersion string `json:"sparkVersion"`

	// Mode is the deploy mode; only cluster is supported, and the default.
	// +optional
	Mode DeployMode `json:"mode,omitempty"`

	// Profile names a SparkProfile in the application's namespace (or a
	// built-in one) that supplies placement, storage and interruption policy.
	// The profile's choices become the effective spec before submission.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Profile string `json:"profile,omitempty"`

	// ProxyUser is the user to impersonate when submitting (spark.kubernetes
	// --proxy-user); it becomes SPARK_USER.
	// +optional
	ProxyUser *string `json:"proxyUser,omitempty"`

	// Image is the container image for the driver and executors, unless they
	// set one of their own.
	// +optional
	Image *string `json:"image,omitempty"`

	// ImagePullPolicy of the driver and executor containers.
	// +optional
	// +kubebuilder:validation:Enum=Always;Never;IfNotPresent
	ImagePullPolicy *string `json:"imagePullPolicy,omitempty"`

	// ImagePullSecrets are names of Secrets in the namespace used to pull the image.
	// +optional
	ImagePullSecrets []string `json:"imagePullSecrets,omitempty"`

	// MainClass is the main class of a Java or Scala application.
	// +optional
	MainClass *string `json:"mainClass,omitempty"`

	// MainApplicationFile is the application's main resource: a jar, a Python
	// or an R file, as a URI (local:///opt/spark/examples/jars/spark-examples.jar).
	// +kubebuilder:validation:MinLength=1
	MainApplicationFile *string `json:"mainApplicationFile"`

	// Arguments are passed to the application's main.
	// +optional
	Arguments []string `json:"arguments,omitempty"`

	// SparkConf are Spark configuration properties; they win over what
	// sparkplane derives, except the properties that tie the driver to the
	// objects sparkplane creates (spark.app.id, spark.kubernetes.namespace,
	// spark.kubernetes.driver.pod.name, spark.driver.host, ports, pod template).
	// +optional
	SparkConf map[string]string `json:"sparkConf,omitempty"`

	// HadoopConf are Hadoop configuration properties, passed as
	// spark.hadoop.<key>.
	// +optional
	HadoopConf map[string]string `json:"hadoopConf,omitempty"`

	// SparkConfigMap names a ConfigMap of Spark configuration files
	// (log4j2.properties, metrics.properties, spark-defaults.conf, ...). Its
	// files are written beside the generated spark.properties into the
	// driver's SPARK_CONF_DIR (/opt/spark/conf), as spark-submit ships its
	// conf directory, and the driver passes them on to the executors'
	// SPARK_CONF_DIR; spark-defaults.conf entries join the conf below
	// sparkConf.
	// +optional
	SparkConfigMap *string `json:"sparkConfigMap,omitempty"`

	// HadoopConfigMap names a ConfigMap of Hadoop configuration files mounted
	// at /opt/hadoop/conf (HADOOP_CONF_DIR) in the driver and executors.
	// +optional
	HadoopConfigMap *string `json:"hadoopConfigMap,omitempty"`

	// Volumes are pod volumes the driver and executors may mount.
	// +optional
	Volumes []corev1.Volume `json:"volumes,omitempty"`

	// Driver describes the driver pod.
	Driver DriverSpec `json:"driver"`

	// Executor describes the executor pods.
	Executor ExecutorSpec `json:"executor"`

	// Deps are the application's dependencies.
	// +optional
	Deps Dependencies `json:"deps,omitempty"`

	// RestartPolicy says whether and how often a failed application is run again.
	// +optional
	RestartPolicy RestartPolicy `json:"restartPolicy,omitempty"`

	// NodeSelector applies to the driver and executors, merged with theirs.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// PythonVersion is the major Python version (2 or 3) for spark.kubernetes.pyspark.pythonVersion.
	// +optional
	// +kubebuilder:validation:Enum="2";"3"
	PythonVersion *string `json:"pythonVersion,omitempty"`

	// MemoryOverheadFactor is the fraction of memory added as non-heap
	// overhead when memoryOverhead is not set (default 0.1 for JVM
	// applications, 0.4 for Python and R).
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9]+(\.[0-9]+)?$`
	MemoryOverheadFactor *string `json:"memoryOverheadFactor,omitempty"`

	// TimeToLiveSeconds deletes the application this many seconds after it
	// ends (succeeded, or failed with no retry left).
	// +optional
	// +kubebuilder:validation:Minimum=0
	TimeToLiveSeconds *int64 `json:"timeToLiveSeconds,omitempty"`

	// ExecutorStartTimeoutSeconds ends the current attempt Failed with
	// reason ExecutorsStartTimedOut (retried per restartPolicy) when, this
	// long after its first executor was asked for, none of its executors
	// runs and the ExecutorsPending condition says why. Unset waits forever
	// (the condition still reports the wait).
	// +optional
	// +kubebuilder:validation:Minimum=1
	ExecutorStartTimeoutSeconds *int64 `json:"executorStartTimeoutSeconds,omitempty"`

	// DynamicAllocation configures Spark's dynamic executor allocation.
	// +optional
	DynamicAllocation *DynamicAllocation `json:"dynamicAllocation,omitempty"`

	// Monitoring exposes Spark's metrics to Prometheus (JMX exporter agent,
	// metrics.properties).
	// +optional
	// +kubebuilder:validation:XValidation:rule="!((has(self.exposeDriverMetrics) && self.exposeDriverMetrics) || (has(self.exposeExecutorMetrics) && self.exposeExecutorMetrics)) || has(self.prometheus)",message="exposeDriverMetrics and exposeExecutorMetrics run the JMX exporter: set monitoring.prometheus.jmxExporterJar (for Spark's own PrometheusServlet set sparkConf spark.ui.prometheus.enabled instead)",fieldPath=".prometheus"
	Monitoring *MonitoringSpec `json:"monitoring,omitempty"`

	// BatchScheduler gangs the driver and executors: volcano (a PodGroup
	// created before the driver), yunikorn (task groups), or kube-scheduler
	// (the default: no change).
	// +optional
	// +kubebuilder:validation:Enum=volcano;yunikorn;kube-scheduler
	BatchScheduler *string `json:"batchScheduler,omitempty"`

	// BatchSchedulerOptions tune the batch scheduler.
	// +optional
	BatchSchedulerOptions *BatchSchedulerConfiguration `json:"batchSchedulerOptions,omitempty"`

	// SparkUIOptions configure a Service (and Ingress) for the Spark UI of
	// each running driver.
	// +optional
	SparkUIOptions *SparkUIConfiguration `json:"sparkUIOptions,omitempty"`

	// DriverIngressOptions expose further driver ports through a Service and
	// an Ingress each.
	// +optional
	// +listType=map
	// +listMapKey=servicePortName
	// +kubebuilder:validation:MaxItems=8
	DriverIngressOptions []DriverIngressConfiguration `json:"driverIngressOptions,omitempty"`

	// Suspend, when true, keeps the application from running: nothing is
	// created, or the current attempt's driver (and with it its executors)
	// is deleted and the application waits in state Suspended. Setting it
	// back to false starts a new attempt. A finished application is not
	// affected. Queue admission (Kueue) works through this field.
	// +optional
	Suspend *bool `json:"suspend,omitempty"`

	// FailureRetries is refused (Kubeflow's deprecated field).
	// +optional
	FailureRetries *int64 `json:"failureRetries,omitempty"`
	// RetryInterval is refused (Kubeflow's deprecated field).
	// +optional
	RetryInterval *int64 `json:"retryInterval,omitempty"`

	// ClusterSelector restricts the MemberClusters a hub may place the
	// application on to those whose labels it selects (e.g. env: prod).
	// Ignored outside a hub.
	// +optional
	ClusterSelector *metav1.LabelSelector `json:"clusterSelector,omitempty"`
}

// RestartPolicyType says when a finished application runs again.
// +kubebuilder:validation:Enum=Never;OnFailure;Always
type RestartPolicyType string

// The restart policies.
const (
	RestartPolicyNever     RestartPolicyType = "Never"
	RestartPolicyOnFailure RestartPolicyType = "OnFailure"
	RestartPolicyAlways    RestartPolicyType = "Always"
)

// RestartPolicy says whether and how often a failed application runs again.
type RestartPolicy struct {
	// Type is Never (the default), OnFailure or Always.
	// +optional
	Type RestartPolicyType `json:"type,omitempty"`

	// OnSubmissionFailureRetries is how many times a submission that failed
	// (the driver's objects could not be created) is retried.
	// +optional
	// +kubebuilder:validation:Minimum=0
	OnSubmissionFailureRetries *int32 `json:"onSubmissionFailureRetries,omitempty"`

	// OnFailureRetries is how many times a failed run is retried (OnFailure
	// and Always).
	// +optional
	// +kubebuilder:validation:Minimum=0
	OnFailureRetries *int32 `json:"onFailureRetries,omitempty"`

	// OnSubmissionFailureRetryInterval is the seconds between submission retries.
	// +optional
	// +kubebuilder:validation:Minimum=0
	OnSubmissionFailureRetryInterval *int64 `json:"onSubmissionFailureRetryInterval,omitempty"`

	// OnFailureRetryInterval is the seconds between a failure and the next
	// run; each further retry doubles it (capped at ten times).
	// +optional
	// +kubebuilder:validation:Minimum=0
	OnFailureRetryInterval *int64 `json:"onFailureRetryInterval,omitempty"`
}

// Dependencies are files the application needs besides its main resource.
type Dependencies struct {
	// Jars for the classpath (spark.jars).
	// +optional
	Jars []string `json:"jars,omitempty"`
	// Files placed in each executor's working directory (spark.files).
	// +optional
	Files []string `json:"files,omitempty"`
	// PyFiles for the Python path (spark.submit.pyFiles).
	// +optional
	PyFiles []string `json:"pyFiles,omitempty"`
	// Packages are Maven coordinates (spark.jars.packages).
	// +optional
	Packages []string `json:"packages,omitempty"`
	// ExcludePackages are groupId:artifactId to exclude (spark.jars.excludes).
	// +optional
	ExcludePackages []string `json:"excludePackages,omitempty"`
	// Repositories are extra Maven repositories (spark.jars.repositories).
	// +optional
	Repositories []string `json:"repositories,omitempty"`
	// Archives extracted into each executor's working directory (spark.archives).
	// +optional
	Archives []string `json:"archives,omitempty"`
}

// SparkPodSpec is what the driver and executor pods have in common.
type SparkPodSpec struct {
	// Cores is the number of cores (spark.driver.cores / spark.executor.cores).
	// +optional
	// +kubebuilder:validation:Minimum=1
	Cores *int32 `json:"cores,omitempty"`

	// CoreLimit is the container's CPU limit (e.g. 1200m).
	// +optional
	CoreLimit *CPUQuantity `json:"coreLimit,omitempty"`

	// Memory is the JVM heap (spark.driver.memory / spark.executor.memory), e.g. 4g.
	// +optional
	Memory *MemorySize `json:"memory,omitempty"`

	// MemoryOverhead is the non-heap memory added to the container; when
	// unset it is memory × memoryOverheadFactor, at least 384m.
	// +optional
	MemoryOverhead *MemorySize `json:"memoryOverhead,omitempty"`

	// Image overrides spec.image for this pod.
	// +optional
	Image *string `json:"image,omitempty"`

	// ConfigMaps are mounted at the given paths.
	// +optional
	ConfigMaps []NamePath `json:"configMaps,omitempty"`

	// Secrets are mounted at the given paths.
	// +optional
	Secrets []SecretInfo `json:"secrets,omitempty"`

	// Env are environment variables of the Spark container.
	// +optional
	Env []corev1.EnvVar `json:"env,omitempty"`

	// EnvFrom are sources of environment variables of the Spark container.
	// +optional
	EnvFrom []corev1.EnvFromSource `json:"envFrom,omitempty"`

	// Labels are added to the pod.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// Annotations are added to the pod.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// VolumeMounts of the Spark container; each names one of spec.volumes.
	// +optional
	VolumeMounts []corev1.VolumeMount `json:"volumeMounts,omitempty"`

	// Affinity of the pod.
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`

	// Tolerations of the pod.
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// PodSecurityContext of the pod.
	// +optional
	PodSecurityContext *corev1.PodSecurityContext `json:"podSecurityContext,omitempty"`

	// SecurityContext of the Spark container.
	// +optional
	SecurityContext *corev1.SecurityContext `json:"securityContext,omitempty"`

	// SchedulerName of the pod.
	// +optional
	SchedulerName *string `json:"schedulerName,omitempty"`

	// Sidecars run beside the Spark container.
	// +optional
	Sidecars []corev1.Container `json:"sidecars,omitempty"`

	// InitContainers run before the Spark container.
	// +optional
	InitContainers []corev1.Container `json:"initContainers,omitempty"`

	// HostNetwork puts the pod in the node's network namespace.
	// +optional
	HostNetwork *bool `json:"hostNetwork,omitempty"`

	// NodeSelector of the pod, merged over spec.nodeSelector.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// DNSConfig of the pod.
	// +optional
	DNSConfig *corev1.PodDNSConfig `json:"dnsConfig,omitempty"`

	// TerminationGracePeriodSeconds of the pod; for executors this bounds
	// how long decommissioning may take.
	// +optional
	// +kubebuilder:validation:Minimum=0
	TerminationGracePeriodSeconds *int64 `json:"terminationGracePeriodSeconds,omitempty"`

	// ServiceAccount the pod runs as (the driver's needs rights to create
	// executor pods).
	// +optional
	ServiceAccount *string `json:"serviceAccount,omitempty"`

	// HostAliases of the pod.
	// +optional
	HostAliases []corev1.HostAlias `json:"hostAliases,omitempty"`

	// ShareProcessNamespace among the pod's containers.
	// +optional
	ShareProcessNamespace *bool `json:"shareProcessNamespace,omitempty"`

	// Template, GPU, EnvVars, EnvSecretKeyRefs and RuntimeClassName are
	// Kubeflow fields sparkplane refuses, naming the alternative.
	// +optional
	// +kubebuilder:validation:Type=object
	Template *Unsupported `json:"template,omitempty"`
	// +optional
	// +kubebuilder:validation:Type=object
	GPU *Unsupported `json:"gpu,omitempty"`
	// +optional
	EnvVars map[string]string `json:"envVars,omitempty"`
	// +optional
	// +kubebuilder:validation:Type=object
	EnvSecretKeyRefs *Unsupported `json:"envSecretKeyRefs,omitempty"`
	// +optional
	RuntimeClassName *string `json:"runtimeClassName,omitempty"`
}

// DriverSpec describes the driver pod.
// +kubebuilder:validation:XValidation:rule="!has(self.template)",message="a pod template is not supported: use the typed fields (affinity, tolerations, volumeMounts, sidecars, initContainers, securityContext, ...) or a SparkProfile",fieldPath=".template",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.gpu)",message="gpu is not supported: for executors set sparkConf spark.executor.resource.gpu.amount and spark.executor.resource.gpu.vendor (e.g. nvidia.com), which Spark requests on the executor pods",fieldPath=".gpu",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.envVars)",message="envVars is deprecated in Kubeflow: use env (a list of name/value; sparkplane convert rewrites it)",fieldPath=".envVars",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.envSecretKeyRefs)",message="envSecretKeyRefs is deprecated in Kubeflow: use env with valueFrom.secretKeyRef (sparkplane convert rewrites it)",fieldPath=".envSecretKeyRefs",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.runtimeClassName)",message="runtimeClassName is not supported: schedule the pods onto nodes of that runtime with nodeSelector or affinity instead",fieldPath=".runtimeClassName",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.ports)",message="ports is not supported: expose a driver port with spec.driverIngressOptions, or run a sidecar that declares it",fieldPath=".ports",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.podName)",message="driver.podName is for Kubeflow's client modes; sparkplane runs cluster mode only and names the driver <app>-<attempt>-driver: remove it",fieldPath=".podName",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.kubernetesMaster)",message="driver.kubernetesMaster is not supported: the operator sets spark.master for every application: remove it",fieldPath=".kubernetesMaster",reason=FieldValueForbidden
type DriverSpec struct {
	SparkPodSpec `json:",inline"`

	// CoreRequest is the container's CPU request, overriding cores
	// (spark.kubernetes.driver.request.cores), e.g. 500m.
	// +optional
	CoreRequest *CPUQuantity `json:"coreRequest,omitempty"`

	// JavaOptions are extra JVM options (spark.driver.extraJavaOptions).
	// +optional
	JavaOptions *string `json:"javaOptions,omitempty"`

	// Lifecycle of the Spark container.
	// +optional
	Lifecycle *corev1.Lifecycle `json:"lifecycle,omitempty"`

	// ServiceAnnotations are added to the driver service.
	// +optional
	ServiceAnnotations map[string]string `json:"serviceAnnotations,omitempty"`

	// ServiceLabels are added to the driver service.
	// +optional
	ServiceLabels map[string]string `json:"serviceLabels,omitempty"`

	// PriorityClassName of the driver pod.
	// +optional
	PriorityClassName *string `json:"priorityClassName,omitempty"`

	// PodName, KubernetesMaster and Ports are Kubeflow fields sparkplane
	// refuses, naming the alternative.
	// +optional
	PodName *string `json:"podName,omitempty"`
	// +optional
	KubernetesMaster *string `json:"kubernetesMaster,omitempty"`
	// +optional
	Ports []UnsupportedPort `json:"ports,omitempty"`
}

// ExecutorSpec describes the executor pods.
// +kubebuilder:validation:XValidation:rule="!has(self.template)",message="a pod template is not supported: use the typed fields (affinity, tolerations, volumeMounts, sidecars, initContainers, securityContext, ...) or a SparkProfile",fieldPath=".template",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.gpu)",message="gpu is not supported: for executors set sparkConf spark.executor.resource.gpu.amount and spark.executor.resource.gpu.vendor (e.g. nvidia.com), which Spark requests on the executor pods",fieldPath=".gpu",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.envVars)",message="envVars is deprecated in Kubeflow: use env (a list of name/value; sparkplane convert rewrites it)",fieldPath=".envVars",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.envSecretKeyRefs)",message="envSecretKeyRefs is deprecated in Kubeflow: use env with valueFrom.secretKeyRef (sparkplane convert rewrites it)",fieldPath=".envSecretKeyRefs",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.runtimeClassName)",message="runtimeClassName is not supported: schedule the pods onto nodes of that runtime with nodeSelector or affinity instead",fieldPath=".runtimeClassName",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.ports)",message="ports is not supported: expose a driver port with spec.driverIngressOptions, or run a sidecar that declares it",fieldPath=".ports",reason=FieldValueForbidden
type ExecutorSpec struct {
	SparkPodSpec `json:",inline"`

	// Instances is the number of executors (spark.executor.instances).
	// +optional
	// +kubebuilder:validation:Minimum=0
	Instances *int32 `json:"instances,omitempty"`

	// CoreRequest is the container's CPU request, overriding cores
	// (spark.kubernetes.executor.request.cores), e.g. 500m.
	// +optional
	CoreRequest *CPUQuantity `json:"coreRequest,omitempty"`

	// JavaOptions are extra JVM options (spark.executor.extraJavaOptions).
	// +optional
	JavaOptions *string `json:"javaOptions,omitempty"`

	// Lifecycle of the Spark container.
	// +optional
	Lifecycle *corev1.Lifecycle `json:"lifecycle,omitempty"`

	// DeleteOnTermination says whether the driver deletes executor pods that
	// ended (spark.kubernetes.executor.deleteOnTermination).
	// +optional
	DeleteOnTermination *bool `json:"deleteOnTermination,omitempty"`

	// PriorityClassName of the executor pods.
	// +optional
	PriorityClassName *string `json:"priorityClassName,omitempty"`

	// Ports is a Kubeflow field sparkplane refuses, naming the alternative.
	// +optional
	Ports []UnsupportedPort `json:"ports,omitempty"`
}

// NamePath is a ConfigMap mounted at a path.
type NamePath struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +kubebuilder:validation:MinLength=1
	Path string `json:"path"`
}

// SecretType says how a mounted Secret is used.
// +kubebuilder:validation:Enum=GCPServiceAccount;HadoopDelegationToken;Generic
type SecretType string

// The secret types.
const (
	SecretTypeGCPServiceAccount     SecretType = "GCPServiceAccount"
	SecretTypeHadoopDelegationToken SecretType = "HadoopDelegationToken"
	SecretTypeGeneric               SecretType = "Generic"
)

// SecretInfo is a Secret mounted at a path.
type SecretInfo struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +kubebuilder:validation:MinLength=1
	Path string     `json:"path"`
	Type SecretType `json:"secretType"`
}

// DynamicAllocation configures Spark's dynamic executor allocation
// (spark.dynamicAllocation.*).
// +kubebuilder:validation:XValidation:rule="!has(self.minExecutors) || !has(self.maxExecutors) || self.minExecutors <= self.maxExecutors",message="minExecutors must not exceed maxExecutors",fieldPath=".minExecutors"
type DynamicAllocation struct {
	// +optional
	Enabled bool `json:"enabled,omitempty"`
	// +optional
	// +kubebuilder:validation:Minimum=0
	InitialExecutors *int32 `json:"initialExecutors,omitempty"`
	// +optional
	// +kubebuilder:validation:Minimum=0
	MinExecutors *int32 `json:"minExecutors,omitempty"`
	// +optional
	// +kubebuilder:validation:Minimum=0
	MaxExecutors *int32 `json:"maxExecutors,omitempty"`
	// ShuffleTrackingEnabled defaults to true when dynamic allocation is on
	// and no external shuffle service is configured.
	// +optional
	ShuffleTrackingEnabled *bool `json:"shuffleTrackingEnabled,omitempty"`
	// ShuffleTrackingTimeout in milliseconds.
	// +optional
	// +kubebuilder:validation:Minimum=0
	ShuffleTrackingTimeout *int64 `json:"shuffleTrackingTimeout,omitempty"`
}

// ApplicationState is a one-word summary of status.conditions.
type ApplicationState string

// The states. An application moves Pending → Running → Succeeded or Failed;
// with a restart policy it goes from a failure to Retrying and back to Pending.
const (
	// StateNew: not reconciled yet.
	StateNew ApplicationState = ""
	// StatePending: the driver's objects exist; the driver pod is not running yet.
	StatePending ApplicationState = "Pending"
	// StateRunning: the driver container runs.
	StateRunning ApplicationState = "Running"
	// StateRetrying: an attempt failed and the next one waits for its backoff.
	StateRetrying ApplicationState = "Retrying"
	// StateSucceeded: the driver exited 0 (terminal unless restartPolicy is Always).
	StateSucceeded ApplicationState = "Succeeded"
	// StateFailed: the application ended in failure with no retry left (terminal).
	StateFailed ApplicationState = "Failed"
	// StateSuspended: spec.suspend is true; no driver runs. Not terminal:
	// clearing spec.suspend starts a new attempt.
	StateSuspended ApplicationState = "Suspended"
)

// IsTerminal reports whether the application has ended for good (TTL counts from here).
func (s ApplicationState) IsTerminal() bool {
	return s == StateSucceeded || s == StateFailed
}

// Condition types of status.conditions.
const (
	// ConditionAccepted is True when the operator found the (effective) spec
	// valid; False with reason InvalidSpec or ProfileNotFound and a message that
	// names the field and the fix.
	ConditionAccepted = "Accepted"
	// ConditionSubmitted is True when the current attempt's driver objects
	// exist; False while waiting to retry or when submission failed.
	ConditionSubmitted = "Submitted"
	// ConditionRunning is True while the driver container runs.
	ConditionRunning = "Running"
	// ConditionCompleted is True once the application has ended for good;
	// the reason says how (Succeeded, DriverFailed, ...).
	ConditionCompleted = "Completed"
	// ConditionDriverNodeInterrupted is set True (reason DriverNodeInterrupted)
	// by the interruption controller when the current attempt's driver runs on
	// a node that got an interruption notice; status.interruptions.driver
	// names the driver pod, the node and the notice, in the same write. The
	// application controller then deletes that driver,
	// ends the attempt with reason DriverNodeInterrupted and retries per
	// spec.restartPolicy; when the next attempt starts it sets the condition
	// False with reason NextAttemptStarted.
	ConditionDriverNodeInterrupted = "DriverNodeInterrupted"
	// ConditionSuspended is True (reason Suspended) while spec.suspend holds
	// the application; False with reason Resumed once spec.suspend is false
	// again and the next attempt was started.
	ConditionSuspended = "Suspended"
	// ConditionExecutorsPending is True while executors of the current
	// attempt have waited longer than the operator's pending threshold
	// (default 60s) without running; the reason says what blocks them
	// (StorageClassNotFound, PersistentVolumeClaimUnbound,
	// InsufficientCapacity, ImagePullFailed, QuotaExceeded,
	// AdmissionRefused, Unschedulable, ContainerNotStarted) and the message
	// carries the scheduler's or kubelet's words; status.executorsPending
	// names the pods. False (reason ExecutorsStarted) once they run.
	ConditionExecutorsPending = "ExecutorsPending"
	// ConditionImagePlatformsUnknown is True when the platforms of the
	// driver's or the executors' image could not be read from its registry
	// at the current attempt's submission: the reason is the lookup's
	// (RegistryTimeout, RegistryUnreachable, RegistryUnauthorized,
	// ImageNotFound, InvalidImageReference, NotAnImage, RegistryError), the
	// message names the image and the error, and the pods got the profile's
	// placement unchanged. False (reason PlatformsFound) once a later
	// attempt read them. Absent when the platforms were always known or
	// not looked up.
	ConditionImagePlatformsUnknown = "ImagePlatformsUnknown"
)

// Reasons about image platforms.
const (
	// ReasonPlatformsFound: ImagePlatformsUnknown=False, the registry answered.
	ReasonPlatformsFound = "PlatformsFound"
	// ReasonImagePlatformMismatch: the application failed at submission
	// because an image has no platform the profile's tiers and
	// architectures offer; the message names the image, its platforms and
	// the tiers.
	ReasonImagePlatformMismatch = "ImagePlatformMismatch"
)

// Reasons of the ExecutorsPending condition (the first eight also describe
// a driver stuck pending, in the Running condition's message).
const (
	// ReasonStorageClassNotFound: a claim names a StorageClass that does not exist.
	ReasonStorageClassNotFound = "StorageClassNotFound"
	// ReasonClaimUnbound: a PersistentVolumeClaim is not bound (no provisioner, no matching volume).
	ReasonClaimUnbound = "PersistentVolumeClaimUnbound"
	// ReasonInsufficientCapacity: no node of the allowed tiers has room.
	ReasonInsufficientCapacity = "InsufficientCapacity"
	// ReasonImagePullFailed: the kubelet cannot pull the image.
	ReasonImagePullFailed = "ImagePullFailed"
	// ReasonQuotaExceeded: a ResourceQuota of the namespace is used up, so
	// the driver cannot create executors.
	ReasonQuotaExceeded = "QuotaExceeded"
	// ReasonAdmissionRefused: the API server refused the executor pods (an
	// admission webhook or policy).
	ReasonAdmissionRefused = "AdmissionRefused"
	// ReasonUnschedulable: the scheduler found no node for another reason.
	ReasonUnschedulable = "Unschedulable"
	// ReasonContainerNotStarted: the pod is on a node but its container has
	// not started (volume mount, configuration error, ...).
	ReasonContainerNotStarted = "ContainerNotStarted"
	// ReasonExecutorsStarted: ExecutorsPending=False, nothing waits any more.
	ReasonExecutorsStarted = "ExecutorsStarted"
	// ReasonExecutorsStartTimedOut: the attempt ended because no executor
	// started within spec.executorStartTimeoutSeconds.
	ReasonExecutorsStartTimedOut = "ExecutorsStartTimedOut"
)

// Condition reasons.
const (
	ReasonValid            = "Valid"
	ReasonInvalidSpec      = "InvalidSpec"
	ReasonProfileNotFound  = "ProfileNotFound"
	ReasonDriverCreated    = "DriverCreated"
	ReasonSubmissionFailed = "SubmissionFailed"
	// ReasonMissingPrerequisite: a StorageClass the pods' volumes need does
	// not exist; the message names it and what creates it.
	ReasonMissingPrerequisite = "MissingPrerequisite"
	ReasonWaitingForRetry     = "WaitingForRetry"
	ReasonDriverPending       = "DriverPending"
	ReasonDriverRunning       = "DriverRunning"
	ReasonDriverSucceeded     = "DriverSucceeded"
	ReasonDriverFailed        = "DriverFailed"
	// ReasonDriverPendingTimeout: the driver pod stayed Pending longer than
	// the operator's driver-pending timeout.
	ReasonDriverPendingTimeout = "DriverPendingTimeout"
	// ReasonDriverDeleted: the driver pod disappeared while running.
	ReasonDriverDeleted = "DriverDeleted"
	// ReasonDriverNodeInterrupted: the driver's node got an interruption
	// notice (spot reclaim, ...); the driver was deleted. Profiles should keep
	// drivers on on-demand nodes (SparkProfile spec.driver.capacityType).
	ReasonDriverNodeInterrupted = "DriverNodeInterrupted"
	// ReasonNextAttemptStarted: DriverNodeInterrupted=False once a new attempt
	// replaced the interrupted one.
	ReasonNextAttemptStarted = "NextAttemptStarted"
	ReasonInProgress         = "InProgress"
	ReasonSucceeded          = "Succeeded"
	// ReasonSuspended: spec.suspend is true (conditions Suspended, Running
	// and Submitted).
	ReasonSuspended = "Suspended"
	// ReasonResumed: Suspended=False after spec.suspend went back to false.
	ReasonResumed = "Resumed"
	// ReasonServiceAccountNotFound: the ServiceAccount the driver would run
	// as (named by the application, its profile or its namespace) does not
	// exist; nothing was created.
	ReasonServiceAccountNotFound = "ServiceAccountNotFound"
)

// SparkApplicationStatus is what the operator observed. The
// sparkapplication controller writes it with merge patches, never whole;
// interruptions is written only by the interruption controller and profile
// only by the profile integration.
type SparkApplicationStatus struct {
	// ObservedGeneration is the spec generation the status was last
	// successfully reconciled from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Accepted, Submitted, Running, Completed.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// State is a one-word summary: Pending, Running, Retrying, Suspended, Succeeded, Failed.
	// +optional
	State ApplicationState `json:"state,omitempty"`

	// SparkApplicationID is spark.app.id of the current attempt (also the
	// spark-app-selector label of its pods).
	// +optional
	SparkApplicationID string `json:"sparkApplicationId,omitempty"`

	// DriverInfo locates the current attempt's driver.
	// +optional
	DriverInfo DriverInfo `json:"driverInfo,omitempty"`

	// Executors counts the current attempt's executor pods by state.
	// +optional
	Executors ExecutorCounts `json:"executors,omitempty"`

	// Attempts is how many times the driver was submitted (1 for the first run).
	// +optional
	Attempts int32 `json:"attempts,omitempty"`

	// SubmissionAttempts counts failed attempts to create the driver's objects
	// for the current attempt.
	// +optional
	SubmissionAttempts int32 `json:"submissionAttempts,omitempty"`

	// LastSubmissionAttemptTime is when the current attempt was submitted.
	// +optional
	LastSubmissionAttemptTime *metav1.Time `json:"lastSubmissionAttemptTime,omitempty"`

	// StartTime is when the current attempt's driver container started.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`

	// TerminationTime is when the last attempt ended.
	// +optional
	TerminationTime *metav1.Time `json:"terminationTime,omitempty"`

	// Zone is the topology zone the driver is placed in, set from profile resolution.
	// +optional
	Zone string `json:"zone,omitempty"`

	// Profile is the SparkProfile the effective spec was resolved from.
	// Written by the profile integration.
	// +optional
	Profile *ProfileReference `json:"profile,omitempty"`

	// Interruptions counts node interruption notices that hit this
	// application's executors. Written only by the interruption controller.
	// +optional
	Interruptions *InterruptionStatus `json:"interruptions,omitempty"`

	// Placement is the member cluster a hub placed the application on.
	// Written only by the hub operator, on the hub's application.
	// +optional
	Placement *Placement `json:"placement,omitempty"`
	// ExecutorsPending says why the current attempt's executors wait; set
	// with the ExecutorsPending condition, removed when it turns False.
	// +optional
	ExecutorsPending *PendingPods `json:"executorsPending,omitempty"`

	// Resolution is the profile resolver's decision for the current attempt:
	// how the profile was picked, the zone and why, the zones' scores and the
	// priority classes. Written with the attempt's submission; what
	// `sparkplane explain` shows as decided.
	// +optional
	Resolution *Resolution `json:"resolution,omitempty"`
}

// PendingPods is what blocks pods that wait too long to run.
type PendingPods struct {
	// Reason is the ExecutorsPending condition's reason.
	Reason string `json:"reason"`
	// Cause is the blocking part in a few words, as list shows it
	// (StorageClass "sparkplane-shuffle" not found).
	Cause string `json:"cause"`
	// Message is the scheduler's or kubelet's message of one blocked pod.
	// +optional
	Message string `json:"message,omitempty"`
	// Count is how many executors wait.
	Count int32 `json:"count"`
	// Pods names up to ten of them.
	// +optional
	// +listType=atomic
	Pods []string `json:"pods,omitempty"`
	// Since is when the longest-waiting of them was created.
	Since metav1.Time `json:"since"`
}

// Resolution records how the current attempt was resolved against its
// profile. (status.placement is reserved for the hub's choice of cluster.)
type Resolution struct {
	// ProfileVia says how the profile (status.profile) was picked: spec.profile,
	// the namespace's default, the cluster default, or none.
	// +optional
	ProfileVia string `json:"profileVia,omitempty"`
	// Zone the driver and executors are pinned to (the same as status.zone);
	// empty when none.
	// +optional
	Zone string `json:"zone,omitempty"`
	// ZoneReason says why that zone, or why none.
	// +optional
	ZoneReason string `json:"zoneReason,omitempty"`
	// ZoneScores are the zones that were compared, best first.
	// +optional
	// +listType=atomic
	ZoneScores []ZoneScore `json:"zoneScores,omitempty"`
	// DriverPriorityClass and ExecutorPriorityClass are the pods' priority
	// classes after resolution; empty when none.
	// +optional
	DriverPriorityClass string `json:"driverPriorityClass,omitempty"`
	// +optional
	ExecutorPriorityClass string `json:"executorPriorityClass,omitempty"`
	// Warnings are profile settings resolution had to leave out, and why.
	// +optional
	// +listType=atomic
	Warnings []string `json:"warnings,omitempty"`
	// Images are the driver's and the executors' images with the platforms
	// their registry gave at submission; placement allows only the
	// architectures they have. Empty when images are not looked up.
	// +optional
	// +listType=atomic
	Images []ImagePlatforms `json:"images,omitempty"`
	// ExcludedTiers are the profile's executor tiers left out because the
	// executor image lacks their architecture.
	// +optional
	// +listType=atomic
	ExcludedTiers []string `json:"excludedTiers,omitempty"`
}

// ImagePlatforms is what an image's registry said about it at submission.
type ImagePlatforms struct {
	// Roles are the pods that run the image: driver, executor.
	// +listType=atomic
	Roles []string `json:"roles"`
	// Image is the reference as the pods name it.
	Image string `json:"image"`
	// Digest of the manifest or index the reference named; empty when unknown.
	// +optional
	Digest string `json:"digest,omitempty"`
	// Platforms found, os/architecture[/variant], sorted; empty when unknown.
	// +optional
	// +listType=atomic
	Platforms []string `json:"platforms,omitempty"`
	// UnknownReason says why the platforms are unknown (the
	// ImagePlatformsUnknown condition's reason); empty when they are known.
	// +optional
	UnknownReason string `json:"unknownReason,omitempty"`
	// Message is the lookup's error when they are unknown.
	// +optional
	Message string `json:"message,omitempty"`
}

// Architectures are the linux architectures among Platforms (the values of
// the kubernetes.io/arch node label the image runs on), in order; nil when
// the platforms are unknown.
func (i ImagePlatforms) Architectures() []string {
	var out []string
	for _, p := range i.Platforms {
		parts := strings.SplitN(p, "/", 3)
		if len(parts) < 2 || parts[0] != "linux" {
			continue
		}
		seen := false
		for _, a := range out {
			seen = seen || a == parts[1]
		}
		if !seen {
			out = append(out, parts[1])
		}
	}
	return out
}

// ZoneScore is one zone as zone choice compared it.
type ZoneScore struct {
	Zone string `json:"zone"`
	// FreeExecutors is how many of the application's executors fit in the
	// zone's free capacity when the choice was made; absent when nodes are
	// created on demand (free capacity was not consulted).
	// +optional
	FreeExecutors *int64 `json:"freeExecutors,omitempty"`
	// Applications is how many unfinished applications were pinned to the
	// zone.
	// +optional
	Applications int32 `json:"applications,omitempty"`
}

// DriverInfo locates the driver of the current attempt.
type DriverInfo struct {
	// PodName of the driver pod.
	// +optional
	PodName string `json:"podName,omitempty"`
	// WebUIServiceName is the driver's headless service.
	// +optional
	WebUIServiceName string `json:"webUIServiceName,omitempty"`
	// WebUIAddress is host:port of the Spark UI inside the cluster.
	// +optional
	WebUIAddress string `json:"webUIAddress,omitempty"`
	// WebUIPort is the Spark UI port.
	// +optional
	WebUIPort int32 `json:"webUIPort,omitempty"`
	// WebUIIngressName is the UI Ingress, when the operator creates one
	// (--ingress-url-format).
	// +optional
	WebUIIngressName string `json:"webUIIngressName,omitempty"`
	// WebUIIngressAddress is the UI's URL through the Ingress.
	// +optional
	WebUIIngressAddress string `json:"webUIIngressAddress,omitempty"`
}

// ExecutorCounts counts executor pods by state. Its size does not grow with
// the number of executors (Kubeflow keeps a map entry per executor).
type ExecutorCounts struct {
	// +optional
	Pending int32 `json:"pending,omitempty"`
	// +optional
	Running int32 `json:"running,omitempty"`
	// +optional
	Succeeded int32 `json:"succeeded,omitempty"`
	// +optional
	Failed int32 `json:"failed,omitempty"`
}

// ProfileReference records the profile a spec was resolved from.
type ProfileReference struct {
	Name string `json:"name"`
	// Generation of the SparkProfile that was applied.
	// +optional
	Generation int64 `json:"generation,omitempty"`
}

// InterruptionStatus counts interruption notices for the application.
type InterruptionStatus struct {
	// Notices is how many node interruption notices hit the application's pods.
	// +optional
	Notices int32 `json:"notices,omitempty"`
	// ExecutorsDecommissioned is how many executors were asked to decommission.
	// +optional
	ExecutorsDecommissioned int32 `json:"executorsDecommissioned,omitempty"`
	// LastNoticeTime is when the last notice was seen.
	// +optional
	LastNoticeTime *metav1.Time `json:"lastNoticeTime,omitempty"`
	// Driver is set, together with the DriverNodeInterrupted condition, when
	// a driver of the application ran on a node that got a notice. It names
	// that driver pod, so a report about an earlier attempt's driver does not
	// end the current one.
	// +optional
	Driver *DriverInterruption `json:"driver,omitempty"`
}

// DriverInterruption is a notice on the node of an application's driver.
type DriverInterruption struct {
	// Pod is the driver pod's name.
	Pod string `json:"pod"`
	// Node is the node that got the notice.
	Node string `json:"node"`
	// Signal names the signal that gave the notice (e.g. spot-itn,
	// karpenter-disrupted).
	// +optional
	Signal string `json:"signal,omitempty"`
	// NoticeTime is when the notice was first seen.
	NoticeTime metav1.Time `json:"noticeTime"`
}

// SparkApplication is a Spark application run natively on Kubernetes.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 63",message="metadata.name must be at most 63 characters: it becomes the sparkplane.io/application label of every pod"
// +kubebuilder:resource:shortName=sparkapp;sparkapps,categories=spark
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`
// +kubebuilder:printcolumn:name="Attempts",type=integer,JSONPath=`.status.attempts`
// +kubebuilder:printcolumn:name="Executors",type=integer,JSONPath=`.status.executors.running`,description="running executors"
// +kubebuilder:printcolumn:name="Driver",type=string,JSONPath=`.status.driverInfo.podName`,priority=1
// +kubebuilder:printcolumn:name="Profile",type=string,JSONPath=`.spec.profile`,priority=1
// +kubebuilder:printcolumn:name="Cluster",type=string,JSONPath=`.status.placement.cluster`,priority=1
// +kubebuilder:printcolumn:name="App ID",type=string,JSONPath=`.status.sparkApplicationId`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type SparkApplication struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   SparkApplicationSpec   `json:"spec"`
	Status SparkApplicationStatus `json:"status,omitempty"`
}

// SparkApplicationList is a list of SparkApplications.
//
// +kubebuilder:object:root=true
type SparkApplicationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SparkApplication `json:"items"`
}

func init() {
	SchemeBuilder.Register(&SparkApplication{}, &SparkApplicationList{})
}
