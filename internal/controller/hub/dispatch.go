package hub

import (
	"context"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// copyLagRequeue is how soon an application is looked at again while its
// member's cache has not caught up (not synced, or an old copy deleted).
const copyLagRequeue = time.Second

// copyEventFallback is how soon an application whose copy was just created
// is looked at again if no event of the copy's came first. The copy's own
// events (the member cache sees it, the member asks for a lease) bring it
// back at once; looking again a second later, as before, was a reconcile
// per application that found nothing to do.
const copyEventFallback = 15 * time.Second

// dispatch keeps the copy on the placed member in step: creates it, deletes
// a copy of an older epoch, mirrors the copy's status, and grants the lease
// the member asks for. While the member is unreachable the mirrored status
// is marked Stale.
func (c *Controller) dispatch(ctx context.Context, s *scope) (reconcile.Result, bool, error) {
	st := &s.app.Status
	p := st.Placement
	if p == nil {
		return reconcile.Result{}, true, nil
	}
	state, err := c.memberState(ctx, p.Cluster)
	if err != nil {
		return reconcile.Result{}, true, err
	}
	cn := c.members.get(p.Cluster)
	reachable := state == v1alpha1.MemberHealthy || state == v1alpha1.MemberDraining
	if reachable && cn == nil {
		// This process has not made its connection yet (it just started).
		return reconcile.Result{RequeueAfter: c.opts.HeartbeatInterval}, true, nil
	}
	if !reachable {
		if !st.State.IsTerminal() {
			setCondition(&st.Conditions, s.app.Generation, v1alpha1.ConditionStale, metav1.ConditionTrue, v1alpha1.ReasonMemberUnreachable,
				fmt.Sprintf("member %s is %s; the status shown is the last mirrored (syncTime)", p.Cluster, orUnknown(string(state))))
		}
		return reconcile.Result{RequeueAfter: c.opts.HeartbeatInterval}, true, nil
	}
	key := types.NamespacedName{Namespace: s.app.Namespace, Name: s.app.Name}
	cp, synced, err := cn.copyOf(ctx, key)
	if err != nil {
		return reconcile.Result{}, true, err
	}
	if !synced {
		return reconcile.Result{RequeueAfter: copyLagRequeue}, true, nil
	}
	if st.State.IsTerminal() {
		// The hub's final state stands. A run the hub gave up on with its
		// member (ClusterLost) is stopped if that member comes back.
		if cp != nil && endedByClusterLoss(s.app) {
			return reconcile.Result{}, true, c.deleteCopy(ctx, cn, cp)
		}
		return reconcile.Result{}, true, nil
	}
	if cp != nil && !c.isCurrent(cp, s.app) {
		// A copy of an older epoch (or of an application of the same name
		// that was deleted): it goes before the current one is created.
		if err := c.deleteCopy(ctx, cn, cp); err != nil {
			return reconcile.Result{}, true, err
		}
		return reconcile.Result{RequeueAfter: copyLagRequeue}, true, nil
	}
	if cp == nil {
		return reconcile.Result{RequeueAfter: copyEventFallback}, true, c.createCopy(ctx, cn, s.app)
	}
	if !equality.Semantic.DeepEqual(cp.Status, v1alpha1.SparkApplicationStatus{}) {
		// A copy the member has not looked at yet has nothing to mirror:
		// a write saved per application.
		c.mirror(s, cp)
	}
	if st.State.IsTerminal() {
		return reconcile.Result{}, true, nil
	}
	return c.grantLease(ctx, s, cn, cp)
}

// endedByClusterLoss says whether the hub ended app Failed because its
// member was lost (condition Completed, reason ClusterLost).
func endedByClusterLoss(app *v1alpha1.SparkApplication) bool {
	done := meta.FindStatusCondition(app.Status.Conditions, v1alpha1.ConditionCompleted)
	return app.Status.State.IsTerminal() && done != nil && done.Reason == v1alpha1.ReasonClusterLost
}

// isCurrent says whether cp belongs to the hub application's placement.
func (c *Controller) isCurrent(cp, app *v1alpha1.SparkApplication) bool {
	if cp.Labels[v1alpha1.LabelOriginUID] != string(app.UID) {
		return false
	}
	epoch, err := strconv.ParseInt(cp.Labels[v1alpha1.LabelPlacementEpoch], 10, 64)
	return err == nil && app.Status.Placement != nil && epoch >= app.Status.Placement.Epoch
}

// copyFor is the member's copy of app: same namespace and name, the spec
// without the hub-only clusterSelector and without a TTL (the hub deletes
// the copy with its application, after mirroring its final state).
func (c *Controller) copyFor(app *v1alpha1.SparkApplication) *v1alpha1.SparkApplication {
	cp := &v1alpha1.SparkApplication{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   app.Namespace,
			Name:        app.Name,
			Labels:      map[string]string{},
			Annotations: map[string]string{},
		},
		Spec: *app.Spec.DeepCopy(),
	}
	for k, v := range app.Labels {
		cp.Labels[k] = v
	}
	for k, v := range app.Annotations {
		if k != corev1.LastAppliedConfigAnnotation {
			cp.Annotations[k] = v
		}
	}
	cp.Labels[v1alpha1.LabelHubID] = c.opts.HubID
	cp.Labels[v1alpha1.LabelOriginUID] = string(app.UID)
	cp.Labels[v1alpha1.LabelPlacementEpoch] = strconv.FormatInt(app.Status.Placement.Epoch, 10)
	cp.Spec.ClusterSelector = nil
	cp.Spec.TimeToLiveSeconds = nil
	return cp
}

