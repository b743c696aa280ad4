package hub

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/profile"
	"github.com/sparkplane/sparkplane/internal/submit"
)

// place gives an unplaced application a member, and moves one whose member
// was Lost: never started there (no lease ever granted) → re-placed with
// epoch + 1; possibly started → ClusterLost, then resubmitted per
// spec.restartPolicy or failed. The placement is written to the API server
// before this phase returns, so a copy is never created for a placement the
// hub has not recorded.
func (c *Controller) place(ctx context.Context, s *scope) (reconcile.Result, bool, error) {
	st := &s.app.Status
	if st.State.IsTerminal() {
		return reconcile.Result{}, true, nil
	}
	current := st.Placement
	if current != nil {
		state, err := c.memberState(ctx, current.Cluster)
		if err != nil {
			return reconcile.Result{}, true, err
		}
		if state != v1alpha1.MemberLost {
			return reconcile.Result{}, false, nil
		}
	}
	profiles := &v1alpha1.SparkProfileList{}
	if err := c.client.List(ctx, profiles); err != nil {
		return reconcile.Result{}, true, err
	}
	demand, err := demandOf(s.app, profiles.Items)
	if err != nil {
		// The member's operator gives the precise verdict; placing needs
		// only a size, so an application that does not build is placed by
		// health alone.
		demand = Demand{}
	}
	selector, err := selectorOf(s.app)
	if err != nil {
		setCondition(&st.Conditions, s.app.Generation, v1alpha1.ConditionPlaced, metav1.ConditionFalse, v1alpha1.ReasonInvalidSpec, err.Error())
		return reconcile.Result{}, true, nil
	}
	exclude := ""
	if current != nil {
		exclude = current.Cluster
	}
	// Scoring and counting the choice as in flight happen under one lock,
	// so concurrent reconciles of a burst see each other's choices.
	c.placeMu.Lock()
	candidates, err := c.candidates(ctx)
	if err != nil {
		c.placeMu.Unlock()
		return reconcile.Result{}, true, err
	}
	chosen, scores := Score(selector, demand, candidates, exclude)
	if chosen != "" {
		c.members.placed(chosen, 1)
	}
	c.placeMu.Unlock()
	if chosen == "" {
		msg := "no member cluster can take the application: " + refusals(scores)
		if current != nil {
			msg = fmt.Sprintf("member %s is Lost and %s; the application stays placed there until a member can take it", current.Cluster, msg)
		}
		setCondition(&st.Conditions, s.app.Generation, v1alpha1.ConditionPlaced, metav1.ConditionFalse, v1alpha1.ReasonNoEligibleCluster, msg)
		return reconcile.Result{RequeueAfter: unplacedRequeue}, true, nil
	}

	next := &v1alpha1.Placement{Cluster: chosen, Epoch: 1, Time: metav1.Time{Time: s.now}, Scores: scores,
		Reason: fmt.Sprintf("%s: the eligible member with the fewest pending drivers, then the youngest oldest pending driver, then the highest weight", chosen)}
	if current != nil {
		next.Epoch = current.Epoch + 1
		next.Resubmissions = current.Resubmissions
		if current.LeaseGrantTime == nil {
			next.Reason = fmt.Sprintf("re-placed from %s, which was Lost before it could start the driver (no lease was ever granted there); %s", current.Cluster, next.Reason)
		} else {
			// The driver may have started there: at-least-once from here.
			msg := fmt.Sprintf("member %s was Lost after the application may have started there (lease granted at %s)", current.Cluster, current.LeaseGrantTime.UTC().Format("15:04:05"))
			setCondition(&st.Conditions, s.app.Generation, v1alpha1.ConditionClusterLost, metav1.ConditionTrue, v1alpha1.ReasonClusterLost, msg)
			if !mayResubmit(s.app, current.Resubmissions) {
				c.members.placed(chosen, -1)
				failLost(s, msg+"; spec.restartPolicy does not allow another run")
				c.events.clusterLost(s.app, current.Cluster, false)
				return reconcile.Result{}, true, nil
			}
			next.Resubmissions++
			next.Reason = fmt.Sprintf("resubmitted per spec.restartPolicy (%s) after %s; %s", s.app.Spec.RestartPolicy.Type, msg, next.Reason)
			c.events.clusterLost(s.app, current.Cluster, true)
		}
		clearMirror(st)
		replacementsTotal.Inc()
	}
	st.Placement = next
	setCondition(&st.Conditions, s.app.Generation, v1alpha1.ConditionPlaced, metav1.ConditionTrue, v1alpha1.ReasonPlaced, next.Reason)
	meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionStale)
	if err := c.patchStatus(ctx, s); err != nil {
		c.members.placed(chosen, -1)
		return reconcile.Result{}, true, err
	}
	placementsTotal.Inc()
	c.events.replaced(s.app, next)
	log.FromContext(ctx).V(2).Info("Placed application", "cluster", chosen, "epoch", next.Epoch)
	return reconcile.Result{}, false, nil
}

