// Package clusterstate is the operator's one view of pods and nodes, shared
// by every controller of a manager: a single informer per kind, each object
// trimmed to the fields some controller reads, pods indexed by application
// attempt and by node, and the requests bound to each node summed as pod
// events arrive, so choosing a zone costs one pass over the nodes, not over
// every pod.
//
// Before it, the profile resolver, the SparkApplication controller and the
// interruption controller each kept their own pod informer: three watches
// for the API server to feed, three decodes of every pod event and three
// copies in memory.
package clusterstate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/profile"
	"github.com/sparkplane/sparkplane/internal/spark"
)

// Field indexes of the cached pods.
const (
	// IndexAppSelector indexes pods by "<namespace>/<spark-app-selector>",
	// so one attempt's pods are read without a scan (AppSelectorKey).
	IndexAppSelector = "sparkplane.io/app-selector"
	// IndexNodeName indexes pods by spec.nodeName.
	IndexNodeName = "spec.nodeName"
)

// AppSelectorKey is the IndexAppSelector value of an attempt's pods.
func AppSelectorKey(namespace, appID string) string { return namespace + "/" + appID }

// requestsContainer names the one container a trimmed pod keeps: it
// carries the pod's effective requests (profile.PodRequests), so
// PodRequests of the trimmed pod is that of the whole.
const requestsContainer = "requests"

// Options configure the State.
type Options struct {
	// AllPods keeps every pod, not only Spark's (spark-role driver or
	// executor): the free capacity of a node depends on everything bound
	// to it. Only the profile resolver choosing zones by free capacity
	// needs it.
	AllPods bool
}

// State is the shared view. It embeds the informer cache (pods and nodes,
// trimmed), which controllers read and watch like any cache.Cache; never
// modify what it returns.
type State struct {
	cache.Cache
	allPods bool

	// usage is the registration of the handler that keeps pods and used;
	// until it has seen the initial list, the totals are incomplete.
	usage toolscache.ResourceEventHandlerRegistration

	mu sync.RWMutex
	// pods holds what each counted pod charges its node.
	pods map[types.UID]charge
	// used sums the charges per node.
	used map[string]profile.Usage
}

// charge is what a pod bound to a node requests of it.
type charge struct {
	node string
	profile.Usage
}

var (
	statesMu sync.Mutex
	states   = map[manager.Manager]*State{}
)

// For returns the State of mgr, creating it (and adding its cache to mgr)
// on the first call. The first caller's options decide; a later caller that
// needs all pods from a State created for Spark pods only gets an error, so
// register the controller that needs all pods first (controller.New does).
func For(mgr manager.Manager, opts Options) (*State, error) {
	statesMu.Lock()
	defer statesMu.Unlock()
	if s, ok := states[mgr]; ok {
		if opts.AllPods && !s.allPods {
			return nil, errors.New("the shared pod cache was created for Spark pods only, and a controller registered later needs all pods: register the profile resolver first")
		}
		return s, nil
	}
	s, err := newState(mgr, opts)
	if err != nil {
		return nil, err
	}
	if err := mgr.Add(s.Cache); err != nil {
		return nil, err
	}
	states[mgr] = s
	return s, nil
}