// createCopy creates the copy (and its namespace when the member lacks it).
// AlreadyExists is success: the copy's events bring the application back.
func (c *Controller) createCopy(ctx context.Context, cn *conn, app *v1alpha1.SparkApplication) error {
	cp := c.copyFor(app)
	err := cn.client.Create(ctx, cp)
	if apierrors.IsNotFound(err) {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: app.Namespace}}
		if nerr := cn.client.Create(ctx, ns); nerr != nil && !apierrors.IsAlreadyExists(nerr) {
			return fmt.Errorf("creating namespace %s on member %s: %w", app.Namespace, cn.name, nerr)
		}
		err = cn.client.Create(ctx, c.copyFor(app))
	}
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the copy on member %s: %w", cn.name, err)
	}
	if err == nil {
		copiesCreatedTotal.Inc()
		log.FromContext(ctx).V(2).Info("Created copy", "cluster", cn.name, "epoch", app.Status.Placement.Epoch)
	}
	return nil
}

func (c *Controller) deleteCopy(ctx context.Context, cn *conn, cp *v1alpha1.SparkApplication) error {
	uid := cp.UID
	err := cn.client.Delete(ctx, cp, client.Preconditions{UID: &uid}, client.PropagationPolicy(metav1.DeletePropagationBackground))
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting copy %s/%s (epoch %s) on member %s: %w", cp.Namespace, cp.Name, cp.Labels[v1alpha1.LabelPlacementEpoch], cn.name, err)
	}
	if err == nil {
		copiesDeletedTotal.Inc()
	}
	return nil
}

