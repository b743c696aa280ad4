package submit

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/spark"
)

// labels are the labels Spark and sparkplane put on a pod of the given role,
// over the user's own.
func (b *builder) labels(role string, user map[string]string) map[string]string {
	out := maps.Clone(user)
	if out == nil {
		out = map[string]string{}
	}
	out[v1alpha1.LabelApplication] = b.app.Name
	out[spark.LabelAppSelector] = b.names.AppID
	out[spark.LabelRole] = role
	out[spark.LabelAppName] = AppNameLabel(b.app.Name)
	out[spark.LabelVersion] = b.spec.SparkVersion
	return out
}

// nodeSelector is spark.kubernetes.node.selector.* overlaid by the role's
// spark.kubernetes.<role>.node.selector.* (the typed spec.nodeSelector and
// spec.<role>.nodeSelector are in the conf by now).
func (b *builder) nodeSelector(rolePrefix string) map[string]string {
	return merged(withPrefix(b.conf, spark.ConfNodeSelector), withPrefix(b.conf, rolePrefix))
}

func (b *builder) pullPolicy() corev1.PullPolicy {
	return corev1.PullPolicy(ptr.Deref(b.spec.ImagePullPolicy, string(corev1.PullIfNotPresent)))
}

// podSpec is what the driver pod and the executor template share; the
// caller sets the fields whose confs differ by role (node selector,
// scheduler name, service account).
func (b *builder) podSpec(pod *v1alpha1.SparkPodSpec, volumes []corev1.Volume, main corev1.Container) corev1.PodSpec {
	spec := corev1.PodSpec{
		RestartPolicy:                 corev1.RestartPolicyNever,
		Volumes:                       volumes,
		InitContainers:                deepCopyContainers(pod.InitContainers),
		Containers:                    append([]corev1.Container{main}, deepCopyContainers(pod.Sidecars)...),
		Tolerations:                   slices.Clone(pod.Tolerations),
		ImagePullSecrets:              b.pullSecrets(),
		HostNetwork:                   ptr.Deref(pod.HostNetwork, false),
		ShareProcessNamespace:         pod.ShareProcessNamespace,
		TerminationGracePeriodSeconds: pod.TerminationGracePeriodSeconds,
		HostAliases:                   slices.Clone(pod.HostAliases),
	}
	if pod.Affinity != nil {
		spec.Affinity = pod.Affinity.DeepCopy()
	}
	if pod.PodSecurityContext != nil {
		spec.SecurityContext = pod.PodSecurityContext.DeepCopy()
	}
	if pod.DNSConfig != nil {
		spec.DNSConfig = pod.DNSConfig.DeepCopy()
	}
	return spec
}

func deepCopyContainers(in []corev1.Container) []corev1.Container {
	if len(in) == 0 {
		return nil
	}
	out := make([]corev1.Container, len(in))
	for i := range in {
		in[i].DeepCopyInto(&out[i])
	}
	return out
}

