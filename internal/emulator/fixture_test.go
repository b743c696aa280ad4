package emulator

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// driverFixture is a driver pod and its ConfigMaps as spark-submit (and
// sparkplane's operator) create them: spark.properties in
// <prefix>-driver-conf-map mounted at /opt/spark/conf, the executor template
// in <prefix>-driver-podspec-conf-map under a different key than its file
// name, mounted at /opt/spark/pod-template.
func driverFixture(namespace string, props string) (*corev1.Pod, []*corev1.ConfigMap) {
	prefix := "spark-pi-7f3a"
	pod := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name: prefix + "-driver", Namespace: namespace, UID: "0b1c2d3e-0000-4000-8000-000000000001",
			Labels: map[string]string{
				LabelSparkRole: RoleDriver, LabelAppSelector: "spark-0123456789abcdef", LabelApplication: "spark-pi",
			},
		},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{
				Name:  "spark-kubernetes-driver",
				Image: "apache/spark:3.5.3",
				Args:  []string{"driver", "--properties-file", "/opt/spark/conf/spark.properties", "--class", "org.apache.spark.examples.SparkPi", "local:///opt/spark/examples/jars/spark-examples.jar"},
				Env: []corev1.EnvVar{
					{Name: "SPARK_USER", Value: "alice"},
					{Name: "SPARK_APPLICATION_ID", Value: "spark-0123456789abcdef"},
					{Name: "SPARK_DRIVER_BIND_ADDRESS", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "status.podIP"}}},
					{Name: "SPARK_CONF_DIR", Value: "/opt/spark/conf"},
				},
				VolumeMounts: []corev1.VolumeMount{
					{Name: "spark-local-dir-1", MountPath: "/var/data/spark-1"},
					{Name: "pod-template-volume", MountPath: "/opt/spark/pod-template"},
					{Name: "spark-conf-volume-driver", MountPath: "/opt/spark/conf"},
				},
			}},
			Volumes: []corev1.Volume{
				{Name: "spark-local-dir-1", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "pod-template-volume", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: prefix + "-driver-podspec-conf-map"},
					Items:                []corev1.KeyToPath{{Key: "podspec-configmap-key", Path: "pod-spec-template.yml"}},
				}}},
				{Name: "spark-conf-volume-driver", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: prefix + "-driver-conf-map"},
					Items:                []corev1.KeyToPath{{Key: "spark.properties", Path: "spark.properties", Mode: new(int32)}},
				}}},
			},
		},
	}
	template := `apiVersion: v1
kind: Pod
metadata:
  labels:
    sparkplane.io/application: spark-pi
    sparkplane.io/tier: executor
spec:
  affinity:
    nodeAffinity:
      preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        preference:
          matchExpressions:
          - key: kubernetes.io/arch
            operator: In
            values: [arm64]
  tolerations:
  - key: kwok.x-k8s.io/node
    operator: Exists
    effect: NoSchedule
  terminationGracePeriodSeconds: 90
  containers:
  - name: spark-kubernetes-executor
    resources:
      requests:
        ephemeral-storage: 1Gi
`
	cms := []*corev1.ConfigMap{
		{ObjectMeta: metav1.ObjectMeta{Name: prefix + "-driver-conf-map", Namespace: namespace}, Data: map[string]string{"spark.properties": props}},
		{ObjectMeta: metav1.ObjectMeta{Name: prefix + "-driver-podspec-conf-map", Namespace: namespace}, Data: map[string]string{"podspec-configmap-key": template}},
	}
	return pod, cms
}

const fixtureProps = `#Java properties built from Kubernetes config map with name: spark-pi-7f3a-driver-conf-map
spark.app.name=Spark Pi
spark.app.id=spark-0123456789abcdef
spark.master=k8s\://https\://127.0.0.1\:6443
spark.driver.host=spark-pi-7f3a-driver-svc.team-a.svc
spark.driver.port=7078
spark.kubernetes.namespace=team-a
spark.kubernetes.driver.pod.name=spark-pi-7f3a-driver
spark.kubernetes.executor.podNamePrefix=spark-pi-7f3a
spark.kubernetes.container.image=apache/spark:3.5.3
spark.kubernetes.executor.podTemplateFile=/opt/spark/pod-template/pod-spec-template.yml
spark.kubernetes.authenticate.driver.serviceAccountName=spark
spark.kubernetes.executor.label.team=a
spark.kubernetes.executor.annotation.sparkplane.io/app-id={{APP_ID}}
spark.kubernetes.node.selector.topology.kubernetes.io/zone=zone-a
spark.executor.instances=3
spark.executor.cores=2
spark.executor.memory=4g
spark.executorEnv.MY_ENV=hello
spark.executor.extraJavaOptions=-XX:+UseG1GC -Dexec={{EXECUTOR_ID}}
spark.decommission.enabled=true
spark.storage.decommission.enabled=true
spark.storage.decommission.shuffleBlocks.enabled=true
spark.kubernetes.memoryOverheadFactor=0.1
spark.eventLog.enabled=true
spark.eventLog.dir=s3a://bucket/events
`

// configMapsGetter serves ConfigMaps from a slice.
func configMapsGetter(cms []*corev1.ConfigMap) ConfigMapGetter {
	return func(_ context.Context, namespace, name string) (*corev1.ConfigMap, error) {
		for _, cm := range cms {
			if cm.Namespace == namespace && cm.Name == name {
				return cm, nil
			}
		}
		return nil, fmt.Errorf("getting: %w", apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, name))
	}
}
