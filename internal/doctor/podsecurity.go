package doctor

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/install"
	"github.com/sparkplane/sparkplane/internal/spark"
	"github.com/sparkplane/sparkplane/internal/submit"
)

// samplePods are the pods sparkplane would create for a SparkPi in
// namespace, which enforces Pod Security level: its driver and the executor
// template, exactly as native submission builds them there, and the
// operator's own pod in install.Namespace.
func samplePods(namespace, level string) ([]*corev1.Pod, error) {
	app := &v1alpha1.SparkApplication{
		ObjectMeta: metav1.ObjectMeta{Name: "doctor-spark-pi", Namespace: namespace, UID: types.UID("00000000-0000-4000-8000-000000000000")},
		Spec: v1alpha1.SparkApplicationSpec{
			Type:                v1alpha1.SparkApplicationTypeScala,
			SparkVersion:        "3.5.3",
			Image:               ptr.To("apache/spark:3.5.3"),
			MainClass:           ptr.To("org.apache.spark.examples.SparkPi"),
			MainApplicationFile: ptr.To("local:///opt/spark/examples/jars/spark-examples_2.12-3.5.3.jar"),
			Driver:              v1alpha1.DriverSpec{SparkPodSpec: v1alpha1.SparkPodSpec{Cores: ptr.To[int32](1), Memory: ptr.To[v1alpha1.MemorySize]("512m")}},
			Executor:            v1alpha1.ExecutorSpec{SparkPodSpec: v1alpha1.SparkPodSpec{Cores: ptr.To[int32](1), Memory: ptr.To[v1alpha1.MemorySize]("512m")}, Instances: ptr.To[int32](1)},
		},
	}
	objs, err := submit.Build(app, submit.Options{Attempt: 1, PodSecurity: level})
	if err != nil {
		return nil, fmt.Errorf("building a sample driver pod: %w", err)
	}
	executor := objs.ExecutorTemplate.DeepCopy()
	executor.Name, executor.Namespace = "doctor-spark-pi-exec-1", namespace
	pods := []*corev1.Pod{objs.DriverPod.DeepCopy(), executor}
	if operator := install.OperatorPodTemplate(); operator != nil {
		pods = append(pods, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "doctor-sparkplane-operator", Namespace: install.Namespace,
			Labels: operator.Labels}, Spec: *operator.Spec.DeepCopy()})
	}
	for _, p := range pods {
		// Only Pod Security is in question here: the account, priority
		// class and owners are checked (or created) elsewhere, and would
		// make admission refuse the dry run for other reasons.
		p.OwnerReferences = nil
		p.Spec.ServiceAccountName = ""
		p.Spec.PriorityClassName = ""
		p.Spec.Priority = nil
		p.ResourceVersion = ""
	}
	return pods, nil
}

// checkPodSecurity creates, as a server-side dry run, the pods sparkplane
// creates: a refusal is what Pod Security admission (or another admission
// policy) would do to real ones.
func (r *run) checkPodSecurity() Result {
	jobNamespace := &corev1.Namespace{}
	if err := r.c.Get(r.ctx, client.ObjectKey{Name: r.opts.Namespace}, jobNamespace); client.IgnoreNotFound(err) != nil {
		return fail(CheckPodSecurity, "", "reading namespace %s: %v", r.opts.Namespace, err)
	}
	pods, err := samplePods(r.opts.Namespace, jobNamespace.Labels[submit.LabelPodSecurityEnforce])
	if err != nil {
		return fail(CheckPodSecurity, "", "%v", err)
	}
	var refused, levels []string
	seen := map[string]bool{}
	for _, pod := range pods {
		ns := &corev1.Namespace{}
		if err := r.c.Get(r.ctx, client.ObjectKey{Name: pod.Namespace}, ns); err != nil {
			// A missing namespace is the operator's or the driver
			// account's check to report.
			continue
		}
		if !seen[pod.Namespace] {
			seen[pod.Namespace] = true
			level := ns.Labels[submit.LabelPodSecurityEnforce]
			if level == "" {
				level = "none"
			}
			levels = append(levels, pod.Namespace+": "+level)
		}
		if err := r.c.Create(r.ctx, pod, client.DryRunAll); err != nil {
			refused = append(refused, fmt.Sprintf("%s in %s: %v", role(pod), pod.Namespace, err))
		}
	}
	if len(refused) > 0 {
		return fail(CheckPodSecurity, "label the namespace with the level its pods need (kubectl label namespace NS pod-security.kubernetes.io/enforce=baseline), or give the pods a securityContext that passes it (spec.driver/executor.securityContext)",
			"sparkplane's pods would be refused: %s", strings.Join(refused, "; "))
	}
	return ok(CheckPodSecurity, "driver, executor and operator pods admitted (dry run; enforce levels %s)", joinNames(levels))
}

func role(pod *corev1.Pod) string {
	if r := pod.Labels[spark.LabelRole]; r != "" {
		return "Spark " + r + " pod"
	}
	return "operator pod"
}