func newState(mgr manager.Manager, opts Options) (*State, error) {
	podObject := cache.ByObject{Transform: TrimPod, UnsafeDisableDeepCopy: ptrTrue()}
	if !opts.AllPods {
		podObject.Label = sparkPods()
	}
	c, err := cache.New(mgr.GetConfig(), cache.Options{
		HTTPClient: mgr.GetHTTPClient(),
		Scheme:     mgr.GetScheme(),
		Mapper:     mgr.GetRESTMapper(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}:  podObject,
			&corev1.Node{}: {Transform: TrimNode, UnsafeDisableDeepCopy: ptrTrue()},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the shared pod and node cache: %w", err)
	}
	ctx := context.Background()
	if err := c.IndexField(ctx, &corev1.Pod{}, IndexAppSelector, func(o client.Object) []string {
		if id := o.GetLabels()[spark.LabelAppSelector]; id != "" {
			return []string{AppSelectorKey(o.GetNamespace(), id)}
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("indexing pods by application: %w", err)
	}
	if err := c.IndexField(ctx, &corev1.Pod{}, IndexNodeName, func(o client.Object) []string {
		if pod, ok := o.(*corev1.Pod); ok && pod.Spec.NodeName != "" {
			return []string{pod.Spec.NodeName}
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("indexing pods by node: %w", err)
	}
	s := &State{Cache: c, allPods: opts.AllPods, pods: map[types.UID]charge{}, used: map[string]profile.Usage{}}
	informer, err := c.GetInformer(ctx, &corev1.Pod{}, cache.BlockUntilSynced(false))
	if err != nil {
		return nil, fmt.Errorf("getting the pod informer: %w", err)
	}
	s.usage, err = informer.AddEventHandler(TallyHandlers(s.account))
	if err != nil {
		return nil, fmt.Errorf("watching pods for node usage: %w", err)
	}
	return s, nil
}

// sparkPods selects Spark's drivers and executors (sparkplane's carry
// spark-role too).
func sparkPods() labels.Selector {
	req, err := labels.NewRequirement(spark.LabelRole, selection.In, []string{spark.RoleDriver, spark.RoleExecutor})
	if err != nil {
		panic(err) // constant input
	}
	return labels.NewSelector().Add(*req)
}

// TallyHandlers are the informer event handlers of a running tally kept
// per object by account, which is told each object as it is now and
// whether it is gone. Deletions seen only as tombstones are unwrapped, and
// an object deleted and recreated under its name (a relist after a watch
// gap reports that as an update, with a new UID) is first reported gone.
func TallyHandlers(account func(obj any, gone bool)) toolscache.ResourceEventHandlerFuncs {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { account(obj, false) },
		UpdateFunc: func(old, obj any) {
			o, ok1 := old.(metav1.Object)
			n, ok2 := obj.(metav1.Object)
			if ok1 && ok2 && o.GetUID() != n.GetUID() {
				account(old, true)
			}
			account(obj, false)
		},
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			account(obj, true)
		},
	}
}

// account brings the charge of the pod obj describes up to date: a pod
// counts against its node while profile.ChargesNode says so; a deleted pod
// no longer.
func (s *State) account(obj any, gone bool) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	var now charge
	counts := !gone && profile.ChargesNode(pod)
	if counts {
		// A trimmed pod's one container carries its effective requests.
		now = charge{node: pod.Spec.NodeName, Usage: profile.PodRequests(&pod.Spec)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	before, had := s.pods[pod.UID]
	if had {
		s.add(before, -1)
		delete(s.pods, pod.UID)
	}
	if counts {
		s.pods[pod.UID] = now
		s.add(now, 1)
	}
}

func (s *State) add(c charge, sign int64) {
	u := s.used[c.node]
	u.MilliCPU += sign * c.MilliCPU
	u.Memory += sign * c.Memory
	if u.MilliCPU == 0 && u.Memory == 0 {
		delete(s.used, c.node)
		return
	}
	s.used[c.node] = u
}

// ErrNotSynced is returned while the per-node totals do not yet cover the
// initial list of pods (right after a start): retry.
var ErrNotSynced = errors.New("the node usage totals are still loading the cluster's pods; retrying")

// NodeCapacities returns the schedulable nodes with what is free on them
// now: allocatable minus the requests of the pods bound there. It needs a
// State with AllPods; with Spark pods only it counts just those.
func (s *State) NodeCapacities(ctx context.Context) ([]profile.NodeCapacity, error) {
	if !s.usage.HasSynced() {
		return nil, ErrNotSynced
	}
	nodes := &corev1.NodeList{}
	if err := s.List(ctx, nodes, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return profile.FreeCapacities(nodes.Items, s.used), nil
}

// Nodes lists the cached (trimmed) nodes.
func (s *State) Nodes(ctx context.Context) ([]corev1.Node, error) {
	nodes := &corev1.NodeList{}
	if err := s.List(ctx, nodes, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	return nodes.Items, nil
}

// keptLabels are the pod labels some controller reads.
var keptLabels = []string{v1alpha1.LabelApplication, spark.LabelAppSelector, spark.LabelRole, spark.LabelExecID}

// TrimPod is the pod transform: identity, deletion state, the Spark labels,
// the node, the phase and the effective requests (as one container named
// "requests"); drivers also keep their owner references and whole status,
// which the SparkApplication controller reads, and pending pods why they
// wait (pendingStatus, claimVolumes). An executor is then a few
// hundred bytes instead of several kilobytes. Trimming a trimmed pod changes
// nothing, as informers require.
func TrimPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil // tombstones pass through
	}
	trimmed := &corev1.Pod{
		TypeMeta: pod.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name:                       pod.Name,
			Namespace:                  pod.Namespace,
			UID:                        pod.UID,
			ResourceVersion:            pod.ResourceVersion,
			CreationTimestamp:          pod.CreationTimestamp,
			DeletionTimestamp:          pod.DeletionTimestamp,
			DeletionGracePeriodSeconds: pod.DeletionGracePeriodSeconds,
		},
		Spec: corev1.PodSpec{NodeName: pod.Spec.NodeName},
	}
	for _, k := range keptLabels {
		if v, ok := pod.Labels[k]; ok {
			if trimmed.Labels == nil {
				trimmed.Labels = make(map[string]string, len(keptLabels))
			}
			trimmed.Labels[k] = v
		}
	}
	if r := profile.PodRequests(&pod.Spec); r != (profile.Usage{}) {
		trimmed.Spec.Containers = []corev1.Container{{Name: requestsContainer, Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU:    *resource.NewMilliQuantity(r.MilliCPU, resource.DecimalSI),
			corev1.ResourceMemory: *resource.NewQuantity(r.Memory, resource.BinarySI),
		}}}}
	}
	switch {
	case pod.Labels[spark.LabelRole] == spark.RoleDriver:
		trimmed.OwnerReferences = pod.OwnerReferences
		trimmed.Status = pod.Status
		if pod.Status.Phase == corev1.PodPending {
			trimmed.Spec.Volumes = claimVolumes(pod.Spec.Volumes)
		}
	case pod.Status.Phase == corev1.PodPending:
		trimmed.Status = pendingStatus(&pod.Status)
		trimmed.Spec.Volumes = claimVolumes(pod.Spec.Volumes)
	default:
		trimmed.Status.Phase = pod.Status.Phase
	}
	return trimmed, nil
}

// claimVolumes keeps of a pending pod's volumes its PersistentVolumeClaims
// (volume and claim name): the scheduler says only that a claim is
// unbound, and the claim says why (its StorageClass may not exist).
func claimVolumes(volumes []corev1.Volume) []corev1.Volume {
	var kept []corev1.Volume
	for _, v := range volumes {
		if c := v.PersistentVolumeClaim; c != nil {
			kept = append(kept, corev1.Volume{Name: v.Name, VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c.ClaimName},
			}})
		}
	}
	return kept
}

