// Package submit builds the Kubernetes objects that Spark 3.5's spark-submit
// creates in cluster mode — the driver's spark.properties ConfigMap, the
// executor pod template ConfigMap, the headless driver Service and the driver
// Pod — from a SparkApplication, without a JVM.
//
// It is pure: Build takes the effective application (after profile
// resolution) and returns objects; it does no I/O, reads no clock and keeps no
// state. The sparkapplication controller creates what it returns.
//
// The contract with the Spark driver (and with sparkplane's driver emulator):
// the driver pod mounts ConfigMap <prefix>-driver-conf-map at /opt/spark/conf
// (SPARK_CONF_DIR) holding spark.properties, and ConfigMap
// <prefix>-driver-podspec-conf-map at /opt/spark/pod-template holding
// pod-spec-template.yml, the path spark.kubernetes.executor.podTemplateFile
// names. Both are ordinary ConfigMap volumes.
package submit

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/spark"
)

// Labels and well-known values shared with the Spark driver.
const (
	// DriverPortName and the others name the driver's ports as Spark does.
	DriverPortName       = "driver-rpc-port"
	BlockManagerPortName = "blockmanager"
	UIPortName           = "spark-ui"
	DefaultDriverPort    = 7078
	DefaultBlockManager  = 7079
	DefaultUIPort        = 4040

	SparkConfVolume     = "spark-conf-volume-driver"
	SparkConfDir        = "/opt/spark/conf"
	SparkConfFile       = "spark.properties"
	SparkConfPath       = SparkConfDir + "/" + SparkConfFile
	PodTemplateVolume   = "pod-template-volume"
	PodTemplateKey      = "podspec-configmap-key"
	PodTemplateDir      = "/opt/spark/pod-template"
	PodTemplateFileName = "pod-spec-template.yml"
	PodTemplatePath     = PodTemplateDir + "/" + PodTemplateFileName
	// HadoopConfVolume and HadoopConfDir are where Spark's
	// HadoopConfDriverFeatureStep (and the executor step) mount the Hadoop
	// configuration (HADOOP_CONF_DIR).
	HadoopConfVolume = "hadoop-properties"
	HadoopConfDir    = "/opt/hadoop/conf"
	LocalDirVolume   = "spark-local-dir-1"

	// DefaultMaster is the in-cluster API server, as the driver reaches it.
	DefaultMaster = "k8s://https://kubernetes.default.svc:443"
	// DefaultSparkUser is SPARK_USER when the application sets no proxyUser.
	DefaultSparkUser = "spark"
)

// Options are what Build needs besides the application.
type Options struct {
	// Attempt is the run number, 1 for the first; it is part of every name.
	Attempt int32
	// Master is spark.master; DefaultMaster when empty.
	Master string
	// SparkUser is SPARK_USER when spec.proxyUser is unset; DefaultSparkUser when empty.
	SparkUser string
	// IngressURLFormat, when set, gives every application a UI Service and
	// an Ingress at this address (the operator's --ingress-url-format;
	// ValidateIngressURLFormat).
	IngressURLFormat string
	// SparkConfFiles is the data of the ConfigMap spec.sparkConfigMap names
	// (the controller reads it): its files join spark.properties in the
	// driver's SPARK_CONF_DIR, as spark-submit ships its local conf
	// directory, and its spark-defaults.conf entries join the conf below
	// spec.sparkConf. Nil when the application names none.
	SparkConfFiles map[string]string
	// PodSecurity is the Pod Security level the application's namespace
	// enforces (its pod-security.kubernetes.io/enforce label; the
	// controller reads it). PodSecurityRestricted makes the driver pod and
	// the executor template meet that level where the application leaves
	// the fields unset (restrict); other levels ask nothing spark-submit's
	// pods lack.
	PodSecurity string
}

