package submit

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/utils/ptr"
)

// Pod Security admission: the driver pod the operator creates, and the
// executor pods the driver creates from the template, are admitted like any
// pod, at the level their namespace enforces.
//
// The names are Pod Security admission's own (k8s.io/pod-security-admission/api).
const (
	// LabelPodSecurityEnforce on a namespace is the Pod Security level
	// admission enforces there.
	LabelPodSecurityEnforce = psaapi.EnforceLevelLabel
	// PodSecurityRestricted is the level that asks more of a pod than
	// spark-submit's pods have.
	PodSecurityRestricted = string(psaapi.LevelRestricted)
	// SparkUID is the user Spark's images run as: spark_uid in Spark's own
	// Dockerfile (docker-image-tool.sh) and in apache/spark-docker, whose
	// images name it by name (USER spark), which the kubelet cannot check
	// against runAsNonRoot; restricted pods that set no user get this one.
	SparkUID int64 = 185
)

// restrict fills in what Pod Security "restricted" requires and spec leaves
// unset: the pod runs as non-root (as SparkUID unless a user is set on the
// pod or on every container) with the RuntimeDefault seccomp profile, and
// every container, init containers and sidecars included, drops all
// capabilities and may not escalate privileges. What the application set
// itself is kept, even where it breaks the level: admission then refuses
// the pod naming the field, which says more than a silent override.
//
// Build does this only in namespaces that enforce restricted, not always:
// spark-submit's pods carry no security context, and images that start as
// root (many FROM spark images switch to USER root to install packages; the
// official image's entrypoint drops to its user with gosu when started as
// root) stop working under runAsNonRoot and without capabilities.
func restrict(spec *corev1.PodSpec) {
	if spec.SecurityContext == nil {
		spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	psc := spec.SecurityContext
	if psc.RunAsNonRoot == nil {
		psc.RunAsNonRoot = ptr.To(true)
	}
	if psc.RunAsUser == nil && !everyContainer(spec, func(c *corev1.Container) bool {
		return c.SecurityContext != nil && c.SecurityContext.RunAsUser != nil
	}) {
		psc.RunAsUser = ptr.To(SparkUID)
	}
	if psc.SeccompProfile == nil {
		psc.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
	}
	for _, containers := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range containers {
			restrictContainer(&containers[i])
		}
	}
}

func restrictContainer(c *corev1.Container) {
	if c.SecurityContext == nil {
		c.SecurityContext = &corev1.SecurityContext{}
	}
	sc := c.SecurityContext
	// A privileged container may not say it does not escalate (validation
	// refuses the pair): it is left for admission to refuse by name.
	if sc.AllowPrivilegeEscalation == nil && !ptr.Deref(sc.Privileged, false) {
		sc.AllowPrivilegeEscalation = ptr.To(false)
	}
	if sc.Capabilities == nil {
		sc.Capabilities = &corev1.Capabilities{}
	}
	if !slices.Contains(sc.Capabilities.Drop, "ALL") {
		sc.Capabilities.Drop = append(sc.Capabilities.Drop, "ALL")
	}
}

func everyContainer(spec *corev1.PodSpec, ok func(*corev1.Container) bool) bool {
	for _, containers := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range containers {
			if !ok(&containers[i]) {
				return false
			}
		}
	}
	return true
}

// PodSecurityBaseline is the level below restricted; it too refuses
// hostPath volumes.
const PodSecurityBaseline = string(psaapi.LevelBaseline)

// hostPathConfPrefixes are the Spark conf keys of hostPath volumes
// (KubernetesVolumeUtils): the driver's, which Build mounts, and the
// executors', which the driver adds to every executor it creates.
var hostPathConfPrefixes = []string{"spark.kubernetes.driver.volumes.hostPath.", "spark.kubernetes.executor.volumes.hostPath."}

// checkHostPaths refuses, in a namespace whose Pod Security level forbids
// them (baseline and restricted), the hostPath volumes an application's pods
// would have: admission would refuse the driver, or, worse, every executor
// the running driver asks for, leaving it waiting. The usual source is a
// profile with NVMe shuffle on the node's instance store.
func (b *builder) checkHostPaths(objs *Objects) {
	level := b.opts.PodSecurity
	if level != PodSecurityBaseline && level != PodSecurityRestricted {
		return
	}
	why := fmt.Sprintf("the namespace enforces Pod Security %q (label %s), which refuses hostPath volumes: keep shuffle on PVCs (profile cost-optimized) or an emptyDir, or run in a namespace whose level is privileged", level, LabelPodSecurityEnforce)
	used := map[string]bool{}
	for _, pod := range []*corev1.Pod{objs.DriverPod, objs.ExecutorTemplate} {
		for _, v := range pod.Spec.Volumes {
			used[v.Name] = used[v.Name] || v.HostPath != nil
		}
	}
	for i, v := range b.spec.Volumes {
		if v.HostPath != nil && used[v.Name] {
			b.errs = append(b.errs, field.Forbidden(specPath.Child("volumes").Index(i).Child("hostPath"), why))
		}
	}
	for _, key := range slices.Sorted(maps.Keys(b.conf)) {
		for _, prefix := range hostPathConfPrefixes {
			if strings.HasPrefix(key, prefix) && strings.HasSuffix(key, ".options.path") {
				b.errs = append(b.errs, field.Forbidden(specPath.Child("sparkConf").Key(key), why))
			}
		}
	}
}
