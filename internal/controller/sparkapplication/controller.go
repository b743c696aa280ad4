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

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/clusterstate"
	"github.com/sparkplane/sparkplane/internal/spark"
	"github.com/sparkplane/sparkplane/internal/submit"
)

// ControllerName names the controller in logs, metrics and events.
const ControllerName = "sparkapplication"

// Defaults of Options.
const (
	DefaultDriverPendingTimeout    = 10 * time.Minute
	DefaultRetryInterval           = 5 * time.Second
	DefaultMaxConcurrentReconciles = 32
	// maxBackoffFactor caps the doubling retry interval at this multiple.
	maxBackoffFactor = 10
	// cacheLagRequeue is how soon an application is looked at again when
	// the cache does not show this process's own submission yet.
	cacheLagRequeue = 250 * time.Millisecond
)

// Resolver turns an application into its effective form before submission:
// the profile engineer's hook. It returns a copy with the profile's choices
// expressed as spec fields (affinity, tolerations, sparkConf, labels, ...);
// status.zone and status.profile set on the returned copy are recorded in the
// application's status. Returning a *Rejection ends the application Failed
// (condition Accepted=False with its reason and message); any other error is
// retried; so is any error with a RejectionReason method (profile's errors).
// The note, when not empty, says what was resolved (profile, zone
// and why) and is appended to the attempt's Submitted event, the one event a
// submission writes. The default resolver returns the application unchanged.
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
	// submitted remembers, per application UID, the last attempt this
	// process submitted, so a reconcile that reads an application from a
	// cache not yet showing that submission waits for the cache instead of
	// repeating the creates. It is only an optimisation: after a restart it
	// is empty and the creates are repeated, harmlessly (AlreadyExists).
	submitted sync.Map // types.UID → int32
	// accounts remembers driver ServiceAccounts known to exist
	// ("namespace/name" → true), so only the first application of a
	// namespace pays for the check (see serviceaccount.go).
	accounts sync.Map
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
}

func (s *scope) then(f func()) { s.after = append(s.after, f) }

// phase is one step of a reconcile; done stops the sequence.
type phase func(ctx context.Context, s *scope) (result reconcile.Result, done bool, err error)

// Reconcile brings one application's status and objects forward. It writes
// the status at most once, as a merge patch of the fields it changed, and
// sets observedGeneration only when every phase succeeded.
func (c *Controller) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	app := &v1alpha1.SparkApplication{}
	if err := c.client.Get(ctx, req.NamespacedName, app); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !app.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, nil
	}
	ctx = log.IntoContext(ctx, log.FromContext(ctx).WithValues("sparkapplication", klog.KObj(app)))
	s := &scope{app: app, base: app.DeepCopy(), now: c.opts.Clock.Now()}
	result, err := c.run(ctx, s, []phase{c.finished, c.suspension, c.waitForRetry, c.leaseGate, c.submitAttempt, c.observeDriver})
	if s.deleted {
		return reconcile.Result{}, err
	}
	if err == nil {
		app.Status.ObservedGeneration = app.Generation
	}
	if perr := c.patchStatus(ctx, s); perr != nil {
		return reconcile.Result{}, errors.Join(err, perr)
	}
	for _, f := range s.after {
		f()
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	return result, nil
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
	// controller also writes that list (DriverNodeInterrupted), so a patch
	// that changes it carries the resourceVersion it was based on: a stale
	// list conflicts and is recomputed instead of erasing the condition.
	patch := client.MergeFrom(s.base)
	if !equality.Semantic.DeepEqual(s.base.Status.Conditions, s.app.Status.Conditions) {
		patch = client.MergeFromWithOptions(s.base, client.MergeFromWithOptimisticLock{})
	}
	if err := c.client.Status().Patch(ctx, s.app, patch); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("patching status: %w", err)
	}
	return nil
}

