package demo

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/spark"
	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Labels, taints and annotations the tracker reads.
const (
	labelNodePool = karpv1.NodePoolLabelKey
	// taintSpotITN is aws-node-termination-handler's Spot interruption taint
	// (the nth and spot-itn deliveries); with no interruption controller to
	// persist a notice time, its first sighting is the notice.
	taintSpotITN = "aws-node-termination-handler/spot-itn"
)

// tracker watches nodes and Spark pods and records, with the time it saw
// each change: node lifetimes (Karpenter's nodes only, those with a
// karpenter.sh/nodepool label) attributed to the run that created them,
// executor pods' time on nodes, when a node's notice appeared, and when each
// executor got its delete.
type tracker struct {
	prices *Prices
	now    func() time.Time

	mu        sync.Mutex
	run       string
	nodes     map[string]*trackedNode
	executors map[types.UID]*trackedExecutor
	// marks holds, by pod UID, the source an event attributed the pod's
	// delete to (see attribution.go).
	marks     map[types.UID]string
	priceErrs []error
}

type trackedNode struct {
	life NodeLife
	run  string
	gone bool
	// noticeSeen is when the watch first showed the node's disrupted taint;
	// itnSeen the Spot interruption taint the nth and spot-itn deliveries
	// write (aws-node-termination-handler/spot-itn);
	// noticePersisted the notice time the operator wrote on it.
	noticeSeen, itnSeen, noticePersisted time.Time
}

type trackedExecutor struct {
	uid     types.UID
	life    ExecutorLife
	run     string
	running bool
	// deleteSeen is when the watch first showed the pod's deletionTimestamp
	// (or its removal); graceful whether that delete had a grace period.
	deleteSeen time.Time
	graceful   bool
	// evicted: the pod carried the DisruptionTarget condition the Eviction
	// API writes before it deletes.
	evicted bool
}

func newTracker(prices *Prices) *tracker {
	return &tracker{prices: prices, now: time.Now, nodes: map[string]*trackedNode{}, executors: map[types.UID]*trackedExecutor{}, marks: map[types.UID]string{}}
}

// setRun attributes what is created from now on to run.
func (t *tracker) setRun(run string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.run = run
}

// start runs the informers until ctx ends and returns once they synced.
func (t *tracker) start(ctx context.Context, cs kubernetes.Interface) error {
	nodeFactory := informers.NewSharedInformerFactory(cs, 0)
	podFactory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.LabelSelector = spark.LabelRole + "=" + spark.RoleExecutor
	}))
	nodes := nodeFactory.Core().V1().Nodes().Informer()
	pods := podFactory.Core().V1().Pods().Informer()
	unwrap := func(obj any) any {
		if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			return tomb.Obj
		}
		return obj
	}
	if _, err := nodes.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { t.onNode(obj.(*corev1.Node), false) },
		UpdateFunc: func(_, obj any) { t.onNode(obj.(*corev1.Node), false) },
		DeleteFunc: func(obj any) {
			if n, ok := unwrap(obj).(*corev1.Node); ok {
				t.onNode(n, true)
			}
		},
	}); err != nil {
		return err
	}
	if _, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { t.onExecutor(obj.(*corev1.Pod), false) },
		UpdateFunc: func(_, obj any) { t.onExecutor(obj.(*corev1.Pod), false) },
		DeleteFunc: func(obj any) {
			if p, ok := unwrap(obj).(*corev1.Pod); ok {
				t.onExecutor(p, true)
			}
		},
	}); err != nil {
		return err
	}
	nodeFactory.Start(ctx.Done())
	podFactory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), nodes.HasSynced, pods.HasSynced) {
		return fmt.Errorf("demo: node and pod watches did not sync")
	}
	return t.startEvents(ctx, cs)
}

func (t *tracker) onNode(n *corev1.Node, deleted bool) {
	pool := n.Labels[labelNodePool]
	if pool == "" {
		return // the static system node: not part of either run
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	tn := t.nodes[n.Name]
	if tn == nil {
		if deleted {
			return
		}
		price, err := t.prices.NodePrice(n.Labels)
		if err != nil {
			t.priceErrs = append(t.priceErrs, fmt.Errorf("node %s: %w", n.Name, err))
		}
		tn = &trackedNode{run: t.run, life: NodeLife{
			Name: n.Name, NodePool: pool, InstanceType: n.Labels[labelInstanceType], CapacityType: n.Labels[karpv1.CapacityTypeLabelKey],
			Zone: n.Labels[labelZone], Created: n.CreationTimestamp.Time, PricePerHour: price,
		}}
		t.nodes[n.Name] = tn
	}
	if deleted && !tn.gone {
		tn.gone, tn.life.Deleted = true, now
	}
	for _, taint := range n.Spec.Taints {
		switch {
		case taint.Key == karpv1.DisruptedTaintKey && tn.noticeSeen.IsZero():
			tn.noticeSeen = now
		case taint.Key == taintSpotITN && tn.itnSeen.IsZero():
			tn.itnSeen = now
		}
	}
	if s, ok := n.Annotations[v1alpha1.AnnotationInterruptionNoticeTime]; ok && tn.noticePersisted.IsZero() {
		if at, err := time.Parse(time.RFC3339Nano, s); err == nil {
			tn.noticePersisted = at
		}
	}
}

func (t *tracker) onExecutor(p *corev1.Pod, deleted bool) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	te := t.executors[p.UID]
	if te == nil {
		if deleted && p.Spec.NodeName == "" {
			return
		}
		te = &trackedExecutor{uid: p.UID, run: t.run, life: ExecutorLife{Pod: p.Namespace + "/" + p.Name, App: p.Labels[v1alpha1.LabelApplication]}}
		t.executors[p.UID] = te
	}
	if p.Spec.NodeName != "" && te.life.Node == "" {
		te.life.Node = p.Spec.NodeName
		if tn := t.nodes[p.Spec.NodeName]; tn != nil {
			te.life.NodePool = tn.life.NodePool
		}
	}
	if !te.running && p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
		te.running, te.life.Start = true, now
	}
	if te.deleteSeen.IsZero() && (p.DeletionTimestamp != nil || deleted) {
		te.deleteSeen = now
		te.graceful = p.DeletionTimestamp != nil && p.DeletionGracePeriodSeconds != nil && *p.DeletionGracePeriodSeconds > 0
	}
	te.evicted = te.evicted || evictedByAPI(p)
	ended := p.DeletionTimestamp != nil || deleted || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
	if ended && te.running && te.life.End.IsZero() {
		te.life.End = now
	}
}

