package sparkapplication

import (
	"context"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/clusterstate"
	"github.com/sparkplane/sparkplane/internal/spark"
)

// Register wires the controller into mgr: it reads SparkApplications from
// the manager's cache and pods from the operator's shared, trimmed cluster
// state (clusterstate; started by the manager), records events as "sparkplane-sparkapplication",
// and reconciles an application when it changes (generation) or its
// DriverNodeInterrupted condition changes (set by the interruption
// controller on the status), when its
// driver pod changes, and when one of its executors changes phase.
// The manager's scheme must include v1alpha1 and core/v1.
func (c *Controller) Register(mgr manager.Manager) error {
	podCache, err := clusterstate.For(mgr, clusterstate.Options{})
	if err != nil {
		return err
	}
	c.client = mgr.GetClient()
	c.apiReader = mgr.GetAPIReader()
	c.pods = podCache
	c.podsIndexed = true
	// ResourceQuotas are few and small: the manager's cache watches them
	// from the first read on.
	c.quotas = mgr.GetClient()
	c.events = eventRecorder{mgr.GetEventRecorder("sparkplane-" + ControllerName)}
	// What every submission reads through the manager's cache (its
	// namespace, the StorageClasses of its volumes) is watched from the
	// start: an informer started by the first read made the first
	// submissions after a start or a takeover wait for its sync (0.1 s
	// each in BenchmarkSubmission's operator log).
	if err := clusterstate.WatchFromStart(mgr, &corev1.Namespace{}, &storagev1.StorageClass{}); err != nil {
		return err
	}

	podToApp := handler.TypedEnqueueRequestsFromMapFunc(func(_ context.Context, pod *corev1.Pod) []reconcile.Request {
		name := pod.Labels[v1alpha1.LabelApplication]
		if name == "" {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: pod.Namespace, Name: name}}}
	})
	return builder.ControllerManagedBy(mgr).
		Named(ControllerName).
		For(&v1alpha1.SparkApplication{}, builder.WithPredicates(predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, interruptedChanged{}, leaseChanged{}, ownStatusArrived{awaiting: &c.awaiting}))).
		WatchesRawSource(source.Kind(podCache, &corev1.Pod{}, podToApp, podChanged{threshold: c.opts.PendingThreshold, clock: c.opts.Clock, created: &c.createdDrivers})).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.opts.MaxConcurrentReconciles}).
		Complete(c)
}

// podChanged passes creations and deletions, any update of a driver pod,
// and executor updates that change the phase (what status.executors counts)
// or what blocks an executor that has waited the pending threshold (what
// ExecutorsPending says). A younger executor's scheduling news wakes nobody:
// the reconcile due when it crosses the threshold reads it then. Nor does
// the creation of a driver pod this process created, seen as it was
// created (driverCreates): the reconcile that created it recorded that pod
// and scheduled its next look.
type podChanged struct {
	predicate.TypedFuncs[*corev1.Pod]
	threshold time.Duration
	clock     clock.PassiveClock
	created   *driverCreates
}

func (p podChanged) Create(e event.TypedCreateEvent[*corev1.Pod]) bool {
	return !p.created.ownCreation(e.Object)
}

func (p podChanged) Delete(e event.TypedDeleteEvent[*corev1.Pod]) bool {
	p.created.forget(client.ObjectKeyFromObject(e.Object))
	return true
}

func (p podChanged) Update(e event.TypedUpdateEvent[*corev1.Pod]) bool {
	if e.ObjectNew.Labels[spark.LabelRole] == spark.RoleDriver {
		// Its creation event is behind it: nothing to remember.
		p.created.forget(client.ObjectKeyFromObject(e.ObjectNew))
		return true
	}
	if e.ObjectOld.Status.Phase != e.ObjectNew.Status.Phase {
		return true
	}
	if e.ObjectNew.Status.Phase != corev1.PodPending || p.clock.Since(e.ObjectNew.CreationTimestamp.Time) < p.threshold {
		return false
	}
	return pendingSignature(e.ObjectOld) != pendingSignature(e.ObjectNew)
}