// finished handles an application that has ended for good: it waits for the
// TTL and then deletes the application.
func (c *Controller) finished(ctx context.Context, s *scope) (reconcile.Result, bool, error) {
	st := &s.app.Status
	if !st.State.IsTerminal() {
		return reconcile.Result{}, false, nil
	}
	c.submitted.Delete(s.app.UID)
	ttl := s.app.Spec.TimeToLiveSeconds
	if ttl == nil || st.TerminationTime == nil {
		return reconcile.Result{}, true, nil
	}
	ttlDuration := time.Duration(*ttl) * time.Second
	if remaining := st.TerminationTime.Add(ttlDuration).Sub(s.now); remaining > 0 {
		return reconcile.Result{RequeueAfter: remaining}, true, nil
	}
	c.events.ttlExpired(s.app, ttlDuration)
	if err := c.client.Delete(ctx, s.app, client.Preconditions{UID: &s.app.UID}, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
		return reconcile.Result{}, true, fmt.Errorf("deleting the application after its TTL: %w", err)
	}
	log.FromContext(ctx).V(1).Info("Deleted application after its TTL", "ttl", ttlDuration)
	ttlDeletionsTotal.Inc()
	s.deleted = true
	return reconcile.Result{}, true, nil
}

// retryDelay is the wait after attempt n ended: the base interval doubling
// per failed attempt, capped at maxBackoffFactor times the base.
func (c *Controller) retryDelay(app *v1alpha1.SparkApplication, attempt int32, failed bool) time.Duration {
	base := c.opts.DefaultRetryInterval
	if iv := app.Spec.RestartPolicy.OnFailureRetryInterval; iv != nil {
		base = time.Duration(*iv) * time.Second
	}
	if !failed {
		return base
	}
	factor := int64(1)
	for i := int32(1); i < attempt && factor < maxBackoffFactor; i++ {
		factor *= 2
	}
	return time.Duration(min(factor, maxBackoffFactor)) * base
}

// waitForRetry holds a Retrying application until its backoff has passed.
func (c *Controller) waitForRetry(_ context.Context, s *scope) (reconcile.Result, bool, error) {
	st := &s.app.Status
	if st.State != v1alpha1.StateRetrying {
		return reconcile.Result{}, false, nil
	}
	ended := s.now
	if st.TerminationTime != nil {
		ended = st.TerminationTime.Time
	}
	failed := conditionReason(st.Conditions, v1alpha1.ConditionRunning) != v1alpha1.ReasonDriverSucceeded
	if remaining := ended.Add(c.retryDelay(s.app, st.Attempts, failed)).Sub(s.now); remaining > 0 {
		return reconcile.Result{RequeueAfter: remaining}, true, nil
	}
	return reconcile.Result{}, false, nil
}

func conditionReason(conds []metav1.Condition, t string) string {
	if c := meta.FindStatusCondition(conds, t); c != nil {
		return c.Reason
	}
	return ""
}

