package submit

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// Pod Security admission: the driver pod the operator creates, and the
// executor pods the driver creates from the template, are admitted like any
// pod, at the level their namespace enforces.
const (
	// LabelPodSecurityEnforce on a namespace is the Pod Security level
	// admission enforces there.
	LabelPodSecurityEnforce = "pod-security.kubernetes.io/enforce"
	// PodSecurityRestricted is the level that asks more of a pod than
	// spark-submit's pods have.
	PodSecurityRestricted = "restricted"
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
