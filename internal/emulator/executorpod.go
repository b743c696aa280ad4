package emulator

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Defaults of Spark 3.5 on Kubernetes.
const (
	defaultDriverPort       = 7078
	defaultBlockManagerPort = 7079
	memoryOverheadMinMiB    = 384
	defaultOverheadFactor   = 0.1
	defaultLocalDirPath     = "/var/data"
	defaultDecommission     = "/opt/decom.sh"
	pvcOnDemand             = "OnDemand"
	pvcAccessMode           = "ReadWriteOnce"
	execConfVolume          = "spark-conf-volume-exec"
	hadoopConfVolume        = "hadoop-properties"
	hadoopConfDirectory     = "/opt/hadoop/conf"
	dnsLabelMaxLength       = 63
	maxExecutorPrefixLength = 47
)

// ExecutorResources are an executor's size as Spark computes it
// (ResourceProfile.getResourcesForClusterManager).
type ExecutorResources struct {
	Cores        int
	CoresRequest string
	CoresLimit   string
	MemoryMiB    int64
	OverheadMiB  int64
	OffHeapMiB   int64
	PySparkMiB   int64
}

// TotalMiB is the pod's memory request and limit.
func (r ExecutorResources) TotalMiB() int64 {
	return r.MemoryMiB + r.OverheadMiB + r.OffHeapMiB + r.PySparkMiB
}

// ExecutorFactory builds executor pods for one application, as Spark's
// KubernetesExecutorBuilder does. NewExecutorFactory validates the conf once,
// so a bad conf fails the driver at start, as it would fail a real one.
type ExecutorFactory struct {
	driver         *DriverSpec
	prefix         string
	image          string
	pullPolicy     corev1.PullPolicy
	resources      ExecutorResources
	blockPort      int
	driverURL      string
	decommission   bool
	decomScript    string
	configMapName  string
	localDirSuffix string
	volumes        []volumeConf
	sparkUser      string
	// disableConfigMap is spark.kubernetes.executor.disableConfigMap.
	disableConfigMap bool
	// hadoopConfigMap is spark.kubernetes.executor.hadoopConfigMapName.
	hadoopConfigMap string
}

// volumeConf is one spark.kubernetes.executor.volumes.<type>.<name> entry.
type volumeConf struct {
	Type, Name, MountPath, SubPath string
	ReadOnly                       bool
	Options                        map[string]string
}

var dnsLabelPattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// NewExecutorFactory checks the conf that executor pods depend on.
func NewExecutorFactory(driver *DriverSpec) (*ExecutorFactory, error) {
	conf := driver.Conf
	f := &ExecutorFactory{driver: driver}

	f.prefix = conf.String("", "spark.kubernetes.executor.podNamePrefix")
	if f.prefix == "" {
		f.prefix = strings.TrimSuffix(driver.Pod.Name, "-driver")
	}
	if len(f.prefix) > maxExecutorPrefixLength || !dnsLabelPattern.MatchString(f.prefix) {
		return nil, fmt.Errorf("spark.kubernetes.executor.podNamePrefix=%q: want at most %d lower-case letters, digits and '-', starting and ending with a letter or digit", f.prefix, maxExecutorPrefixLength)
	}
	f.image = conf.String("", "spark.kubernetes.executor.container.image", "spark.kubernetes.container.image")
	if f.image == "" {
		return nil, fmt.Errorf("no executor image: set spark.kubernetes.executor.container.image or spark.kubernetes.container.image")
	}
	f.pullPolicy = corev1.PullPolicy(conf.String("IfNotPresent", "spark.kubernetes.container.image.pullPolicy"))

	res, err := executorResources(conf)
	if err != nil {
		return nil, err
	}
	f.resources = res

	if f.blockPort, err = conf.Int("spark.blockManager.port", defaultBlockManagerPort); err != nil {
		return nil, err
	}
	if f.blockPort != 0 && (f.blockPort < 1024 || f.blockPort > 65535) {
		return nil, fmt.Errorf("spark.blockManager.port=%d: want 0 or a port in [1024, 65535]", f.blockPort)
	}
	driverPort, err := conf.Int("spark.driver.port", defaultDriverPort)
	if err != nil {
		return nil, err
	}
	driverHost := conf.String(driver.Pod.Status.PodIP, "spark.driver.host")
	f.driverURL = fmt.Sprintf("spark://CoarseGrainedScheduler@%s:%d", driverHost, driverPort)

	if f.decommission, err = conf.Bool("spark.decommission.enabled", false); err != nil {
		return nil, err
	}
	f.decomScript = conf.String(defaultDecommission, "spark.kubernetes.decommission.script")

	// The driver owns one executor ConfigMap per application
	// (KubernetesClientUtils.configMapNameExecutor); its unique part is derived
	// from the application id so that an emulator restart finds the same one.
	f.configMapName = "spark-exec-" + shortHash(driver.AppID, 16) + "-conf-map"
	if f.disableConfigMap, err = conf.Bool("spark.kubernetes.executor.disableConfigMap", false); err != nil {
		return nil, err
	}
	f.hadoopConfigMap = conf.String("", "spark.kubernetes.executor.hadoopConfigMapName")
	f.localDirSuffix = uuidFrom(driver.AppID)

	if f.volumes, err = parseVolumes(conf, "spark.kubernetes.executor.volumes."); err != nil {
		return nil, err
	}
	f.sparkUser = "spark"
	for _, c := range driver.Pod.Spec.Containers {
		if c.Name == driver.ContainerName {
			for _, e := range c.Env {
				if e.Name == "SPARK_USER" && e.Value != "" {
					f.sparkUser = e.Value
				}
			}
		}
	}
	return f, nil
}

// Prefix is the executor pod name prefix.
func (f *ExecutorFactory) Prefix() string { return f.prefix }

// Resources is the executor size.
func (f *ExecutorFactory) Resources() ExecutorResources { return f.resources }

// Decommission reports whether spark.decommission.enabled is on.
func (f *ExecutorFactory) Decommission() bool { return f.decommission }

// PodName is the name of executor id's pod.
func (f *ExecutorFactory) PodName(id int) string {
	return fmt.Sprintf("%s-exec-%d", f.prefix, id)
}

func executorResources(conf Conf) (ExecutorResources, error) {
	var r ExecutorResources
	var err error
	if r.Cores, err = conf.Int("spark.executor.cores", 1); err != nil {
		return r, err
	}
	if r.Cores < 1 {
		return r, fmt.Errorf("spark.executor.cores=%d: want 1 or more", r.Cores)
	}
	r.CoresRequest = conf.String(strconv.Itoa(r.Cores), "spark.kubernetes.executor.request.cores")
	if _, err := resource.ParseQuantity(r.CoresRequest); err != nil {
		return r, fmt.Errorf("spark.kubernetes.executor.request.cores=%q: want a CPU quantity such as 1, 500m or 1.5", r.CoresRequest)
	}
	r.CoresLimit = conf.String("", "spark.kubernetes.executor.limit.cores")
	if r.CoresLimit != "" {
		if _, err := resource.ParseQuantity(r.CoresLimit); err != nil {
			return r, fmt.Errorf("spark.kubernetes.executor.limit.cores=%q: want a CPU quantity such as 1, 500m or 1.5", r.CoresLimit)
		}
	}
	memory, err := conf.Bytes("spark.executor.memory", "1g", 1<<20)
	if err != nil {
		return r, err
	}
	r.MemoryMiB = memory >> 20
	factor, err := conf.Float("spark.kubernetes.memoryOverheadFactor", defaultOverheadFactor)
	if err != nil {
		return r, err
	}
	if _, ok := conf.Get("spark.executor.memoryOverheadFactor"); ok {
		if factor, err = conf.Float("spark.executor.memoryOverheadFactor", defaultOverheadFactor); err != nil {
			return r, err
		}
	}
	if factor <= 0 {
		return r, fmt.Errorf("spark.executor.memoryOverheadFactor=%v: want a positive factor such as 0.1", factor)
	}
	if _, ok := conf.Get("spark.executor.memoryOverhead"); ok {
		overhead, err := conf.Bytes("spark.executor.memoryOverhead", "0", 1<<20)
		if err != nil {
			return r, err
		}
		r.OverheadMiB = overhead >> 20
	} else {
		r.OverheadMiB = max(int64(factor*float64(r.MemoryMiB)), memoryOverheadMinMiB)
	}
	offHeap, err := conf.Bool("spark.memory.offHeap.enabled", false)
	if err != nil {
		return r, err
	}
	if offHeap {
		size, err := conf.Bytes("spark.memory.offHeap.size", "0", 1)
		if err != nil {
			return r, err
		}
		r.OffHeapMiB = size >> 20
	}
	if conf.String("", "spark.kubernetes.resource.type") == "python" {
		if _, ok := conf.Get("spark.executor.pyspark.memory"); ok {
			size, err := conf.Bytes("spark.executor.pyspark.memory", "0", 1<<20)
			if err != nil {
				return r, err
			}
			r.PySparkMiB = size >> 20
		}
	}
	return r, nil
}

