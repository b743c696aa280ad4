package sparkapplication_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/sparkapplication"
	"github.com/sparkplane/sparkplane/internal/spark"
	"github.com/sparkplane/sparkplane/internal/submit"
)

// executors creates n executor pods of the application's current attempt,
// as its driver would, each with status written by set (playing the
// scheduler or the kubelet).
func (h *harness) executors(app *v1alpha1.SparkApplication, n int, set func(*corev1.PodStatus)) []string {
	h.t.Helper()
	names := submit.NamesFor(app, app.Status.Attempts)
	var created []string
	for i := 1; i <= n; i++ {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-exec-%d", app.Name, i), Namespace: h.ns, Labels: map[string]string{
				spark.LabelRole: spark.RoleExecutor, spark.LabelAppSelector: names.AppID,
				v1alpha1.LabelApplication: app.Name, spark.LabelExecID: fmt.Sprint(i),
			}},
			Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "spark-kubernetes-executor", Image: "apache/spark:3.5.3"}},
				// The shuffle claim the built-in profiles give executors.
				Volumes: []corev1.Volume{{Name: "spark-local-dir-1", VolumeSource: corev1.VolumeSource{
					PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: fmt.Sprintf("%s-exec-%d-pvc-0", app.Name, i)}}}},
			},
		}
		claim := &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-exec-%d-pvc-0", app.Name, i), Namespace: h.ns},
			Spec: corev1.PersistentVolumeClaimSpec{
				StorageClassName: ptr.To("sparkplane-shuffle"), AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}},
			},
		}
		if err := env.Client.Create(h.ctx, claim); err != nil {
			h.t.Fatal(err)
		}
		if err := env.Client.Create(h.ctx, pod); err != nil {
			h.t.Fatal(err)
		}
		h.setPodStatus(pod.Name, set)
		created = append(created, pod.Name)
	}
	return created
}

// noStorageClass is what kube-scheduler 1.35 writes on a pod whose claim
// names a StorageClass that does not exist: it does not name the class.
func noStorageClass(st *corev1.PodStatus) {
	st.Phase = corev1.PodPending
	st.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable",
		Message: "0/7 nodes are available: pod has unbound immediate PersistentVolumeClaims. not found"}}
}

// TestExecutorsPending: executors that wait longer than the threshold make
// the application say why (condition, status.executorsPending with the pods)
// — for a claim the scheduler calls unbound, the missing StorageClass behind
// it — and say it no more once they run.
func TestExecutorsPending(t *testing.T) {
	h := newHarness(t, sparkapplication.Options{})
	h.create(scalaApp(h.ns, "waits"))
	h.reconcile("waits")
	app := h.get("waits")
	h.setPodStatus(submit.NamesFor(app, 1).DriverPod, running)
	h.reconcile("waits")
	pods := h.executors(app, 3, noStorageClass)

	res := h.reconcile("waits")
	if c := condition(h.get("waits"), v1alpha1.ConditionExecutorsPending); c.Type != "" {
		t.Errorf("executors just created: want no ExecutorsPending yet, got %+v", c)
	}
	if res.RequeueAfter <= 0 || res.RequeueAfter > sparkapplication.DefaultPendingThreshold+5*time.Second {
		t.Errorf("requeue %s, want when the executors cross the %s threshold", res.RequeueAfter, sparkapplication.DefaultPendingThreshold)
	}

	h.clock.Step(sparkapplication.DefaultPendingThreshold + 5*time.Second)
	h.reconcile("waits")
	app = h.get("waits")
	c := condition(app, v1alpha1.ConditionExecutorsPending)
	if c.Status != metav1.ConditionTrue || c.Reason != v1alpha1.ReasonStorageClassNotFound ||
		!strings.Contains(c.Message, `StorageClass "sparkplane-shuffle" not found`) || !strings.Contains(c.Message, "3 executor(s)") {
		t.Errorf("ExecutorsPending = %+v", c)
	}
	p := app.Status.ExecutorsPending
	if p == nil || p.Count != 3 || strings.Join(p.Pods, ",") != strings.Join(pods, ",") || p.Cause != `StorageClass "sparkplane-shuffle" not found` {
		t.Errorf("status.executorsPending = %+v", p)
	}
	if app.Status.State != v1alpha1.StateRunning {
		t.Errorf("state %s: waiting executors do not end the application without a timeout", app.Status.State)
	}

	for _, pod := range pods {
		h.setPodStatus(pod, func(st *corev1.PodStatus) { st.Phase = corev1.PodRunning; st.Conditions = nil })
	}
	h.reconcile("waits")
	app = h.get("waits")
	if c := condition(app, v1alpha1.ConditionExecutorsPending); c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonExecutorsStarted {
		t.Errorf("after the executors run: ExecutorsPending = %+v", c)
	}
	if app.Status.ExecutorsPending != nil {
		t.Errorf("status.executorsPending kept: %+v", app.Status.ExecutorsPending)
	}
}

// TestExecutorStartTimeout: with spec.executorStartTimeoutSeconds, an
// attempt none of whose executors started ends Failed with reason
// ExecutorsStartTimedOut and the cause, and its driver is deleted.
func TestExecutorStartTimeout(t *testing.T) {
	h := newHarness(t, sparkapplication.Options{})
	app := scalaApp(h.ns, "timeout")
	app.Spec.ExecutorStartTimeoutSeconds = ptr.To[int64](90)
	h.create(app)
	h.reconcile("timeout")
	app = h.get("timeout")
	driver := submit.NamesFor(app, 1).DriverPod
	h.setPodStatus(driver, running)
	h.reconcile("timeout")
	h.executors(app, 2, func(st *corev1.PodStatus) {
		st.Phase = corev1.PodPending
		st.ContainerStatuses = []corev1.ContainerStatus{{Name: "spark-kubernetes-executor", State: corev1.ContainerState{
			Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: `Back-off pulling image "apache/spark:3.5.3"`}}}}
	})
	h.clock.Step(70 * time.Second)
	res := h.reconcile("timeout")
	if c := condition(h.get("timeout"), v1alpha1.ConditionExecutorsPending); c.Reason != v1alpha1.ReasonImagePullFailed {
		t.Errorf("ExecutorsPending before the timeout = %+v", c)
	}
	if res.RequeueAfter <= 0 || res.RequeueAfter > 25*time.Second {
		t.Errorf("requeue %s, want when the 90s timeout ends", res.RequeueAfter)
	}
	h.clock.Step(25 * time.Second)
	h.reconcile("timeout")
	app = h.get("timeout")
	c := condition(app, v1alpha1.ConditionCompleted)
	if app.Status.State != v1alpha1.StateFailed || c.Reason != v1alpha1.ReasonExecutorsStartTimedOut || !strings.Contains(c.Message, "image pull failed") {
		t.Errorf("after the timeout: state %s, Completed %+v", app.Status.State, c)
	}
	if err := env.Client.Get(h.ctx, client.ObjectKey{Namespace: h.ns, Name: driver}, &corev1.Pod{}); !apierrors.IsNotFound(err) {
		t.Errorf("the driver should be deleted after the timeout; get = %v", err)
	}
}
