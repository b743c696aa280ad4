package emulator

import (
	"context"
	"fmt"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// Labels and names shared with Spark (org.apache.spark.deploy.k8s.Constants)
// and with sparkplane's operator.
const (
	LabelSparkRole         = "spark-role"
	LabelAppSelector       = "spark-app-selector"
	LabelExecutorID        = "spark-exec-id"
	LabelResourceProfileID = "spark-resource-profile-id"
	LabelAppName           = "spark-app-name"
	LabelSparkVersion      = "spark-version"
	LabelApplication       = "sparkplane.io/application"
	RoleDriver             = "driver"
	RoleExecutor           = "executor"

	envSparkConfDir       = "SPARK_CONF_DIR"
	sparkPropertiesFile   = "spark.properties"
	confPodTemplateFile   = "spark.kubernetes.executor.podTemplateFile"
	defaultDriverName     = "spark-kubernetes-driver"
	defaultExecutorName   = "spark-kubernetes-executor"
	executorConfDirectory = "/opt/spark/conf"
)

// ConfigMapGetter reads a ConfigMap; the Emulator passes one backed by the API
// server, unit tests one backed by a map.
type ConfigMapGetter func(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)

// DriverSpec is what a driver learns about itself at start: its pod, its conf
// and its executor pod template.
type DriverSpec struct {
	Pod *corev1.Pod
	// ContainerName is the driver container: the one that sets SPARK_CONF_DIR.
	ContainerName string
	Conf          Conf
	// ExecutorTemplate is the pod that spark.kubernetes.executor.podTemplateFile
	// names; nil when the conf names none.
	ExecutorTemplate *corev1.Pod
	AppID            string
	AppName          string
	// ConfDirFiles are the files of the driver's SPARK_CONF_DIR (the
	// ConfigMap volume mounted there), which Spark copies into the
	// executors' ConfigMap; nil when no ConfigMap volume is mounted exactly
	// there.
	ConfDirFiles map[string]string
}

// ResolveDriver reads a driver pod's spark.properties and executor pod
// template the way the driver process would: spark.properties from the
// directory that the container's SPARK_CONF_DIR names, the template from the
// path that spark.kubernetes.executor.podTemplateFile names, each file found
// through the container's volumeMounts, the pod's volumes and the ConfigMap
// (and its items) behind them.
func ResolveDriver(ctx context.Context, pod *corev1.Pod, getConfigMap ConfigMapGetter) (*DriverSpec, error) {
	container, confDir, err := driverContainer(pod)
	if err != nil {
		return nil, err
	}
	propsPath := path.Join(confDir, sparkPropertiesFile)
	text, err := readMountedFile(ctx, pod, container, propsPath, getConfigMap)
	if err != nil {
		return nil, fmt.Errorf("reading %s (from %s=%s): %w", propsPath, envSparkConfDir, confDir, err)
	}
	props, err := ParseProperties(text)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", propsPath, err)
	}
	conf := Conf(props)
	spec := &DriverSpec{Pod: pod, ContainerName: container.Name, Conf: conf}
	if spec.ConfDirFiles, err = readMountedDir(ctx, pod, container, confDir, getConfigMap); err != nil {
		return nil, fmt.Errorf("reading %s=%s: %w", envSparkConfDir, confDir, err)
	}

	spec.AppID = pod.Labels[LabelAppSelector]
	if confID, ok := conf.Get("spark.app.id"); ok {
		if spec.AppID == "" {
			spec.AppID = confID
		} else if confID != spec.AppID {
			return nil, fmt.Errorf("spark.app.id=%q differs from the driver pod's %s label %q: they must be equal", confID, LabelAppSelector, spec.AppID)
		}
	}
	if spec.AppID == "" {
		return nil, fmt.Errorf("driver pod has no %s label and %s sets no spark.app.id: set one of them", LabelAppSelector, propsPath)
	}
	spec.AppName = conf.String(spec.AppID, "spark.app.name")

	if templatePath, ok := conf.Get(confPodTemplateFile); ok && templatePath != "" {
		templatePath = strings.TrimPrefix(templatePath, "file://")
		text, err := readMountedFile(ctx, pod, container, templatePath, getConfigMap)
		if err != nil {
			return nil, fmt.Errorf("reading the executor pod template %s=%s: %w", confPodTemplateFile, templatePath, err)
		}
		template := &corev1.Pod{}
		if err := yaml.Unmarshal([]byte(text), template); err != nil {
			return nil, fmt.Errorf("parsing the executor pod template %s: %w", templatePath, err)
		}
		if template.Kind != "" && template.Kind != "Pod" {
			return nil, fmt.Errorf("the executor pod template %s has kind %q: want a v1 Pod", templatePath, template.Kind)
		}
		spec.ExecutorTemplate = template
	}
	return spec, nil
}

