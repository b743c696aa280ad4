package sparkapplication

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/submit"
)

// submitAttempt starts the next attempt when none is running: validate,
// resolve, build, create the driver pod, then its ConfigMaps and Service,
// and record the attempt in the status.
func (c *Controller) submitAttempt(ctx context.Context, s *scope) (reconcile.Result, bool, error) {
	st := &s.app.Status
	wasSuspended := s.state() == v1alpha1.StateSuspended
	if st.Attempts > 0 && s.state() != v1alpha1.StateRetrying && !wasSuspended {
		return reconcile.Result{}, false, nil
	}
	attempt := st.Attempts + 1
	if last := c.lastSubmitted(s.app); last >= attempt {
		// This process already submitted the attempt; the cache lags.
		return c.awaitOwnStatus(ctx, s, last)
	}
	effective, objs, note, result, done, err := c.buildAttempt(ctx, s, attempt)
	if done || err != nil {
		return result, done, err
	}
	driver, created, result, done, err := c.createAttempt(ctx, s, attempt, objs)
	if done || err != nil {
		return result, done, err
	}
	c.recordAttempt(s, attempt, effective, objs, driver, created)
	c.resumed(s, wasSuspended, attempt)
	// A submission records no event: the status's Submitted condition and
	// status.resolution say what was created and how it was resolved, and
	// sparkplane_sparkapplication_submissions_total counts it. An event
	// would be one more API server write (and etcd lease) per application,
	// the largest extra cost of a submission over the raw API path
	// (docs/performance.md).
	log.FromContext(ctx).V(1).Info("Submitted", "attempt", attempt, "driver", objs.Names.DriverPod, "created", created, "resolution", note)
	if created {
		// The new pod is Pending; its own changes bring the next reconcile
		// (its creation does not: podChanged), or this requeue when it
		// crosses the pending threshold or its timeout, as observeDriver
		// would schedule. Observing it now would only miss the cache and
		// cost a read.
		if s.lookAgain {
			return reconcile.Result{RequeueAfter: time.Millisecond}, true, nil
		}
		return c.pendingRequeue(driver, driver.CreationTimestamp.Add(c.opts.PendingThreshold), s.now), true, nil
	}
	// The attempt is recorded only now (an earlier run created the driver
	// and did not get to write the status).
	return reconcile.Result{}, false, nil
}

// awaited is an application whose reconcile waits for its cache to show
// this process's submission of attempt.
type awaited struct {
	uid     types.UID
	attempt int32
}

// awaitOwnStatus stops a reconcile that read the application from a cache
// not yet showing the attempt this process submitted: the status write's
// own watch event brings the next reconcile (ownStatusArrived), and a
// requeue after cacheLagSafetyNet does if that event never passes. (It
// polled every 250 ms before: 5.6-6 reconciles per application in
// BenchmarkSubmission, most of them these polls.)
func (c *Controller) awaitOwnStatus(ctx context.Context, s *scope, attempt int32) (reconcile.Result, bool, error) {
	key := client.ObjectKeyFromObject(s.app)
	c.awaiting.Store(key, awaited{uid: s.app.UID, attempt: attempt})
	// The event may have reached the cache after this reconcile read it and
	// before the Store above, and found no one waiting: read it again.
	fresh := &v1alpha1.SparkApplication{}
	if err := c.client.Get(ctx, key, fresh); err == nil && fresh.UID == s.app.UID && fresh.Status.Attempts >= attempt {
		c.awaiting.Delete(key)
		return reconcile.Result{RequeueAfter: time.Millisecond}, true, nil
	}
	log.FromContext(ctx).V(2).Info("The cache does not show this process's submission yet; waiting for it", "attempt", attempt)
	return reconcile.Result{RequeueAfter: cacheLagSafetyNet}, true, nil
}

