// Package interruption is the Spot-interruption controller: it watches nodes
// for the signals that mean "this node is going away" (Karpenter's disrupted
// taint, aws-node-termination-handler's taints, cluster-autoscaler's
// scale-down taint, node deletion) and starts Spark's graceful decommission of
// every executor on such a node inside the notice, so executors migrate their
// shuffle and cached blocks instead of losing them.
//
// Decommissioning an executor is a graceful pod delete whose grace period fits
// in what is left of the notice (Budget.GracePeriod); the executor's preStop
// hook then runs Spark's decommission. The controller is level-triggered and
// restart-safe: the notice time is persisted on the node (NoticeAnnotation)
// when the signal carries none, and a pod already terminating is never deleted
// again. It reads pods and nodes from its own informer cache, restricted to
// Spark pods, trimmed to the fields it needs and indexed by node name.
package interruption

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/clusterstate"
	"github.com/sparkplane/sparkplane/internal/spark"
)

// ControllerName is the controller's name in logs, metrics and events.
const ControllerName = "interruption"

// Options configure the controller. The zero value is the default.
type Options struct {
	// Signals to act on; DefaultSignals when empty.
	Signals []Signal
	// Budget of a notice; DefaultBudget when zero.
	Budget Budget
	// Clock gives the time; the real clock when nil. Tests inject a fake one.
	Clock clock.PassiveClock
	// MaxConcurrentReconciles is how many nodes are handled at once; 16 when
	// zero. Within a node every executor is deleted in parallel.
	MaxConcurrentReconciles int
	// StatusFlushDelay is how long no executor delete must have been in
	// flight before events and application status are written (at the
	// latest ten times that after the first); 500ms when zero. It keeps those
	// writes out of the way of the deletes when many nodes go at once.
	StatusFlushDelay time.Duration
}

// Controller decommissions the executors of nodes that are going away.
type Controller struct {
	signals     []Signal
	budget      Budget
	clock       clock.PassiveClock
	concurrency int
	// statusFlushDelay: see Options.StatusFlushDelay.
	statusFlushDelay time.Duration
	deletion         *Signal // the node-deletion signal when configured

	// Set by Register.
	client    client.Client // writes
	apiReader client.Reader // live reads, only to confirm a node is gone and for status read-modify-write
	cache     cache.Cache   // pods and nodes, trimmed: the operator's shared cluster state
	events    eventRecorder
	apps      *applications
	burst     *afterBurst // defers events and status writes past a burst of deletes

	// issued holds the UIDs of pods this process deleted, until the pod is
	// gone, so a cache that has not yet seen the deletionTimestamp cannot
	// cause a second delete (which would shorten the grace period).
	issued sync.Map // types.UID → struct{}
	// goneSince holds when a node was first found missing while executors
	// still pointed at it; a node that is gone cannot carry an annotation.
	goneSince sync.Map // node name → time.Time
	// arrivals holds when the watch event that first showed a node's notice
	// (or its deletion) arrived, until the notice is withdrawn or the node
	// and its Spark pods are gone; see nodeSource.
	arrivals sync.Map // node name → time.Time
	// driversReported holds the UIDs of drivers already reported.
	driversReported sync.Map // types.UID → struct{}
}

// NewController validates opts and returns a controller; Register wires it
// into a manager.
func NewController(opts Options) (*Controller, error) {
	c := &Controller{
		signals:     opts.Signals,
		budget:      opts.Budget,
		clock:       opts.Clock,
		concurrency: opts.MaxConcurrentReconciles,

		statusFlushDelay: opts.StatusFlushDelay,
	}
	if c.statusFlushDelay <= 0 {
		c.statusFlushDelay = 500 * time.Millisecond
	}
	if len(c.signals) == 0 {
		c.signals = DefaultSignals()
	}
	if c.budget == (Budget{}) {
		c.budget = DefaultBudget
	}
	if err := c.budget.Validate(); err != nil {
		return nil, err
	}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	if c.concurrency < 0 {
		return nil, fmt.Errorf("interruption MaxConcurrentReconciles %d must not be negative (0 means the default, 16)", opts.MaxConcurrentReconciles)
	}
	if c.concurrency == 0 {
		c.concurrency = 16
	}
	for i := range c.signals {
		if c.signals[i].NodeDeletion {
			c.deletion = &c.signals[i]
		}
	}
	return c, nil
}

