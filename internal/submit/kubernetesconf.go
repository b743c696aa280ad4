package submit

import (
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/internal/spark"
)

// withPrefix returns the entries of conf under prefix, keyed by the rest of
// the key (empty rests are dropped); nil when there are none.
func withPrefix(conf map[string]string, prefix string) map[string]string {
	var out map[string]string
	for k, v := range conf {
		if rest, ok := strings.CutPrefix(k, prefix); ok && rest != "" {
			if out == nil {
				out = map[string]string{}
			}
			out[rest] = v
		}
	}
	return out
}

// merged returns the union of maps, later ones winning; nil when all are empty.
func merged(ms ...map[string]string) map[string]string {
	var out map[string]string
	for _, m := range ms {
		if len(m) == 0 {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		maps.Copy(out, m)
	}
	return out
}

// typedIntoConf writes the typed spec fields that have a spark-submit conf
// into conf, over what spec.sparkConf set for the same key — as the
// incumbent operator passes them as --conf after sparkConf — so that
// spark.properties and the pods agree, and the driver applies the typed
// values to the executors it creates.
func (b *builder) typedIntoConf(conf map[string]string) {
	s := b.spec
	put := func(prefix string, m map[string]string) {
		for k, v := range m {
			conf[prefix+k] = v
		}
	}
	put(spark.ConfDriverLabel, s.Driver.Labels)
	put(spark.ConfDriverAnnotation, s.Driver.Annotations)
	put(spark.ConfDriverServiceLabel, s.Driver.ServiceLabels)
	put(spark.ConfDriverServiceAnnotation, s.Driver.ServiceAnnotations)
	put(spark.ConfExecutorLabel, s.Executor.Labels)
	put(spark.ConfExecutorAnnotation, s.Executor.Annotations)
	put(spark.ConfNodeSelector, s.NodeSelector)
	put(spark.ConfDriverNodeSelector, s.Driver.NodeSelector)
	put(spark.ConfExecutorNodeSelector, s.Executor.NodeSelector)
	if v := ptr.Deref(s.Driver.SchedulerName, ""); v != "" {
		conf[spark.ConfDriverSchedulerName] = v
	}
	if v := ptr.Deref(s.Executor.SchedulerName, ""); v != "" {
		conf[spark.ConfExecutorSchedulerName] = v
	}
	// Image pull secrets: the spec's, then those sparkConf names besides.
	secrets := slices.Clone(s.ImagePullSecrets)
	for _, name := range splitList(conf[spark.ConfPullSecrets]) {
		if !slices.Contains(secrets, name) {
			secrets = append(secrets, name)
		}
	}
	if len(secrets) > 0 {
		conf[spark.ConfPullSecrets] = strings.Join(secrets, ",")
	}
}

// validateKubernetesConf refuses confs native submission cannot honour and
// combinations that would make the driver create invalid executor pods.
func (b *builder) validateKubernetesConf() {
	s := b.spec
	sparkConf := specPath.Child("sparkConf")
	if _, ok := s.SparkConf[spark.ConfDriverPodTemplateFile]; ok {
		b.errs = append(b.errs, field.Forbidden(sparkConf.Key(spark.ConfDriverPodTemplateFile),
			"native submission reads no file from a submitter's disk; write the template's fields in spec.driver (labels, volumes, affinity, sidecars, ...) instead"))
	}
	for _, key := range slices.Sorted(maps.Keys(s.SparkConf)) {
		for _, prefix := range []string{spark.ConfDriverLabel, spark.ConfExecutorLabel} {
			if rest, ok := strings.CutPrefix(key, prefix); ok && slices.Contains(reservedLabels, rest) {
				b.errs = append(b.errs, field.Forbidden(sparkConf.Key(key), "this label is set by Spark or sparkplane; remove it"))
			}
		}
	}
	for _, sec := range s.Executor.Secrets {
		if _, ok := s.SparkConf[spark.ConfExecutorSecrets+sec.Name]; ok {
			b.errs = append(b.errs, field.Duplicate(sparkConf.Key(spark.ConfExecutorSecrets+sec.Name),
				"spec.executor.secrets mounts the same secret; keep one of the two (the driver would add a second volume of the same name)"))
		}
	}
	envs := withPrefix(s.SparkConf, spark.ConfExecutorEnv)
	for i, e := range s.Executor.Env {
		if _, ok := envs[e.Name]; ok {
			b.errs = append(b.errs, field.Duplicate(specPath.Child("executor", "env").Index(i).Child("name"),
				"spark.executorEnv."+e.Name+" in spec.sparkConf sets it too; keep one of the two"))
		}
	}
	if name := ptr.Deref(s.SparkConfigMap, ""); name != "" {
		if _, ok := b.opts.SparkConfFiles[SparkConfFile]; ok {
			b.errs = append(b.errs, field.Invalid(specPath.Child("sparkConfigMap"), name,
				"ConfigMap "+name+" has a key "+SparkConfFile+", the file sparkplane writes; put those entries in "+spark.SparkDefaultsFile+" or spec.sparkConf"))
		}
		if v, ok := s.SparkConf[spark.ConfExecutorDisableConfMap]; ok && v != "false" {
			b.errs = append(b.errs, field.Invalid(sparkConf.Key(spark.ConfExecutorDisableConfMap), v,
				"executors get spec.sparkConfigMap's files through the driver's executor ConfigMap; remove it or drop spec.sparkConfigMap"))
		}
	}
}

// secretKeyRefEnv is spark.kubernetes.driver.secretKeyRef.ENV=secret:key as
// environment variables, in name order.
func secretKeyRefEnv(conf map[string]string, prefix string) []corev1.EnvVar {
	refs := withPrefix(conf, prefix)
	var out []corev1.EnvVar
	for _, name := range slices.Sorted(maps.Keys(refs)) {
		secret, key, _ := strings.Cut(refs[name], ":")
		out = append(out, corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key,
		}}})
	}
	return out
}

