// Package queue admits SparkApplications through Kueue without changes to
// Kueue, by its external-framework contract: an application labelled
// kueue.x-k8s.io/queue-name (and spec.suspend left unset) is held by the
// sparkapplication controller; this controller writes a Kueue Workload for it
// (pod sets: the driver, and the executors it starts with), owned by the
// application, sets spec.suspend=false when Kueue admits the Workload and
// true when Kueue evicts it, and deletes the Workload when the application
// has ended, which returns its quota.
//
// Kueue's pod-group integration does not fit Spark (a group is admitted once
// all its pods exist, and a driver creates its executors only after it
// runs), and its SparkApplication integration knows Kubeflow's CRD only; see
// docs/migrating.md.
package queue

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/submit"
)

// ControllerName names the controller in logs and metrics.
const ControllerName = "queue"

// WorkloadGVK is Kueue's Workload, written as unstructured data so Kueue's
// Go module stays out of the product.
var WorkloadGVK = schema.GroupVersionKind{Group: "kueue.x-k8s.io", Version: "v1beta1", Kind: "Workload"}

// WorkloadName is the application's Workload.
func WorkloadName(app *v1alpha1.SparkApplication) string { return "sparkapplication-" + app.Name }

// Controller keeps each queued application's Workload and spec.suspend in step.
type Controller struct {
	client client.Client
}

// NewController returns the controller; Register wires it.
func NewController() *Controller { return &Controller{} }

// Name is the controller's name.
func (c *Controller) Name() string { return ControllerName }

// Available reports whether the cluster serves Kueue's Workload.
func Available(mapper meta.RESTMapper) bool {
	_, err := mapper.RESTMapping(WorkloadGVK.GroupKind(), WorkloadGVK.Version)
	return err == nil
}

// Register watches queued SparkApplications and the Workloads they own.
func (c *Controller) Register(mgr manager.Manager) error {
	c.client = mgr.GetClient()
	workload := &unstructured.Unstructured{}
	workload.SetGroupVersionKind(WorkloadGVK)
	queued := predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetLabels()[v1alpha1.LabelKueueQueueName] != "" })
	return builder.ControllerManagedBy(mgr).
		Named(ControllerName).
		For(&v1alpha1.SparkApplication{}, builder.WithPredicates(queued)).
		Owns(workload).
		Complete(c)
}

// Reconcile ensures the Workload and mirrors its admission into spec.suspend.
func (c *Controller) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	app := &v1alpha1.SparkApplication{}
	if err := c.client.Get(ctx, req.NamespacedName, app); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	queueName := app.Labels[v1alpha1.LabelKueueQueueName]
	if queueName == "" || !app.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, nil
	}
	ctx = log.IntoContext(ctx, log.FromContext(ctx).WithValues("sparkapplication", klog.KObj(app)))
	workload := &unstructured.Unstructured{}
	workload.SetGroupVersionKind(WorkloadGVK)
	err := c.client.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: WorkloadName(app)}, workload)
	if app.Status.State.IsTerminal() {
		// Finished: give the quota back.
		if err == nil {
			if err := c.client.Delete(ctx, workload, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
				return reconcile.Result{}, fmt.Errorf("deleting Workload %s of a finished application: %w", workload.GetName(), err)
			}
		}
		return reconcile.Result{}, nil
	}
	if apierrors.IsNotFound(err) {
		w, err := NewWorkload(app, queueName)
		if err != nil {
			return reconcile.Result{}, reconcile.TerminalError(err)
		}
		if err := c.client.Create(ctx, w); err != nil && !apierrors.IsAlreadyExists(err) {
			return reconcile.Result{}, fmt.Errorf("creating Workload %s: %w", w.GetName(), err)
		}
		log.FromContext(ctx).V(1).Info("Created Workload", "workload", w.GetName(), "queue", queueName)
		return reconcile.Result{}, nil
	}
	if err != nil {
		return reconcile.Result{}, fmt.Errorf("reading Workload: %w", err)
	}
	admitted := conditionTrue(workload, "Admitted")
	wantSuspend := !admitted
	if app.Spec.Suspend != nil && *app.Spec.Suspend == wantSuspend {
		return reconcile.Result{}, nil
	}
	if app.Spec.Suspend == nil && wantSuspend {
		return reconcile.Result{}, nil // held already (unset suspend + queue label)
	}
	patch := client.MergeFrom(app.DeepCopy())
	app.Spec.Suspend = ptr.To(wantSuspend)
	if err := c.client.Patch(ctx, app, patch); err != nil {
		return reconcile.Result{}, fmt.Errorf("setting spec.suspend=%t from Workload %s: %w", wantSuspend, workload.GetName(), err)
	}
	log.FromContext(ctx).V(1).Info("Workload admission changed", "admitted", admitted)
	return reconcile.Result{}, nil
}

func conditionTrue(u *unstructured.Unstructured, conditionType string) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == conditionType {
			return m["status"] == string(metav1.ConditionTrue)
		}
	}
	return false
}

// NewWorkload is the application's Kueue Workload: a driver pod set and,
// when it starts with executors, an executor pod set, each carrying the
// containers' requests as submission computes them.
func NewWorkload(app *v1alpha1.SparkApplication, queueName string) (*unstructured.Unstructured, error) {
	withUID := app.DeepCopy()
	if withUID.UID == "" {
		withUID.UID = "pending"
	}
	objs, err := submit.Build(withUID, submit.Options{Attempt: 1})
	if err != nil {
		return nil, fmt.Errorf("sizing the Workload: %w", err)
	}
	podSets := []any{podSet("driver", 1, objs.DriverPod)}
	if n := objs.GangExecutors; n > 0 {
		podSets = append(podSets, podSet("executor", n, objs.ExecutorTemplate))
	}
	w := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"queueName": queueName, "podSets": podSets}}}
	w.SetGroupVersionKind(WorkloadGVK)
	w.SetName(WorkloadName(app))
	w.SetNamespace(app.Namespace)
	w.SetLabels(map[string]string{v1alpha1.LabelApplication: app.Name})
	w.SetOwnerReferences([]metav1.OwnerReference{{
		APIVersion: v1alpha1.GroupVersion.String(), Kind: "SparkApplication", Name: app.Name, UID: app.UID,
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
	}})
	return w, nil
}

// podSet is a Workload pod set with the main container's requests only:
// what Kueue counts against quota.
func podSet(name string, count int64, pod *corev1.Pod) any {
	main := pod.Spec.Containers[0]
	template := corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever,
		Containers:    []corev1.Container{{Name: main.Name, Image: main.Image, Resources: main.Resources}},
		NodeSelector:  pod.Spec.NodeSelector,
		Tolerations:   pod.Spec.Tolerations,
	}}
	data, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&template)
	if err != nil {
		panic(fmt.Sprintf("queue: converting a pod template: %v", err)) // plain API types
	}
	return map[string]any{"name": name, "count": count, "template": data}
}