// Name returns the controller's name.
func (c *Controller) Name() string { return ControllerName }

// Register joins the operator's shared cluster state (pods indexed by node,
// nodes, both trimmed) and adds the controller to mgr.
func (c *Controller) Register(mgr manager.Manager) error {
	state, err := clusterstate.For(mgr, clusterstate.Options{})
	if err != nil {
		return err
	}
	c.cache = state
	c.client = mgr.GetClient()
	c.apiReader = mgr.GetAPIReader()
	c.events = eventRecorder{mgr.GetEventRecorder("sparkplane-" + ControllerName)}
	c.burst = newAfterBurst(c.statusFlushDelay)
	c.apps = newApplications(c.client, c.apiReader, c.events, c.burst, c.statusFlushDelay, mgr.GetLogger().WithName(ControllerName))
	return ctrl.NewControllerManagedBy(mgr).
		Named(ControllerName).
		WatchesRawSource(c.nodeSource()).
		WatchesRawSource(c.podSource()).
		WithOptions(controller.Options{MaxConcurrentReconciles: c.concurrency}).
		Complete(c)
}

// Reconcile handles one node, named by the request, from what the cache
// shows: a node with a notice gets its executors decommissioned; a node whose
// signal was withdrawn loses its persisted notice; a healthy node is left
// alone.
func (c *Controller) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	now := c.clock.Now()
	node := &corev1.Node{}
	if err := c.cache.Get(ctx, types.NamespacedName{Name: req.Name}, node); err != nil {
		if !apierrors.IsNotFound(err) {
			return reconcile.Result{}, err
		}
		return c.reconcileGoneNode(ctx, req.Name, now)
	}
	c.goneSince.Delete(req.Name)
	notice, ok := DetectNotice(node, c.signals, c.firstSeen(req.Name, now))
	if !ok {
		c.arrivals.Delete(req.Name)
		if _, persisted := node.Annotations[NoticeAnnotation]; persisted {
			return reconcile.Result{}, c.withdrawNotice(ctx, node)
		}
		return reconcile.Result{}, nil
	}
	return reconcile.Result{}, c.decommissionNode(ctx, node, notice)
}

// reconcileGoneNode handles a node missing from the cache. Spark pods that
// still name it are on a node that is gone: when node deletion is a signal,
// they are decommissioned with the time the node was first found missing as
// the notice.
func (c *Controller) reconcileGoneNode(ctx context.Context, nodeName string, now time.Time) (reconcile.Result, error) {
	if c.deletion == nil {
		c.arrivals.Delete(nodeName)
		return reconcile.Result{}, nil
	}
	pods, err := c.podsOn(ctx, nodeName)
	if err != nil {
		return reconcile.Result{}, err
	}
	if len(pods) == 0 {
		c.goneSince.Delete(nodeName)
		c.arrivals.Delete(nodeName)
		return reconcile.Result{}, nil
	}
	if !slices.ContainsFunc(pods, needsAction) {
		return reconcile.Result{}, nil
	}
	// The pod informer may be ahead of the node informer: confirm with one
	// live read before acting on a node that merely looks gone.
	live := &metav1.PartialObjectMetadata{}
	live.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Node"))
	if err := c.apiReader.Get(ctx, types.NamespacedName{Name: nodeName}, live); err == nil {
		return reconcile.Result{RequeueAfter: time.Second}, nil
	} else if !apierrors.IsNotFound(err) {
		return reconcile.Result{}, err
	}
	first, seen := c.goneSince.LoadOrStore(nodeName, c.firstSeen(nodeName, now))
	if !seen {
		noticesTotal.WithLabelValues(c.deletion.Name).Inc()
		ctrl.LoggerFrom(ctx).Info("Node is gone while Spark pods still run on it", "node", nodeName, "pods", len(pods))
	}
	return reconcile.Result{}, c.decommission(ctx, nodeName, Notice{Signal: c.deletion.Name, Time: first.(time.Time), Persisted: true}, pods)
}