// submitAttempt starts the next attempt when none is running: validate,
// resolve, build, create the driver pod, then its ConfigMaps and Service.
func (c *Controller) submitAttempt(ctx context.Context, s *scope) (reconcile.Result, bool, error) {
	st := &s.app.Status
	wasSuspended := st.State == v1alpha1.StateSuspended
	if st.Attempts > 0 && st.State != v1alpha1.StateRetrying && !wasSuspended {
		return reconcile.Result{}, false, nil
	}
	attempt := st.Attempts + 1
	if last, ok := c.submitted.Load(s.app.UID); ok && last.(int32) >= attempt {
		// This process already submitted the attempt; the cache lags.
		return reconcile.Result{RequeueAfter: cacheLagRequeue}, true, nil
	}
	// Validate what the user wrote, so errors name their fields.
	if _, err := submit.Build(s.app, c.buildOptions(attempt)); err != nil {
		c.reject(s, v1alpha1.ReasonInvalidSpec, err.Error())
		submissionsTotal.WithLabelValues("invalid").Inc()
		return reconcile.Result{}, true, nil
	}
	effective, note, err := c.opts.Resolve(ctx, s.app.DeepCopy())
	if reason, message, ok := rejectionOf(err); ok {
		c.reject(s, reason, message)
		return reconcile.Result{}, true, nil
	}
	if err != nil {
		return reconcile.Result{}, true, fmt.Errorf("resolving the application's profile: %w", err)
	}
	opts := c.buildOptions(attempt)
	err = c.driverAccount(ctx, s.app, effective)
	if err == nil {
		opts.SparkConfFiles, err = c.sparkConfFiles(ctx, effective)
	}
	if errors.As(err, &rejection) {
		c.reject(s, rejection.Reason, rejection.Message)
		return reconcile.Result{}, true, nil
	}
	if err != nil {
		return reconcile.Result{}, true, err
	}
	objs, err := submit.Build(effective, opts)
	if err != nil {
		c.reject(s, v1alpha1.ReasonInvalidSpec, "after applying the profile: "+err.Error())
		submissionsTotal.WithLabelValues("invalid").Inc()
		return reconcile.Result{}, true, nil
	}
	if missing, err := c.missingPrerequisite(ctx, objs); err != nil {
		return reconcile.Result{}, true, err
	} else if missing != "" {
		c.reject(s, v1alpha1.ReasonMissingPrerequisite, missing)
		submissionsTotal.WithLabelValues("invalid").Inc()
		return reconcile.Result{}, true, nil
	}
	if attempt > 1 {
		// The previous driver is done; deleting it removes its executors,
		// ConfigMaps and Service through their owner references.
		prev := submit.NamesFor(s.app, attempt-1)
		old := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: s.app.Namespace, Name: prev.DriverPod}}
		if err := c.client.Delete(ctx, old, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
			return reconcile.Result{}, true, fmt.Errorf("deleting the driver pod of attempt %d: %w", attempt-1, err)
		}
	}

	if done, err := c.createPodGroup(ctx, s, objs); done || err != nil {
		return reconcile.Result{}, true, err
	}
	driver := objs.DriverPod
	created := true
	if err := c.client.Create(ctx, driver); err != nil {
		switch {
		case apierrors.IsAlreadyExists(err):
			created = false
			if driver, err = c.existingDriver(ctx, objs.DriverPod); err != nil {
				return reconcile.Result{}, true, err
			}
		case apierrors.IsInvalid(err):
			c.reject(s, v1alpha1.ReasonSubmissionFailed, fmt.Sprintf("the API server refused driver pod %s: %v", objs.DriverPod.Name, err))
			submissionsTotal.WithLabelValues("invalid").Inc()
			s.then(func() { c.events.submissionFailed(s.app, err.Error()) })
			return reconcile.Result{}, true, nil
		default:
			return c.submissionFailed(ctx, s, nil, fmt.Errorf("creating driver pod %s: %w", objs.DriverPod.Name, err))
		}
	}
	objs.OwnByDriver(driver)
	var dependents []client.Object
	for _, obj := range objs.Dependents() {
		dependents = append(dependents, obj.(client.Object))
	}
	errs := c.createAll(ctx, dependents)
	for i, err := range errs {
		if err == nil {
			continue
		}
		obj := dependents[i]
		if apierrors.IsInvalid(err) {
			// Never leave a half-created application: remove the driver
			// (its owner references take the dependents that were created).
			if derr := c.client.Delete(ctx, driver); client.IgnoreNotFound(derr) != nil {
				return reconcile.Result{}, true, fmt.Errorf("removing driver pod %s after %s was refused: %w", driver.Name, obj.GetName(), derr)
			}
			c.reject(s, v1alpha1.ReasonSubmissionFailed, fmt.Sprintf("the API server refused %s: %v", obj.GetName(), err))
			return reconcile.Result{}, true, nil
		}
	}
	for i, err := range errs {
		if err != nil {
			return c.submissionFailed(ctx, s, driver, fmt.Errorf("creating %s: %w", dependents[i].GetName(), err))
		}
	}

	// Remembered only once the status recording the attempt is written: a
	// failed (e.g. conflicting) patch must let the next reconcile record it.
	s.then(func() { c.submitted.Store(s.app.UID, attempt) })
	// The attempt exists: record it. A re-run that found the driver keeps
	// the driver's creation time as the submission time.
	submittedAt := metav1.NewTime(s.now)
	if !created {
		submittedAt = driver.CreationTimestamp
	}
	if attempt > 1 && st.Attempts < attempt {
		retriesTotal.Inc()
	}
	st.Attempts = attempt
	st.SubmissionAttempts = 0
	st.SparkApplicationID = objs.Names.AppID
	st.DriverInfo = objs.DriverInfo()
	st.Executors = v1alpha1.ExecutorCounts{}
	st.LastSubmissionAttemptTime = &submittedAt
	st.StartTime, st.TerminationTime = nil, nil
	st.State = v1alpha1.StatePending
	if effective.Status.Zone != "" {
		st.Zone = effective.Status.Zone
	}
	if effective.Status.Resolution != nil {
		st.Resolution = effective.Status.Resolution.DeepCopy()
	}
	if effective.Status.Profile != nil {
		st.Profile = effective.Status.Profile.DeepCopy()
	}
	c.setCondition(s, v1alpha1.ConditionAccepted, metav1.ConditionTrue, v1alpha1.ReasonValid, "The spec is valid")
	c.setCondition(s, v1alpha1.ConditionSubmitted, metav1.ConditionTrue, v1alpha1.ReasonDriverCreated,
		fmt.Sprintf("Attempt %d: driver pod %s, service %s", attempt, objs.Names.DriverPod, objs.Names.DriverService))
	// The same message observeDriver derives from a fresh pod, so the next
	// reconcile finds nothing to write.
	c.setCondition(s, v1alpha1.ConditionRunning, metav1.ConditionFalse, v1alpha1.ReasonDriverPending, driverPendingMessage(driver))
	clearExecutorsPending(s)
	c.setCondition(s, v1alpha1.ConditionCompleted, metav1.ConditionFalse, v1alpha1.ReasonInProgress, fmt.Sprintf("Attempt %d is in progress", attempt))
	// An interruption of the previous attempt's driver must not end this one.
	if cond := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionDriverNodeInterrupted); cond != nil && cond.Status == metav1.ConditionTrue {
		c.setCondition(s, v1alpha1.ConditionDriverNodeInterrupted, metav1.ConditionFalse, v1alpha1.ReasonNextAttemptStarted,
			fmt.Sprintf("Attempt %d started; the previous one ended with DriverNodeInterrupted: %s", attempt, cond.Message))
	}
	c.resumed(s, wasSuspended, attempt)
	if created {
		submissionsTotal.WithLabelValues("created").Inc()
		if attempt == 1 {
			submissionLatency.Observe(s.now.Sub(s.app.CreationTimestamp.Time).Seconds())
		}
		log.FromContext(ctx).V(1).Info("Submitted", "attempt", attempt, "driver", objs.Names.DriverPod)
		s.then(func() { c.events.submitted(s.app, attempt, objs.Names.DriverPod, note, true) })
		// The new pod is Pending; its own events bring the next reconcile.
		// Observing it now would only miss the cache and cost a read.
		return c.pendingRequeue(driver, s.now), true, nil
	}
	submissionsTotal.WithLabelValues("already_exists").Inc()
	// The attempt is recorded only now (an earlier run created the driver
	// and did not get to write the status): its event too.
	s.then(func() { c.events.submitted(s.app, attempt, objs.Names.DriverPod, note, false) })
	return reconcile.Result{}, false, nil
}

