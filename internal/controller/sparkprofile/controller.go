// Package sparkprofile is the SparkProfile controller. It keeps each
// profile's status current: the generation it observed, whether the profile
// resolves (a probe application is resolved against it, so a profile whose
// tiers and architectures exclude each other is reported before any
// application fails on it), and how many unfinished SparkApplications were
// resolved from it (status.profile on the application).
//
// It never changes applications: an application is resolved once per
// submission attempt and keeps what it got when its profile is edited.
package sparkprofile

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/profile"
)

// ControllerName is the controller's name in logs, metrics and events.
const ControllerName = "sparkprofile"

// ApplicationProfileIndex indexes SparkApplications by status.profile.name.
const ApplicationProfileIndex = "sparkplane.io/status-profile"

// Condition type and reasons of SparkProfile status.conditions.
const (
	// ConditionReady is True when the profile resolves; False with reason
	// InvalidProfile and the resolution error otherwise.
	ConditionReady       = "Ready"
	ReasonResolves       = "Resolves"
	ReasonInvalidProfile = "InvalidProfile"
)

// Controller keeps SparkProfile status current.
type Controller struct {
	client client.Client
	events eventRecorder
}

// NewController returns a controller; Register wires it into a manager.
func NewController() *Controller { return &Controller{} }

// Name returns the controller's name.
func (c *Controller) Name() string { return ControllerName }

// IndexApplicationsByProfile registers ApplicationProfileIndex with mgr's
// cache. Register calls it; it is exported for tests and other controllers
// that want the same index.
func IndexApplicationsByProfile(ctx context.Context, mgr manager.Manager) error {
	return mgr.GetFieldIndexer().IndexField(ctx, &v1alpha1.SparkApplication{}, ApplicationProfileIndex, func(o client.Object) []string {
		app := o.(*v1alpha1.SparkApplication)
		if app.Status.Profile == nil || app.Status.Profile.Name == "" {
			return nil
		}
		return []string{app.Status.Profile.Name}
	})
}