// mayResubmit applies spec.restartPolicy to a run lost with its member:
// Never does not run again; OnFailure and Always do, up to
// onFailureRetries when set.
func mayResubmit(app *v1alpha1.SparkApplication, resubmissions int32) bool {
	rp := app.Spec.RestartPolicy
	switch rp.Type {
	case v1alpha1.RestartPolicyOnFailure, v1alpha1.RestartPolicyAlways:
		return rp.OnFailureRetries == nil || resubmissions < *rp.OnFailureRetries
	default:
		return false
	}
}

// failLost ends the application Failed with reason ClusterLost.
func failLost(s *scope, msg string) {
	st := &s.app.Status
	st.State = v1alpha1.StateFailed
	st.TerminationTime = &metav1.Time{Time: s.now}
	setCondition(&st.Conditions, s.app.Generation, v1alpha1.ConditionRunning, metav1.ConditionFalse, v1alpha1.ReasonClusterLost, msg)
	setCondition(&st.Conditions, s.app.Generation, v1alpha1.ConditionCompleted, metav1.ConditionTrue, v1alpha1.ReasonClusterLost, msg)
}

// hubConditions are the condition types the hub owns on its application;
// every other one is mirrored from the copy.
var hubConditions = map[string]bool{v1alpha1.ConditionPlaced: true, v1alpha1.ConditionStale: true, v1alpha1.ConditionClusterLost: true}

// clearMirror forgets what was mirrored from the previous copy.
func clearMirror(st *v1alpha1.SparkApplicationStatus) {
	kept := st.Conditions[:0]
	for _, cond := range st.Conditions {
		if hubConditions[cond.Type] {
			kept = append(kept, cond)
		}
	}
	st.Conditions = kept
	st.State = v1alpha1.StateNew
	st.SparkApplicationID = ""
	st.DriverInfo = v1alpha1.DriverInfo{}
	st.Executors = v1alpha1.ExecutorCounts{}
	st.SubmissionAttempts = 0
	st.LastSubmissionAttemptTime = nil
	st.StartTime = nil
	st.TerminationTime = nil
}

func refusals(scores []v1alpha1.ClusterScore) string {
	if len(scores) == 0 {
		return "there are no MemberClusters (add one with sparkplane clusters add)"
	}
	msg := ""
	for i, sc := range scores {
		if i > 0 {
			msg += "; "
		}
		msg += sc.Cluster + ": " + sc.Reason
	}
	return msg
}

// memberState is the member's state as the hub cache has it; a member that
// no longer exists counts as Lost.
func (c *Controller) memberState(ctx context.Context, name string) (v1alpha1.MemberState, error) {
	mc := &v1alpha1.MemberCluster{}
	if err := c.client.Get(ctx, client.ObjectKey{Name: name}, mc); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return v1alpha1.MemberLost, nil
		}
		return "", err
	}
	return mc.Status.State, nil
}