// Objects are what one attempt consists of. Create DriverPod first, then call
// OwnByDriver with the created pod and create the rest, as spark-submit does:
// deleting the SparkApplication deletes the driver pod, and deleting the
// driver pod deletes the ConfigMaps and the Service.
type Objects struct {
	Names Names
	// Conf is the effective Spark configuration written to spark.properties.
	Conf map[string]string
	// DriverPod is owned by the SparkApplication.
	DriverPod *corev1.Pod
	// DriverService is the headless service the executors reach the driver by.
	DriverService *corev1.Service
	// ConfConfigMap holds spark.properties.
	ConfConfigMap *corev1.ConfigMap
	// PodTemplateConfigMap holds the executor pod template.
	PodTemplateConfigMap *corev1.ConfigMap
	// ExecutorTemplate is the pod written into PodTemplateConfigMap.
	ExecutorTemplate *corev1.Pod
	// MetricsConfigMap holds metrics.properties and the JMX exporter's
	// configuration (spec.monitoring); nil when there is none to mount.
	MetricsConfigMap *corev1.ConfigMap
	// UIService exposes the Spark UI (spec.sparkUIOptions or an Ingress);
	// nil otherwise. UIIngress routes UIIngressURL to it (nil without
	// --ingress-url-format).
	UIService    *corev1.Service
	UIIngress    *networkingv1.Ingress
	UIIngressURL string
	// GangExecutors is how many executors a gang (Volcano, YuniKorn, Kueue)
	// holds room for: executor.instances, or with dynamic allocation the
	// larger of minExecutors and initialExecutors.
	GangExecutors int64
	// PodGroup is Volcano's PodGroup (spec.batchScheduler volcano), owned
	// by the application: create it before the driver pod. Nil otherwise.
	PodGroup *unstructured.Unstructured
	// PortServices and PortIngresses are spec.driverIngressOptions'.
	PortServices  []*corev1.Service
	PortIngresses []*networkingv1.Ingress
}

// OwnByDriver makes the ConfigMaps and the Service owned by the created
// driver pod (its UID must be set), so they go when it goes.
// Each object gets its own reference (no pointer shared between them), so
// they may be created, and the replies decoded into them, concurrently.
func (o *Objects) OwnByDriver(driver *corev1.Pod) {
	for _, obj := range o.Dependents() {
		obj.SetOwnerReferences([]metav1.OwnerReference{{
			APIVersion: "v1", Kind: "Pod", Name: driver.Name, UID: driver.UID,
			Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
		}})
	}
}

// Dependents are the objects created after the driver pod, in creation order.
func (o *Objects) Dependents() []metav1.Object {
	out := []metav1.Object{o.ConfConfigMap, o.PodTemplateConfigMap, o.DriverService}
	if o.MetricsConfigMap != nil {
		out = append(out, o.MetricsConfigMap)
	}
	if o.UIService != nil {
		out = append(out, o.UIService)
	}
	if o.UIIngress != nil {
		out = append(out, o.UIIngress)
	}
	for _, svc := range o.PortServices {
		out = append(out, svc)
	}
	for _, ing := range o.PortIngresses {
		out = append(out, ing)
	}
	return out
}

// reservedConf are properties sparkplane sets to tie the driver to the
// objects it creates; an application that sets them is refused.
var reservedConf = []string{
	"spark.app.id",
	"spark.master",
	"spark.submit.deployMode",
	"spark.kubernetes.namespace",
	"spark.kubernetes.driver.pod.name",
	"spark.driver.host",
	"spark.driver.bindAddress",
	"spark.kubernetes.executor.podTemplateFile",
	"spark.kubernetes.executor.podTemplateContainerName",
	"spark.kubernetes.executor.podNamePrefix",
	"spark.kubernetes.submitInDriver",
}

// reservedLabels are set by Spark or sparkplane on every pod.
var reservedLabels = []string{v1alpha1.LabelApplication, spark.LabelAppSelector, spark.LabelRole, spark.LabelAppName, spark.LabelVersion, spark.LabelExecID}

// Build returns the objects of one attempt of app. app must be the effective
// application (profile already applied) with its UID set. Errors name the
// field and the fix; Build never returns partial objects.
func Build(app *v1alpha1.SparkApplication, opts Options) (*Objects, error) {
	b, err := check(app, opts)
	if err != nil {
		return nil, err
	}
	objs := &Objects{Names: b.names, Conf: b.conf}
	objs.ExecutorTemplate = b.executorTemplate()
	objs.DriverPod = b.driverPod()
	objs.MetricsConfigMap = b.withMonitoring(objs.DriverPod, objs.ExecutorTemplate)
	b.exposures(objs)
	objs.PodGroup = b.batchScheduling(objs.DriverPod, objs.ExecutorTemplate)
	if b.opts.PodSecurity == PodSecurityRestricted {
		restrict(&objs.DriverPod.Spec)
		restrict(&objs.ExecutorTemplate.Spec)
	}
	b.checkHostPaths(objs)
	objs.GangExecutors = b.gangExecutors()
	objs.DriverService = b.driverService()
	objs.ConfConfigMap = b.confConfigMap()
	size := 0
	for k, v := range objs.ConfConfigMap.Data {
		size += len(k) + len(v)
	}
	if size > maxConfigMapBytes {
		if b.spec.SparkConfigMap == nil {
			return nil, fmt.Errorf("spec.sparkConf: spark.properties is %d bytes, over the 1 MiB ConfigMap limit; set fewer or shorter properties", size)
		}
		return nil, fmt.Errorf("spec.sparkConfigMap: spark.properties and the ConfigMap's files are %d bytes, over the 1 MiB ConfigMap limit; move large files to a volume", size)
	}
	if objs.PodTemplateConfigMap, err = b.podTemplateConfigMap(objs.ExecutorTemplate); err != nil {
		return nil, err
	}
	if len(b.errs) > 0 {
		return nil, b.errs.ToAggregate()
	}
	return objs, nil
}

