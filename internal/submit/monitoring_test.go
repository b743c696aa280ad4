package submit

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/spark"
)

// monitoringCases are the three ways Kubeflow users expose metrics.
func monitoringCases() map[string]*v1alpha1.SparkApplication {
	jmx := scalaApp()
	jmx.Spec.Driver.JavaOptions = ptr.To("-XX:+UseG1GC")
	jmx.Spec.Monitoring = &v1alpha1.MonitoringSpec{
		ExposeDriverMetrics: true, ExposeExecutorMetrics: true,
		Prometheus: &v1alpha1.PrometheusSpec{JmxExporterJar: "/prometheus/jmx_prometheus_javaagent-0.11.0.jar", Port: ptr.To[int32](8090)},
	}

	fromImage := scalaApp()
	fromImage.Spec.Monitoring = &v1alpha1.MonitoringSpec{
		ExposeExecutorMetrics: true,
		MetricsPropertiesFile: ptr.To("/opt/spark/conf/metrics.properties"),
		Prometheus: &v1alpha1.PrometheusSpec{JmxExporterJar: "/prometheus/agent.jar", Port: ptr.To[int32](9100),
			PortName: ptr.To("metrics"), ConfigFile: ptr.To("/prometheus/config.yaml")},
	}

	servlet := pythonApp()
	servlet.Spec.SparkConf = map[string]string{spark.ConfUIPrometheusEnabled: "true"}
	servlet.Spec.Monitoring = &v1alpha1.MonitoringSpec{MetricsProperties: ptr.To(
		"*.sink.prometheusServlet.class=org.apache.spark.metrics.sink.PrometheusServlet\n*.sink.prometheusServlet.path=/metrics/prometheus\n")}
	return map[string]*v1alpha1.SparkApplication{"jmx": jmx, "jmx-from-image": fromImage, "servlet": servlet}
}

// TestMonitoringGolden pins every object of each monitoring mode
// (testdata/monitoring-<mode>.golden.yaml; -update rewrites them).
func TestMonitoringGolden(t *testing.T) {
	for name, app := range monitoringCases() {
		t.Run(name, func(t *testing.T) {
			objs, err := Build(app, Options{Attempt: 1})
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "monitoring-"+name+".golden.yaml", append([]any{objs.DriverPod}, anySlice(objs.Dependents())...)...)
		})
	}
}

func anySlice[T any](in []T) []any {
	out := make([]any, len(in))
	for i, v := range in {
		out[i] = v
	}
	return out
}

func hasPort(pod *corev1.Pod, name string, port int32) bool {
	return slices.ContainsFunc(pod.Spec.Containers[0].Ports, func(p corev1.ContainerPort) bool { return p.Name == name && p.ContainerPort == port })
}

func mountsMetrics(pod *corev1.Pod) bool {
	return slices.ContainsFunc(pod.Spec.Containers[0].VolumeMounts, func(m corev1.VolumeMount) bool {
		return m.Name == MetricsConfVolume && m.MountPath == MetricsConfDir
	})
}

// TestMonitoringBehaviour states, apart from the goldens, what each mode
// must do for Prometheus to find the metrics.
func TestMonitoringBehaviour(t *testing.T) {
	cases := monitoringCases()

	objs, err := Build(cases["jmx"], Options{Attempt: 1})
	if err != nil {
		t.Fatal(err)
	}
	agent := "-javaagent:/prometheus/jmx_prometheus_javaagent-0.11.0.jar=8090:/etc/metrics/conf/prometheus.yaml"
	if got := objs.Conf[spark.ConfDriverJavaOptions]; got != "-XX:+UseG1GC "+agent {
		t.Errorf("driver Java options = %q; want the user's options, then the agent", got)
	}
	if got := objs.Conf[spark.ConfExecutorJavaOptions]; got != agent {
		t.Errorf("executor Java options = %q, want %q", got, agent)
	}
	if objs.Conf[spark.ConfMetricsConf] != "/etc/metrics/conf/metrics.properties" {
		t.Errorf("spark.metrics.conf = %q", objs.Conf[spark.ConfMetricsConf])
	}
	if !hasPort(objs.DriverPod, "jmx-exporter", 8090) || !hasPort(objs.ExecutorTemplate, "jmx-exporter", 8090) {
		t.Errorf("the exporter port must be declared on the driver and the executors")
	}
	if !mountsMetrics(objs.DriverPod) || !mountsMetrics(objs.ExecutorTemplate) {
		t.Errorf("the metrics configuration must be mounted in the driver and the executors")
	}
	cm := objs.MetricsConfigMap
	if cm == nil || cm.Data[MetricsPropertiesFile] != DefaultMetricsProperties || cm.Data[PrometheusConfigFile] != DefaultPrometheusConfig {
		t.Fatalf("metrics ConfigMap = %+v", cm)
	}

	objs, err = Build(cases["jmx-from-image"], Options{Attempt: 1})
	if err != nil {
		t.Fatal(err)
	}
	if objs.MetricsConfigMap != nil || mountsMetrics(objs.DriverPod) {
		t.Errorf("configuration from the image: nothing to mount, got ConfigMap %v", objs.MetricsConfigMap)
	}
	if _, ok := objs.Conf[spark.ConfDriverJavaOptions]; ok || hasPort(objs.DriverPod, "metrics", 9100) {
		t.Errorf("exposeDriverMetrics is false: the driver must run no agent (options %q)", objs.Conf[spark.ConfDriverJavaOptions])
	}
	if objs.Conf[spark.ConfExecutorJavaOptions] != "-javaagent:/prometheus/agent.jar=9100:/prometheus/config.yaml" || !hasPort(objs.ExecutorTemplate, "metrics", 9100) {
		t.Errorf("executor agent %q, ports %v", objs.Conf[spark.ConfExecutorJavaOptions], objs.ExecutorTemplate.Spec.Containers[0].Ports)
	}
	if objs.Conf[spark.ConfMetricsConf] != "/opt/spark/conf/metrics.properties" {
		t.Errorf("spark.metrics.conf = %q", objs.Conf[spark.ConfMetricsConf])
	}

	objs, err = Build(cases["servlet"], Options{Attempt: 1})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(objs.Conf[spark.ConfDriverJavaOptions], "javaagent") || !hasPort(objs.DriverPod, spark.UIPortName, DefaultUIPort) {
		t.Errorf("servlet: no agent, metrics on the UI port")
	}
	if objs.Conf[spark.ConfUIPrometheusEnabled] != "true" || !strings.Contains(objs.MetricsConfigMap.Data[MetricsPropertiesFile], "PrometheusServlet") {
		t.Errorf("servlet: spark.ui.prometheus.enabled %q, metrics.properties %q", objs.Conf[spark.ConfUIPrometheusEnabled], objs.MetricsConfigMap.Data[MetricsPropertiesFile])
	}
	// Every dependent is owned by the driver, the metrics ConfigMap too.
	driver := objs.DriverPod.DeepCopy()
	driver.UID = "driver-uid"
	objs.OwnByDriver(driver)
	if ref := objs.MetricsConfigMap.OwnerReferences; len(ref) != 1 || ref[0].UID != "driver-uid" {
		t.Errorf("metrics ConfigMap owner = %v", ref)
	}
}