func (c *Controller) candidates(ctx context.Context) ([]Candidate, error) {
	list := &v1alpha1.MemberClusterList{}
	if err := c.client.List(ctx, list); err != nil {
		return nil, err
	}
	out := make([]Candidate, 0, len(list.Items))
	for i := range list.Items {
		mc := &list.Items[i]
		state := mc.Status.State
		if mc.Spec.Draining && state == v1alpha1.MemberHealthy {
			state = v1alpha1.MemberDraining // the spec is newer than the last heartbeat
		}
		out = append(out, Candidate{Name: mc.Name, Labels: mc.Labels, State: state, Weight: mc.Spec.Weight,
			Capacity: mc.Status.Capacity, InFlight: c.members.inFlightOf(mc.Name)})
	}
	return out, nil
}

func selectorOf(app *v1alpha1.SparkApplication) (labels.Selector, error) {
	if app.Spec.ClusterSelector == nil {
		return nil, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(app.Spec.ClusterSelector)
	if err != nil {
		return nil, fmt.Errorf("spec.clusterSelector: %v; fix the selector (matchLabels or matchExpressions with In, NotIn, Exists, DoesNotExist)", err)
	}
	return sel, nil
}

// demandOf is the application's driver plus its initial executors, as the
// pods sparkplane would create request them, and the capacity its profile
// allows each: the profile is picked as a member would pick it (spec.profile,
// else the cluster default) among the hub's SparkProfiles and the built-in
// ones, so a hub without profiles still knows the built-ins' tiers.
func demandOf(app *v1alpha1.SparkApplication, profiles []v1alpha1.SparkProfile) (Demand, error) {
	objs, err := submit.Build(app, submit.Options{Attempt: 1})
	if err != nil {
		return Demand{}, err
	}
	driver := profile.PodRequests(&objs.DriverPod.Spec)
	executor := profile.PodRequests(&objs.ExecutorTemplate.Spec)
	instances := int64(1)
	if n := app.Spec.Executor.Instances; n != nil {
		instances = int64(*n)
	}
	if da := app.Spec.DynamicAllocation; da != nil && da.Enabled {
		instances = 0
		if da.InitialExecutors != nil {
			instances = int64(*da.InitialExecutors)
		} else if da.MinExecutors != nil {
			instances = int64(*da.MinExecutors)
		}
	}
	d := Demand{
		Driver:    Resources{MilliCPU: driver.MilliCPU, Memory: driver.Memory},
		Executors: Resources{MilliCPU: instances * executor.MilliCPU, Memory: instances * executor.Memory},
	}
	builtin := profile.BuiltinDefaults()
	spec := &builtin
	known := map[string]bool{}
	for _, p := range profiles {
		known[p.Name] = true
	}
	for _, p := range profile.BuiltinProfiles() {
		if !known[p.Name] {
			profiles = append(profiles, *p)
		}
	}
	sel, err := profile.Select(app, nil, profiles)
	if err != nil {
		// A profile the hub does not know may exist on the members: any
		// tier, and the member's operator gives the verdict.
		return d, nil
	}
	if sel.Profile != nil {
		spec = &sel.Profile.Spec
	}
	tiers := builtin.Executor.Tiers
	if spec.Executor != nil && len(spec.Executor.Tiers) > 0 {
		tiers = spec.Executor.Tiers
	}
	for _, t := range tiers {
		d.ExecutorTiers = append(d.ExecutorTiers, TierRef{CapacityType: t.CapacityType, Architecture: t.Architecture})
	}
	d.DriverCapacityType = builtin.Driver.CapacityType
	if spec.Driver != nil && spec.Driver.CapacityType != "" {
		d.DriverCapacityType = spec.Driver.CapacityType
	}
	return d, nil
}