// buildAttempt validates what the user wrote (so errors name their fields),
// resolves the profile and builds the attempt's objects. done with a nil
// error means the application was rejected.
//
// The objects are built once, from the effective application: what the
// user wrote is only validated (submit.Validate, a tenth of a build). When
// the build fails, the user's application is built too, to tell the user's
// error (named as written) from one the profile brought in.
func (c *Controller) buildAttempt(ctx context.Context, s *scope, attempt int32) (effective *v1alpha1.SparkApplication, objs *submit.Objects, note string, result reconcile.Result, done bool, err error) {
	s.timed("phases before submission")
	if err := submit.Validate(s.app, c.buildOptions(attempt)); err != nil {
		c.reject(s, v1alpha1.ReasonInvalidSpec, err.Error())
		c.countSubmission(s, "invalid")
		return nil, nil, "", reconcile.Result{}, true, nil
	}
	s.timed("validate")
	effective, note, err = c.opts.Resolve(ctx, s.app.DeepCopy())
	s.timed("resolve")
	if reason, message, ok := rejectionOf(err); ok {
		c.reject(s, reason, message)
		return nil, nil, "", reconcile.Result{}, true, nil
	}
	if err != nil {
		return nil, nil, "", reconcile.Result{}, true, fmt.Errorf("resolving the application's profile: %w", err)
	}
	opts := c.buildOptions(attempt)
	err = c.driverAccount(ctx, s.app, effective)
	s.timed("driver identity")
	if err == nil {
		opts.SparkConfFiles, err = c.sparkConfFiles(ctx, effective)
	}
	if err == nil {
		opts.PodSecurity, err = c.podSecurityLevel(ctx, effective.Namespace)
	}
	s.timed("conf files and pod security")
	if reason, message, ok := rejectionOf(err); ok {
		c.reject(s, reason, message)
		return nil, nil, "", reconcile.Result{}, true, nil
	}
	if err != nil {
		return nil, nil, "", reconcile.Result{}, true, err
	}
	objs, err = submit.Build(effective, opts)
	s.timed("build")
	if err != nil {
		msg := "after applying the profile: " + err.Error()
		if _, userErr := submit.Build(s.app, c.buildOptions(attempt)); userErr != nil {
			msg = userErr.Error()
		}
		c.reject(s, v1alpha1.ReasonInvalidSpec, msg)
		c.countSubmission(s, "invalid")
		return nil, nil, "", reconcile.Result{}, true, nil
	}
	missing, err := c.missingPrerequisite(ctx, objs)
	s.timed("prerequisites")
	if err != nil {
		return nil, nil, "", reconcile.Result{}, true, err
	}
	if missing != "" {
		c.reject(s, v1alpha1.ReasonMissingPrerequisite, missing)
		c.countSubmission(s, "invalid")
		return nil, nil, "", reconcile.Result{}, true, nil
	}
	return effective, objs, note, reconcile.Result{}, false, nil
}

// createAttempt removes the previous attempt's driver and creates this
// attempt's driver pod, then its ConfigMaps and Service. created is false
// when an earlier run had created the driver. done with a nil error means
// the submission ended (refused, or waiting to be tried again).
func (c *Controller) createAttempt(ctx context.Context, s *scope, attempt int32, objs *submit.Objects) (driver *corev1.Pod, created bool, result reconcile.Result, done bool, err error) {
	if attempt > 1 {
		// The previous driver is done; deleting it removes its executors,
		// ConfigMaps and Service through their owner references.
		prev := submit.NamesFor(s.app, attempt-1)
		old := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: s.app.Namespace, Name: prev.DriverPod}}
		if err := c.client.Delete(ctx, old, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
			return nil, false, reconcile.Result{}, true, fmt.Errorf("deleting the driver pod of attempt %d: %w", attempt-1, err)
		}
	}
	if done, err := c.createPodGroup(ctx, s, objs); done || err != nil {
		return nil, false, reconcile.Result{}, true, err
	}
	driver, created = objs.DriverPod, true
	key := client.ObjectKeyFromObject(driver)
	c.createdDrivers.creating(key)
	createErr := c.client.Create(ctx, driver)
	s.timed("driver pod create")
	if createErr != nil {
		c.createdDrivers.failed(key)
	} else if missed := c.createdDrivers.created(key, driver.ResourceVersion); missed {
		// The pod's creation event came before the create's reply and
		// showed it changed since (an informer's relist): look again.
		s.lookAgain = true
	}
	if err := createErr; err != nil {
		switch {
		case apierrors.IsAlreadyExists(err):
			created = false
			if driver, err = c.existingDriver(ctx, objs.DriverPod); err != nil {
				return nil, false, reconcile.Result{}, true, err
			}
		case apierrors.IsInvalid(err), refusedByPodSecurity(err):
			msg := fmt.Sprintf("the API server refused driver pod %s: %v", objs.DriverPod.Name, err)
			if refusedByPodSecurity(err) {
				msg += fmt.Sprintf("; namespace %s enforces that Pod Security level (label %s): drop what it names from spec.driver (securityContext, podSecurityContext, hostNetwork, volumes), or run in a namespace of another level", s.app.Namespace, submit.LabelPodSecurityEnforce)
			}
			c.reject(s, v1alpha1.ReasonSubmissionFailed, msg)
			c.countSubmission(s, "invalid")
			s.then(func() { c.events.submissionFailed(s.app, err.Error()) })
			return nil, false, reconcile.Result{}, true, nil
		default:
			result, done, err = c.submissionFailed(ctx, s, nil, fmt.Errorf("creating driver pod %s: %w", objs.DriverPod.Name, err))
			return nil, false, result, done, err
		}
	}
	result, done, err = c.createDependents(ctx, s, objs, driver)
	s.timed("config maps and service create")
	return driver, created, result, done, err
}

