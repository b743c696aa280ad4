// Package scheduled is the ScheduledSparkApplication controller: it starts a
// SparkApplication (a "run", owned by the schedule) at each slot of the
// schedule, applies the concurrency policy, prunes finished runs to the
// history limits and keeps the schedule's status current.
//
// State lives only in the API server: a run is named from its slot
// (RunName), so an operator that restarts, or two at once, never start one
// slot twice, and status.lastScheduleTime records the latest slot acted on,
// so slots missed while the operator was down start at most one run.
package scheduled

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// ControllerName names the controller in logs, metrics and events.
const ControllerName = "scheduledsparkapplication"

// DefaultHistoryLimit is the successful and failed run history limit when
// the spec sets none (as Kubeflow's).
const DefaultHistoryLimit = 1

// Options configure the controller; zero values mean the defaults.
type Options struct {
	// Clock (default: the real clock). Tests drive time with a fake one.
	Clock clock.PassiveClock
}

// Controller reconciles ScheduledSparkApplications.
type Controller struct {
	opts   Options
	client client.Client
	events eventRecorder
}

// NewController returns a controller that uses c until Register gives it
// the manager's client. Tests may call Reconcile on it directly.
func NewController(c client.Client, opts Options) *Controller {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	return &Controller{opts: opts, client: c}
}

// Name is the controller's name.
func (c *Controller) Name() string { return ControllerName }

// runs are a schedule's SparkApplications, by outcome, newest slot first.
type runs struct {
	active, succeeded, failed []*v1alpha1.SparkApplication
}

// Reconcile starts the run of a due slot, prunes history and writes the
// status once, as a merge patch.
func (c *Controller) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	sched := &v1alpha1.ScheduledSparkApplication{}
	if err := c.client.Get(ctx, req.NamespacedName, sched); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !sched.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, nil
	}
	ctx = log.IntoContext(ctx, log.FromContext(ctx).WithValues("scheduledsparkapplication", klog.KObj(sched)))
	base := sched.DeepCopy()
	now := c.opts.Clock.Now()
	result, err := c.reconcile(ctx, sched, now)
	if err == nil {
		sched.Status.ObservedGeneration = sched.Generation
	}
	if !equality.Semantic.DeepEqual(base.Status, sched.Status) {
		if perr := c.client.Status().Patch(ctx, sched, client.MergeFrom(base)); perr != nil && !apierrors.IsNotFound(perr) {
			return reconcile.Result{}, errors.Join(err, fmt.Errorf("patching status: %w", perr))
		}
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	return result, nil
}

func (c *Controller) reconcile(ctx context.Context, sched *v1alpha1.ScheduledSparkApplication, now time.Time) (reconcile.Result, error) {
	st := &sched.Status
	schedule, err := Parse(&sched.Spec)
	if err != nil {
		if st.ScheduleState != v1alpha1.ScheduleStateFailedValidation || st.Reason != err.Error() {
			c.events.invalidSchedule(sched, err.Error())
		}
		st.ScheduleState = v1alpha1.ScheduleStateFailedValidation
		st.Reason = err.Error()
		st.NextRun = nil
		setCondition(sched, metav1.ConditionFalse, v1alpha1.ReasonInvalidSchedule, err.Error(), now)
		return reconcile.Result{}, nil
	}

	found, err := c.listRuns(ctx, sched)
	if err != nil {
		return reconcile.Result{}, err
	}
	if err := c.pruneHistory(ctx, sched, found); err != nil {
		return reconcile.Result{}, err
	}

	suspended := ptr.Deref(sched.Spec.Suspend, false)
	wasSuspended := st.ScheduleState == v1alpha1.ScheduleStateSuspended
	if suspended {
		st.ScheduleState = v1alpha1.ScheduleStateSuspended
		st.Reason = "spec.suspend is true: no run starts; set it to false to resume"
		st.NextRun = nil
		setCondition(sched, metav1.ConditionFalse, v1alpha1.ReasonSuspended, st.Reason, now)
		return reconcile.Result{}, nil
	}
	if wasSuspended {
		// Slots that passed while suspended are skipped, not caught up.
		st.LastScheduleTime = &metav1.Time{Time: now}
	}
	if st.ScheduleState != v1alpha1.ScheduleStateScheduled {
		// The reason of the previous state (suspended, invalid) is stale;
		// a skipped slot's reason stays until the next run starts.
		st.Reason = ""
	}
	st.ScheduleState = v1alpha1.ScheduleStateScheduled
	setCondition(sched, metav1.ConditionTrue, v1alpha1.ReasonScheduled, fmt.Sprintf("Runs start at the slots of %q", sched.Spec.Schedule), now)

	after := sched.CreationTimestamp.Time
	if st.LastScheduleTime != nil && st.LastScheduleTime.After(after) {
		after = st.LastScheduleTime.Time
	}
	if slot, due := schedule.LatestDue(after, now); due {
		if err := c.startSlot(ctx, sched, found, slot, now); err != nil {
			return reconcile.Result{}, err
		}
	}
	next := schedule.Next(now)
	st.NextRun = &metav1.Time{Time: next}
	return reconcile.Result{RequeueAfter: max(next.Sub(now), time.Millisecond)}, nil
}