// decommissionNode persists the notice on the node (when not yet there) and
// decommissions its executors, both at once.
func (c *Controller) decommissionNode(ctx context.Context, node *corev1.Node, notice Notice) error {
	pods, err := c.podsOn(ctx, node.Name)
	if err != nil {
		return err
	}
	var (
		wg         sync.WaitGroup
		persistErr error
	)
	if !notice.Persisted {
		wg.Go(func() {
			if persistErr = c.persistNotice(ctx, node, notice); persistErr == nil {
				noticesTotal.WithLabelValues(notice.Signal).Inc()
				ctrl.LoggerFrom(ctx).Info("Node got an interruption notice", "node", klog.KObj(node), "signal", notice.Signal, "noticeTime", notice.Time, "sparkPods", len(pods))
			}
		})
	}
	err = c.decommission(ctx, node.Name, notice, pods)
	wg.Wait()
	return errors.Join(err, persistErr)
}

// decommission gracefully deletes, in parallel, every executor in pods that
// is not already terminating, reports drivers, and then records the
// decommissions on each application.
func (c *Controller) decommission(ctx context.Context, nodeName string, notice Notice, pods []corev1.Pod) error {
	log := ctrl.LoggerFrom(ctx)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		errs  []error
		tally = map[types.NamespacedName]*appTally{}
	)
	appOf := func(pod *corev1.Pod) *appTally {
		name := pod.Labels[v1alpha1.LabelApplication]
		if name == "" {
			return nil
		}
		key := types.NamespacedName{Namespace: pod.Namespace, Name: name}
		if tally[key] == nil {
			tally[key] = &appTally{minGrace: -1}
		}
		return tally[key]
	}
	type executorWork struct {
		pod *corev1.Pod
		app *appTally
	}
	var executors []executorWork
	for i := range pods {
		pod := &pods[i]
		if pod.DeletionTimestamp != nil {
			// Executors of the application already terminating on this node
			// mean this notice was counted (perhaps by an earlier operator).
			if app := appOf(pod); app != nil && pod.Labels[spark.LabelRole] == spark.RoleExecutor {
				app.alreadyTerminating = true
			}
			continue
		}
		if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		switch pod.Labels[spark.LabelRole] {
		case spark.RoleExecutor:
			if _, done := c.issued.LoadOrStore(pod.UID, struct{}{}); !done {
				executors = append(executors, executorWork{pod: pod, app: appOf(pod)})
			}
		case spark.RoleDriver:
			if _, done := c.driversReported.Load(pod.UID); done {
				continue
			}
			driversInterruptedTotal.WithLabelValues(notice.Signal).Inc()
			log.Info("Driver is on a node that is going away", "pod", klog.KObj(pod), "node", nodeName, "signal", notice.Signal)
			if app := appOf(pod); app != nil {
				app.driver = pod
				continue
			}
			c.events.driverNodeInterrupted(pod, nil, nodeName, notice)
			c.driversReported.Store(pod.UID, struct{}{})
		}
	}
	// Every executor of the node at once; the tallies are only touched under mu.
	for _, work := range executors {
		wg.Go(func() {
			grace, err := c.decommissionExecutor(ctx, work.pod, notice)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs = append(errs, err)
			case grace >= 0 && work.app != nil: // grace < 0: the pod was gone
				work.app.decommissioned++
				if work.app.minGrace < 0 || grace < work.app.minGrace {
					work.app.minGrace = grace
				}
			}
		})
	}
	wg.Wait()
	// Then each application's status and events, coalesced (see applications).
	for key, app := range tally {
		if app.decommissioned == 0 && app.driver == nil {
			continue
		}
		c.apps.add(key, nodeName, notice, app)
		if app.driver != nil {
			c.driversReported.Store(app.driver.UID, struct{}{})
		}
	}
	return errors.Join(errs...)
}