// createAll creates objs at once (the driver's ConfigMaps and Service need
// only the driver, not each other: three round trips in the time of one)
// and returns each create's error; AlreadyExists counts as done.
func (c *Controller) createAll(ctx context.Context, objs []client.Object) []error {
	errs := make([]error, len(objs))
	var wg sync.WaitGroup
	for i, obj := range objs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.client.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	return errs
}

// submissionFailed handles an API error other than AlreadyExists or Invalid
// while creating an attempt's objects (a missing PriorityClass, an exhausted
// quota, a timeout): the Submitted condition shows it, and
// spec.restartPolicy.onSubmissionFailureRetries, when set, bounds the tries
// (spaced by onSubmissionFailureRetryInterval); otherwise the error is
// retried with the controller's backoff until it clears. driver is the
// attempt's driver pod when it was created (nil otherwise): giving up removes
// it, and through its owner references what was created of the rest, so no
// half-submitted attempt is left waiting for a ConfigMap that never comes.
func (c *Controller) submissionFailed(ctx context.Context, s *scope, driver *corev1.Pod, err error) (reconcile.Result, bool, error) {
	submissionsTotal.WithLabelValues("error").Inc()
	st := &s.app.Status
	rp := s.app.Spec.RestartPolicy
	st.SubmissionAttempts++
	if rp.OnSubmissionFailureRetries != nil && st.SubmissionAttempts > *rp.OnSubmissionFailureRetries {
		if driver != nil {
			if derr := c.client.Delete(ctx, driver, client.Preconditions{UID: &driver.UID}); client.IgnoreNotFound(derr) != nil {
				return reconcile.Result{}, true, fmt.Errorf("removing driver pod %s after giving up on the submission: %w", driver.Name, derr)
			}
		}
		msg := fmt.Sprintf("%v (gave up after %d tries, spec.restartPolicy.onSubmissionFailureRetries=%d)", err, st.SubmissionAttempts, *rp.OnSubmissionFailureRetries)
		c.reject(s, v1alpha1.ReasonSubmissionFailed, msg)
		s.then(func() { c.events.submissionFailed(s.app, err.Error()) })
		return reconcile.Result{}, true, nil
	}
	c.setCondition(s, v1alpha1.ConditionSubmitted, metav1.ConditionFalse, v1alpha1.ReasonSubmissionFailed,
		fmt.Sprintf("try %d: %v", st.SubmissionAttempts, err))
	if rp.OnSubmissionFailureRetryInterval != nil && rp.OnSubmissionFailureRetries != nil {
		return reconcile.Result{RequeueAfter: time.Duration(*rp.OnSubmissionFailureRetryInterval) * time.Second}, true, nil
	}
	return reconcile.Result{}, true, err
}