// driverContainer returns the container that sets SPARK_CONF_DIR, preferring
// Spark's default driver container name when several do.
func driverContainer(pod *corev1.Pod) (*corev1.Container, string, error) {
	var found *corev1.Container
	var confDir string
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		for _, env := range c.Env {
			if env.Name == envSparkConfDir && env.Value != "" && (found == nil || c.Name == defaultDriverName) {
				found, confDir = c, env.Value
			}
		}
	}
	if found == nil {
		return nil, "", fmt.Errorf("driver pod %s/%s: no container sets the env %s: the driver container must set it to the directory where spark.properties is mounted", pod.Namespace, pod.Name, envSparkConfDir)
	}
	return found, path.Clean(confDir), nil
}

// readMountedFile returns the text of the file at filePath inside container,
// which must come from a ConfigMap volume.
func readMountedFile(ctx context.Context, pod *corev1.Pod, container *corev1.Container, filePath string, getConfigMap ConfigMapGetter) (string, error) {
	filePath = path.Clean(filePath)
	if !path.IsAbs(filePath) {
		return "", fmt.Errorf("path %q is not absolute", filePath)
	}
	var mount *corev1.VolumeMount
	var rel string
	for i := range container.VolumeMounts {
		m := &container.VolumeMounts[i]
		mountPath := path.Clean(m.MountPath)
		var r string
		switch {
		case filePath == mountPath:
			r = ""
		case strings.HasPrefix(filePath, strings.TrimSuffix(mountPath, "/")+"/"):
			r = strings.TrimPrefix(filePath, strings.TrimSuffix(mountPath, "/")+"/")
		default:
			continue
		}
		if mount == nil || len(mountPath) > len(path.Clean(mount.MountPath)) {
			mount, rel = m, r
		}
	}
	if mount == nil {
		return "", fmt.Errorf("no volumeMount of container %q covers %s: mount the ConfigMap that holds it there", container.Name, filePath)
	}
	if mount.SubPath != "" {
		rel = path.Join(mount.SubPath, rel)
	}
	if rel == "" || rel == "." {
		return "", fmt.Errorf("%s is the mount point of volume %q, not a file in it", filePath, mount.Name)
	}
	var volume *corev1.Volume
	for i := range pod.Spec.Volumes {
		if pod.Spec.Volumes[i].Name == mount.Name {
			volume = &pod.Spec.Volumes[i]
		}
	}
	if volume == nil {
		return "", fmt.Errorf("container %q mounts volume %q, which the pod does not declare", container.Name, mount.Name)
	}
	if volume.ConfigMap == nil {
		return "", fmt.Errorf("volume %q that holds %s is not a configMap volume", volume.Name, filePath)
	}
	key := rel
	if len(volume.ConfigMap.Items) > 0 {
		key = ""
		for _, item := range volume.ConfigMap.Items {
			if path.Clean(item.Path) == rel {
				key = item.Key
			}
		}
		if key == "" {
			return "", fmt.Errorf("configMap volume %q (ConfigMap %q) projects no item at path %q", volume.Name, volume.ConfigMap.Name, rel)
		}
	}
	cm, err := getConfigMap(ctx, pod.Namespace, volume.ConfigMap.Name)
	if err != nil {
		return "", fmt.Errorf("ConfigMap %s/%s of volume %q: %w", pod.Namespace, volume.ConfigMap.Name, volume.Name, err)
	}
	if text, ok := cm.Data[key]; ok {
		return text, nil
	}
	if data, ok := cm.BinaryData[key]; ok {
		return string(data), nil
	}
	return "", fmt.Errorf("ConfigMap %s/%s has no key %q", pod.Namespace, cm.Name, key)
}

// readMountedDir returns the files of the ConfigMap volume mounted exactly at
// dir (its items, or all its keys), as the container sees them; nil when no
// ConfigMap volume is mounted there.
func readMountedDir(ctx context.Context, pod *corev1.Pod, container *corev1.Container, dir string, getConfigMap ConfigMapGetter) (map[string]string, error) {
	for _, m := range container.VolumeMounts {
		if path.Clean(m.MountPath) != dir || m.SubPath != "" {
			continue
		}
		for _, v := range pod.Spec.Volumes {
			if v.Name != m.Name || v.ConfigMap == nil {
				continue
			}
			cm, err := getConfigMap(ctx, pod.Namespace, v.ConfigMap.Name)
			if err != nil {
				return nil, fmt.Errorf("ConfigMap %s/%s of volume %q: %w", pod.Namespace, v.ConfigMap.Name, v.Name, err)
			}
			files := map[string]string{}
			if len(v.ConfigMap.Items) == 0 {
				for k, text := range cm.Data {
					files[k] = text
				}
				return files, nil
			}
			for _, item := range v.ConfigMap.Items {
				if text, ok := cm.Data[item.Key]; ok {
					files[path.Clean(item.Path)] = text
				}
			}
			return files, nil
		}
	}
	return nil, nil
}