// Register adds the controller to mgr: it watches SparkProfiles and maps
// each SparkApplication to the profile its status records.
func (c *Controller) Register(mgr manager.Manager) error {
	if err := IndexApplicationsByProfile(context.Background(), mgr); err != nil {
		return fmt.Errorf("indexing SparkApplications by profile: %w", err)
	}
	c.client = mgr.GetClient()
	c.events = eventRecorder{mgr.GetEventRecorder("sparkplane-" + ControllerName)}
	return ctrl.NewControllerManagedBy(mgr).
		Named(ControllerName).
		// Its own status writes change no generation and need no recount.
		For(&v1alpha1.SparkProfile{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.SparkApplication{}, countRefresh{delay: CountRefreshInterval}).
		Complete(c)
}

// CountRefreshInterval bounds how often an application event recounts a
// profile: status.applications lags at most this long. Submissions arrive by
// the hundred a second; recounting (a list of the profile's applications and
// a status write to one hot object) on each would cost the API server a
// write per application. The events of one interval collapse into one
// recount. Edits of the profile itself are handled at once.
const CountRefreshInterval = 5 * time.Second

// countRefresh enqueues, CountRefreshInterval later, the profile an
// application's status records, for the application events countChanged
// passes. The queue keeps one entry per profile however many events come.
type countRefresh struct {
	delay time.Duration
}

func (h countRefresh) enqueue(o client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	app, ok := o.(*v1alpha1.SparkApplication)
	if !ok || profileName(app) == "" {
		return
	}
	q.AddAfter(reconcile.Request{NamespacedName: types.NamespacedName{Name: profileName(app)}}, h.delay)
}

func (h countRefresh) Create(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	h.enqueue(e.Object, q)
}

func (h countRefresh) Update(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	if !(countChanged{}).Update(e) {
		return
	}
	h.enqueue(e.ObjectOld, q) // the profile it leaves, if it changed
	h.enqueue(e.ObjectNew, q)
}

func (h countRefresh) Delete(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	h.enqueue(e.Object, q)
}

func (h countRefresh) Generic(_ context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	h.enqueue(e.Object, q)
}

// countChanged passes the application events that can change a profile's
// count: creations, deletions, and updates that change status.profile or
// whether the application has finished. Executor-count and condition
// updates, by far the most frequent, pass nothing.
type countChanged struct {
	predicate.Funcs
}

func (countChanged) Update(e event.UpdateEvent) bool {
	oldApp, ok1 := e.ObjectOld.(*v1alpha1.SparkApplication)
	newApp, ok2 := e.ObjectNew.(*v1alpha1.SparkApplication)
	if !ok1 || !ok2 {
		return true
	}
	return profileName(oldApp) != profileName(newApp) || oldApp.Status.State.IsTerminal() != newApp.Status.State.IsTerminal()
}

func profileName(app *v1alpha1.SparkApplication) string {
	if app.Status.Profile == nil {
		return ""
	}
	return app.Status.Profile.Name
}

// Reconcile recounts one profile's applications and checks that it resolves.
func (c *Controller) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	prof := &v1alpha1.SparkProfile{}
	if err := c.client.Get(ctx, req.NamespacedName, prof); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	apps := &v1alpha1.SparkApplicationList{}
	if err := c.client.List(ctx, apps, client.MatchingFields{ApplicationProfileIndex: prof.Name}, client.UnsafeDisableDeepCopy); err != nil {
		return reconcile.Result{}, err
	}
	var using int32
	for i := range apps.Items {
		if !apps.Items[i].Status.State.IsTerminal() {
			using++
		}
	}

	status := prof.Status.DeepCopy()
	status.Applications = using
	cond := metav1.Condition{Type: ConditionReady, Status: metav1.ConditionTrue, Reason: ReasonResolves, ObservedGeneration: prof.Generation,
		Message: "An application resolves against this profile."}
	if err := Probe(prof); err != nil {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, ReasonInvalidProfile, err.Error()
		if !meta.IsStatusConditionFalse(prof.Status.Conditions, ConditionReady) {
			c.events.invalidProfile(prof, err)
		}
	}
	meta.SetStatusCondition(&status.Conditions, cond)
	status.ObservedGeneration = prof.Generation
	applicationsUsing.WithLabelValues(prof.Name).Set(float64(using))

	if equalStatus(prof.Status, *status) {
		return reconcile.Result{}, nil
	}
	patch := client.MergeFrom(prof.DeepCopy())
	prof.Status = *status
	if err := c.client.Status().Patch(ctx, prof, patch); err != nil {
		if apierrors.IsNotFound(err) {
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, err
	}
	return reconcile.Result{}, nil
}

func equalStatus(a, b v1alpha1.SparkProfileStatus) bool {
	if a.ObservedGeneration != b.ObservedGeneration || a.Applications != b.Applications || len(a.Conditions) != len(b.Conditions) {
		return false
	}
	for i := range a.Conditions {
		x, y := a.Conditions[i], b.Conditions[i]
		if x.Type != y.Type || x.Status != y.Status || x.Reason != y.Reason || x.Message != y.Message || x.ObservedGeneration != y.ObservedGeneration {
			return false
		}
	}
	return true
}

// Probe resolves a minimal application against the profile alone and
// returns the error an application would get from the profile itself.
func Probe(prof *v1alpha1.SparkProfile) error {
	app := &v1alpha1.SparkApplication{}
	app.Name, app.Namespace = "probe", "probe"
	app.Spec.Type = v1alpha1.SparkApplicationTypeScala
	app.Spec.Profile = prof.Name
	app.Spec.Executor.Instances = ptr.To[int32](1)
	_, err := profile.Resolve(profile.ResolveInput{Application: app, Profiles: []v1alpha1.SparkProfile{*prof}})
	return err
}