// startSlot acts on the due slot: skips it (past the starting deadline,
// Forbid with a run unfinished), or starts its run (Replace deletes the
// unfinished runs first). The slot is recorded in lastScheduleTime only once
// acted on, so an error retries the same slot.
func (c *Controller) startSlot(ctx context.Context, sched *v1alpha1.ScheduledSparkApplication, found runs, slot, now time.Time) error {
	st := &sched.Status
	skip := func(reason, metricReason string) {
		st.LastScheduleTime = &metav1.Time{Time: slot}
		st.Reason = reason
		runsTotal.WithLabelValues(metricReason).Inc()
		c.events.skipped(sched, reason)
	}
	if deadline := sched.Spec.StartingDeadlineSeconds; deadline != nil && now.Sub(slot) > time.Duration(*deadline)*time.Second {
		skip(fmt.Sprintf("The run for %s was skipped: it is %s late, past spec.startingDeadlineSeconds (%ds)",
			slot.Format(time.RFC3339), now.Sub(slot).Truncate(time.Second), *deadline), "skipped_deadline")
		return nil
	}
	name := RunName(sched.Name, slot)
	activeOthers := slices.DeleteFunc(slices.Clone(found.active), func(a *v1alpha1.SparkApplication) bool { return a.Name == name })
	switch sched.Spec.ConcurrencyPolicy {
	case v1alpha1.ConcurrencyForbid:
		if len(activeOthers) > 0 {
			skip(fmt.Sprintf("The run for %s was skipped: concurrencyPolicy is Forbid and %s is unfinished", slot.Format(time.RFC3339), activeOthers[0].Name), "skipped_forbid")
			return nil
		}
	case v1alpha1.ConcurrencyReplace:
		for _, run := range activeOthers {
			if err := c.client.Delete(ctx, run, client.Preconditions{UID: &run.UID}, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("deleting unfinished run %s (concurrencyPolicy Replace): %w", run.Name, err)
			}
			c.events.replaced(sched, run.Name, name)
			runsTotal.WithLabelValues("replaced").Inc()
		}
	}
	run := NewRun(sched, slot)
	if err := c.client.Create(ctx, run); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			if apierrors.IsInvalid(err) {
				// The template passed the schedule's validation, so this is
				// a rule on the SparkApplication itself; retrying won't help.
				skip(fmt.Sprintf("The run for %s was refused by the API server: %v", slot.Format(time.RFC3339), err), "refused")
				return nil
			}
			return fmt.Errorf("creating run %s: %w", name, err)
		}
		existing := &v1alpha1.SparkApplication{}
		if err := c.client.Get(ctx, client.ObjectKeyFromObject(run), existing); err != nil {
			return fmt.Errorf("reading existing run %s: %w", name, err)
		}
		if owner := metav1.GetControllerOf(existing); owner == nil || owner.UID != sched.UID {
			skip(fmt.Sprintf("The run for %s was not started: SparkApplication %s exists and does not belong to this schedule; delete or rename it", slot.Format(time.RFC3339), name), "refused")
			return nil
		}
	} else {
		runsTotal.WithLabelValues("started").Inc()
		log.FromContext(ctx).V(1).Info("Started run", "run", name, "slot", slot)
		c.events.started(sched, name, slot)
	}
	st.LastScheduleTime = &metav1.Time{Time: slot}
	st.LastRun = &metav1.Time{Time: slot}
	st.LastRunName = name
	st.Reason = ""
	return nil
}