// pendingStatus keeps of a pending pod's status what says why it waits:
// the PodScheduled condition when it is False (the scheduler's reason and
// message) and the containers' waiting states (the kubelet's, e.g. an
// image that cannot be pulled). Nothing more is kept once the pod runs.
func pendingStatus(status *corev1.PodStatus) corev1.PodStatus {
	out := corev1.PodStatus{Phase: status.Phase}
	for _, cond := range status.Conditions {
		if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse {
			out.Conditions = []corev1.PodCondition{{Type: cond.Type, Status: cond.Status, Reason: cond.Reason, Message: cond.Message}}
		}
	}
	waiting := func(statuses []corev1.ContainerStatus) []corev1.ContainerStatus {
		var kept []corev1.ContainerStatus
		for _, cs := range statuses {
			if w := cs.State.Waiting; w != nil && w.Reason != "" {
				kept = append(kept, corev1.ContainerStatus{Name: cs.Name, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: w.Reason, Message: w.Message}}})
			}
		}
		return kept
	}
	out.InitContainerStatuses = waiting(status.InitContainerStatuses)
	out.ContainerStatuses = waiting(status.ContainerStatuses)
	return out
}

// TrimNode is the node transform: identity, deletion state, labels (zone,
// capacity type, ...), sparkplane's annotations (the persisted interruption
// notice), taints, schedulability and allocatable CPU and memory.
func TrimNode(obj any) (any, error) {
	node, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	trimmed := &corev1.Node{
		TypeMeta: node.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name:              node.Name,
			UID:               node.UID,
			ResourceVersion:   node.ResourceVersion,
			Generation:        node.Generation,
			CreationTimestamp: node.CreationTimestamp,
			DeletionTimestamp: node.DeletionTimestamp,
			Labels:            node.Labels,
		},
		Spec: corev1.NodeSpec{Taints: node.Spec.Taints, Unschedulable: node.Spec.Unschedulable},
	}
	for k, v := range node.Annotations {
		if strings.HasPrefix(k, "sparkplane.io/") {
			if trimmed.Annotations == nil {
				trimmed.Annotations = map[string]string{}
			}
			trimmed.Annotations[k] = v
		}
	}
	alloc := corev1.ResourceList{}
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := node.Status.Allocatable[name]; ok {
			alloc[name] = q
		}
	}
	if len(alloc) > 0 {
		trimmed.Status.Allocatable = alloc
	}
	return trimmed, nil
}

func ptrTrue() *bool { b := true; return &b }

// WatchFromStart registers the manager cache's informers of objs, so they
// start (and sync before the operator is ready) with the manager rather
// than at their first read, which would wait for their sync.
func WatchFromStart(mgr manager.Manager, objs ...client.Object) error {
	for _, obj := range objs {
		if _, err := mgr.GetCache().GetInformer(context.Background(), obj, cache.BlockUntilSynced(false)); err != nil {
			return fmt.Errorf("watching %T: %w", obj, err)
		}
	}
	return nil
}