// parseVolumes reads spark.kubernetes.<role>.volumes.<type>.<name>.<field>
// (KubernetesVolumeUtils.parseVolumesWithPrefix).
func parseVolumes(conf Conf, prefix string) ([]volumeConf, error) {
	byKey := map[string]*volumeConf{}
	for rest, value := range conf.WithPrefix(prefix) {
		parts := strings.SplitN(rest, ".", 3)
		if len(parts) < 3 {
			return nil, fmt.Errorf("%s%s: want %s<type>.<name>.mount.path or .options.<option>", prefix, rest, prefix)
		}
		key := parts[0] + "." + parts[1]
		v := byKey[key]
		if v == nil {
			v = &volumeConf{Type: parts[0], Name: parts[1], Options: map[string]string{}}
			byKey[key] = v
		}
		switch field := parts[2]; {
		case field == "mount.path":
			v.MountPath = value
		case field == "mount.subPath":
			v.SubPath = value
		case field == "mount.readOnly":
			v.ReadOnly = strings.EqualFold(value, "true")
		case strings.HasPrefix(field, "options."):
			v.Options[strings.TrimPrefix(field, "options.")] = value
		}
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	volumes := make([]volumeConf, 0, len(keys))
	for _, k := range keys {
		v := byKey[k]
		full := prefix + k
		if v.MountPath == "" {
			return nil, fmt.Errorf("%s.mount.path is not set: every volume needs a mount path", full)
		}
		switch v.Type {
		case "hostPath":
			if v.Options["path"] == "" {
				return nil, fmt.Errorf("%s.options.path is not set: a hostPath volume needs a path", full)
			}
		case "persistentVolumeClaim":
			if v.Options["claimName"] == "" {
				return nil, fmt.Errorf("%s.options.claimName is not set: name a claim or write OnDemand", full)
			}
		case "emptyDir":
		case "nfs":
			if v.Options["path"] == "" || v.Options["server"] == "" {
				return nil, fmt.Errorf("%s.options.path and .options.server must be set for an nfs volume", full)
			}
		default:
			return nil, fmt.Errorf("%s: volume type %q is not supported: use hostPath, emptyDir, nfs or persistentVolumeClaim", full, v.Type)
		}
		volumes = append(volumes, *v)
	}
	return volumes, nil
}

// ExecutorConfigMap is the ConfigMap the driver creates for its executors'
// SPARK_CONF_DIR (KubernetesClusterSchedulerBackend.setUpExecutorConfigMap):
// the files of the driver's own SPARK_CONF_DIR (log4j2.properties, ...)
// but its spark.properties. Nil when
// spark.kubernetes.executor.disableConfigMap is true.
func (f *ExecutorFactory) ExecutorConfigMap() *corev1.ConfigMap {
	if f.disableConfigMap {
		return nil
	}
	data := map[string]string{}
	for name, text := range f.driver.ConfDirFiles {
		if name != sparkPropertiesFile {
			data[name] = text
		}
	}
	return &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name:            f.configMapName,
			Namespace:       f.driver.Pod.Namespace,
			Labels:          map[string]string{LabelAppSelector: f.driver.AppID, LabelSparkRole: RoleExecutor},
			OwnerReferences: []metav1.OwnerReference{f.driverOwnerReference()},
		},
		Data: data,
	}
}