// Validate returns the error Build would return for the spec's fields
// (names, conf, resources, volumes, monitoring, the UI's address) without
// building the objects: a fifth of Build's cost. Build also refuses what
// only the built objects show (spark.properties over the ConfigMap limit,
// host paths a Pod Security level forbids); Validate passing does not
// promise Build will.
func Validate(app *v1alpha1.SparkApplication, opts Options) error {
	_, err := check(app, opts)
	return err
}

// check runs Build's checks of the spec and resolves the conf; a nil error
// means the builder is ready to build the objects.
func check(app *v1alpha1.SparkApplication, opts Options) (*builder, error) {
	if opts.Attempt < 1 {
		return nil, fmt.Errorf("submit: attempt %d: attempts count from 1", opts.Attempt)
	}
	b := &builder{app: app, spec: &app.Spec, opts: opts, names: NamesFor(app, opts.Attempt)}
	if b.opts.Master == "" {
		b.opts.Master = DefaultMaster
	}
	if b.opts.SparkUser == "" {
		b.opts.SparkUser = DefaultSparkUser
	}
	b.validate()
	b.resolveConf()
	b.monitoringConf()
	b.uiConf()
	if len(b.errs) > 0 {
		return nil, b.errs.ToAggregate()
	}
	return b, nil
}

type builder struct {
	app   *v1alpha1.SparkApplication
	spec  *v1alpha1.SparkApplicationSpec
	opts  Options
	names Names
	errs  field.ErrorList

	// set by resolveConf
	conf                          map[string]string
	driver, executor              spark.PodResources
	driverPort, blockManagerPort  int32
	uiPort                        int32
	driverImage, executorImage    string
	driverVolumes, executorVolume []corev1.Volume

	// set by monitoringConf: the files of the metrics ConfigMap
	metricsData map[string]string
	// set by uiConf: the UI Ingress's address (nil: no Ingress)
	uiIngress *IngressURL
}

var specPath = field.NewPath("spec")