func (b *builder) driverPod() *corev1.Pod {
	s := b.spec
	d := &s.Driver
	mainClass := ptr.Deref(s.MainClass, "")
	switch s.Type {
	case v1alpha1.SparkApplicationTypePython:
		mainClass = "org.apache.spark.deploy.PythonRunner"
	case v1alpha1.SparkApplicationTypeR:
		mainClass = "org.apache.spark.deploy.RRunner"
	}
	args := []string{"driver", "--properties-file", SparkConfPath, "--class", mainClass, ptr.Deref(s.MainApplicationFile, "")}
	args = append(args, s.Arguments...)

	env := []corev1.EnvVar{
		{Name: "SPARK_USER", Value: ptr.Deref(s.ProxyUser, b.opts.SparkUser)},
		{Name: "SPARK_APPLICATION_ID", Value: b.names.AppID},
	}
	// spark.kubernetes.driverEnv.NAME becomes the driver's environment, as in Spark.
	for _, key := range slices.Sorted(maps.Keys(b.conf)) {
		if name, ok := strings.CutPrefix(key, "spark.kubernetes.driverEnv."); ok && name != "" {
			env = append(env, corev1.EnvVar{Name: name, Value: b.conf[key]})
		}
	}
	// Python interpreters, as Spark's DriverCommandFeatureStep passes them.
	for key, name := range map[string]string{"spark.pyspark.python": "PYSPARK_PYTHON", "spark.pyspark.driver.python": "PYSPARK_DRIVER_PYTHON"} {
		if v := b.conf[key]; v != "" && s.Type == v1alpha1.SparkApplicationTypePython {
			env = append(env, corev1.EnvVar{Name: name, Value: v})
		}
	}
	slices.SortStableFunc(env[2:], func(a, b corev1.EnvVar) int { return strings.Compare(a.Name, b.Name) })
	env = append(env, secretKeyRefEnv(b.conf, spark.ConfDriverSecretKeyRef)...)
	env = append(env,
		corev1.EnvVar{Name: "SPARK_DRIVER_BIND_ADDRESS", ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "status.podIP"}}},
		corev1.EnvVar{Name: "SPARK_LOCAL_DIRS", Value: b.localDir()},
		corev1.EnvVar{Name: "SPARK_CONF_DIR", Value: SparkConfDir},
	)
	mounts := []corev1.VolumeMount{
		{Name: LocalDirVolume, MountPath: b.localDir()},
		{Name: SparkConfVolume, MountPath: SparkConfDir},
		{Name: PodTemplateVolume, MountPath: PodTemplateDir},
	}
	// SPARK_CONF_DIR holds spark.properties and the files of
	// spec.sparkConfigMap, one ConfigMap as spark-submit writes it.
	var confItems []corev1.KeyToPath
	for _, key := range slices.Sorted(maps.Keys(b.confFiles())) {
		confItems = append(confItems, corev1.KeyToPath{Key: key, Path: key, Mode: ptr.To[int32](0o644)})
	}
	volumes := []corev1.Volume{
		{Name: LocalDirVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: SparkConfVolume, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: b.names.ConfConfigMap},
			Items:                confItems,
		}}},
		{Name: PodTemplateVolume, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: b.names.PodTemplateConfigMap},
			Items:                []corev1.KeyToPath{{Key: PodTemplateKey, Path: PodTemplateFileName}},
		}}},
	}
	if name := ptr.Deref(s.HadoopConfigMap, ""); name != "" {
		env = append(env, corev1.EnvVar{Name: "HADOOP_CONF_DIR", Value: HadoopConfDir})
		mounts = append(mounts, corev1.VolumeMount{Name: HadoopConfVolume, MountPath: HadoopConfDir})
		volumes = append(volumes, corev1.Volume{Name: HadoopConfVolume, VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}}})
	}
	env = append(env, deepCopyEnv(d.Env)...)
	mounts = append(mounts, d.VolumeMounts...)
	mounts = append(mounts, extraMounts(&d.SparkPodSpec)...)
	volumes = append(volumes, b.driverVolumes...)
	secretVolumes, secretMounts := confSecretVolumes(b.conf, spark.ConfDriverSecrets, volumes)
	volumes = append(volumes, secretVolumes...)
	mounts = append(mounts, secretMounts...)

	container := corev1.Container{
		Name:            spark.DriverContainerName,
		Image:           b.driverImage,
		ImagePullPolicy: b.pullPolicy(),
		Args:            args,
		Ports: []corev1.ContainerPort{
			{Name: DriverPortName, ContainerPort: b.driverPort, Protocol: corev1.ProtocolTCP},
			{Name: BlockManagerPortName, ContainerPort: b.blockManagerPort, Protocol: corev1.ProtocolTCP},
			{Name: UIPortName, ContainerPort: b.uiPort, Protocol: corev1.ProtocolTCP},
		},
		Env:          env,
		EnvFrom:      slices.Clone(d.EnvFrom),
		Resources:    resources(b.driver),
		VolumeMounts: mounts,
	}
	if d.SecurityContext != nil {
		container.SecurityContext = d.SecurityContext.DeepCopy()
	}
	if d.Lifecycle != nil {
		container.Lifecycle = d.Lifecycle.DeepCopy()
	}
	spec := b.podSpec(&d.SparkPodSpec, volumes, container)
	spec.PriorityClassName = ptr.Deref(d.PriorityClassName, "")
	spec.NodeSelector = b.nodeSelector(spark.ConfDriverNodeSelector)
	spec.SchedulerName = schedulerName(b.conf, spark.ConfDriverSchedulerName)
	spec.ServiceAccountName = b.conf[spark.ConfDriverServiceAccount]
	// The driver pod's hostname is irrelevant: executors reach it through the service.
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        b.names.DriverPod,
			Namespace:   b.app.Namespace,
			Labels:      b.labels(spark.RoleDriver, withPrefix(b.conf, spark.ConfDriverLabel)),
			Annotations: withPrefix(b.conf, spark.ConfDriverAnnotation),
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: v1alpha1.GroupVersion.String(), Kind: "SparkApplication",
				Name: b.app.Name, UID: b.app.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: spec,
	}
}

func deepCopyEnv(in []corev1.EnvVar) []corev1.EnvVar {
	out := make([]corev1.EnvVar, len(in))
	for i := range in {
		in[i].DeepCopyInto(&out[i])
	}
	return out
}

// localDir is the driver's scratch directory, an emptyDir as Spark's
// LocalDirsFeatureStep mounts it (Spark uses a random UUID; ours derives from
// the app ID so the pod is deterministic).
func (b *builder) localDir() string {
	return "/var/data/" + b.names.AppID
}

