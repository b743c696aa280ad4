package spark

// Spark's metrics system and the Prometheus JMX exporter, as Kubeflow's
// spec.monitoring sets them up.
const (
	// ConfMetricsConf is the path of metrics.properties.
	ConfMetricsConf = "spark.metrics.conf"
	// ConfUIPrometheusEnabled turns on the executor metrics the driver's UI
	// serves at /metrics/executors/prometheus (Spark's PrometheusServlet).
	ConfUIPrometheusEnabled = "spark.ui.prometheus.enabled"
	ConfDriverJavaOptions   = "spark.driver.extraJavaOptions"
	ConfExecutorJavaOptions = "spark.executor.extraJavaOptions"

	// DefaultJMXExporterPort and DefaultJMXExporterPortName are the JMX
	// exporter's port on the driver and executor pods unless
	// spec.monitoring.prometheus names others (Kubeflow's defaults); the
	// platform bundle's PodMonitors scrape the port by this name.
	DefaultJMXExporterPort     = 8090
	DefaultJMXExporterPortName = "jmx-exporter"
	// JMXExporterMetricsPath is where the JMX exporter serves.
	JMXExporterMetricsPath = "/metrics"
	// UIPortName names the driver's UI port, which also serves the
	// PrometheusServlet endpoints.
	UIPortName = "spark-ui"
	// DriverServletMetricsPath and ExecutorServletMetricsPath are
	// PrometheusServlet's paths on the driver's UI port: the driver's own
	// metrics (with a prometheusServlet sink in metrics.properties) and every
	// executor's (spark.ui.prometheus.enabled).
	DriverServletMetricsPath   = "/metrics/prometheus/"
	ExecutorServletMetricsPath = "/metrics/executors/prometheus/"
)
