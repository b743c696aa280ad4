// Package sparkapplication is the controller that runs SparkApplications:
// it validates an application, resolves its profile (through a hook), submits
// it natively (internal/submit: ConfigMaps, headless Service, driver Pod — no
// JVM), follows the driver pod to a one-word state and conditions, counts
// executors from a slim pod cache, retries per spec.restartPolicy with
// backoff, fails drivers that stay Pending too long, and deletes finished
// applications after spec.timeToLiveSeconds.
//
// State lives only in the API server: names are deterministic per attempt and
// AlreadyExists counts as done, so an operator killed at any moment and
// restarted (or two running at once) never creates a second driver pod.
package sparkapplication

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// submittedAttempt is what Controller.submitted holds of an application.
type submittedAttempt struct {
	uid     types.UID
	attempt int32
}

// lastSubmitted is the last attempt this process submitted of app, 0 when
// none (or none of this incarnation of its name).
func (c *Controller) lastSubmitted(app *v1alpha1.SparkApplication) int32 {
	if v, ok := c.submitted.Load(client.ObjectKeyFromObject(app)); ok && v.(submittedAttempt).uid == app.UID {
		return v.(submittedAttempt).attempt
	}
	return 0
}

// ControllerName names the controller in logs, metrics and events.
const ControllerName = "sparkapplication"

// Defaults of Options.
const (
	DefaultDriverPendingTimeout    = 10 * time.Minute
	DefaultRetryInterval           = 5 * time.Second
	DefaultMaxConcurrentReconciles = 32
	// maxBackoffFactor caps the doubling retry interval at this multiple.
	maxBackoffFactor = 10
	// cacheLagSafetyNet is how soon an application is looked at again when
	// the cache does not show this process's own submission yet and the
	// status write's watch event has not brought it first (ownStatusArrived).
	cacheLagSafetyNet = 10 * time.Second
)

// Resolver turns an application into its effective form before submission:
// the profile engineer's hook. It returns a copy with the profile's choices
// expressed as spec fields (affinity, tolerations, sparkConf, labels, ...);
// status.zone and status.profile set on the returned copy are recorded in the
// application's status. Returning a *Rejection ends the application Failed
// (condition Accepted=False with its reason and message); any other error is
// retried; so is any error with a RejectionReason method (profile's errors).
// The note, when not empty, says what was resolved (profile, zone
// and why); it is logged with the submission (a submission writes no event:
// status.resolution records the same). The default resolver returns the
// application unchanged.
type Resolver func(ctx context.Context, app *v1alpha1.SparkApplication) (effective *v1alpha1.SparkApplication, note string, err error)

// Rejection is a Resolver's verdict that the application cannot run as
// written. Message names the field and the fix.
type Rejection struct {
	// Reason is a condition reason, e.g. v1alpha1.ReasonProfileNotFound.
	Reason  string
	Message string
}

func (r *Rejection) Error() string { return r.Reason + ": " + r.Message }

// RejectionReason makes a Rejection a rejecter.
func (r *Rejection) RejectionReason() string { return r.Reason }

// rejecter is any Resolver error that is a verdict, not a failure to retry:
// its RejectionReason is the condition reason the application ends Failed
// with, its message names the field and the fix (*Rejection, and the
// profile package's NotFoundError, AmbiguousDefaultError and ConflictError).
type rejecter interface {
	error
	RejectionReason() string
}

// rejectionOf returns the verdict in err, if any, and its message.
func rejectionOf(err error) (reason, message string, ok bool) {
	var r rejecter
	if !errors.As(err, &r) {
		return "", "", false
	}
	if rej, isRejection := r.(*Rejection); isRejection {
		return rej.Reason, rej.Message, true
	}
	return r.RejectionReason(), r.Error(), true
}

