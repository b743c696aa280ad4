package install

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestNotAvailableReason(t *testing.T) {
	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: Deployment}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1)}}
	pod := func(mutate func(*corev1.Pod)) []corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "sparkplane-operator-abc"}}
		mutate(&p)
		return []corev1.Pod{p}
	}
	waiting := func(reason, message string) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "operator", Image: "ghcr.io/sparkplane/sparkplane:v9", RestartCount: 4,
				State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}}
		}
	}
	logs := func(_ context.Context, _ *corev1.Pod, container string, previous bool) string {
		if container == "operator" && previous {
			return "E1206 error: creating the manager: no route to host\n"
		}
		return ""
	}
	failing := deploy.DeepCopy()
	failing.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue,
		Message: `pods "sparkplane-operator-x" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true`}}
	cases := map[string]struct {
		deploy *appsv1.Deployment
		pods   []corev1.Pod
		want   []string
	}{
		"image pull": {deploy, pod(waiting("ImagePullBackOff", `Back-off pulling image "ghcr.io/sparkplane/sparkplane:v9"`)),
			[]string{"cannot pull image ghcr.io/sparkplane/sparkplane:v9", "ImagePullBackOff", "--image"}},
		"crash": {deploy, pod(waiting("CrashLoopBackOff", "back-off 40s")),
			[]string{"CrashLoopBackOff", "restarted 4 times", "exit code 1", "no route to host"}},
		"unschedulable": {deploy, pod(func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable",
				Message: "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."}}
		}), []string{"unschedulable", "didn't match Pod's node affinity"}},
		"refused by pod security": {failing, nil, []string{"cannot create pods", "violates PodSecurity"}},
		"no pods":                 {deploy, nil, []string{"no pods yet"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := NotAvailableReason(context.Background(), tc.deploy, tc.pods, logs)
			if strings.Contains(got, "\n") {
				t.Errorf("reason spans lines: %q", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("reason %q lacks %q", got, w)
				}
			}
		})
	}
}
