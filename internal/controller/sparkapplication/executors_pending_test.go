package sparkapplication

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/clusterstate"
	"github.com/sparkplane/sparkplane/internal/spark"
)

// unschedulable is a pod the scheduler could not place, with its message.
func unschedulable(message string) corev1.PodStatus {
	return corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: message,
	}}}
}

func waiting(reason, message string) corev1.PodStatus {
	return corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
		Name: "spark-kubernetes-executor", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}},
	}}}
}

// TestPodBlockage: each thing that keeps a pod from running, as the
// scheduler and the kubelet write it, gets its reason and a short cause.
// The pods go through the shared cache's trim first: the controller sees
// only what the trimmed pod keeps.
func TestPodBlockage(t *testing.T) {
	cases := map[string]struct {
		status   corev1.PodStatus
		nodeName string
		reason   string
		cause    string
	}{
		"missing StorageClass (scheduler error)": {
			status: unschedulable(`running PreFilter plugin "VolumeBinding": storageclass.storage.k8s.io "sparkplane-shuffle" not found`),
			reason: v1alpha1.ReasonStorageClassNotFound, cause: `StorageClass "sparkplane-shuffle" not found`,
		},
		"claim not found": {
			status: unschedulable(`0/3 nodes are available: persistentvolumeclaim "pi-exec-1-pvc-0" not found. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.`),
			reason: v1alpha1.ReasonClaimUnbound, cause: `PersistentVolumeClaim "pi-exec-1-pvc-0" not found`,
		},
		"unbound claim of a missing class (kube-scheduler 1.35's words; the controller reads the claim)": {
			status: unschedulable("0/7 nodes are available: pod has unbound immediate PersistentVolumeClaims. not found"),
			reason: v1alpha1.ReasonClaimUnbound, cause: "PersistentVolumeClaim not bound (no volume or provisioner for its StorageClass)",
		},
		"unbound immediate claim": {
			status: unschedulable("0/3 nodes are available: 3 pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."),
			reason: v1alpha1.ReasonClaimUnbound, cause: "PersistentVolumeClaim not bound (no volume or provisioner for its StorageClass)",
		},
		"no room": {
			status: unschedulable("0/5 nodes are available: 1 node(s) had untolerated taint {CriticalAddonsOnly: true}, 4 Insufficient cpu. preemption: 0/5 nodes are available: 1 Preemption is not helpful for scheduling, 4 No preemption victims found for incoming pod."),
			reason: v1alpha1.ReasonInsufficientCapacity, cause: "no room in the allowed tiers: 0/5 nodes are available: 1 node(s) had untolerated taint {CriticalAddonsOnly: true}, 4 Insufficient cpu",
		},
		"other scheduler verdict": {
			status: unschedulable("0/3 nodes are available: 3 node(s) had volume node affinity conflict."),
			reason: v1alpha1.ReasonUnschedulable, cause: "not scheduled: 0/3 nodes are available: 3 node(s) had volume node affinity conflict",
		},
		"image pull back-off": {
			status: waiting("ImagePullBackOff", `Back-off pulling image "apache/spark:9.9.9"`), nodeName: "node-a",
			reason: v1alpha1.ReasonImagePullFailed, cause: `image pull failed (ImagePullBackOff): Back-off pulling image "apache/spark:9.9.9"`,
		},
		"configuration error": {
			status: waiting("CreateContainerConfigError", `secret "creds" not found`), nodeName: "node-a",
			reason: v1alpha1.ReasonContainerNotStarted, cause: `container spark-kubernetes-executor is waiting: CreateContainerConfigError secret "creds" not found`,
		},
		"on a node, not started": {
			status: waiting("ContainerCreating", ""), nodeName: "node-a",
			reason: v1alpha1.ReasonContainerNotStarted, cause: "on node node-a but not started",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pi-exec-1", Labels: map[string]string{spark.LabelRole: spark.RoleExecutor}},
				Spec: corev1.PodSpec{NodeName: tc.nodeName}, Status: tc.status}
			trimmed, err := clusterstate.TrimPod(pod)
			if err != nil {
				t.Fatal(err)
			}
			b, ok := podBlockage(trimmed.(*corev1.Pod))
			if !ok {
				t.Fatal("no blockage found")
			}
			if b.reason != tc.reason || b.cause != tc.cause {
				t.Errorf("got %s %q\nwant %s %q", b.reason, b.cause, tc.reason, tc.cause)
			}
		})
	}
	t.Run("a running pod is not blocked, and its trimmed form keeps no pending detail", func(t *testing.T) {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{spark.LabelRole: spark.RoleExecutor}}, Status: unschedulable("x")}
		pod.Status.Phase = corev1.PodRunning
		trimmed, _ := clusterstate.TrimPod(pod)
		if _, ok := podBlockage(trimmed.(*corev1.Pod)); ok {
			t.Error("running pod reported blocked")
		}
		if len(trimmed.(*corev1.Pod).Status.Conditions) != 0 {
			t.Error("the trimmed running executor keeps its conditions")
		}
	})
}

