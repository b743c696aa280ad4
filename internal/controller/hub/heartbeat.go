package hub

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/spark"
)

// memberReconciler keeps each MemberCluster's heartbeat, state and capacity.
type memberReconciler struct{ hub *Controller }

func (c *Controller) registerMembers(mgr manager.Manager) error {
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		<-ctx.Done()
		c.members.closeAll()
		return nil
	})); err != nil {
		return err
	}
	return builder.ControllerManagedBy(mgr).
		Named(ControllerName+"-members").
		For(&v1alpha1.MemberCluster{}, builder.WithPredicates(generationChanged())).
		// A member that does not answer must not delay the others' heartbeats.
		// The workqueue, not the priority queue: see registerApplications.
		WithOptions(controller.Options{MaxConcurrentReconciles: 8, UsePriorityQueue: ptr.To(false)}).
		Complete(&memberReconciler{hub: c})
}

// Reconcile probes one member and writes its status; it runs again every
// heartbeat interval.
func (r *memberReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	c := r.hub
	mc := &v1alpha1.MemberCluster{}
	if err := c.client.Get(ctx, req.NamespacedName, mc); err != nil {
		if apierrors.IsNotFound(err) {
			c.members.close(req.Name)
			return reconcile.Result{}, c.enqueuePlacedOn(ctx, req.Name)
		}
		return reconcile.Result{}, err
	}
	if !mc.DeletionTimestamp.IsZero() {
		c.members.close(mc.Name)
		return reconcile.Result{}, nil
	}
	base := mc.DeepCopy()
	now := c.opts.Clock.Now()
	before := mc.Status.State

	capacity, kubeconfig, probeErr := c.probe(ctx, mc)
	st := &mc.Status
	if probeErr == nil && before != v1alpha1.MemberHealthy && before != v1alpha1.MemberDraining {
		// Back (or seen for the first time by this hub process). A fresh
		// connection lists the copies at once instead of waiting out the
		// old watch's backoff; copies of an older epoch go before the
		// member may start anything.
		if before == v1alpha1.MemberUnreachable || before == v1alpha1.MemberLost {
			c.members.close(mc.Name)
			if _, err := c.members.connect(context.WithoutCancel(ctx), mc.Name, kubeconfig); err != nil {
				probeErr = err
			}
		}
		if probeErr == nil {
			if err := c.collect(ctx, mc.Name); err != nil {
				probeErr = fmt.Errorf("deleting stale copies before the member is used again: %w", err)
			}
		}
	}
	if probeErr == nil {
		st.LastHeartbeatTime = &metav1.Time{Time: now}
		st.Capacity = *capacity
		c.members.heartbeat(mc.Name)
		st.State = v1alpha1.MemberHealthy
		if mc.Spec.Draining {
			st.State = v1alpha1.MemberDraining
		}
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.MemberConditionReachable, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonHeartbeatSucceeded, Message: "the member's API server answered", ObservedGeneration: mc.Generation})
	} else {
		reason := v1alpha1.ReasonHeartbeatFailed
		var invalid *kubeconfigError
		if errors.As(probeErr, &invalid) {
			reason = v1alpha1.ReasonKubeconfigInvalid
		}
		since := mc.CreationTimestamp.Time
		if st.LastHeartbeatTime != nil {
			since = st.LastHeartbeatTime.Time
		}
		st.State = v1alpha1.MemberUnreachable
		if now.Sub(since) > c.opts.LostAfter {
			st.State = v1alpha1.MemberLost
			reason = v1alpha1.ReasonLost
		}
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.MemberConditionReachable, Status: metav1.ConditionFalse, Reason: reason, Message: truncate(probeErr.Error(), 1024), ObservedGeneration: mc.Generation})
	}
	st.ObservedGeneration = mc.Generation
	if st.State != before {
		log.FromContext(ctx).Info("Member state changed", "member", mc.Name, "from", before, "to", st.State)
		memberTransitions.WithLabelValues(string(st.State)).Inc()
		if st.State == v1alpha1.MemberLost {
			c.events.memberLost(mc, c.opts.LostAfter)
		}
	}
	if !equality.Semantic.DeepEqual(base.Status, mc.Status) {
		if err := c.client.Status().Patch(ctx, mc, client.MergeFrom(base)); err != nil {
			return reconcile.Result{}, client.IgnoreNotFound(err)
		}
	}
	if st.State != before {
		// The applications placed there (and those waiting for any member)
		// act on the new state.
		if err := c.enqueuePlacedOn(ctx, mc.Name); err != nil {
			return reconcile.Result{}, err
		}
		if err := c.enqueuePlacedOn(ctx, ""); err != nil {
			return reconcile.Result{}, err
		}
	}
	return reconcile.Result{RequeueAfter: c.opts.HeartbeatInterval}, nil
}

