package submit

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// executorTemplateOf reads the executor pod back from the ConfigMap the
// driver reads it from: what the driver's executors are built from.
func executorTemplateOf(t *testing.T, objs *Objects) *corev1.Pod {
	t.Helper()
	pod := &corev1.Pod{}
	if err := yaml.Unmarshal([]byte(objs.PodTemplateConfigMap.Data[PodTemplateKey]), pod); err != nil {
		t.Fatal(err)
	}
	return pod
}

// restricted reports what of Pod Security "restricted"'s securityContext
// rules pod misses (the volume, host namespace and privileged rules are the
// application's to keep; restrict adds nothing there).
func restrictedMisses(pod *corev1.Pod) []string {
	var out []string
	psc := pod.Spec.SecurityContext
	if psc == nil || !ptr.Deref(psc.RunAsNonRoot, false) {
		out = append(out, "runAsNonRoot")
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		out = append(out, "seccompProfile")
	}
	for _, containers := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range containers {
			sc := c.SecurityContext
			if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				out = append(out, c.Name+": allowPrivilegeEscalation")
			}
			if sc == nil || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
				out = append(out, c.Name+": drop ALL")
			}
		}
	}
	return out
}

// TestRestrictedPods: in a namespace that enforces restricted, the driver
// pod and the executor template (as the driver reads it) meet the level's
// securityContext rules, every container included, and run as Spark's
// user; elsewhere they carry no security context, as spark-submit's.
func TestRestrictedPods(t *testing.T) {
	withContainers := func() *Objects {
		app := scalaApp()
		app.Spec.Driver.InitContainers = []corev1.Container{{Name: "fetch", Image: "busybox"}}
		app.Spec.Executor.Sidecars = []corev1.Container{{Name: "logs", Image: "fluent-bit"}}
		objs, err := Build(app, Options{Attempt: 1, PodSecurity: PodSecurityRestricted})
		if err != nil {
			t.Fatal(err)
		}
		return objs
	}()
	for name, pod := range map[string]*corev1.Pod{"driver": withContainers.DriverPod, "executor template": executorTemplateOf(t, withContainers)} {
		if misses := restrictedMisses(pod); len(misses) > 0 {
			t.Errorf("%s pod misses restricted's %v", name, misses)
		}
		if got := ptr.Deref(pod.Spec.SecurityContext.RunAsUser, 0); got != SparkUID {
			t.Errorf("%s pod runs as %d, want Spark's %d", name, got, SparkUID)
		}
		if n := len(pod.Spec.InitContainers) + len(pod.Spec.Containers); n < 2 {
			t.Errorf("%s pod has %d containers; the test's init container or sidecar is missing", name, n)
		}
	}

	for _, level := range []string{"", "baseline", "privileged"} {
		objs, err := Build(scalaApp(), Options{Attempt: 1, PodSecurity: level})
		if err != nil {
			t.Fatal(err)
		}
		for name, pod := range map[string]*corev1.Pod{"driver": objs.DriverPod, "executor template": executorTemplateOf(t, objs)} {
			if len(restrictedMisses(pod)) == 0 || pod.Spec.SecurityContext != nil {
				t.Errorf("level %q: %s pod has a security context %+v; spark-submit's has none", level, name, pod.Spec.SecurityContext)
			}
		}
	}
}