// TestPendingExecutors: only executors that waited the threshold count; the
// reason most of them share wins; pods are named (at most ten) and counted.
func TestPendingExecutors(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	executor := func(name string, age time.Duration, status corev1.PodStatus) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(now.Add(-age)),
			Labels: map[string]string{spark.LabelRole: spark.RoleExecutor}}, Status: status}
	}
	noClass := unschedulable(`storageclass.storage.k8s.io "sparkplane-shuffle" not found`)
	noRoom := unschedulable("0/2 nodes are available: 2 Insufficient memory.")
	var pods []corev1.Pod
	for i := range 12 {
		pods = append(pods, executor(string(rune('a'+i))+"-exec", 90*time.Second, noClass))
	}
	pods = append(pods,
		executor("young-exec", 10*time.Second, noRoom),
		executor("room-exec", 2*time.Minute, noRoom),
		executor("running-exec", 5*time.Minute, corev1.PodStatus{Phase: corev1.PodRunning}),
		corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "driver", CreationTimestamp: metav1.NewTime(now.Add(-time.Hour)),
			Labels: map[string]string{spark.LabelRole: spark.RoleDriver}}, Status: noRoom},
	)
	got, next := pendingExecutors(pods, time.Minute, now)
	want := &v1alpha1.PendingPods{
		Reason: v1alpha1.ReasonStorageClassNotFound, Cause: `StorageClass "sparkplane-shuffle" not found`,
		Message: `storageclass.storage.k8s.io "sparkplane-shuffle" not found`, Count: 13,
		Pods:  []string{"a-exec", "b-exec", "c-exec", "d-exec", "e-exec", "f-exec", "g-exec", "h-exec", "i-exec", "j-exec"},
		Since: metav1.NewTime(now.Add(-2 * time.Minute)),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pending executors (-want +got):\n%s", diff)
	}
	if wantNext := now.Add(50 * time.Second); !next.Equal(wantNext) {
		t.Errorf("next crossing %v, want %v (young-exec)", next, wantNext)
	}
	msg := pendingConditionMessage(got, time.Minute)
	for _, part := range []string{"13 executor(s) waiting longer than 1m0s", `StorageClass "sparkplane-shuffle" not found`, "and 3 more", "Create the StorageClass"} {
		if !strings.Contains(msg, part) {
			t.Errorf("condition message %q lacks %q", msg, part)
		}
	}
	if got, _ := pendingExecutors(pods[12:], time.Minute, now); got == nil || got.Reason != v1alpha1.ReasonInsufficientCapacity || got.Count != 1 {
		t.Errorf("only room-exec waits long enough: got %+v", got)
	}
	if got, next := pendingExecutors(pods[12:13], time.Minute, now); got != nil || next.IsZero() {
		t.Errorf("a young pending executor: got %+v, next %v; want nothing yet and a next crossing", got, next)
	}
}