// noticeTime is when node's notice began: the earliest of the watch seeing
// its Karpenter disrupted taint or its Spot interruption taint and the notice
// time the operator persisted; zero when none is known yet.
func (t *tracker) noticeTime(node string) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	tn := t.nodes[node]
	if tn == nil {
		return time.Time{}
	}
	var at time.Time
	for _, t := range []time.Time{tn.noticeSeen, tn.itnSeen, tn.noticePersisted} {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	return at
}

// noticeOutcome fills n.At and n.Executors from what the watches showed:
// every executor bound to the node and not yet deleting at the notice, with
// its reaction. done reports whether each of them has been deleted.
func (t *tracker) noticeOutcome(n *Notice) (done bool) {
	at := t.noticeTime(n.Node)
	if at.IsZero() {
		return false
	}
	n.At = at
	t.mu.Lock()
	defer t.mu.Unlock()
	n.Executors = n.Executors[:0]
	done = true
	for _, te := range t.executors {
		if te.life.Node != n.Node || (!te.deleteSeen.IsZero() && te.deleteSeen.Before(at) && !te.graceful) {
			continue
		}
		if !te.deleteSeen.IsZero() && te.deleteSeen.Before(at.Add(-time.Second)) {
			continue // gone well before the notice (finished or released)
		}
		d := Decommission{Pod: te.life.Pod}
		if te.deleteSeen.IsZero() {
			done = false
		} else {
			mark := t.marks[te.uid]
			// Karpenter's Evicted event is deduplicated by pod name for two
			// minutes (its recorder), so an eviction on a node Karpenter had
			// tainted before the delete is Karpenter's drain too.
			if tn := t.nodes[n.Node]; mark == "" && te.evicted && tn != nil && !tn.noticeSeen.IsZero() && !tn.noticeSeen.After(te.deleteSeen) {
				mark = SourceKarpenter
			}
			attribute(&d, te.graceful, mark, at, te.deleteSeen)
		}
		n.Executors = append(n.Executors, d)
	}
	sortDecommissions(n.Executors)
	return done
}

func sortDecommissions(ds []Decommission) {
	sort.Slice(ds, func(i, j int) bool { return ds[i].Pod < ds[j].Pod })
}

// snapshot counts live nodes per pool and running executors.
func (t *tracker) snapshot() (nodesByPool map[string]int, executors int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	nodesByPool = map[string]int{}
	for _, tn := range t.nodes {
		if !tn.gone {
			nodesByPool[tn.life.NodePool]++
		}
	}
	for _, te := range t.executors {
		if te.running && te.life.End.IsZero() {
			executors++
		}
	}
	return nodesByPool, executors
}

// liveNodes returns the names of Karpenter nodes not yet gone.
func (t *tracker) liveNodes() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for name, tn := range t.nodes {
		if !tn.gone {
			out = append(out, name)
		}
	}
	return out
}

// untainted returns the live nodes that do not show the disrupted taint yet.
func (t *tracker) untainted() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for name, tn := range t.nodes {
		if !tn.gone && tn.noticeSeen.IsZero() {
			out = append(out, name)
		}
	}
	return out
}

// nodePool returns the pool of a node the tracker knows, else "".
func (t *tracker) nodePool(node string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tn := t.nodes[node]; tn != nil {
		return tn.life.NodePool
	}
	return ""
}

// collect returns run's nodes and executors, with end times not yet seen set
// to end.
func (t *tracker) collect(run string, end time.Time) ([]NodeLife, []ExecutorLife, []error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var nodes []NodeLife
	for _, tn := range t.nodes {
		if tn.run != run {
			continue
		}
		life := tn.life
		if !tn.gone {
			life.Deleted = end
		}
		nodes = append(nodes, life)
	}
	var execs []ExecutorLife
	for _, te := range t.executors {
		if te.run != run || !te.running {
			continue
		}
		life := te.life
		if life.NodePool == "" {
			if tn := t.nodes[life.Node]; tn != nil {
				life.NodePool = tn.life.NodePool
			}
		}
		if life.End.IsZero() {
			life.End = end
		}
		execs = append(execs, life)
	}
	sortByName(nodes, func(n NodeLife) string { return n.Name })
	sortByName(execs, func(e ExecutorLife) string { return e.Pod })
	return nodes, execs, t.priceErrs
}

func sortByName[T any](s []T, key func(T) string) {
	sort.Slice(s, func(i, j int) bool { return key(s[i]) < key(s[j]) })
}
