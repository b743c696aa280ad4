package v1alpha1

// MonitoringSpec exposes Spark's metrics to Prometheus, as Kubeflow's
// spec.monitoring: the Prometheus JMX exporter as a Java agent on the driver
// and/or executors (with its configuration mounted and its port declared on
// the pods), and Spark's metrics.properties. Spark's own PrometheusServlet
// (spark.ui.prometheus.enabled and a prometheusServlet sink in
// metricsProperties) needs no agent: the driver's UI port serves it.
// +kubebuilder:validation:XValidation:rule="!has(self.metricsProperties) || !has(self.metricsPropertiesFile)",message="set metricsProperties (the file's content) or metricsPropertiesFile (a path in the image), not both",fieldPath=".metricsPropertiesFile"
type MonitoringSpec struct {
	// ExposeDriverMetrics runs the JMX exporter on the driver (needs prometheus).
	// +optional
	ExposeDriverMetrics bool `json:"exposeDriverMetrics"`

	// ExposeExecutorMetrics runs the JMX exporter on the executors (needs prometheus).
	// +optional
	ExposeExecutorMetrics bool `json:"exposeExecutorMetrics"`

	// MetricsProperties is the content of Spark's metrics.properties; it is
	// mounted at /etc/metrics/conf/metrics.properties (spark.metrics.conf).
	// Default: a JMX sink and the JVM source on the driver and executors.
	// +optional
	MetricsProperties *string `json:"metricsProperties,omitempty"`

	// MetricsPropertiesFile is a metrics.properties already in the image,
	// used as spark.metrics.conf instead of a mounted one.
	// +optional
	MetricsPropertiesFile *string `json:"metricsPropertiesFile,omitempty"`

	// Prometheus configures the Prometheus JMX exporter Java agent.
	// +optional
	Prometheus *PrometheusSpec `json:"prometheus,omitempty"`
}

// PrometheusSpec configures the Prometheus JMX exporter Java agent.
// +kubebuilder:validation:XValidation:rule="!has(self.configFile) || !has(self.configuration)",message="set configuration (the exporter's YAML) or configFile (a path in the image), not both",fieldPath=".configFile"
type PrometheusSpec struct {
	// JmxExporterJar is the path of the JMX exporter Java agent jar in the image.
	// +kubebuilder:validation:MinLength=1
	JmxExporterJar string `json:"jmxExporterJar"`

	// Port the exporter serves /metrics on (default 8090).
	// +optional
	// +kubebuilder:validation:Minimum=1024
	// +kubebuilder:validation:Maximum=49151
	Port *int32 `json:"port,omitempty"`

	// PortName names the port on the pods (default jmx-exporter).
	// +optional
	// +kubebuilder:validation:MaxLength=15
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	PortName *string `json:"portName,omitempty"`

	// ConfigFile is the exporter's configuration already in the image.
	// +optional
	ConfigFile *string `json:"configFile,omitempty"`

	// Configuration is the exporter's configuration (YAML), mounted at
	// /etc/metrics/conf/prometheus.yaml. Default: every Spark metric,
	// lower-cased, with the application and executor as labels.
	// +optional
	Configuration *string `json:"configuration,omitempty"`
}
