package install

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// LastLogLine returns the last line the named container of a pod wrote
// (its previous run's when previous is set), or "" when there is none.
type LastLogLine func(ctx context.Context, pod *corev1.Pod, container string, previous bool) string

// PodLogs reads last log lines through the API server.
func PodLogs(cs kubernetes.Interface) LastLogLine {
	return func(ctx context.Context, pod *corev1.Pod, container string, previous bool) string {
		stream, err := cs.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{
			Container: container, Previous: previous, TailLines: ptr.To[int64](5),
		}).Stream(ctx)
		if err != nil {
			return ""
		}
		defer stream.Close()
		last := ""
		scanner := bufio.NewScanner(stream)
		for scanner.Scan() {
			if line := strings.TrimSpace(scanner.Text()); line != "" {
				last = line
			}
		}
		return last
	}
}

// ErrNotAvailable is returned (wrapped, with the reason) when the operator
// Deployment did not become available in time.
var ErrNotAvailable = errors.New("the operator is not available")

// WaitAvailable polls the operator Deployment until it is available with its
// current spec rolled out, or returns ErrNotAvailable wrapped with the one
// reason that holds it back (see NotAvailableReason).
func WaitAvailable(ctx context.Context, c client.Client, logs LastLogLine, namespace string, timeout time.Duration) error {
	return WaitDeploymentAvailable(ctx, c, logs, namespace, Deployment, PodLabels, timeout)
}

// WaitDeploymentAvailable is WaitAvailable for the Deployment name whose
// pods carry podLabels (the hub's: HubDeployment, HubPodLabels).
func WaitDeploymentAvailable(ctx context.Context, c client.Client, logs LastLogLine, namespace, name string, podLabels map[string]string, timeout time.Duration) error {
	var reason string
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		d := &appsv1.Deployment{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, d); err != nil {
			reason = err.Error()
			return false, nil
		}
		if DeploymentAvailable(d) {
			return true, nil
		}
		pods := &corev1.PodList{}
		if err := c.List(ctx, pods, client.InNamespace(namespace), client.MatchingLabels(podLabels)); err != nil {
			reason = err.Error()
			return false, nil
		}
		reason = NotAvailableReason(ctx, d, pods.Items, logs)
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("%w after %s: %s", ErrNotAvailable, timeout, reason)
	}
	return nil
}

// DeploymentAvailable says whether d's current generation is rolled out and
// at least one replica is available.
func DeploymentAvailable(d *appsv1.Deployment) bool {
	want := ptr.Deref(d.Spec.Replicas, 1)
	return d.Status.ObservedGeneration >= d.Generation &&
		d.Status.UpdatedReplicas >= want &&
		d.Status.AvailableReplicas >= min(want, 1) &&
		d.Status.Replicas == d.Status.UpdatedReplicas
}

// NotAvailableReason says in one line why the operator Deployment is not
// available: an image that cannot be pulled (naming the image), a pod the
// scheduler cannot place (with its reason), a crashing container (with its
// last log line), pods the API server refused (Pod Security), or else the
// Deployment's own state.
func NotAvailableReason(ctx context.Context, d *appsv1.Deployment, pods []corev1.Pod, logs LastLogLine) string {
	sort.Slice(pods, func(i, j int) bool { return pods[i].CreationTimestamp.After(pods[j].CreationTimestamp.Time) })
	for i := range pods {
		pod := &pods[i]
		if pod.DeletionTimestamp != nil {
			continue
		}
		for _, st := range pod.Status.ContainerStatuses {
			if w := st.State.Waiting; w != nil {
				switch w.Reason {
				case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull":
					return fmt.Sprintf("pod %s cannot pull image %s (%s): %s; build and push it with `make image-push IMAGE=...` and install with --image, or check the node's registry access", pod.Name, st.Image, w.Reason, oneLine(w.Message))
				case "CrashLoopBackOff", "CreateContainerConfigError", "CreateContainerError", "RunContainerError":
					msg := fmt.Sprintf("pod %s: container %s is in %s (restarted %d times)", pod.Name, st.Name, w.Reason, st.RestartCount)
					if t := st.LastTerminationState.Terminated; t != nil {
						msg += fmt.Sprintf(", last exit code %d", t.ExitCode)
					}
					if line := lastLine(ctx, logs, pod, st.Name, true); line != "" {
						msg += ": " + line
					} else if w.Message != "" {
						msg += ": " + oneLine(w.Message)
					}
					return msg
				}
			}
			if t := st.State.Terminated; t != nil && t.ExitCode != 0 {
				msg := fmt.Sprintf("pod %s: container %s exited with code %d", pod.Name, st.Name, t.ExitCode)
				if line := lastLine(ctx, logs, pod, st.Name, false); line != "" {
					msg += ": " + line
				}
				return msg
			}
		}
		for _, cond := range pod.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Reason == corev1.PodReasonUnschedulable {
				return fmt.Sprintf("pod %s is unschedulable: %s", pod.Name, oneLine(cond.Message))
			}
		}
		for _, st := range pod.Status.ContainerStatuses {
			if st.State.Running != nil && !st.Ready {
				msg := fmt.Sprintf("pod %s is running but not ready (its /readyz fails)", pod.Name)
				if line := lastLine(ctx, logs, pod, st.Name, false); line != "" {
					msg += "; last log line: " + line
				}
				return msg
			}
		}
	}
	for _, cond := range d.Status.Conditions {
		if cond.Type == appsv1.DeploymentReplicaFailure && cond.Status == corev1.ConditionTrue {
			return fmt.Sprintf("deployment %s cannot create pods: %s", d.Name, oneLine(cond.Message))
		}
	}
	if len(pods) == 0 {
		return fmt.Sprintf("deployment %s has no pods yet (is kube-controller-manager running?)", d.Name)
	}
	return fmt.Sprintf("deployment %s: %d of %d replicas updated, %d available", d.Name,
		d.Status.UpdatedReplicas, ptr.Deref(d.Spec.Replicas, 1), d.Status.AvailableReplicas)
}

func lastLine(ctx context.Context, logs LastLogLine, pod *corev1.Pod, container string, previous bool) string {
	if logs == nil {
		return ""
	}
	return oneLine(logs(ctx, pod, container, previous))
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:297] + "..."
	}
	return s
}