func (c *Controller) buildOptions(attempt int32) submit.Options {
	return submit.Options{Attempt: attempt, Master: c.opts.Master, SparkUser: c.opts.SparkUser, IngressURLFormat: c.opts.IngressURLFormat}
}

// existingDriver returns the driver pod a previous run created, and refuses a
// pod of that name that belongs to something else.
func (c *Controller) existingDriver(ctx context.Context, want *corev1.Pod) (*corev1.Pod, error) {
	pod := &corev1.Pod{}
	if err := c.apiReader.Get(ctx, client.ObjectKeyFromObject(want), pod); err != nil {
		return nil, fmt.Errorf("reading existing driver pod %s: %w", want.Name, err)
	}
	owner := metav1.GetControllerOf(pod)
	if owner == nil || owner.UID != want.OwnerReferences[0].UID {
		return nil, reconcile.TerminalError(fmt.Errorf("pod %s exists but does not belong to this SparkApplication; delete it or rename the application", want.Name))
	}
	return pod, nil
}

// reject ends the application before (or instead of) submission.
func (c *Controller) reject(s *scope, reason, message string) {
	st := &s.app.Status
	wasRejected := conditionReason(st.Conditions, v1alpha1.ConditionAccepted) == reason && st.State == v1alpha1.StateFailed
	st.State = v1alpha1.StateFailed
	if st.TerminationTime == nil {
		st.TerminationTime = &metav1.Time{Time: s.now}
	}
	accepted := metav1.ConditionFalse
	if reason == v1alpha1.ReasonSubmissionFailed {
		accepted = metav1.ConditionTrue
		c.setCondition(s, v1alpha1.ConditionSubmitted, metav1.ConditionFalse, reason, message)
	} else {
		c.setCondition(s, v1alpha1.ConditionAccepted, accepted, reason, message)
	}
	c.setCondition(s, v1alpha1.ConditionCompleted, metav1.ConditionTrue, reason, message)
	if !wasRejected {
		attemptsFinishedTotal.WithLabelValues("failed", reason).Inc()
		if reason != v1alpha1.ReasonSubmissionFailed {
			s.then(func() { c.events.invalidSpec(s.app, message) })
		}
	}
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

// observeDriver follows the current attempt's driver pod into the status.
func (c *Controller) observeDriver(ctx context.Context, s *scope) (reconcile.Result, bool, error) {
	st := &s.app.Status
	if st.Attempts == 0 || st.State.IsTerminal() || st.State == v1alpha1.StateRetrying {
		return reconcile.Result{}, true, nil
	}
	names := submit.NamesFor(s.app, st.Attempts)
	driver, err := c.driverPod(ctx, s.app.Namespace, names.DriverPod)
	if err != nil {
		return reconcile.Result{}, true, err
	}
	interrupted := driverNodeInterrupted(st, names.DriverPod)
	if driver == nil {
		if interrupted != nil {
			return c.endInterrupted(ctx, s, names.DriverPod, nil, interrupted)
		}
		c.endAttempt(ctx, s, false, v1alpha1.ReasonDriverDeleted,
			fmt.Sprintf("driver pod %s was deleted before it finished", names.DriverPod))
		return c.afterEnd(s), true, nil
	}
	if err := c.countExecutors(ctx, s, names.AppID); err != nil {
		return reconcile.Result{}, true, err
	}
	done, success, reason, message := driverOutcome(driver)
	if interrupted != nil && !(done && success) {
		// A driver that failed because its node went away is reported as
		// interrupted too: that is the cause the user can act on.
		return c.endInterrupted(ctx, s, names.DriverPod, driver, interrupted)
	}
	if done {
		if success {
			c.endAttempt(ctx, s, true, v1alpha1.ReasonDriverSucceeded, fmt.Sprintf("driver pod %s completed", driver.Name))
		} else {
			c.endAttempt(ctx, s, false, v1alpha1.ReasonDriverFailed, fmt.Sprintf("driver pod %s failed: %s (%s)", driver.Name, message, reason))
		}
		return c.afterEnd(s), true, nil
	}
	switch driver.Status.Phase {
	case corev1.PodRunning:
		if st.State != v1alpha1.StateRunning {
			s.then(func() { c.events.driverRunning(s.app, driver.Name) })
		}
		st.State = v1alpha1.StateRunning
		if st.StartTime == nil {
			start := metav1.NewTime(s.now)
			if driver.Status.StartTime != nil {
				start = *driver.Status.StartTime
			}
			st.StartTime = &start
		}
		c.setCondition(s, v1alpha1.ConditionRunning, metav1.ConditionTrue, v1alpha1.ReasonDriverRunning, fmt.Sprintf("Driver pod %s is running", driver.Name))
		result, _, err := c.observeExecutorsPending(ctx, s, driver, names.AppID)
		return result, true, err
	default: // Pending or Unknown
		st.State = v1alpha1.StatePending
		blockedAt := c.observeDriverPending(s, driver)
		if c.opts.DriverPendingTimeout < 0 {
			return requeueAt(blockedAt, s.now), true, nil
		}
		remaining := driver.CreationTimestamp.Add(c.opts.DriverPendingTimeout).Sub(s.now)
		if remaining > 0 {
			if !blockedAt.IsZero() {
				remaining = min(remaining, max(blockedAt.Sub(s.now), time.Millisecond))
			}
			return reconcile.Result{RequeueAfter: remaining}, true, nil
		}
		if err := c.client.Delete(ctx, driver, client.Preconditions{UID: &driver.UID}); client.IgnoreNotFound(err) != nil {
			return reconcile.Result{}, true, fmt.Errorf("deleting driver pod %s after the pending timeout: %w", driver.Name, err)
		}
		timeout := c.opts.DriverPendingTimeout
		s.then(func() { c.events.pendingTimeout(s.app, driver.Name, timeout) })
		c.endAttempt(ctx, s, false, v1alpha1.ReasonDriverPendingTimeout,
			fmt.Sprintf("driver pod %s stayed Pending for more than %s (%s); it was deleted — check capacity, quotas and the image, or raise the operator's --driver-pending-timeout",
				driver.Name, timeout, driverPendingMessage(driver)))
		return c.afterEnd(s), true, nil
	}
}

// interruptedDriver is what the interruption controller reported for the
// current attempt's driver pod: the DriverNodeInterrupted condition when it
// is True and status.interruptions.driver names driverPod (nil report: an
// older operator set the condition alone). Pod names carry the attempt
// number, so a report about an earlier attempt's driver (which that
// controller may repeat after a restart while the old pod still runs) does
// not end this attempt.
type interruptedDriver struct {
	condition *metav1.Condition
	// report is nil when only the condition was written.
	report *v1alpha1.DriverInterruption
}

func driverNodeInterrupted(st *v1alpha1.SparkApplicationStatus, driverPod string) *interruptedDriver {
	cond := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionDriverNodeInterrupted)
	if cond == nil || cond.Status != metav1.ConditionTrue {
		return nil
	}
	var report *v1alpha1.DriverInterruption
	if st.Interruptions != nil {
		report = st.Interruptions.Driver
	}
	if report != nil && report.Pod != driverPod {
		return nil
	}
	return &interruptedDriver{condition: cond, report: report}
}