// Options configure the controller; zero values mean the defaults.
type Options struct {
	// Master is spark.master written into every application (submit.DefaultMaster).
	Master string
	// SparkUser is SPARK_USER when an application sets no proxyUser.
	SparkUser string
	// QueueAdmission holds applications labelled kueue.x-k8s.io/queue-name
	// whose spec.suspend is unset until Kueue admits them (set when the queue
	// controller runs: Kueue is installed).
	QueueAdmission bool
	// IngressURLFormat gives every application a UI Service and Ingress at
	// this address (--ingress-url-format; submit.ValidateIngressURLFormat).
	IngressURLFormat string
	// DriverPendingTimeout fails an attempt whose driver pod stays Pending
	// this long (default 10m; negative disables it).
	DriverPendingTimeout time.Duration
	// DefaultRetryInterval is the first retry delay when
	// spec.restartPolicy.onFailureRetryInterval is unset (default 5s).
	DefaultRetryInterval time.Duration
	// MaxConcurrentReconciles (default 32).
	MaxConcurrentReconciles int
	// Resolve is the profile hook (default: identity).
	Resolve Resolver
	// Clock (default: the real clock).
	Clock clock.PassiveClock
	// PendingThreshold is how long executors (and the driver) may wait to
	// run before the application says why: the ExecutorsPending condition
	// (default DefaultPendingThreshold).
	PendingThreshold time.Duration
}

func (o Options) withDefaults() Options {
	if o.DriverPendingTimeout == 0 {
		o.DriverPendingTimeout = DefaultDriverPendingTimeout
	}
	if o.DefaultRetryInterval == 0 {
		o.DefaultRetryInterval = DefaultRetryInterval
	}
	if o.MaxConcurrentReconciles == 0 {
		o.MaxConcurrentReconciles = DefaultMaxConcurrentReconciles
	}
	if o.Resolve == nil {
		o.Resolve = func(_ context.Context, app *v1alpha1.SparkApplication) (*v1alpha1.SparkApplication, string, error) {
			return app, "", nil
		}
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.PendingThreshold == 0 {
		o.PendingThreshold = DefaultPendingThreshold
	}
	return o
}

// Controller reconciles SparkApplications.
type Controller struct {
	opts Options
	// client writes everything and reads SparkApplications (the manager's cache).
	client client.Client
	// apiReader reads from the API server directly, on rare paths only
	// (a driver pod the cache does not have yet).
	apiReader client.Reader
	// pods reads driver and executor pods: the slim pod cache after Register.
	pods client.Reader
	// podsIndexed is true when pods supports clusterstate.IndexAppSelector.
	podsIndexed bool
	// quotas reads ResourceQuotas (the manager's cache after Register; nil:
	// a used-up quota is not looked for).
	quotas client.Reader
	events eventRecorder
	// submitted remembers, per application, the last attempt this process
	// submitted, so a reconcile that reads an application from a cache not
	// yet showing that submission waits for the cache instead of repeating
	// the creates. It is only an optimisation: after a restart it is empty
	// and the creates are repeated, harmlessly (AlreadyExists). Keyed by
	// namespace/name (the UID in the value tells a re-created application
	// from the one submitted) so that the reconcile that finds the
	// application gone forgets it: keyed by UID, the applications deleted
	// before they ended stayed for the life of the process.
	submitted sync.Map // types.NamespacedName → submittedAttempt
	// awaiting holds the applications whose reconcile found the cache
	// without this process's own submission and stopped: the update that
	// brings it passes ownStatusArrived and reconciles them again.
	awaiting sync.Map // types.NamespacedName → awaited
	// createdDrivers holds the driver pods this process is creating or has
	// just created, whose creation event brings nothing the reconcile that
	// created them did not record (podChanged, driverCreates).
	createdDrivers driverCreates
	// accounts remembers driver ServiceAccounts known to exist
	// ("namespace/name" → true), so only the first application of a
	// namespace pays for the check (see serviceaccount.go).
	accounts sync.Map
	// identities makes concurrent first applications of a namespace share
	// one creation of its driver identity.
	identities singleflight.Group
}

// NewController returns a controller that reads pods through apiReader until
// Register gives it its own pod cache. Tests may call Reconcile on it directly.
func NewController(c client.Client, apiReader client.Reader, opts Options) *Controller {
	return &Controller{opts: opts.withDefaults(), client: c, apiReader: apiReader, pods: apiReader}
}

// Name is the controller's name.
func (c *Controller) Name() string { return ControllerName }

// scope is one reconcile's view of an application.
type scope struct {
	app  *v1alpha1.SparkApplication // status is edited in place
	base *v1alpha1.SparkApplication // as read, the base of the status patch
	now  time.Time
	// after run once the status patch succeeded: events and metrics of the
	// transitions this reconcile made.
	after []func()
	// deleted is set when the reconcile deleted the application.
	deleted bool
	// steps are the durations of the reconcile's steps, logged when it
	// was slow (slowReconcile).
	steps []stepTime
	// lastStep is when the last timed step ended.
	lastStep time.Time
	// lookAgain is set when an event about the application's driver was
	// passed over and the reconcile must come back at once.
	lookAgain bool
}

type stepTime struct {
	name string
	took time.Duration
}

func (s *scope) then(f func()) { s.after = append(s.after, f) }

// timed records that step name has just ended (it began when the previous
// one ended).
func (s *scope) timed(name string) {
	now := time.Now()
	s.steps = append(s.steps, stepTime{name, now.Sub(s.lastStep)})
	s.lastStep = now
}

// slowReconcile is how long a reconcile may take before its steps'
// durations are logged (at V(1)): where a slow submission's time went.
const slowReconcile = 100 * time.Millisecond

// state is the application's state as its conditions say now.
func (s *scope) state() v1alpha1.ApplicationState { return stateOf(&s.app.Status) }

// stateOf summarises the conditions in one word (status.state), which the
// phases never set themselves: Completed=True is Succeeded or Failed by its
// reason; Suspended=True is Suspended; Submitted=False while waiting for the
// next attempt (or retrying its submission) is Retrying; Running=True is
// Running; Submitted=True is Pending. Before the first submission the
// recorded state is kept.
func stateOf(st *v1alpha1.SparkApplicationStatus) v1alpha1.ApplicationState {
	completed := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionCompleted)
	submitted := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionSubmitted)
	switch {
	case completed != nil && completed.Status == metav1.ConditionTrue:
		if completed.Reason == v1alpha1.ReasonSucceeded {
			return v1alpha1.StateSucceeded
		}
		return v1alpha1.StateFailed
	case meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionSuspended):
		return v1alpha1.StateSuspended
	case st.Attempts > 0 && submitted != nil && submitted.Status == metav1.ConditionFalse &&
		(submitted.Reason == v1alpha1.ReasonWaitingForRetry || submitted.Reason == v1alpha1.ReasonSubmissionFailed):
		return v1alpha1.StateRetrying
	case meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionRunning):
		return v1alpha1.StateRunning
	case submitted != nil && submitted.Status == metav1.ConditionTrue:
		return v1alpha1.StatePending
	}
	return st.State
}