// decommissionExecutor issues the executor's graceful delete with what is
// left of the budget. The delete carries the pod's resourceVersion as a
// precondition, so it only succeeds when nothing has touched the pod since it
// was read: a success means this controller started the executor's
// termination, and only then is it counted and given its
// ExecutorDecommissioning event (the mark the demo reads back to attribute
// the delete). grace is -1 when the pod was gone, or when another
// component's eviction or delete came first.
func (c *Controller) decommissionExecutor(ctx context.Context, pod *corev1.Pod, notice Notice) (grace int64, err error) {
	grace, missed := c.budget.GracePeriod(notice.Time, c.clock.Now())
	c.burst.begin()
	defer c.burst.end()
	resourceVersion := pod.ResourceVersion
	for attempt := 0; ; attempt++ {
		preconditions := client.Preconditions{UID: &pod.UID}
		if resourceVersion != "" {
			preconditions.ResourceVersion = &resourceVersion
		}
		err = c.client.Delete(ctx, pod, client.GracePeriodSeconds(grace), preconditions)
		if !apierrors.IsConflict(err) || attempt == 2 {
			break
		}
		// Changed since it was read: gone, replaced, terminating at
		// someone else's hand, or only updated (then try again).
		live := &metav1.PartialObjectMetadata{}
		live.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Pod"))
		if getErr := c.apiReader.Get(ctx, client.ObjectKeyFromObject(pod), live); getErr != nil || live.UID != pod.UID {
			if getErr == nil || apierrors.IsNotFound(getErr) {
				return -1, nil
			}
			c.issued.Delete(pod.UID)
			return 0, fmt.Errorf("decommissioning executor %s/%s: reading it after a conflict: %w", pod.Namespace, pod.Name, getErr)
		}
		if live.DeletionTimestamp != nil {
			ctrl.LoggerFrom(ctx).V(1).Info("Executor already terminating by another component's hand", "pod", klog.KObj(pod))
			return -1, nil
		}
		resourceVersion = live.ResourceVersion
	}
	issuedAt := c.clock.Now()
	switch {
	case apierrors.IsNotFound(err), apierrors.IsConflict(err): // gone, or a new pod under the same name
		return -1, nil
	case err != nil:
		c.issued.Delete(pod.UID)
		return 0, fmt.Errorf("decommissioning executor %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	executorsDecommissionedTotal.WithLabelValues(notice.Signal).Inc()
	reactionSeconds.WithLabelValues(notice.Signal).Observe(issuedAt.Sub(notice.Time).Seconds())
	if missed {
		deadlineMissesTotal.WithLabelValues(notice.Signal).Inc()
	}
	// The pod's event waits until the burst of deletes is over: each event
	// is a write to the same API server.
	c.burst.later(func() { c.events.executorDecommissioning(pod, pod.Spec.NodeName, notice, grace, missed) })
	ctrl.LoggerFrom(ctx).V(2).Info("Decommissioning executor", "pod", klog.KObj(pod), "graceSeconds", grace, "missedDeadline", missed)
	return grace, nil
}

// persistNotice writes the notice time on the node, so a restarted operator
// keeps it.
func (c *Controller) persistNotice(ctx context.Context, node *corev1.Node, notice Notice) error {
	return c.patchNodeAnnotation(ctx, node, notice.Time.UTC().Format(time.RFC3339Nano))
}

// withdrawNotice removes the persisted notice from a node whose signal went
// away (e.g. a rebalance recommendation withdrawn), so a later notice starts
// its own clock.
func (c *Controller) withdrawNotice(ctx context.Context, node *corev1.Node) error {
	ctrl.LoggerFrom(ctx).Info("Interruption signal withdrawn", "node", klog.KObj(node))
	return c.patchNodeAnnotation(ctx, node, nil)
}

func (c *Controller) patchNodeAnnotation(ctx context.Context, node *corev1.Node, value any) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{NoticeAnnotation: value}}})
	if err != nil {
		return err
	}
	target := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node.Name}}
	if err := c.client.Patch(ctx, target, client.RawPatch(types.MergePatchType, patch)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("patching node %s annotation %s: %w", node.Name, NoticeAnnotation, err)
	}
	return nil
}

// needsAction reports whether a Spark pod may still need decommissioning or
// reporting: not terminating and not finished.
func needsAction(pod corev1.Pod) bool {
	return pod.DeletionTimestamp == nil && pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed
}

// podsOn returns the Spark pods the cache holds on a node: an index lookup,
// never a LIST against the API server.
func (c *Controller) podsOn(ctx context.Context, nodeName string) ([]corev1.Pod, error) {
	var pods corev1.PodList
	if err := c.cache.List(ctx, &pods, client.MatchingFields{clusterstate.IndexNodeName: nodeName}); err != nil {
		return nil, fmt.Errorf("listing Spark pods on node %s from the cache: %w", nodeName, err)
	}
	spark := pods.Items[:0]
	for i := range pods.Items {
		if isSparkPod(&pods.Items[i]) {
			spark = append(spark, pods.Items[i])
		}
	}
	return spark, nil
}