// confSecretVolumes are spark.kubernetes.driver.secrets.NAME=path as Spark's
// MountSecretsFeatureStep mounts them (volume NAME-volume), skipping secrets
// the spec already mounts.
func confSecretVolumes(conf map[string]string, prefix string, have []corev1.Volume) ([]corev1.Volume, []corev1.VolumeMount) {
	secrets := withPrefix(conf, prefix)
	var volumes []corev1.Volume
	var mounts []corev1.VolumeMount
	for _, name := range slices.Sorted(maps.Keys(secrets)) {
		volume := name + "-volume"
		if slices.ContainsFunc(have, func(v corev1.Volume) bool { return v.Name == volume }) {
			continue
		}
		volumes = append(volumes, corev1.Volume{Name: volume, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: name}}})
		mounts = append(mounts, corev1.VolumeMount{Name: volume, MountPath: secrets[name]})
	}
	return volumes, mounts
}

// schedulerName is the role's scheduler conf, else the shared one.
func schedulerName(conf map[string]string, roleKey string) string {
	if v := conf[roleKey]; v != "" {
		return v
	}
	return conf[spark.ConfSchedulerName]
}

// pullSecrets are the effective image pull secrets.
func (b *builder) pullSecrets() []corev1.LocalObjectReference {
	var out []corev1.LocalObjectReference
	for _, name := range splitList(b.conf[spark.ConfPullSecrets]) {
		out = append(out, corev1.LocalObjectReference{Name: name})
	}
	return out
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

// withoutPlaceholders drops values the driver fills per executor
// ({{APP_ID}}, {{EXECUTOR_ID}}): they are no valid label or annotation value
// in a template; the driver sets them on each executor.
func withoutPlaceholders(m map[string]string) map[string]string {
	for k, v := range m {
		if strings.Contains(v, "{{") {
			delete(m, k)
		}
	}
	return m
}