type kubeconfigError struct{ err error }

func (e *kubeconfigError) Error() string { return e.err.Error() }

// probe reaches the member and reads its capacity summary: pending drivers
// (a live list: the call that proves the API server answers), NodePool
// limits and usage per tier, this hub's copies, the member operator's lease.
// It also returns the kubeconfig it connected with.
func (c *Controller) probe(ctx context.Context, mc *v1alpha1.MemberCluster) (*v1alpha1.MemberCapacity, []byte, error) {
	ref := mc.Spec.KubeconfigSecretRef
	key := ref.Key
	if key == "" {
		key = v1alpha1.DefaultKubeconfigKey
	}
	secret := &corev1.Secret{}
	if err := c.apiReader.Get(ctx, types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}, secret); err != nil {
		return nil, nil, &kubeconfigError{fmt.Errorf("reading spec.kubeconfigSecretRef %s/%s: %w", ref.Namespace, ref.Name, err)}
	}
	data, ok := secret.Data[key]
	if !ok || len(data) == 0 {
		return nil, nil, &kubeconfigError{fmt.Errorf("Secret %s/%s has no key %q: put the member's kubeconfig there (sparkplane clusters add does)", ref.Namespace, ref.Name, key)}
	}
	cn, err := c.members.connect(context.WithoutCancel(ctx), mc.Name, data)
	if err != nil {
		return nil, nil, &kubeconfigError{err}
	}
	probeCtx, cancel := context.WithTimeout(ctx, memberRequestTimeout)
	defer cancel()
	now := c.opts.Clock.Now()
	capacity := &v1alpha1.MemberCapacity{}

	drivers := &corev1.PodList{}
	if err := cn.client.List(probeCtx, drivers,
		client.MatchingLabels{spark.LabelRole: spark.RoleDriver},
		client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("status.phase", string(corev1.PodPending))}); err != nil {
		return nil, nil, fmt.Errorf("listing pending drivers: %w", err)
	}
	for i := range drivers.Items {
		capacity.PendingDrivers++
		age := int64(now.Sub(drivers.Items[i].CreationTimestamp.Time) / time.Second)
		capacity.OldestPendingDriverSeconds = max(capacity.OldestPendingDriverSeconds, age)
	}

	pools := &karpv1.NodePoolList{}
	if err := cn.client.List(probeCtx, pools); err != nil {
		if !meta.IsNoMatchError(err) && !apierrors.IsNotFound(err) {
			return nil, nil, fmt.Errorf("listing NodePools: %w", err)
		}
	} else {
		capacity.Tiers = tiersOf(pools.Items)
	}

	if copies, synced, err := cn.copyList(ctx); err == nil && synced {
		for i := range copies {
			st := copies[i].Status.State
			if !st.IsTerminal() {
				capacity.PlacedApplications++
			}
			if st == v1alpha1.StateRunning {
				capacity.RunningApplications++
			}
		}
	}

	lease := &coordinationv1.Lease{}
	operatorHealthy := metav1.Condition{Type: v1alpha1.MemberConditionOperatorHealthy, Status: metav1.ConditionUnknown, Reason: v1alpha1.ReasonNoOperatorLease,
		Message: fmt.Sprintf("no Lease %s/%s: the member operator runs without --leader-elect, or not at all", c.opts.OperatorNamespace, c.opts.OperatorLease)}
	if err := cn.client.Get(probeCtx, types.NamespacedName{Namespace: c.opts.OperatorNamespace, Name: c.opts.OperatorLease}, lease); err == nil {
		duration := 15 * time.Second
		if lease.Spec.LeaseDurationSeconds != nil {
			duration = time.Duration(*lease.Spec.LeaseDurationSeconds) * time.Second
		}
		if lease.Spec.RenewTime != nil && now.Sub(lease.Spec.RenewTime.Time) <= 3*duration {
			operatorHealthy.Status, operatorHealthy.Reason = metav1.ConditionTrue, v1alpha1.ReasonLeaseRenewed
		} else {
			operatorHealthy.Status, operatorHealthy.Reason = metav1.ConditionFalse, v1alpha1.ReasonLeaseStale
		}
		operatorHealthy.Message = fmt.Sprintf("leader lease %s/%s held by %s", c.opts.OperatorNamespace, c.opts.OperatorLease, ptrString(lease.Spec.HolderIdentity))
		capacity.OperatorVersion = lease.Labels[v1alpha1.LabelOperatorVersion]
	} else if !apierrors.IsNotFound(err) && !apierrors.IsForbidden(err) {
		return nil, nil, fmt.Errorf("reading the operator's lease: %w", err)
	}
	operatorHealthy.ObservedGeneration = mc.Generation
	meta.SetStatusCondition(&mc.Status.Conditions, operatorHealthy)
	return capacity, data, nil
}