// TestRestrictedKeepsTheApplicationsChoices: what the application sets
// stays, even where it breaks the level (admission then names it); a user
// set on every container is not overridden by Spark's on the pod.
func TestRestrictedKeepsTheApplicationsChoices(t *testing.T) {
	app := scalaApp()
	app.Spec.Driver.PodSecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000), FSGroup: ptr.To[int64](1000)}
	app.Spec.Driver.SecurityContext = &corev1.SecurityContext{
		Privileged:   ptr.To(true),
		Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_BIND_SERVICE"}, Drop: []corev1.Capability{"ALL"}},
	}
	app.Spec.Executor.SecurityContext = &corev1.SecurityContext{RunAsUser: ptr.To[int64](2000), AllowPrivilegeEscalation: ptr.To(true)}
	objs, err := Build(app, Options{Attempt: 1, PodSecurity: PodSecurityRestricted})
	if err != nil {
		t.Fatal(err)
	}
	driver := objs.DriverPod.Spec
	if got := *driver.SecurityContext.RunAsUser; got != 1000 {
		t.Errorf("driver runs as %d, want the application's 1000", got)
	}
	if driver.SecurityContext.FSGroup == nil || !*driver.SecurityContext.RunAsNonRoot {
		t.Errorf("driver pod security context %+v: fsGroup lost or runAsNonRoot not added", driver.SecurityContext)
	}
	sc := driver.Containers[0].SecurityContext
	if !*sc.Privileged || len(sc.Capabilities.Drop) != 1 || len(sc.Capabilities.Add) != 1 || sc.AllowPrivilegeEscalation != nil {
		t.Errorf("driver container security context %+v: the application's privileged/capabilities changed, or allowPrivilegeEscalation set beside privileged (the API server refuses the pair)", sc)
	}
	executor := executorTemplateOf(t, objs).Spec
	if executor.SecurityContext.RunAsUser != nil {
		t.Errorf("executor pod runs as %d although its only container sets 2000", *executor.SecurityContext.RunAsUser)
	}
	if !*executor.Containers[0].SecurityContext.AllowPrivilegeEscalation {
		t.Error("the executor's allowPrivilegeEscalation: true was overridden")
	}
}

// TestHostPathsRefusedWhereForbidden: under baseline and restricted, a
// hostPath volume — by Spark conf (an NVMe-shuffle profile's) or in
// spec.volumes — is refused at submission naming the field and the level,
// instead of leaving the driver waiting for executors admission refuses.
func TestHostPathsRefusedWhereForbidden(t *testing.T) {
	const key = "spark.kubernetes.executor.volumes.hostPath.spark-local-dir-1.options.path"
	byConf := func() *v1alpha1.SparkApplication {
		app := scalaApp()
		app.Spec.SparkConf = map[string]string{key: "/mnt/k8s-disks/0", "spark.kubernetes.executor.volumes.hostPath.spark-local-dir-1.mount.path": "/data"}
		return app
	}
	bySpec := func() *v1alpha1.SparkApplication {
		app := scalaApp()
		app.Spec.Volumes = append(app.Spec.Volumes, corev1.Volume{Name: "node-disk", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/mnt"}}})
		app.Spec.Executor.VolumeMounts = append(app.Spec.Executor.VolumeMounts, corev1.VolumeMount{Name: "node-disk", MountPath: "/node"})
		return app
	}
	for _, tc := range []struct {
		name  string
		app   func() *v1alpha1.SparkApplication
		field string
	}{
		{"conf", byConf, "spec.sparkConf[" + key + "]"},
		{"spec.volumes", bySpec, fmt.Sprintf("spec.volumes[%d].hostPath", len(scalaApp().Spec.Volumes))},
	} {
		for _, level := range []string{PodSecurityBaseline, PodSecurityRestricted} {
			_, err := Build(tc.app(), Options{Attempt: 1, PodSecurity: level})
			if err == nil || !strings.Contains(err.Error(), tc.field) || !strings.Contains(err.Error(), `"`+level+`"`) || !strings.Contains(err.Error(), "hostPath") {
				t.Errorf("%s under %s: got %v, want a refusal naming %s, the level and hostPath", tc.name, level, err, tc.field)
			}
		}
		for _, level := range []string{"", "privileged"} {
			if _, err := Build(tc.app(), Options{Attempt: 1, PodSecurity: level}); err != nil {
				t.Errorf("%s under %q: %v", tc.name, level, err)
			}
		}
	}
}