func (f *ExecutorFactory) driverOwnerReference() metav1.OwnerReference {
	controller := true
	return metav1.OwnerReference{
		APIVersion: "v1",
		Kind:       "Pod",
		Name:       f.driver.Pod.Name,
		UID:        f.driver.Pod.UID,
		Controller: &controller,
	}
}

// ExecutorPod builds executor id's pod and the persistent volume claims it
// needs created (OnDemand claims), following Spark 3.5's executor feature
// steps in order: basic, credentials, secrets, env secrets, volumes, local
// dirs.
func (f *ExecutorFactory) ExecutorPod(id int) (*corev1.Pod, []*corev1.PersistentVolumeClaim) {
	conf := f.driver.Conf
	appID := f.driver.AppID
	execID := strconv.Itoa(id)
	name := f.PodName(id)

	pod := &corev1.Pod{}
	if f.driver.ExecutorTemplate != nil {
		pod = f.driver.ExecutorTemplate.DeepCopy()
		pod.Status = corev1.PodStatus{}
	}
	pod.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}

	// The template's Spark container is the one named by
	// spark.kubernetes.executor.podTemplateContainerName, else the first one
	// (KubernetesUtils.selectSparkContainer).
	containerIndex := -1
	if want := conf.String("", "spark.kubernetes.executor.podTemplateContainerName"); want != "" {
		for i, c := range pod.Spec.Containers {
			if c.Name == want {
				containerIndex = i
			}
		}
	}
	if containerIndex < 0 && len(pod.Spec.Containers) > 0 {
		containerIndex = 0
	}
	if containerIndex < 0 {
		pod.Spec.Containers = []corev1.Container{{}}
		containerIndex = 0
	}
	c := &pod.Spec.Containers[containerIndex]

	// BasicExecutorFeatureStep.
	if c.Name == "" {
		c.Name = defaultExecutorName
	}
	c.Image = f.image
	c.ImagePullPolicy = f.pullPolicy
	memory := resource.MustParse(fmt.Sprintf("%dMi", f.resources.TotalMiB()))
	if c.Resources.Requests == nil {
		c.Resources.Requests = corev1.ResourceList{}
	}
	if c.Resources.Limits == nil {
		c.Resources.Limits = corev1.ResourceList{}
	}
	c.Resources.Requests[corev1.ResourceMemory] = memory
	c.Resources.Limits[corev1.ResourceMemory] = memory
	c.Resources.Requests[corev1.ResourceCPU] = resource.MustParse(f.resources.CoresRequest)
	if f.resources.CoresLimit != "" {
		c.Resources.Limits[corev1.ResourceCPU] = resource.MustParse(f.resources.CoresLimit)
	}
	env := []corev1.EnvVar{
		{Name: "SPARK_USER", Value: f.sparkUser},
		{Name: "SPARK_DRIVER_URL", Value: f.driverURL},
		{Name: "SPARK_EXECUTOR_CORES", Value: strconv.Itoa(f.resources.Cores)},
		{Name: "SPARK_EXECUTOR_MEMORY", Value: fmt.Sprintf("%dm", f.resources.MemoryMiB)},
		{Name: "SPARK_APPLICATION_ID", Value: appID},
		{Name: "SPARK_CONF_DIR", Value: executorConfDirectory},
		{Name: "SPARK_EXECUTOR_ID", Value: execID},
		{Name: "SPARK_RESOURCE_PROFILE_ID", Value: "0"},
	}
	executorEnv := conf.WithPrefix("spark.executorEnv.")
	for _, k := range sortedKeys(executorEnv) {
		env = append(env, corev1.EnvVar{Name: k, Value: executorEnv[k]})
	}
	if cp := conf.String("", "spark.executor.extraClassPath"); cp != "" {
		env = append(env, corev1.EnvVar{Name: "SPARK_CLASSPATH", Value: cp})
	}
	for i, opt := range f.javaOptions(execID) {
		env = append(env, corev1.EnvVar{Name: "SPARK_JAVA_OPT_" + strconv.Itoa(i), Value: opt})
	}
	env = append(env,
		corev1.EnvVar{Name: "SPARK_EXECUTOR_POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "status.podIP"}}},
		corev1.EnvVar{Name: "SPARK_EXECUTOR_POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
	)
	c.Env = append(c.Env, env...)
	if f.blockPort != 0 {
		c.Ports = []corev1.ContainerPort{{Name: "blockmanager", ContainerPort: int32(f.blockPort), Protocol: corev1.ProtocolTCP}}
	} else {
		c.Ports = nil
	}
	c.Args = append(c.Args, "executor")
	if !f.disableConfigMap {
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: execConfVolume, MountPath: executorConfDirectory})
	}
	if f.decommission {
		c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{f.decomScript}}}}
	}

	labels := map[string]string{}
	for k, v := range conf.WithPrefix("spark.kubernetes.executor.label.") {
		labels[k] = substituteIDs(v, appID, execID)
	}
	labels[LabelExecutorID] = execID
	labels[LabelAppSelector] = appID
	labels[LabelAppName] = appNameLabel(f.driver.AppName)
	labels[LabelSparkRole] = RoleExecutor
	labels[LabelResourceProfileID] = "0"
	pod.Name = name
	pod.GenerateName = ""
	pod.Namespace = f.driver.Pod.Namespace
	pod.Labels = mergeMaps(pod.Labels, labels)
	annotations := map[string]string{}
	for k, v := range conf.WithPrefix("spark.kubernetes.executor.annotation.") {
		annotations[k] = substituteIDs(v, appID, execID)
	}
	if len(annotations) > 0 {
		pod.Annotations = mergeMaps(pod.Annotations, annotations)
	}
	pod.OwnerReferences = append(pod.OwnerReferences, f.driverOwnerReference())
	pod.Spec.Hostname = executorHostname(name)
	pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	nodeSelector := mergeMaps(conf.WithPrefix("spark.kubernetes.node.selector."), conf.WithPrefix("spark.kubernetes.executor.node.selector."))
	if len(nodeSelector) > 0 {
		pod.Spec.NodeSelector = mergeMaps(pod.Spec.NodeSelector, nodeSelector)
	}
	for _, secret := range splitList(conf.String("", "spark.kubernetes.container.image.pullSecrets")) {
		pod.Spec.ImagePullSecrets = append(pod.Spec.ImagePullSecrets, corev1.LocalObjectReference{Name: secret})
	}
	if !f.disableConfigMap {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: execConfVolume, VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: f.configMapName}},
		}})
	}
	// HadoopConfExecutorFeatureStep.
	if f.hadoopConfigMap != "" {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: hadoopConfVolume, VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: f.hadoopConfigMap}},
		}})
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: hadoopConfVolume, MountPath: hadoopConfDirectory})
		c.Env = append(c.Env, corev1.EnvVar{Name: "HADOOP_CONF_DIR", Value: hadoopConfDirectory})
	}
	if scheduler := conf.String("", "spark.kubernetes.executor.scheduler.name", "spark.kubernetes.scheduler.name"); scheduler != "" {
		pod.Spec.SchedulerName = scheduler
	}

	// ExecutorKubernetesCredentialsFeatureStep.
	if pod.Spec.ServiceAccountName == "" && pod.Spec.DeprecatedServiceAccount == "" {
		if sa := conf.String("", "spark.kubernetes.authenticate.executor.serviceAccountName", "spark.kubernetes.authenticate.driver.serviceAccountName"); sa != "" {
			pod.Spec.ServiceAccountName = sa
			pod.Spec.DeprecatedServiceAccount = sa
		}
	}

	// MountSecretsFeatureStep and EnvSecretsFeatureStep.
	secrets := conf.WithPrefix("spark.kubernetes.executor.secrets.")
	for _, secret := range sortedKeys(secrets) {
		volume := secret + "-volume"
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: volume, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret}}})
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: volume, MountPath: secrets[secret]})
	}
	secretRefs := conf.WithPrefix("spark.kubernetes.executor.secretKeyRef.")
	for _, envName := range sortedKeys(secretRefs) {
		secretName, key, _ := strings.Cut(secretRefs[envName], ":")
		c.Env = append(c.Env, corev1.EnvVar{Name: envName, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: secretName}, Key: key,
		}}})
	}

	// MountVolumesFeatureStep.
	var claims []*corev1.PersistentVolumeClaim
	for i, v := range f.volumes {
		mount := corev1.VolumeMount{Name: v.Name, MountPath: v.MountPath, SubPath: v.SubPath, ReadOnly: v.ReadOnly}
		volume := corev1.Volume{Name: v.Name}
		switch v.Type {
		case "hostPath":
			hostPath := &corev1.HostPathVolumeSource{Path: v.Options["path"]}
			if t := v.Options["type"]; t != "" {
				typ := corev1.HostPathType(t)
				hostPath.Type = &typ
			}
			volume.HostPath = hostPath
		case "emptyDir":
			emptyDir := &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMedium(v.Options["medium"])}
			if s := v.Options["sizeLimit"]; s != "" {
				if q, err := resource.ParseQuantity(s); err == nil {
					emptyDir.SizeLimit = &q
				}
			}
			volume.EmptyDir = emptyDir
		case "nfs":
			volume.NFS = &corev1.NFSVolumeSource{Path: v.Options["path"], Server: v.Options["server"], ReadOnly: v.ReadOnly}
		case "persistentVolumeClaim":
			claimName := strings.ReplaceAll(v.Options["claimName"], pvcOnDemand, fmt.Sprintf("%s-pvc-%d", name, i))
			claimName = strings.ReplaceAll(claimName, "SPARK_EXECUTOR_ID", execID)
			volume.PersistentVolumeClaim = &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claimName, ReadOnly: v.ReadOnly}
			storageClass, size := v.Options["storageClass"], v.Options["sizeLimit"]
			if q, err := resource.ParseQuantity(size); err == nil && storageClass != "" {
				claims = append(claims, &corev1.PersistentVolumeClaim{
					TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
					ObjectMeta: metav1.ObjectMeta{
						Name:      claimName,
						Namespace: pod.Namespace,
						Labels:    map[string]string{LabelAppSelector: appID},
					},
					Spec: corev1.PersistentVolumeClaimSpec{
						StorageClassName: &storageClass,
						AccessModes:      []corev1.PersistentVolumeAccessMode{pvcAccessMode},
						Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: q}},
					},
				})
			}
		}
		pod.Spec.Volumes = append(pod.Spec.Volumes, volume)
		c.VolumeMounts = append(c.VolumeMounts, mount)
	}

	// LocalDirsFeatureStep: an emptyDir per local dir unless a volume named
	// spark-local-dir-* is already mounted.
	var localDirs []string
	for _, m := range c.VolumeMounts {
		if strings.HasPrefix(m.Name, "spark-local-dir-") {
			localDirs = append(localDirs, m.MountPath)
		}
	}
	if len(localDirs) == 0 {
		localDirs = splitList(conf.String(fmt.Sprintf("%s/spark-%s", defaultLocalDirPath, f.localDirSuffix), "spark.local.dir"))
		tmpfs, _ := conf.Bool("spark.kubernetes.local.dirs.tmpfs", false)
		for i, dir := range localDirs {
			volumeName := fmt.Sprintf("spark-local-dir-%d", i+1)
			emptyDir := &corev1.EmptyDirVolumeSource{}
			if tmpfs {
				emptyDir.Medium = corev1.StorageMediumMemory
			}
			pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: volumeName, VolumeSource: corev1.VolumeSource{EmptyDir: emptyDir}})
			c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: volumeName, MountPath: dir})
		}
	}
	c.Env = append(c.Env, corev1.EnvVar{Name: "SPARK_LOCAL_DIRS", Value: strings.Join(localDirs, ",")})
	return pod, claims
}