func (b *builder) validate() {
	s := b.spec
	if b.app.UID == "" {
		b.errs = append(b.errs, field.Required(field.NewPath("metadata", "uid"), "the application must exist in the API server before it is submitted"))
	}
	if s.Mode != "" && s.Mode != v1alpha1.DeployModeCluster {
		b.errs = append(b.errs, field.NotSupported(specPath.Child("mode"), s.Mode, []string{string(v1alpha1.DeployModeCluster)}))
	}
	switch s.Type {
	case v1alpha1.SparkApplicationTypeJava, v1alpha1.SparkApplicationTypeScala:
		if ptr.Deref(s.MainClass, "") == "" {
			b.errs = append(b.errs, field.Required(specPath.Child("mainClass"), "a Java or Scala application needs mainClass (e.g. org.apache.spark.examples.SparkPi)"))
		}
	case v1alpha1.SparkApplicationTypePython, v1alpha1.SparkApplicationTypeR:
		if s.MainClass != nil {
			b.errs = append(b.errs, field.Forbidden(specPath.Child("mainClass"), "mainClass is for Java and Scala applications only; remove it"))
		}
	default:
		b.errs = append(b.errs, field.NotSupported(specPath.Child("type"), s.Type, []string{"Java", "Scala", "Python", "R"}))
	}
	if ptr.Deref(s.MainApplicationFile, "") == "" {
		b.errs = append(b.errs, field.Required(specPath.Child("mainApplicationFile"), "set the application's main jar, .py or .R file, e.g. local:///opt/spark/examples/jars/spark-examples.jar"))
	}
	b.driverImage = firstNonEmpty(ptr.Deref(s.Driver.Image, ""), ptr.Deref(s.Image, ""))
	b.executorImage = firstNonEmpty(ptr.Deref(s.Executor.Image, ""), ptr.Deref(s.Image, ""))
	if b.driverImage == "" || b.executorImage == "" {
		b.errs = append(b.errs, field.Required(specPath.Child("image"), "set spec.image (or both spec.driver.image and spec.executor.image)"))
	}
	for _, key := range slices.Sorted(maps.Keys(s.SparkConf)) {
		if slices.Contains(reservedConf, key) {
			b.errs = append(b.errs, field.Forbidden(specPath.Child("sparkConf").Key(key), "sparkplane sets this property to match the objects it creates; remove it"))
		}
	}
	for _, role := range []struct {
		path   *field.Path
		labels map[string]string
	}{{specPath.Child("driver", "labels"), s.Driver.Labels}, {specPath.Child("executor", "labels"), s.Executor.Labels}} {
		for _, key := range slices.Sorted(maps.Keys(role.labels)) {
			if slices.Contains(reservedLabels, key) {
				b.errs = append(b.errs, field.Forbidden(role.path.Key(key), "this label is set by Spark or sparkplane; remove it"))
			}
		}
	}
	b.validateKubernetesConf()
	b.validateLimits()
	b.driverVolumes = b.podVolumes(specPath.Child("driver"), &s.Driver.SparkPodSpec)
	b.executorVolume = b.podVolumes(specPath.Child("executor"), &s.Executor.SparkPodSpec)
}

// podVolumes returns the spec.volumes one pod mounts (in spec order) plus the
// volumes of its configMaps and secrets, and reports mounts of unknown volumes.
func (b *builder) podVolumes(path *field.Path, pod *v1alpha1.SparkPodSpec) []corev1.Volume {
	used := map[string]bool{}
	check := func(p *field.Path, mounts []corev1.VolumeMount) {
		for i, m := range mounts {
			if !slices.ContainsFunc(b.spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name }) {
				b.errs = append(b.errs, field.Invalid(p.Index(i).Child("name"), m.Name, "no volume of that name in spec.volumes; add it there or fix the name"))
				continue
			}
			used[m.Name] = true
		}
	}
	check(path.Child("volumeMounts"), pod.VolumeMounts)
	for i, c := range pod.InitContainers {
		check(path.Child("initContainers").Index(i).Child("volumeMounts"), c.VolumeMounts)
	}
	for i, c := range pod.Sidecars {
		check(path.Child("sidecars").Index(i).Child("volumeMounts"), c.VolumeMounts)
	}
	var out []corev1.Volume
	for _, v := range b.spec.Volumes {
		if used[v.Name] {
			out = append(out, *v.DeepCopy())
		}
	}
	for _, cm := range pod.ConfigMaps {
		out = append(out, corev1.Volume{Name: cm.Name + "-vol", VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: cm.Name}}}})
	}
	for _, sec := range pod.Secrets {
		out = append(out, corev1.Volume{Name: sec.Name + "-volume", VolumeSource: corev1.VolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: sec.Name}}})
	}
	return out
}