// deleteCopies deletes the copies of a hub application that is gone (uid
// empty: any copy of that name this hub placed) from every member it can
// reach; those it cannot reach are collected when they come back.
func (c *Controller) deleteCopies(ctx context.Context, namespace, name string, uid types.UID) error {
	c.members.mu.Lock()
	conns := make([]*conn, 0, len(c.members.conns))
	for _, cn := range c.members.conns {
		conns = append(conns, cn)
	}
	c.members.mu.Unlock()
	var errs []error
	for _, cn := range conns {
		if state, err := c.memberState(ctx, cn.name); err != nil || (state != v1alpha1.MemberHealthy && state != v1alpha1.MemberDraining) {
			continue // collected when it is back, before it is used
		}
		cp, synced, err := cn.copyOf(ctx, types.NamespacedName{Namespace: namespace, Name: name})
		if err != nil || !synced || cp == nil {
			continue
		}
		if uid != "" && cp.Labels[v1alpha1.LabelOriginUID] != string(uid) {
			continue
		}
		if err := c.deleteCopy(ctx, cn, cp); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// mirror copies the member's status of the copy onto the hub application:
// state, driver, executors, attempts and times, and the copy's conditions
// beside the hub's own (Placed, Stale, ClusterLost). syncTime moves only
// when something changed.
func (c *Controller) mirror(s *scope, cp *v1alpha1.SparkApplication) {
	st := &s.app.Status
	before := st.DeepCopy()
	src := &cp.Status
	st.State = src.State
	st.SparkApplicationID = src.SparkApplicationID
	st.DriverInfo = src.DriverInfo
	st.Executors = src.Executors
	st.Attempts = src.Attempts
	st.SubmissionAttempts = src.SubmissionAttempts
	st.LastSubmissionAttemptTime = src.LastSubmissionAttemptTime.DeepCopy()
	st.StartTime = src.StartTime.DeepCopy()
	st.TerminationTime = src.TerminationTime.DeepCopy()
	st.Zone = src.Zone
	if src.Profile != nil {
		st.Profile = src.Profile.DeepCopy()
	}
	if src.Interruptions != nil {
		st.Interruptions = src.Interruptions.DeepCopy()
	}
	conds := make([]metav1.Condition, 0, len(src.Conditions)+3)
	for _, cond := range st.Conditions {
		if hubConditions[cond.Type] {
			conds = append(conds, cond)
		}
	}
	for _, cond := range src.Conditions {
		if !hubConditions[cond.Type] {
			cond.ObservedGeneration = s.app.Generation
			conds = append(conds, cond)
		}
	}
	st.Conditions = conds
	if stale := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionStale); stale == nil || stale.Status != metav1.ConditionFalse {
		setCondition(&st.Conditions, s.app.Generation, v1alpha1.ConditionStale, metav1.ConditionFalse, v1alpha1.ReasonStatusFresh, "the status is mirrored from member "+st.Placement.Cluster)
	}
	if !equality.Semantic.DeepEqual(before, st) || st.Placement.SyncTime == nil {
		st.Placement.SyncTime = &metav1.Time{Time: s.now}
	}
}

// grantLease answers a copy that waits for a lease (the member holds its
// driver back, condition Leased=False, WaitingForLease): the first grant of
// an epoch is recorded on the hub application (placement.leaseGrantTime)
// before the lease is written to the copy, so the hub never loses track of
// a member that may have started a driver. A lease still valid for more
// than half its length is left as is.
func (c *Controller) grantLease(ctx context.Context, s *scope, cn *conn, cp *v1alpha1.SparkApplication) (reconcile.Result, bool, error) {
	waiting := meta.FindStatusCondition(cp.Status.Conditions, v1alpha1.ConditionLeased)
	if waiting == nil || waiting.Status != metav1.ConditionFalse {
		return reconcile.Result{}, true, nil
	}
	if expires, ok := v1alpha1.LeaseExpiry(cp); ok && expires.Sub(s.now) > c.opts.Lease/2 {
		return reconcile.Result{}, true, nil
	}
	p := s.app.Status.Placement
	if p.LeaseGrantTime == nil {
		p.LeaseGrantTime = &metav1.Time{Time: s.now}
		if err := c.patchStatus(ctx, s); err != nil {
			return reconcile.Result{}, true, err
		}
	}
	expires := s.now.Add(c.opts.Lease)
	patch := client.MergeFrom(cp.DeepCopy())
	if cp.Annotations == nil {
		cp.Annotations = map[string]string{}
	}
	cp.Annotations[v1alpha1.AnnotationLeaseExpires] = expires.UTC().Format(time.RFC3339Nano)
	if err := cn.client.Patch(ctx, cp, patch); err != nil {
		if apierrors.IsNotFound(err) {
			return reconcile.Result{RequeueAfter: copyLagRequeue}, true, nil
		}
		return reconcile.Result{}, true, fmt.Errorf("writing the lease on member %s: %w", cn.name, err)
	}
	leasesGrantedTotal.Inc()
	return reconcile.Result{}, true, nil
}