// endInterrupted ends the current attempt because its driver's node got an
// interruption notice. It deletes the driver first (UID precondition; a pod
// already terminating is left alone): its executors go with it through their
// owner references, a Never application does not leave a driver running
// after it is reported Failed, and the interruption controller skips
// terminating pods, so it does not report this driver again. The delete comes
// before the status write, so an operator killed in between finds the
// condition still True and repeats the same decision (NotFound is done).
func (c *Controller) endInterrupted(ctx context.Context, s *scope, podName string, driver *corev1.Pod, interrupted *interruptedDriver) (reconcile.Result, bool, error) {
	node := ""
	if interrupted.report != nil {
		node = interrupted.report.Node
	}
	if driver != nil {
		if driver.Spec.NodeName != "" {
			node = driver.Spec.NodeName
		}
		if driver.DeletionTimestamp.IsZero() {
			if err := c.client.Delete(ctx, driver, client.Preconditions{UID: &driver.UID}); client.IgnoreNotFound(err) != nil {
				return reconcile.Result{}, true, fmt.Errorf("deleting driver pod %s on interrupted node %s: %w", podName, node, err)
			}
		}
	}
	if node == "" {
		node = "(unknown)"
	}
	profile := "the application's SparkProfile"
	if p := s.app.Status.Profile; p != nil && p.Name != "" {
		profile = fmt.Sprintf("SparkProfile %s", p.Name)
	}
	message := fmt.Sprintf("driver pod %s was on node %s, which got an interruption notice, and was deleted (%s); "+
		"drivers belong on nodes that are not reclaimed: set spec.driver.capacityType: on-demand (the default) in %s and keep its driver placement from allowing spot nodes",
		podName, node, strings.TrimSuffix(interrupted.condition.Message, "."), profile)
	st := &s.app.Status
	attempt := st.Attempts
	s.then(func() { c.events.driverNodeInterrupted(s.app, attempt, podName, node) })
	c.endAttempt(ctx, s, false, v1alpha1.ReasonDriverNodeInterrupted, message)
	return c.afterEnd(s), true, nil
}