// executorTemplate is the complete pod the driver starts executors from
// (spark.kubernetes.executor.podTemplateFile). Spark adds its own labels,
// env, ports and resources on top; the resources here are what Spark will
// compute, so anything that reads the template (the emulator, a reviewer)
// sees the real size.
func (b *builder) executorTemplate() *corev1.Pod {
	e := &b.spec.Executor
	container := corev1.Container{
		Name:            spark.ExecutorContainerName,
		Image:           b.executorImage,
		ImagePullPolicy: b.pullPolicy(),
		Env:             deepCopyEnv(e.Env),
		EnvFrom:         slices.Clone(e.EnvFrom),
		Resources:       resources(b.executor),
		VolumeMounts:    append(slices.Clone(e.VolumeMounts), extraMounts(&e.SparkPodSpec)...),
	}
	if len(container.Env) == 0 {
		container.Env = nil
	}
	if e.SecurityContext != nil {
		container.SecurityContext = e.SecurityContext.DeepCopy()
	}
	if e.Lifecycle != nil {
		container.Lifecycle = e.Lifecycle.DeepCopy()
	}
	// The executors' SPARK_CONF_DIR (/opt/spark/conf) is the driver's to
	// fill: Spark mounts its executor ConfigMap there, holding the files of
	// the driver's SPARK_CONF_DIR (spec.sparkConfigMap's among them); a
	// template volume at that path would collide with it. Hadoop's
	// configuration likewise comes from the driver
	// (spark.kubernetes.executor.hadoopConfigMapName).
	spec := b.podSpec(&e.SparkPodSpec, slices.Clone(b.executorVolume), container)
	spec.PriorityClassName = ptr.Deref(e.PriorityClassName, "")
	spec.NodeSelector = b.nodeSelector(spark.ConfExecutorNodeSelector)
	spec.SchedulerName = schedulerName(b.conf, spark.ConfExecutorSchedulerName)
	// ExecutorKubernetesCredentialsFeatureStep: the executor account, else the driver's.
	spec.ServiceAccountName = firstNonEmpty(b.conf[spark.ConfExecutorServiceAccount], b.conf[spark.ConfDriverServiceAccount])
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Labels:      b.labels(spark.RoleExecutor, withoutPlaceholders(withPrefix(b.conf, spark.ConfExecutorLabel))),
			Annotations: withoutPlaceholders(withPrefix(b.conf, spark.ConfExecutorAnnotation)),
		},
		Spec: spec,
	}
}

func (b *builder) driverService() *corev1.Service {
	labels := withPrefix(b.conf, spark.ConfDriverServiceLabel)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[v1alpha1.LabelApplication] = b.app.Name
	labels[spark.LabelAppSelector] = b.names.AppID
	return &corev1.Service{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        b.names.DriverService,
			Namespace:   b.app.Namespace,
			Labels:      labels,
			Annotations: withPrefix(b.conf, spark.ConfDriverServiceAnnotation),
		},
		Spec: corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone,
			Selector: map[string]string{
				spark.LabelAppSelector: b.names.AppID,
				spark.LabelRole:        spark.RoleDriver,
			},
			Ports: []corev1.ServicePort{
				{Name: DriverPortName, Port: b.driverPort, TargetPort: intstr.FromInt32(b.driverPort), Protocol: corev1.ProtocolTCP},
				{Name: BlockManagerPortName, Port: b.blockManagerPort, TargetPort: intstr.FromInt32(b.blockManagerPort), Protocol: corev1.ProtocolTCP},
				{Name: UIPortName, Port: b.uiPort, TargetPort: intstr.FromInt32(b.uiPort), Protocol: corev1.ProtocolTCP},
			},
		},
	}
}

func (b *builder) configMap(name string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: b.app.Namespace,
			Labels: map[string]string{
				v1alpha1.LabelApplication: b.app.Name,
				spark.LabelAppSelector:    b.names.AppID,
			},
		},
		Immutable: ptr.To(true),
		Data:      data,
	}
}

// confFiles are the files of the driver's SPARK_CONF_DIR: spark.properties
// and those of spec.sparkConfigMap.
func (b *builder) confFiles() map[string]string {
	files := maps.Clone(b.opts.SparkConfFiles)
	if files == nil {
		files = map[string]string{}
	}
	comment := fmt.Sprintf("Java properties built by sparkplane for SparkApplication %s/%s, attempt %d", b.app.Namespace, b.app.Name, b.opts.Attempt)
	files[SparkConfFile] = FormatProperties(comment, b.conf)
	return files
}

func (b *builder) confConfigMap() *corev1.ConfigMap {
	return b.configMap(b.names.ConfConfigMap, b.confFiles())
}

// maxConfigMapBytes is Kubernetes' limit on a ConfigMap's data.
const maxConfigMapBytes = 1 << 20

func (b *builder) podTemplateConfigMap(template *corev1.Pod) (*corev1.ConfigMap, error) {
	// JSON, which is YAML too: Spark reads the file with fabric8's loader,
	// which takes either, and encoding JSON costs a tenth of YAML (no
	// JSON-to-YAML conversion per submission).
	data, err := json.Marshal(template)
	if err != nil {
		return nil, fmt.Errorf("submit: encoding the executor pod template: %w", err)
	}
	if len(data) > maxConfigMapBytes {
		return nil, fmt.Errorf("spec.executor: the executor pod template is %d bytes, over the 1 MiB ConfigMap limit; shrink the executor's env, sidecars or volumes", len(data))
	}
	return b.configMap(b.names.PodTemplateConfigMap, map[string]string{PodTemplateKey: string(data)}), nil
}