func ptrString(s *string) string {
	if s == nil {
		return "nobody"
	}
	return *s
}

// tiersOf sums the free capacity (limits minus provisioned resources) of
// NodePools by tier: capacity type and architecture from their requirements.
func tiersOf(pools []karpv1.NodePool) []v1alpha1.TierCapacity {
	byName := map[string]*v1alpha1.TierCapacity{}
	for i := range pools {
		p := &pools[i]
		capacityType, arch := "any", "any"
		for _, r := range p.Spec.Template.Spec.Requirements {
			if r.Operator != corev1.NodeSelectorOpIn || len(r.Values) == 0 {
				continue
			}
			switch r.Key {
			case karpv1.CapacityTypeLabelKey:
				capacityType = strings.Join(r.Values, "+")
			case corev1.LabelArchStable:
				arch = strings.Join(r.Values, "+")
			}
		}
		name := capacityType + "/" + arch
		t := byName[name]
		if t == nil {
			t = &v1alpha1.TierCapacity{Name: name, CPU: &resource.Quantity{}, Memory: &resource.Quantity{}}
			byName[name] = t
		}
		t.CPU = addFree(t.CPU, p.Spec.Limits[corev1.ResourceCPU], p.Status.Resources[corev1.ResourceCPU], hasLimit(p.Spec.Limits, corev1.ResourceCPU))
		t.Memory = addFree(t.Memory, p.Spec.Limits[corev1.ResourceMemory], p.Status.Resources[corev1.ResourceMemory], hasLimit(p.Spec.Limits, corev1.ResourceMemory))
	}
	tiers := make([]v1alpha1.TierCapacity, 0, len(byName))
	for _, t := range byName {
		tiers = append(tiers, *t)
	}
	sort.Slice(tiers, func(i, j int) bool { return tiers[i].Name < tiers[j].Name })
	return tiers
}

func hasLimit(limits karpv1.Limits, name corev1.ResourceName) bool {
	_, ok := limits[name]
	return ok
}

// addFree adds limit - used to total; an unlimited pool makes the tier
// unlimited (nil).
func addFree(total *resource.Quantity, limit, used resource.Quantity, limited bool) *resource.Quantity {
	if total == nil || !limited {
		return nil
	}
	free := limit.DeepCopy()
	free.Sub(used)
	if free.Sign() < 0 {
		free = resource.Quantity{}
	}
	total.Add(free)
	return total
}
