package submit

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/internal/spark"
)

// What spec.monitoring mounts: one ConfigMap per attempt holding
// metrics.properties and the JMX exporter's configuration, at MetricsConfDir
// in the driver and every executor.
const (
	MetricsConfDir        = "/etc/metrics/conf"
	MetricsConfVolume     = "spark-metrics-conf"
	MetricsPropertiesFile = "metrics.properties"
	PrometheusConfigFile  = "prometheus.yaml"
)

// DefaultMetricsProperties is metrics.properties when spec.monitoring sets
// none: the JMX sink (what the exporter reads) and the JVM source on the
// driver and the executors.
const DefaultMetricsProperties = `*.sink.jmx.class=org.apache.spark.metrics.sink.JmxSink
driver.source.jvm.class=org.apache.spark.metrics.source.JvmSource
executor.source.jvm.class=org.apache.spark.metrics.source.JvmSource
`

// DefaultPrometheusConfig is the JMX exporter's configuration when
// spec.monitoring.prometheus sets none: every Spark metric (registered
// under "metrics" by the JMX sink), named spark_<metric> in lower case, with
// the application id and the executor id (or "driver") as labels.
const DefaultPrometheusConfig = `lowercaseOutputName: true
lowercaseOutputLabelNames: true
rules:
  - pattern: metrics<name=(\S+?)\.(driver|\d+)\.(\S+)><>Value
    name: spark_$3
    type: GAUGE
    labels:
      app_id: "$1"
      executor_id: "$2"
  - pattern: metrics<name=(\S+?)\.(driver|\d+)\.(\S+)><>Count
    name: spark_$3_total
    type: COUNTER
    labels:
      app_id: "$1"
      executor_id: "$2"
  - pattern: metrics<name=(\S+?)\.(driver|\d+)\.(\S+)><>(Mean|\d+thPercentile)
    name: spark_$3
    type: GAUGE
    labels:
      app_id: "$1"
      executor_id: "$2"
      quantile: "$4"
  - pattern: ".*"
`

// monitoringConf applies spec.monitoring to the effective configuration:
// spark.metrics.conf, and the JMX exporter agent appended to the driver's
// and/or executors' Java options. It fills b.metricsData with the files the
// metrics ConfigMap holds (none when everything comes from the image).
func (b *builder) monitoringConf() {
	m := b.spec.Monitoring
	if m == nil {
		return
	}
	b.metricsData = map[string]string{}
	if file := ptr.Deref(m.MetricsPropertiesFile, ""); file != "" {
		b.conf[spark.ConfMetricsConf] = file
	} else {
		b.conf[spark.ConfMetricsConf] = MetricsConfDir + "/" + MetricsPropertiesFile
		b.metricsData[MetricsPropertiesFile] = ptr.Deref(m.MetricsProperties, DefaultMetricsProperties)
	}
	p := m.Prometheus
	if p == nil {
		return
	}
	config := ptr.Deref(p.ConfigFile, "")
	if config == "" {
		config = MetricsConfDir + "/" + PrometheusConfigFile
		b.metricsData[PrometheusConfigFile] = ptr.Deref(p.Configuration, DefaultPrometheusConfig)
	}
	agent := fmt.Sprintf("-javaagent:%s=%d:%s", p.JmxExporterJar, ptr.Deref(p.Port, spark.DefaultJMXExporterPort), config)
	appendOption := func(key string) {
		b.conf[key] = strings.TrimSpace(b.conf[key] + " " + agent)
	}
	if m.ExposeDriverMetrics {
		appendOption(spark.ConfDriverJavaOptions)
	}
	if m.ExposeExecutorMetrics {
		appendOption(spark.ConfExecutorJavaOptions)
	}
}

// withMonitoring mounts the metrics ConfigMap into the driver and the
// executor template and declares the exporter's port on the pods that run
// it. It returns the ConfigMap, nil when spec.monitoring mounts nothing.
func (b *builder) withMonitoring(driver, executor *corev1.Pod) *corev1.ConfigMap {
	m := b.spec.Monitoring
	if m == nil {
		return nil
	}
	if p := m.Prometheus; p != nil {
		port := corev1.ContainerPort{
			Name:          ptr.Deref(p.PortName, spark.DefaultJMXExporterPortName),
			ContainerPort: ptr.Deref(p.Port, spark.DefaultJMXExporterPort),
			Protocol:      corev1.ProtocolTCP,
		}
		if m.ExposeDriverMetrics {
			driver.Spec.Containers[0].Ports = append(driver.Spec.Containers[0].Ports, port)
		}
		if m.ExposeExecutorMetrics {
			executor.Spec.Containers[0].Ports = append(executor.Spec.Containers[0].Ports, port)
		}
	}
	if len(b.metricsData) == 0 {
		return nil
	}
	name := b.names.Prefix + "-metrics-conf-map"
	for _, pod := range []*corev1.Pod{driver, executor} {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: MetricsConfVolume, VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}}})
		main := &pod.Spec.Containers[0]
		main.VolumeMounts = append(main.VolumeMounts, corev1.VolumeMount{Name: MetricsConfVolume, MountPath: MetricsConfDir})
	}
	return b.configMap(name, b.metricsData)
}