// listRuns reads the schedule's runs from the cache (those it controls).
func (c *Controller) listRuns(ctx context.Context, sched *v1alpha1.ScheduledSparkApplication) (runs, error) {
	list := &v1alpha1.SparkApplicationList{}
	if err := c.client.List(ctx, list, client.InNamespace(sched.Namespace), client.MatchingLabels{v1alpha1.LabelScheduledBy: sched.Name}); err != nil {
		return runs{}, fmt.Errorf("listing runs: %w", err)
	}
	var found runs
	for i := range list.Items {
		app := &list.Items[i]
		if owner := metav1.GetControllerOf(app); owner == nil || owner.UID != sched.UID || !app.DeletionTimestamp.IsZero() {
			continue
		}
		switch app.Status.State {
		case v1alpha1.StateSucceeded:
			found.succeeded = append(found.succeeded, app)
		case v1alpha1.StateFailed:
			found.failed = append(found.failed, app)
		default:
			found.active = append(found.active, app)
		}
	}
	for _, list := range [][]*v1alpha1.SparkApplication{found.active, found.succeeded, found.failed} {
		slices.SortFunc(list, func(a, b *v1alpha1.SparkApplication) int {
			if c := scheduledTime(b).Compare(scheduledTime(a)); c != 0 {
				return c
			}
			return compareStrings(b.Name, a.Name)
		})
	}
	return found, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// pruneHistory deletes finished runs beyond the history limits (oldest
// first) and records the names kept, newest first.
func (c *Controller) pruneHistory(ctx context.Context, sched *v1alpha1.ScheduledSparkApplication, found runs) error {
	keep := func(list []*v1alpha1.SparkApplication, limit *int32) ([]string, error) {
		n := int(ptr.Deref(limit, DefaultHistoryLimit))
		var kept []string
		for i, run := range list {
			if i < n {
				kept = append(kept, run.Name)
				continue
			}
			if err := c.client.Delete(ctx, run, client.Preconditions{UID: &run.UID}, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
				return nil, fmt.Errorf("deleting run %s beyond the history limit: %w", run.Name, err)
			}
			runsPrunedTotal.Inc()
			c.events.pruned(sched, run.Name, n)
		}
		return kept, nil
	}
	succeeded, err := keep(found.succeeded, sched.Spec.SuccessfulRunHistoryLimit)
	if err != nil {
		return err
	}
	failed, err := keep(found.failed, sched.Spec.FailedRunHistoryLimit)
	if err != nil {
		return err
	}
	sched.Status.PastSuccessfulRunNames = succeeded
	sched.Status.PastFailedRunNames = failed
	return nil
}

func setCondition(sched *v1alpha1.ScheduledSparkApplication, status metav1.ConditionStatus, reason, message string, now time.Time) {
	meta.SetStatusCondition(&sched.Status.Conditions, metav1.Condition{
		Type: v1alpha1.ConditionScheduled, Status: status, Reason: reason, Message: message,
		ObservedGeneration: sched.Generation, LastTransitionTime: metav1.NewTime(now),
	})
}
