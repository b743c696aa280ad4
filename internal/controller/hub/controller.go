// Package hub is the hub operator (`sparkplane operator --hub`): it keeps a
// heartbeat and a capacity summary of every MemberCluster, places each
// SparkApplication submitted to the hub on one member (status.placement is
// written before the copy is created there), mirrors the copy's status back,
// grants the lease without which the member does not start a driver, and
// when a member is Lost re-places what never started there (epoch + 1) and
// resubmits what may have started per spec.restartPolicy. Copies whose
// origin is gone or whose epoch is older than the hub's placement are
// deleted: when a member comes back, before it is Healthy again, and by a
// garbage collection at least every minute.
//
// All state is in the hub's API server (placements, epochs, lease grant
// times) and on the members (the copies and their labels): a hub operator
// killed at any moment resumes from there; the only memory it keeps is the
// count of placements since the last heartbeat, used to spread a burst.
package hub

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/scheduled"
)

// ControllerName names the hub controller in logs, metrics and events.
const ControllerName = "hub"

// Defaults of Options.
const (
	DefaultLease             = 15 * time.Second
	DefaultLostAfter         = 30 * time.Second
	DefaultHeartbeatInterval = 2 * time.Second
	DefaultGCInterval        = time.Minute
	DefaultHubID             = "hub"
	// DefaultMaxConcurrentReconciles of the application reconciler.
	DefaultMaxConcurrentReconciles = 16
	// unplacedRequeue is how soon an application no member can take is
	// looked at again.
	unplacedRequeue = 5 * time.Second
	// cacheLagRequeue is how soon an application is looked at again when
	// the hub's cache has not yet seen the hub's own last status write.
	cacheLagRequeue = 100 * time.Millisecond
)

// Options configure the hub; zero values mean the defaults.
type Options struct {
	// HubID names this hub on the copies it places (label sparkplane.io/hub).
	HubID string
	// Lease is how long a lease the hub grants a copy lasts (default 15s).
	Lease time.Duration
	// LostAfter is how long a member may stay unreachable before it is
	// Lost (default 30s); it must exceed Lease.
	LostAfter time.Duration
	// HeartbeatInterval is how often each member is probed (default 2s).
	HeartbeatInterval time.Duration
	// GCInterval is how often orphan copies are collected (default 1m).
	GCInterval time.Duration
	// OperatorNamespace and OperatorLease locate the member operator's
	// leader lease, read for its health (default sparkplane-system and
	// sparkplane-operator).
	OperatorNamespace, OperatorLease string
	// MaxConcurrentReconciles of the application reconciler (default 16).
	MaxConcurrentReconciles int
	// Clock (default: the real clock). Lease expiry, lost-after and sync
	// times are read from it.
	Clock clock.PassiveClock
}