// extraMounts are the mounts of a pod's configMaps and secrets.
func extraMounts(pod *v1alpha1.SparkPodSpec) []corev1.VolumeMount {
	var out []corev1.VolumeMount
	for _, cm := range pod.ConfigMaps {
		out = append(out, corev1.VolumeMount{Name: cm.Name + "-vol", MountPath: cm.Path})
	}
	for _, sec := range pod.Secrets {
		out = append(out, corev1.VolumeMount{Name: sec.Name + "-volume", MountPath: sec.Path})
	}
	return out
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// resolveConf computes the effective Spark configuration: sparkplane's
// derived properties, overridden by spec.sparkConf, overridden by the typed
// spec fields, plus the reserved properties no one overrides.
func (b *builder) resolveConf() {
	s := b.spec
	app := b.app
	conf := map[string]string{
		"spark.app.name":                                               app.Name,
		"spark.executor.instances":                                     "2",
		"spark.driver.port":                                            strconv.Itoa(DefaultDriverPort),
		"spark.driver.blockManager.port":                               strconv.Itoa(DefaultBlockManager),
		"spark.kubernetes.executor.container.image":                    b.executorImage,
		"spark.kubernetes.driver.container.image":                      b.driverImage,
		"spark.kubernetes.resource.type":                               resourceType(s.Type),
		"spark.kubernetes.executor.label." + v1alpha1.LabelApplication: app.Name,
		"spark.kubernetes.driver.label." + v1alpha1.LabelApplication:   app.Name,
	}
	if s.Image != nil {
		conf["spark.kubernetes.container.image"] = *s.Image
	}
	if defaults, ok := b.opts.SparkConfFiles[spark.SparkDefaultsFile]; ok {
		entries, err := ParseProperties(defaults)
		if err != nil {
			b.errs = append(b.errs, field.Invalid(specPath.Child("sparkConfigMap"), ptr.Deref(s.SparkConfigMap, ""), spark.SparkDefaultsFile+": "+err.Error()))
		}
		for k, v := range entries {
			conf[k] = strings.TrimSpace(v)
		}
	}
	maps.Copy(conf, s.SparkConf)
	b.typedIntoConf(conf)
	for k, v := range s.HadoopConf {
		conf["spark.hadoop."+k] = v
	}
	set := func(key string, value *string) {
		if value != nil {
			conf[key] = *value
		}
	}
	set("spark.kubernetes.container.image.pullPolicy", s.ImagePullPolicy)
	set("spark.kubernetes.pyspark.pythonVersion", s.PythonVersion)
	set("spark.kubernetes.authenticate.driver.serviceAccountName", s.Driver.ServiceAccount)
	set("spark.kubernetes.authenticate.executor.serviceAccountName", s.Executor.ServiceAccount)
	set("spark.driver.extraJavaOptions", s.Driver.JavaOptions)
	set("spark.executor.extraJavaOptions", s.Executor.JavaOptions)
	set("spark.kubernetes.hadoop.configMapName", s.HadoopConfigMap)
	maps.Copy(conf, spark.SizingConf(s))
	set(spark.ConfExecutorHadoopConfigMap, s.HadoopConfigMap)
	// Dependencies; the main jar joins spark.jars as SparkSubmit adds it.
	jars := slices.Clone(s.Deps.Jars)
	if s.Type.IsJVM() && s.MainApplicationFile != nil {
		jars = append(jars, *s.MainApplicationFile)
	}
	joinInto(conf, "spark.jars", jars)
	joinInto(conf, "spark.files", s.Deps.Files)
	joinInto(conf, "spark.submit.pyFiles", s.Deps.PyFiles)
	joinInto(conf, "spark.archives", s.Deps.Archives)
	joinInto(conf, "spark.jars.packages", s.Deps.Packages)
	joinInto(conf, "spark.jars.excludes", s.Deps.ExcludePackages)
	joinInto(conf, "spark.jars.repositories", s.Deps.Repositories)

	// Reserved: these tie the driver to the objects created here.
	maps.Copy(conf, map[string]string{
		"spark.app.id":                                       b.names.AppID,
		"spark.master":                                       b.opts.Master,
		"spark.submit.deployMode":                            "cluster",
		"spark.kubernetes.namespace":                         app.Namespace,
		"spark.kubernetes.driver.pod.name":                   b.names.DriverPod,
		"spark.driver.host":                                  b.names.DriverService + "." + app.Namespace + ".svc",
		"spark.kubernetes.submitInDriver":                    "true",
		"spark.kubernetes.executor.podTemplateFile":          PodTemplatePath,
		"spark.kubernetes.executor.podTemplateContainerName": spark.ExecutorContainerName,
		"spark.kubernetes.executor.podNamePrefix":            b.names.Prefix,
	})
	b.conf = conf
	b.resolveResources()
}

func joinInto(conf map[string]string, key string, values []string) {
	if len(values) == 0 {
		return
	}
	if prev := conf[key]; prev != "" {
		values = append(strings.Split(prev, ","), values...)
	}
	conf[key] = strings.Join(values, ",")
}

func resourceType(t v1alpha1.SparkApplicationType) string {
	switch t {
	case v1alpha1.SparkApplicationTypePython:
		return "python"
	case v1alpha1.SparkApplicationTypeR:
		return "r"
	}
	return "java"
}

// confPath names where an effective property came from, for error messages:
// the typed field when it is set, else spec.sparkConf[key].
func (b *builder) confPath(key string, typed *field.Path, typedSet bool) *field.Path {
	if typedSet {
		return typed
	}
	return specPath.Child("sparkConf").Key(key)
}

// resolveResources derives container resources from the effective conf as
// Spark's BasicDriverFeatureStep and BasicExecutorFeatureStep do.
func (b *builder) resolveResources() {
	s := b.spec
	conf := b.conf
	dp, ep := specPath.Child("driver"), specPath.Child("executor")
	// typed names the spec field that sets a property, so an error names
	// what the user wrote.
	typed := map[string]struct {
		path *field.Path
		set  bool
	}{
		spark.ConfMemoryOverheadFactor:   {specPath.Child("memoryOverheadFactor"), s.MemoryOverheadFactor != nil},
		spark.ConfDriverMemory:           {dp.Child("memory"), s.Driver.Memory != nil},
		spark.ConfDriverMemoryOverhead:   {dp.Child("memoryOverhead"), s.Driver.MemoryOverhead != nil},
		spark.ConfDriverCores:            {dp.Child("cores"), s.Driver.Cores != nil},
		spark.ConfDriverCoreRequest:      {dp.Child("coreRequest"), s.Driver.CoreRequest != nil},
		spark.ConfDriverCoreLimit:        {dp.Child("coreLimit"), s.Driver.CoreLimit != nil},
		spark.ConfExecutorMemory:         {ep.Child("memory"), s.Executor.Memory != nil},
		spark.ConfExecutorMemoryOverhead: {ep.Child("memoryOverhead"), s.Executor.MemoryOverhead != nil},
		spark.ConfExecutorCores:          {ep.Child("cores"), s.Executor.Cores != nil},
		spark.ConfExecutorCoreRequest:    {ep.Child("coreRequest"), s.Executor.CoreRequest != nil},
		spark.ConfExecutorCoreLimit:      {ep.Child("coreLimit"), s.Executor.CoreLimit != nil},
		spark.ConfExecutorInstances:      {ep.Child("instances"), s.Executor.Instances != nil},
	}
	report := func(errs ...spark.ConfError) {
		for _, e := range errs {
			t := typed[e.Key]
			b.errs = append(b.errs, field.Invalid(b.confPath(e.Key, t.path, t.set), e.Value, e.Message))
		}
	}

	defaultFactor, factorErr := spark.DefaultOverheadFactor(conf, s.Type.IsJVM())
	if factorErr != nil {
		report(*factorErr)
	}
	if _, ok := conf[spark.ConfMemoryOverheadFactor]; !ok {
		// Spark propagates the factor it chose to the executors.
		conf[spark.ConfMemoryOverheadFactor] = strconv.FormatFloat(defaultFactor, 'f', -1, 64)
	}
	var errs []spark.ConfError
	b.driver, errs = spark.Resources(conf, spark.DriverKeys, defaultFactor)
	report(errs...)
	b.executor, errs = spark.Resources(conf, spark.ExecutorKeys, defaultFactor)
	report(errs...)
	if v, ok := conf[spark.ConfExecutorInstances]; ok {
		if n, err := strconv.ParseInt(v, 10, 32); err != nil || n < 0 {
			t := typed[spark.ConfExecutorInstances]
			b.errs = append(b.errs, field.Invalid(b.confPath(spark.ConfExecutorInstances, t.path, t.set), v, "must be a whole number of executors, 0 or more"))
		}
	}

	port := func(key string, def int32) int32 {
		v, ok := conf[key]
		if !ok {
			return def
		}
		p, err := strconv.ParseInt(v, 10, 32)
		if err != nil || p < 1 || p > 65535 {
			b.errs = append(b.errs, field.Invalid(specPath.Child("sparkConf").Key(key), v, "must be a port number between 1 and 65535"))
		}
		return int32(p)
	}
	b.driverPort = port("spark.driver.port", DefaultDriverPort)
	b.blockManagerPort = port("spark.driver.blockManager.port", port("spark.blockManager.port", DefaultBlockManager))
	b.uiPort = port("spark.ui.port", DefaultUIPort)
}

func resources(pod spark.PodResources) corev1.ResourceRequirements {
	cpuRequest, cpuLimit, memoryMiB := pod.CPURequest, pod.CPULimit, pod.MemoryRequestMiB()
	mem := resource.MustParse(strconv.FormatInt(memoryMiB, 10) + "Mi")
	r := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpuRequest), corev1.ResourceMemory: mem},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: mem},
	}
	if cpuLimit != "" {
		r.Limits[corev1.ResourceCPU] = resource.MustParse(cpuLimit)
	}
	return r
}
