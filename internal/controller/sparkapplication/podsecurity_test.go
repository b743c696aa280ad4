package sparkapplication_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/sparkapplication"
	"github.com/sparkplane/sparkplane/internal/submit"
)

// TestRestrictedNamespace: in a namespace that enforces Pod Security
// "restricted", the API server's Pod Security admission admits the driver
// pod the operator creates and an executor built from the template, as the
// driver will build it; an application that asks for a privileged driver
// ends Failed at once with the admission's reason and what to change,
// instead of retrying; one whose executors would mount a hostPath is
// refused at submission.
func TestRestrictedNamespace(t *testing.T) {
	h := newHarness(t, sparkapplication.Options{})
	ns := &corev1.Namespace{}
	if err := env.Client.Get(h.ctx, client.ObjectKey{Name: h.ns}, ns); err != nil {
		t.Fatal(err)
	}
	ns.Labels[submit.LabelPodSecurityEnforce] = submit.PodSecurityRestricted
	if err := env.Client.Update(h.ctx, ns); err != nil {
		t.Fatal(err)
	}

	h.create(scalaApp(h.ns, "pi"))
	h.reconcile("pi")
	names := submit.NamesFor(h.get("pi"), 1)
	driver := h.pod(names.DriverPod)
	if sc := driver.Spec.SecurityContext; sc == nil || !ptr.Deref(sc.RunAsNonRoot, false) {
		t.Errorf("driver pod security context %+v", sc)
	}
	tmpl := &corev1.ConfigMap{}
	if err := env.Client.Get(h.ctx, client.ObjectKey{Namespace: h.ns, Name: names.PodTemplateConfigMap}, tmpl); err != nil {
		t.Fatal(err)
	}
	executor := &corev1.Pod{}
	if err := yaml.Unmarshal([]byte(tmpl.Data[submit.PodTemplateKey]), executor); err != nil {
		t.Fatal(err)
	}
	executor.Name, executor.Namespace = "pi-exec-1", h.ns
	if err := env.Client.Create(h.ctx, executor, client.DryRunAll); err != nil {
		t.Errorf("Pod Security refuses an executor from the template: %v", err)
	}

	privileged := scalaApp(h.ns, "privileged")
	privileged.Spec.Driver.SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
	h.create(privileged)
	h.reconcile("privileged")
	got := h.get("privileged")
	c := condition(got, v1alpha1.ConditionSubmitted)
	if got.Status.State != v1alpha1.StateFailed || !strings.Contains(c.Message, "violates PodSecurity") ||
		!strings.Contains(c.Message, "privileged") || !strings.Contains(c.Message, submit.LabelPodSecurityEnforce) {
		t.Errorf("a privileged driver in a restricted namespace: state %s, Submitted %s/%s", got.Status.State, c.Reason, c.Message)
	}
	if pods := h.driverPods("privileged"); len(pods) != 0 {
		t.Errorf("%d driver pods for the refused application", len(pods))
	}

	// Executors on the node's disk (an NVMe-shuffle profile's conf) would be
	// refused one by one after the driver started: refused at submission.
	const key = "spark.kubernetes.executor.volumes.hostPath.spark-local-dir-1.options.path"
	nvme := scalaApp(h.ns, "nvme")
	nvme.Spec.SparkConf = map[string]string{key: "/mnt/k8s-disks/0", "spark.kubernetes.executor.volumes.hostPath.spark-local-dir-1.mount.path": "/data"}
	h.create(nvme)
	h.reconcile("nvme")
	got = h.get("nvme")
	c = condition(got, v1alpha1.ConditionAccepted)
	if got.Status.State != v1alpha1.StateFailed || c.Reason != v1alpha1.ReasonInvalidSpec || !strings.Contains(c.Message, key) || !strings.Contains(c.Message, "hostPath") {
		t.Errorf("hostPath executors in a restricted namespace: state %s, Accepted %s/%s", got.Status.State, c.Reason, c.Message)
	}
	if pods := h.driverPods("nvme"); len(pods) != 0 {
		t.Errorf("%d driver pods for the application refused at submission", len(pods))
	}
}