// createDependents creates the driver's ConfigMaps and Service, owned by it.
func (c *Controller) createDependents(ctx context.Context, s *scope, objs *submit.Objects, driver *corev1.Pod) (reconcile.Result, bool, error) {
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
	return reconcile.Result{}, false, nil
}

// recordAttempt writes the attempt that now exists into the status. A
// re-run that found the driver keeps the driver's creation time as the
// submission time.
func (c *Controller) recordAttempt(s *scope, attempt int32, effective *v1alpha1.SparkApplication, objs *submit.Objects, driver *corev1.Pod, created bool) {
	st := &s.app.Status
	// Remembered only once the status recording the attempt is written: a
	// failed (e.g. conflicting) patch must let the next reconcile record it.
	s.then(func() {
		c.submitted.Store(client.ObjectKeyFromObject(s.app), submittedAttempt{uid: s.app.UID, attempt: attempt})
	})
	submittedAt := metav1.NewTime(s.now)
	if !created {
		submittedAt = driver.CreationTimestamp
	}
	if attempt > 1 && st.Attempts < attempt {
		s.then(retriesTotal.Inc)
	}
	if created {
		c.countSubmission(s, "created")
		if attempt == 1 {
			latency := s.now.Sub(s.app.CreationTimestamp.Time).Seconds()
			s.then(func() { submissionLatency.Observe(latency) })
		}
	} else {
		c.countSubmission(s, "already_exists")
	}
	st.Attempts = attempt
	st.SubmissionAttempts = 0
	st.SparkApplicationID = objs.Names.AppID
	st.DriverInfo = objs.DriverInfo()
	st.Executors = v1alpha1.ExecutorCounts{}
	st.LastSubmissionAttemptTime = &submittedAt
	st.StartTime, st.TerminationTime = nil, nil
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
	// Running and Completed are written once they have something to say
	// (the driver runs, something known blocks it, the attempt ends): a
	// fresh attempt has neither, as the Kubernetes convention reads an
	// absent condition as Unknown. observeDriverPending derives the same
	// from a fresh pod, so the next reconcile finds nothing to write. The
	// two conditions a just-submitted application used to carry (Running
	// False "waiting to be scheduled", Completed False "in progress") were
	// a fifth of its status and of its managed fields, which the API
	// server validates, diffs, stores and sends on every write (issue 20).
	meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionRunning) // the previous attempt's
	c.driverPendingBeforeThreshold(s, driver)
	clearExecutorsPending(s)
	c.imagePlatformsCondition(s, st.Resolution)
	meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionCompleted)
	// An interruption of the previous attempt's driver must not end this one.
	if cond := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionDriverNodeInterrupted); cond != nil && cond.Status == metav1.ConditionTrue {
		which := ""
		if st.Interruptions != nil && st.Interruptions.Driver != nil {
			which = fmt.Sprintf(" (driver pod %s on node %s)", st.Interruptions.Driver.Pod, st.Interruptions.Driver.Node)
		}
		c.setCondition(s, v1alpha1.ConditionDriverNodeInterrupted, metav1.ConditionFalse, v1alpha1.ReasonNextAttemptStarted,
			fmt.Sprintf("Attempt %d started; the previous one ended with DriverNodeInterrupted%s: %s", attempt, which, cond.Message))
	}
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
	c.countSubmission(s, "error")
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
	wasRejected := conditionReason(st.Conditions, v1alpha1.ConditionAccepted) == reason && s.state() == v1alpha1.StateFailed
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
		s.then(attemptsFinishedTotal.WithLabelValues("failed", reason).Inc)
		if reason != v1alpha1.ReasonSubmissionFailed {
			s.then(func() { c.events.invalidSpec(s.app, message) })
		}
	}
}