// pendingRequeue looks at a pending driver again when its pending timeout ends.
func (c *Controller) pendingRequeue(driver *corev1.Pod, now time.Time) reconcile.Result {
	if c.opts.DriverPendingTimeout < 0 {
		return reconcile.Result{}
	}
	created := driver.CreationTimestamp.Time
	if created.IsZero() {
		created = now
	}
	return reconcile.Result{RequeueAfter: max(created.Add(c.opts.DriverPendingTimeout).Sub(now), time.Millisecond)}
}

// afterEnd requeues a Retrying application when its backoff ends.
func (c *Controller) afterEnd(s *scope) reconcile.Result {
	st := &s.app.Status
	if st.State != v1alpha1.StateRetrying {
		return reconcile.Result{}
	}
	failed := conditionReason(st.Conditions, v1alpha1.ConditionRunning) != v1alpha1.ReasonDriverSucceeded
	return reconcile.Result{RequeueAfter: max(st.TerminationTime.Add(c.retryDelay(s.app, st.Attempts, failed)).Sub(s.now), time.Millisecond)}
}

// driverPod reads the driver from the pod cache, and from the API server
// when the cache does not have it (yet): nil means it does not exist.
func (c *Controller) driverPod(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	pod := &corev1.Pod{}
	key := client.ObjectKey{Namespace: namespace, Name: name}
	err := c.pods.Get(ctx, key, pod)
	if apierrors.IsNotFound(err) && c.pods != c.apiReader {
		err = c.apiReader.Get(ctx, key, pod)
	}
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading driver pod %s: %w", name, err)
	}
	return pod, nil
}

// driverOutcome says whether the driver has finished, from the pod phase or,
// when sidecars keep the pod running, from the driver container itself.
func driverOutcome(pod *corev1.Pod) (done, success bool, reason, message string) {
	var driverState *corev1.ContainerStateTerminated
	for i := range pod.Status.ContainerStatuses {
		cs := &pod.Status.ContainerStatuses[i]
		if cs.Name == spark.DriverContainerName && cs.State.Terminated != nil {
			driverState = cs.State.Terminated
		}
	}
	switch {
	case pod.Status.Phase == corev1.PodSucceeded:
		return true, true, "Completed", ""
	case pod.Status.Phase == corev1.PodFailed:
		if driverState != nil {
			return true, false, terminatedReason(driverState), terminatedMessage(driverState)
		}
		reason := firstNonEmpty(pod.Status.Reason, "PodFailed")
		return true, false, reason, firstNonEmpty(pod.Status.Message, "the pod failed")
	case driverState != nil:
		if driverState.ExitCode == 0 {
			return true, true, "Completed", ""
		}
		return true, false, terminatedReason(driverState), terminatedMessage(driverState)
	}
	return false, false, "", ""
}

func terminatedReason(t *corev1.ContainerStateTerminated) string {
	return firstNonEmpty(t.Reason, "Error")
}

