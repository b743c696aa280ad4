package devcluster

import (
	"context"
	"fmt"
	"slices"
	"sort"

	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Status is what `dev status` shows.
type Status struct {
	Cluster *Cluster
	// Components has one entry per recorded component.
	Components []ComponentStatus
	// Groups are the nodes grouped by node pool (tier) and zone, sorted in
	// tier order, then by zone. Nil when the API server cannot be reached.
	Groups []NodeGroup
	// APIError says why Groups is empty when the API server did not answer.
	APIError error
}

// ComponentStatus tells whether a component's process is alive.
type ComponentStatus struct {
	ComponentInfo
	Running bool
}

// NodeGroup counts the nodes of one node pool in one zone.
type NodeGroup struct {
	NodePool, Arch, CapacityType, Zone string
	Nodes, Ready                       int
	// AllocatableCPU and AllocatableMemory sum over the group's nodes.
	AllocatableCPU, AllocatableMemory resource.Quantity
}

// Status reports the cluster's processes and nodes.
func (c *Cluster) Status(ctx context.Context) (*Status, error) {
	procs, err := c.Processes()
	if err != nil {
		return nil, err
	}
	alive := map[int]bool{}
	for _, p := range procs {
		alive[p.PID] = true
	}
	st := &Status{Cluster: c}
	for _, info := range c.Components {
		st.Components = append(st.Components, ComponentStatus{ComponentInfo: info, Running: alive[info.PID]})
	}
	// In the order of Components, not of starting.
	sort.SliceStable(st.Components, func(i, j int) bool {
		return slices.Index(Components, st.Components[i].Name) < slices.Index(Components, st.Components[j].Name)
	})
	cfg, err := c.RESTConfig()
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		st.APIError = err
		return st, nil
	}
	st.Groups = GroupNodes(nodes.Items)
	return st, nil
}

// GroupNodes groups nodes by karpenter.sh/nodepool (or the node role when
// the label is absent) and zone, in tier order: the executor tiers, then
// driver, system, and anything else by name.
func GroupNodes(nodes []corev1.Node) []NodeGroup {
	type key struct{ pool, zone string }
	groups := map[key]*NodeGroup{}
	for i := range nodes {
		n := &nodes[i]
		pool := n.Labels[karpv1.NodePoolLabelKey]
		if pool == "" {
			pool = n.Labels[LabelNodeRole]
		}
		if pool == "" {
			pool = "(none)"
		}
		k := key{pool, n.Labels[corev1.LabelTopologyZone]}
		g, ok := groups[k]
		if !ok {
			g = &NodeGroup{NodePool: pool, Zone: k.zone, Arch: n.Labels[corev1.LabelArchStable], CapacityType: n.Labels[karpv1.CapacityTypeLabelKey]}
			groups[k] = g
		} else {
			if g.Arch != n.Labels[corev1.LabelArchStable] {
				g.Arch = "mixed"
			}
			if g.CapacityType != n.Labels[karpv1.CapacityTypeLabelKey] {
				g.CapacityType = "mixed"
			}
		}
		g.Nodes++
		if NodeReady(n) {
			g.Ready++
		}
		g.AllocatableCPU.Add(*n.Status.Allocatable.Cpu())
		g.AllocatableMemory.Add(*n.Status.Allocatable.Memory())
	}
	rank := map[string]int{NodePoolDriver: len(ExecutorTiers), NodePoolSystem: len(ExecutorTiers) + 1}
	for i, tier := range ExecutorTiers {
		rank[tier.NodePool] = i
	}
	out := make([]NodeGroup, 0, len(groups))
	for _, g := range groups {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool {
		ri, iok := rank[out[i].NodePool]
		rj, jok := rank[out[j].NodePool]
		if !iok {
			ri = 100
		}
		if !jok {
			rj = 100
		}
		if ri != rj {
			return ri < rj
		}
		if out[i].NodePool != out[j].NodePool {
			return out[i].NodePool < out[j].NodePool
		}
		return out[i].Zone < out[j].Zone
	})
	return out
}

// FormatGiB renders a memory quantity in GiB with one decimal.
func FormatGiB(q resource.Quantity) string {
	return fmt.Sprintf("%.1fGi", float64(q.Value())/(1<<30))
}
