package framework

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/internal/spark"
)

// StandInScheduler is the schedulerName that hands a driver pod to the
// stand-in kubelet of RunDrivers instead of kube-scheduler and kwok.
// Reliability scenarios judge the operator, not scheduling: a thousand
// drivers do not fit the local cluster's driver nodes, and scheduling them
// on two cores would measure kube-scheduler (the submission benchmark keeps
// drivers away from it for the same reason).
const StandInScheduler = "sparkplane-e2e-stand-in"

// DriverRunner plays the kubelet for driver pods of StandInScheduler: it
// reports each Running as soon as it sees it and Succeeded runFor later,
// with the container statuses a kubelet writes. Its watch reconnects by
// itself when the API server goes away.
type DriverRunner struct {
	cs     kubernetes.Interface
	runFor time.Duration
	queue  workqueue.TypedRateLimitingInterface[types.NamespacedName]
	pods   toolscache.Indexer
	// Started and Finished count the drivers reported Running and Succeeded.
	Started, Finished atomic.Int64
}

// RunDrivers starts the stand-in kubelet for namespace until the test ends.
// cfg should reach the API server directly (not through a fault proxy).
func RunDrivers(t testing.TB, cfg *rest.Config, namespace string, runFor time.Duration) *DriverRunner {
	t.Helper()
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 500, 1000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.LabelSelector = spark.LabelRole + "=" + spark.RoleDriver
			o.FieldSelector = "spec.schedulerName=" + StandInScheduler
		}))
	inf := factory.Core().V1().Pods().Informer()
	d := &DriverRunner{cs: cs, runFor: runFor, pods: inf.GetIndexer(),
		queue: workqueue.NewTypedRateLimitingQueue(
			// Per pod only (no overall bucket): after an API server outage
			// every pod retries at once, and all must go on promptly.
			workqueue.NewTypedItemExponentialFailureRateLimiter[types.NamespacedName](50*time.Millisecond, 5*time.Second))}
	enqueue := func(obj any) {
		if pod, ok := obj.(*corev1.Pod); ok {
			d.queue.Add(types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name})
		}
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{AddFunc: enqueue, UpdateFunc: func(_, obj any) { enqueue(obj) }}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	done := make(chan struct{})
	const workers = 8
	for i := 0; i < workers; i++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for d.next(ctx) {
			}
		}()
	}
	t.Cleanup(func() {
		cancel()
		d.queue.ShutDown()
		for i := 0; i < workers; i++ {
			<-done
		}
		factory.Shutdown()
	})
	return d
}

func (d *DriverRunner) next(ctx context.Context) bool {
	key, quit := d.queue.Get()
	if quit {
		return false
	}
	defer d.queue.Done(key)
	after, err := d.sync(ctx, key)
	switch {
	case err != nil:
		d.queue.AddRateLimited(key)
	case after > 0:
		d.queue.Forget(key)
		d.queue.AddAfter(key, after)
	default:
		d.queue.Forget(key)
	}
	return true
}

// sync moves one driver pod on: Pending → Running → (runFor later)
// Succeeded. It returns when to look again.
func (d *DriverRunner) sync(ctx context.Context, key types.NamespacedName) (time.Duration, error) {
	obj, exists, err := d.pods.GetByKey(key.String())
	if err != nil || !exists {
		return 0, err
	}
	pod := obj.(*corev1.Pod)
	if pod.DeletionTimestamp != nil {
		return 0, nil
	}
	now := metav1.Now()
	switch pod.Status.Phase {
	case corev1.PodPending, "":
		statuses := make([]corev1.ContainerStatus, 0, len(pod.Spec.Containers))
		for _, c := range pod.Spec.Containers {
			statuses = append(statuses, corev1.ContainerStatus{Name: c.Name, Image: c.Image, Ready: true, Started: ptr.To(true),
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}})
		}
		if err := d.patchStatus(ctx, pod, corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &now, ContainerStatuses: statuses}); err != nil {
			return 0, err
		}
		d.Started.Add(1)
		return d.runFor, nil
	case corev1.PodRunning:
		started := pod.Status.StartTime
		if started != nil {
			if wait := started.Add(d.runFor).Sub(now.Time); wait > 0 {
				return wait, nil
			}
		}
		statuses := make([]corev1.ContainerStatus, 0, len(pod.Spec.Containers))
		for _, c := range pod.Spec.Containers {
			statuses = append(statuses, corev1.ContainerStatus{Name: c.Name, Image: c.Image, Started: ptr.To(false),
				State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", FinishedAt: now}}})
		}
		if err := d.patchStatus(ctx, pod, corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: statuses}); err != nil {
			return 0, err
		}
		d.Finished.Add(1)
	}
	return 0, nil
}

func (d *DriverRunner) patchStatus(ctx context.Context, pod *corev1.Pod, status corev1.PodStatus) error {
	patch, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return err
	}
	_, err = d.cs.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{}, "status")
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