func terminatedMessage(t *corev1.ContainerStateTerminated) string {
	msg := fmt.Sprintf("container %s exited with code %d", spark.DriverContainerName, t.ExitCode)
	if t.Message != "" {
		msg += ": " + strings.TrimSpace(t.Message)
	}
	return msg
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// endAttempt records the end of the current attempt and decides, per
// spec.restartPolicy, between Retrying and a terminal state.
func (c *Controller) endAttempt(ctx context.Context, s *scope, success bool, reason, message string) {
	st := &s.app.Status
	st.TerminationTime = &metav1.Time{Time: s.now}
	result := "failed"
	if success {
		result = "succeeded"
	}
	attemptsFinishedTotal.WithLabelValues(result, reason).Inc()
	attempt := st.Attempts
	runningStatus := metav1.ConditionFalse
	c.setCondition(s, v1alpha1.ConditionRunning, runningStatus, reason, message)

	if c.shouldRetry(s.app, success) {
		delay := c.retryDelay(s.app, attempt, !success)
		st.State = v1alpha1.StateRetrying
		c.setCondition(s, v1alpha1.ConditionSubmitted, metav1.ConditionFalse, v1alpha1.ReasonWaitingForRetry,
			fmt.Sprintf("Attempt %d ended (%s); attempt %d starts at %s", attempt, reason, attempt+1, s.now.Add(delay).UTC().Format(time.RFC3339)))
		c.setCondition(s, v1alpha1.ConditionCompleted, metav1.ConditionFalse, v1alpha1.ReasonInProgress, message)
		log.FromContext(ctx).V(1).Info("Attempt ended; retrying", "attempt", attempt, "reason", reason, "after", delay)
		s.then(func() { c.events.retrying(s.app, attempt, reason, delay) })
		return
	}
	if success {
		st.State = v1alpha1.StateSucceeded
		c.setCondition(s, v1alpha1.ConditionCompleted, metav1.ConditionTrue, v1alpha1.ReasonSucceeded, message)
		s.then(func() { c.events.succeeded(s.app, attempt) })
		return
	}
	st.State = v1alpha1.StateFailed
	c.setCondition(s, v1alpha1.ConditionCompleted, metav1.ConditionTrue, reason, message)
	s.then(func() { c.events.failed(s.app, reason, message) })
}

// shouldRetry applies spec.restartPolicy: Never never retries; OnFailure
// retries failures while attempts ≤ onFailureRetries; Always reruns after a
// success and retries failures within onFailureRetries when it is set.
func (c *Controller) shouldRetry(app *v1alpha1.SparkApplication, success bool) bool {
	rp := app.Spec.RestartPolicy
	retries := int32(0)
	if rp.OnFailureRetries != nil {
		retries = *rp.OnFailureRetries
	}
	switch rp.Type {
	case v1alpha1.RestartPolicyAlways:
		if success {
			return true
		}
		return rp.OnFailureRetries == nil || app.Status.Attempts <= retries
	case v1alpha1.RestartPolicyOnFailure:
		return !success && app.Status.Attempts <= retries
	}
	return false
}

// countExecutors sets status.executors from the pod cache.
func (c *Controller) countExecutors(ctx context.Context, s *scope, appID string) error {
	pods := &corev1.PodList{}
	opts := []client.ListOption{client.InNamespace(s.app.Namespace)}
	if c.podsIndexed {
		opts = append(opts, client.MatchingFields{clusterstate.IndexAppSelector: clusterstate.AppSelectorKey(s.app.Namespace, appID)})
	} else {
		opts = append(opts, client.MatchingLabels{spark.LabelAppSelector: appID})
	}
	if err := c.pods.List(ctx, pods, opts...); err != nil {
		return fmt.Errorf("listing executor pods: %w", err)
	}
	var counts v1alpha1.ExecutorCounts
	for i := range pods.Items {
		pod := &pods.Items[i]
		if pod.Labels[spark.LabelRole] != spark.RoleExecutor {
			continue
		}
		switch pod.Status.Phase {
		case corev1.PodPending:
			counts.Pending++
		case corev1.PodRunning:
			counts.Running++
		case corev1.PodSucceeded:
			counts.Succeeded++
		case corev1.PodFailed:
			counts.Failed++
		}
	}
	s.app.Status.Executors = counts
	return nil
}