// javaOptions are the SPARK_JAVA_OPT_<n> values: the user's
// spark.executor.extraJavaOptions, then -D for every executor start-up conf
// (SparkConf.isExecutorStartupConf), in key order.
func (f *ExecutorFactory) javaOptions(execID string) []string {
	conf := f.driver.Conf
	var opts []string
	if user := conf.String("", "spark.executor.extraJavaOptions"); user != "" {
		opts = append(opts, strings.Fields(substituteIDs(user, f.driver.AppID, execID))...)
	}
	for _, k := range conf.Keys() {
		if isExecutorStartupConf(k) {
			opts = append(opts, fmt.Sprintf("-D%s=%s", k, conf[k]))
		}
	}
	return opts
}

func isExecutorStartupConf(key string) bool {
	isPort := (strings.HasPrefix(key, "spark.") && strings.HasSuffix(key, ".port")) || strings.HasPrefix(key, "spark.port.")
	return (strings.HasPrefix(key, "spark.auth") && key != "spark.authenticate.secret") ||
		strings.HasPrefix(key, "spark.rpc") || strings.HasPrefix(key, "spark.network") ||
		strings.HasPrefix(key, "spark.ssl") || isPort
}

// executorHostname keeps the last 63 characters of the pod name, as a DNS
// label must be that short.
func executorHostname(name string) string {
	if len(name) > dnsLabelMaxLength {
		name = name[len(name)-dnsLabelMaxLength:]
	}
	name = strings.TrimLeftFunc(name, func(r rune) bool { return !isWordRune(r) })
	return strings.Map(func(r rune) rune {
		if isWordRune(r) || r == '-' {
			return r
		}
		return '_'
	}, name)
}

func isWordRune(r rune) bool {
	return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
}

var (
	nonLabelChars = regexp.MustCompile(`[^a-z0-9\-]`)
	dashes        = regexp.MustCompile(`-+`)
)

// appNameLabel is KubernetesConf.getAppNameLabel, trimmed further so that the
// value is always a valid label value.
func appNameLabel(appName string) string {
	s := strings.ToLower(strings.TrimSpace(appName))
	s = dashes.ReplaceAllString(nonLabelChars.ReplaceAllString(s, "-"), "-")
	if len(s) > dnsLabelMaxLength {
		s = s[:dnsLabelMaxLength]
	}
	return strings.Trim(s, "-")
}

func substituteIDs(s, appID, execID string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "{{APP_ID}}", appID), "{{EXECUTOR_ID}}", execID)
}

func mergeMaps(base, overlay map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(overlay))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range overlay {
		out[k] = v
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func shortHash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}

// uuidFrom formats a stable, UUID-shaped string from s.
func uuidFrom(s string) string {
	h := shortHash("local-dir/"+s, 32)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