// Validate reports options that cannot work, naming the flag to fix.
func (o Options) Validate() error {
	o = o.withDefaults()
	if o.Lease <= 0 {
		return fmt.Errorf("--lease must be positive, got %s", o.Lease)
	}
	if o.LostAfter <= o.Lease {
		return fmt.Errorf("--lost-after (%s) must be longer than --lease (%s): a member is declared Lost only once every lease it held has expired", o.LostAfter, o.Lease)
	}
	if o.HeartbeatInterval <= 0 || o.HeartbeatInterval >= o.LostAfter {
		return fmt.Errorf("--heartbeat-interval (%s) must be positive and shorter than --lost-after (%s)", o.HeartbeatInterval, o.LostAfter)
	}
	if errs := validation.IsValidLabelValue(o.HubID); len(errs) > 0 {
		return fmt.Errorf("--hub-id %q is not a valid label value: %s", o.HubID, strings.Join(errs, "; "))
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.HubID == "" {
		o.HubID = DefaultHubID
	}
	if o.Lease == 0 {
		o.Lease = DefaultLease
	}
	if o.LostAfter == 0 {
		o.LostAfter = DefaultLostAfter
	}
	if o.HeartbeatInterval == 0 {
		o.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if o.GCInterval == 0 {
		o.GCInterval = DefaultGCInterval
	}
	if o.OperatorNamespace == "" {
		o.OperatorNamespace = "sparkplane-system"
	}
	if o.OperatorLease == "" {
		o.OperatorLease = "sparkplane-operator"
	}
	if o.MaxConcurrentReconciles == 0 {
		o.MaxConcurrentReconciles = DefaultMaxConcurrentReconciles
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	return o
}

// Controller is the hub: the application reconciler, the member reconciler
// (heartbeats) and the garbage collector, over one set of member connections.
type Controller struct {
	opts      Options
	client    client.Client
	apiReader client.Reader
	members   *members
	events    eventRecorder
	// placeMu makes each placement's scoring see the ones before it.
	placeMu sync.Mutex
	// superseded holds, per application, the resourceVersion the hub's
	// last status write replaced: a cached copy still at it has not seen
	// that write, and a write from it would only conflict.
	superseded sync.Map // types.NamespacedName → string
}

// NewController returns the hub; Register wires it into a manager.
func NewController(opts Options) *Controller {
	opts = opts.withDefaults()
	return &Controller{opts: opts}
}

// Name is the controller's name.
func (c *Controller) Name() string { return ControllerName }

// Registrar is a controller a hub runs.
type Registrar interface {
	Name() string
	Register(mgr manager.Manager) error
}

// Controllers are what `operator --hub` runs: the hub, and the schedules'
// controller, whose runs (SparkApplications on the hub) the hub places like
// any application. The hub runs no Spark, so nothing else.
func Controllers(mgr manager.Manager, opts Options) ([]Registrar, error) {
	opts = opts.withDefaults()
	return []Registrar{
		NewController(opts),
		scheduled.NewController(mgr.GetClient(), scheduled.Options{Clock: opts.Clock}),
	}, nil
}

// scope is one reconcile's view of a hub application.
type scope struct {
	app  *v1alpha1.SparkApplication
	base *v1alpha1.SparkApplication
	now  time.Time
}

// phase is one step of an application's reconcile; done stops the sequence.
type phase func(ctx context.Context, s *scope) (result reconcile.Result, done bool, err error)

// Reconcile moves one hub application forward: TTL of a finished one,
// placement (or re-placement off a Lost member), then the copy on its
// member: created, lease granted when asked for, status mirrored back.
func (c *Controller) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	if ctx.Err() != nil {
		// The hub is stopping: the workqueue still hands out what was
		// queued, and every call this reconcile makes would fail anyway.
		return reconcile.Result{}, nil
	}
	app := &v1alpha1.SparkApplication{}
	if err := c.client.Get(ctx, req.NamespacedName, app); err != nil {
		if apierrors.IsNotFound(err) {
			c.superseded.Delete(req.NamespacedName)
			return reconcile.Result{}, c.deleteCopies(ctx, req.Namespace, req.Name, "")
		}
		return reconcile.Result{}, err
	}
	if rv, ok := c.superseded.Load(req.NamespacedName); ok {
		if rv == app.ResourceVersion {
			// The cache lags this hub's own last write (a copy's event
			// can outrun it): look again in a moment rather than decide
			// from, and write against, the state before it.
			return reconcile.Result{RequeueAfter: cacheLagRequeue}, nil
		}
		c.superseded.Delete(req.NamespacedName)
	}
	if !app.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, c.deleteCopies(ctx, app.Namespace, app.Name, app.UID)
	}
	ctx = log.IntoContext(ctx, log.FromContext(ctx).WithValues("sparkapplication", klog.KObj(app)))
	s := &scope{app: app, base: app.DeepCopy(), now: c.opts.Clock.Now()}
	var result reconcile.Result
	var err error
	for _, p := range []phase{c.finished, c.place, c.dispatch} {
		var done bool
		result, done, err = p(ctx, s)
		if err != nil || done {
			break
		}
	}
	if perr := c.patchStatus(ctx, s); perr != nil {
		return reconcile.Result{}, errors.Join(err, perr)
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	return result, nil
}

// patchStatus writes what the phases changed, guarded by the
// resourceVersion read: the hub's status decisions (epochs, lease grants)
// must never be made from a stale read.
func (c *Controller) patchStatus(ctx context.Context, s *scope) error {
	if equality.Semantic.DeepEqual(s.base.Status, s.app.Status) {
		return nil
	}
	if err := c.client.Status().Patch(ctx, s.app, client.MergeFromWithOptions(s.base, client.MergeFromWithOptimisticLock{})); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("patching status: %w", err)
	}
	if s.app.ResourceVersion != s.base.ResourceVersion {
		c.superseded.Store(client.ObjectKeyFromObject(s.app), s.base.ResourceVersion)
	}
	// else the API server found nothing to change (times are stored to the
	// second, say): the version stands, and the cache already has it.
	s.base = s.app.DeepCopy()
	return nil
}

// finished deletes a finished application after spec.timeToLiveSeconds
// (its copy goes with it); the copy itself carries no TTL, so the member
// never deletes a copy whose final state the hub has not mirrored.
func (c *Controller) finished(ctx context.Context, s *scope) (reconcile.Result, bool, error) {
	st := &s.app.Status
	if !st.State.IsTerminal() {
		return reconcile.Result{}, false, nil
	}
	ttl := s.app.Spec.TimeToLiveSeconds
	if ttl == nil || st.TerminationTime == nil {
		return reconcile.Result{}, false, nil
	}
	if remaining := st.TerminationTime.Add(time.Duration(*ttl) * time.Second).Sub(s.now); remaining > 0 {
		return reconcile.Result{RequeueAfter: remaining}, false, nil
	}
	if err := c.client.Delete(ctx, s.app, client.Preconditions{UID: &s.app.UID}); client.IgnoreNotFound(err) != nil {
		return reconcile.Result{}, true, fmt.Errorf("deleting the application after its TTL: %w", err)
	}
	s.base = s.app.DeepCopy() // nothing left to patch
	return reconcile.Result{}, true, nil
}

// Register wires the hub into mgr: the application and member reconcilers
// and the garbage collector, all of which run only on the elected leader.
func (c *Controller) Register(mgr manager.Manager) error {
	c.client = mgr.GetClient()
	c.apiReader = mgr.GetAPIReader()
	c.events = eventRecorder{mgr.GetEventRecorder("sparkplane-" + ControllerName)}
	c.members = newMembers(c.opts.HubID)
	if err := c.registerApplications(mgr); err != nil {
		return err
	}
	if err := c.registerMembers(mgr); err != nil {
		return err
	}
	return mgr.Add(&collector{hub: c})
}

func setCondition(conds *[]metav1.Condition, generation int64, t string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(conds, metav1.Condition{Type: t, Status: status, Reason: reason, Message: truncate(message, 1024), ObservedGeneration: generation})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