// driverCreates follows the driver pods this process creates, by
// namespace/name, so that a pod's creation event that shows it as this
// process created it wakes nobody (podChanged): the event may arrive before
// the create's reply, so the entry is made before the create. Values:
// "" while the create is in flight, "created:<resourceVersion>" once it
// replied, "seen:<resourceVersion>" when the creation event came first.
type driverCreates struct{ m sync.Map }

const (
	createdPrefix = "created:"
	seenPrefix    = "seen:"
)

// creating is called before the create.
func (d *driverCreates) creating(key types.NamespacedName) { d.m.Store(key, "") }

// failed is called when the create failed.
func (d *driverCreates) failed(key types.NamespacedName) { d.m.Delete(key) }

// created is called with the created pod's resourceVersion. missed reports
// that its creation event came first showing another version (the pod as
// an informer's relist saw it), and was passed over.
func (d *driverCreates) created(key types.NamespacedName, rv string) (missed bool) {
	if d.m.CompareAndSwap(key, "", createdPrefix+rv) {
		return false
	}
	v, ok := d.m.LoadAndDelete(key)
	return ok && v.(string) != seenPrefix+rv
}

// forget drops what is known of key's pod.
func (d *driverCreates) forget(key types.NamespacedName) { d.m.Delete(key) }

// ownCreation reports whether pod's creation event shows it as this process
// is creating or has just created it: the event is passed over.
func (d *driverCreates) ownCreation(pod *corev1.Pod) bool {
	key := client.ObjectKeyFromObject(pod)
	if d.m.CompareAndSwap(key, "", seenPrefix+pod.ResourceVersion) {
		return true // the create is in flight; created() compares
	}
	v, ok := d.m.LoadAndDelete(key)
	if !ok {
		return false
	}
	rv, isCreated := strings.CutPrefix(v.(string), createdPrefix)
	return isCreated && rv == pod.ResourceVersion
}

// ownStatusArrived passes the update that brings an application waiting
// for its cache (Controller.awaiting) the attempt this process submitted.
type ownStatusArrived struct {
	predicate.Funcs
	awaiting *sync.Map
}

func (p ownStatusArrived) Update(e event.UpdateEvent) bool {
	app, ok := e.ObjectNew.(*v1alpha1.SparkApplication)
	if !ok {
		return false
	}
	w, ok := p.awaiting.Load(types.NamespacedName{Namespace: app.Namespace, Name: app.Name})
	return ok && w.(awaited).uid == app.UID && app.Status.Attempts >= w.(awaited).attempt
}

// interruptedChanged passes application updates that change the
// DriverNodeInterrupted condition, which the interruption controller sets on
// the status (no generation change).
type interruptedChanged struct {
	predicate.Funcs
}

func (interruptedChanged) Update(e event.UpdateEvent) bool {
	oldApp, ok1 := e.ObjectOld.(*v1alpha1.SparkApplication)
	newApp, ok2 := e.ObjectNew.(*v1alpha1.SparkApplication)
	if !ok1 || !ok2 {
		return false
	}
	if !equality.Semantic.DeepEqual(interruptedReport(&oldApp.Status), interruptedReport(&newApp.Status)) {
		return true
	}
	before := meta.FindStatusCondition(oldApp.Status.Conditions, v1alpha1.ConditionDriverNodeInterrupted)
	after := meta.FindStatusCondition(newApp.Status.Conditions, v1alpha1.ConditionDriverNodeInterrupted)
	if before == nil || after == nil {
		return (before == nil) != (after == nil)
	}
	return before.Status != after.Status || before.Message != after.Message
}

func interruptedReport(st *v1alpha1.SparkApplicationStatus) *v1alpha1.DriverInterruption {
	if st.Interruptions == nil {
		return nil
	}
	return st.Interruptions.Driver
}