// phase is one step of a reconcile; done stops the sequence.
type phase func(ctx context.Context, s *scope) (result reconcile.Result, done bool, err error)

// Reconcile brings one application's status and objects forward. It writes
// the status at most once, as a merge patch of the fields it changed, and
// sets observedGeneration only when every phase succeeded.
func (c *Controller) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	began := time.Now()
	// A reconcile decides afresh whether it waits for the cache.
	c.awaiting.Delete(req.NamespacedName)
	app := &v1alpha1.SparkApplication{}
	if err := c.client.Get(ctx, req.NamespacedName, app); err != nil {
		if apierrors.IsNotFound(err) {
			c.submitted.Delete(req.NamespacedName)
		}
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !app.DeletionTimestamp.IsZero() {
		c.submitted.Delete(req.NamespacedName)
		return reconcile.Result{}, nil
	}
	ctx = log.IntoContext(ctx, log.FromContext(ctx).WithValues("sparkapplication", klog.KObj(app)))
	s := &scope{app: app, base: app.DeepCopy(), now: c.opts.Clock.Now(), lastStep: began}
	s.timed("read")
	defer c.logIfSlow(ctx, s, began)
	result, err := c.run(ctx, s, []phase{c.finished, c.suspension, c.waitForRetry, c.leaseGate, c.submitAttempt, c.observeDriver})
	if s.deleted {
		return reconcile.Result{}, err
	}
	if namespaceTerminating(err) {
		// The application goes with its namespace, and the API server
		// refuses every new object there: a retry (and its error, and the
		// status write saying so) could only fail the same way until the
		// namespace's deletion reaches the application.
		log.FromContext(ctx).V(1).Info("Namespace is being deleted; not retrying", "error", err.Error())
		return reconcile.Result{}, nil
	}
	app.Status.State = stateOf(&app.Status)
	if err == nil {
		app.Status.ObservedGeneration = app.Generation
	}
	perr := c.patchStatus(ctx, s)
	s.timed("status write")
	if perr != nil {
		return reconcile.Result{}, errors.Join(err, perr)
	}
	for _, f := range s.after {
		f()
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	if result.IsZero() {
		// The status patch that ends an application wakes nothing (status
		// changes pass no predicate), so its TTL is scheduled here.
		result = ttlRequeue(s)
	}
	return result, nil
}

// logIfSlow logs, at V(1), each step of a reconcile that took slowReconcile
// or longer.
func (c *Controller) logIfSlow(ctx context.Context, s *scope, began time.Time) {
	took := time.Since(began)
	if took < slowReconcile {
		return
	}
	logger := log.FromContext(ctx).V(1)
	if !logger.Enabled() {
		return
	}
	var steps strings.Builder
	for i, st := range s.steps {
		if i > 0 {
			steps.WriteString(", ")
		}
		fmt.Fprintf(&steps, "%s %s", st.name, st.took.Round(time.Microsecond))
	}
	logger.Info("Slow reconcile", "took", took.Round(time.Microsecond).String(), "steps", steps.String())
}

func (c *Controller) run(ctx context.Context, s *scope, phases []phase) (reconcile.Result, error) {
	for _, p := range phases {
		result, done, err := p(ctx, s)
		if err != nil || done {
			return result, err
		}
	}
	return reconcile.Result{}, nil
}

func (c *Controller) patchStatus(ctx context.Context, s *scope) error {
	if equality.Semantic.DeepEqual(s.base.Status, s.app.Status) {
		return nil
	}
	// A merge patch replaces status.conditions whole. The interruption
	// controller also writes that list (DriverNodeInterrupted), so a write
	// that changes it is based on the resourceVersion it read: a stale list
	// conflicts and is recomputed instead of erasing the condition. That
	// write is an update of the status (the API server keeps everything but
	// the status from the stored object) rather than a merge patch carrying
	// the resourceVersion: the same guarantee, without the patch the API
	// server would apply (encode the stored object, merge, decode): 5.4-5.6
	// ms of its CPU against 7.6-8.6 for the patch of a just-submitted
	// application's status (BenchmarkSubmission (e), docs/performance.md).
	// Other changes (executor counts) stay merge patches without a lock.
	var err error
	if !equality.Semantic.DeepEqual(s.base.Status.Conditions, s.app.Status.Conditions) {
		err = c.client.Status().Update(ctx, s.app)
	} else {
		err = c.client.Status().Patch(ctx, s.app, client.MergeFrom(s.base))
	}
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("patching status: %w", err)
	}
	return nil
}

// namespaceTerminating reports whether err (or an error it wraps) is the API
// server's refusal to create an object in a namespace being deleted.
func namespaceTerminating(err error) bool {
	var status *apierrors.StatusError
	return errors.As(err, &status) && apierrors.HasStatusCause(status, corev1.NamespaceTerminatingCause)
}

func conditionReason(conds []metav1.Condition, t string) string {
	if c := meta.FindStatusCondition(conds, t); c != nil {
		return c.Reason
	}
	return ""
}

func (c *Controller) setCondition(s *scope, t string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(&s.app.Status.Conditions, metav1.Condition{
		Type: t, Status: status, Reason: reason, Message: truncate(message, 32*1024),
		ObservedGeneration: s.app.Generation, LastTransitionTime: metav1.NewTime(s.now),
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
