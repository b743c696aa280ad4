package profile

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strings"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/spark"
	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"
)

// LabelZone is the node label the zone policy pins on.
const LabelZone = corev1.LabelTopologyZone

// ZoneInput is what the controller knows about zones when it resolves an
// application. The zero value knows nothing: no zone is pinned.
type ZoneInput struct {
	// Chosen is the zone already chosen for this attempt (status.zone); when
	// set it is kept, so resolving again yields the same placement.
	Chosen string
	// Nodes are the cluster's nodes with what is free on them now (allocatable
	// minus the requests of the pods bound to them).
	Nodes []NodeCapacity
	// NodesOnDemand says nodes are created on demand (Karpenter): free
	// capacity now says little, so applications are spread over the allowed
	// zones, least-loaded first, ties broken by a stable hash of the
	// application.
	NodesOnDemand bool
	// Zones the cluster can create nodes in, besides those that have nodes
	// (e.g. the zones of the NodePools).
	Zones []string
	// ApplicationsPerZone counts running applications per zone, for
	// least-loaded spreading.
	ApplicationsPerZone map[string]int
}

// NodeCapacity is one node as zone choice sees it.
type NodeCapacity struct {
	Name   string
	Labels map[string]string
	Taints []corev1.Taint
	// Free is allocatable minus the requests of the pods on the node.
	Free corev1.ResourceList
}

// zoneChoice is the outcome of chooseZone.
type zoneChoice struct {
	zone, reason string
	// scores are the zones compared, best first; nil when there was no
	// choice to make.
	scores []v1alpha1.ZoneScore
}

// executorRequest is one executor's CPU (milli) and memory (bytes) requests
// exactly as submission sizes the executor pods: spec.sparkConf overridden
// by the typed fields, Spark's defaults and overhead rules.
func executorRequest(app *v1alpha1.SparkApplication) (cpuMilli, memBytes int64) {
	r := spark.ExecutorResources(&app.Spec)
	return r.MilliCPU(), r.MemoryRequestMiB() << 20
}

// nodeMatches reports whether a node's labels satisfy requirements (In,
// NotIn, Exists, DoesNotExist; Gt and Lt never match here).
func nodeMatches(labels map[string]string, reqs []corev1.NodeSelectorRequirement) bool {
	for _, r := range reqs {
		v, ok := labels[r.Key]
		switch r.Operator {
		case corev1.NodeSelectorOpIn:
			if !ok || !contains(r.Values, v) {
				return false
			}
		case corev1.NodeSelectorOpNotIn:
			if ok && contains(r.Values, v) {
				return false
			}
		case corev1.NodeSelectorOpExists:
			if !ok {
				return false
			}
		case corev1.NodeSelectorOpDoesNotExist:
			if ok {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// tolerates reports whether tolerations tolerate every NoSchedule and
// NoExecute taint of a node.
func tolerates(tolerations []corev1.Toleration, taints []corev1.Taint) bool {
	for i := range taints {
		taint := &taints[i]
		if taint.Effect == corev1.TaintEffectPreferNoSchedule {
			continue
		}
		ok := false
		for j := range tolerations {
			if tolerations[j].ToleratesTaint(logr.Discard(), taint, false) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// zoneRequest is what chooseZone needs to know about the executors.
type zoneRequest struct {
	app          *v1alpha1.SparkApplication
	tiers        []v1alpha1.PlacementTier
	nodeSelector map[string]string // the executors' effective node selector
	required     []corev1.NodeSelectorRequirement
	tolerations  []corev1.Toleration
	allowed      []string // the profile's allowedZones; empty allows all
}

// chooseZone picks the zone for an application. With free-capacity input it
// takes the zone where the application's executors fit best: it fills the
// wanted executors tier by tier and compares zones by how many land in the
// first tier, then the second, and so on. With nodes created on demand (or
// nothing fitting anywhere) it spreads: least-loaded zone, ties broken by a
// stable hash of namespace/name.
func chooseZone(in ZoneInput, req zoneRequest) zoneChoice {
	candidates := map[string]bool{}
	if len(req.allowed) > 0 {
		for _, z := range req.allowed {
			candidates[z] = true
		}
	} else {
		for _, z := range in.Zones {
			candidates[z] = true
		}
		for _, n := range in.Nodes {
			if z := n.Labels[LabelZone]; z != "" {
				candidates[z] = true
			}
		}
	}
	zones := make([]string, 0, len(candidates))
	for z := range candidates {
		zones = append(zones, z)
	}
	sort.Strings(zones)
	if len(zones) == 0 {
		return zoneChoice{reason: "no zone is known (no node has a topology.kubernetes.io/zone label and the profile lists no allowedZones), so none is pinned"}
	}
	if len(zones) == 1 {
		return zoneChoice{zone: zones[0], reason: fmt.Sprintf("%s is the only allowed zone", zones[0])}
	}

	spreadPrefix := "nodes are created on demand"
	if !in.NodesOnDemand {
		if choice, ok := bestFit(in, req, zones); ok {
			return choice
		}
		spreadPrefix = "no zone has free capacity for an executor now"
	}
	return spread(in, req.app, zones, spreadPrefix)
}

// bestFit ranks zones by where the wanted executors fit in the best tiers.
func bestFit(in ZoneInput, req zoneRequest, zones []string) (zoneChoice, bool) {
	cpu, mem := executorRequest(req.app)
	wanted := spark.WantedExecutors(&req.app.Spec)
	slots := map[string][]int64{} // zone → free executor slots per tier
	for _, z := range zones {
		slots[z] = make([]int64, len(req.tiers))
	}
	tierReqs := make([][]corev1.NodeSelectorRequirement, len(req.tiers))
	for i, t := range req.tiers {
		tierReqs[i] = tierRequirements(t)
	}
	for _, n := range in.Nodes {
		z := n.Labels[LabelZone]
		perTier, ok := slots[z]
		if !ok || !tolerates(req.tolerations, n.Taints) || !nodeMatches(n.Labels, req.required) {
			continue
		}
		if !selectorMatches(n.Labels, req.nodeSelector) {
			continue
		}
		freeCPU, freeMem := n.Free.Cpu().MilliValue(), n.Free.Memory().Value()
		fit := min(freeCPU/max(cpu, 1), freeMem/max(mem, 1))
		if fit <= 0 {
			continue
		}
		for i := range tierReqs {
			if nodeMatches(n.Labels, tierReqs[i]) {
				perTier[i] += fit
				break
			}
		}
	}
	type scored struct {
		zone   string
		placed []int64
		total  int64
	}
	var ranked []scored
	for _, z := range zones {
		remaining := wanted
		s := scored{zone: z, placed: make([]int64, len(req.tiers))}
		for i, free := range slots[z] {
			s.placed[i] = min(remaining, free)
			remaining -= s.placed[i]
			s.total += free
		}
		ranked = append(ranked, s)
	}
	better := func(a, b scored) bool {
		for i := range a.placed {
			if a.placed[i] != b.placed[i] {
				return a.placed[i] > b.placed[i]
			}
		}
		if a.total != b.total {
			return a.total > b.total
		}
		la, lb := in.ApplicationsPerZone[a.zone], in.ApplicationsPerZone[b.zone]
		if la != lb {
			return la < lb
		}
		return a.zone < b.zone
	}
	sort.SliceStable(ranked, func(i, j int) bool { return better(ranked[i], ranked[j]) })
	if ranked[0].total == 0 {
		return zoneChoice{}, false
	}
	describe := func(s scored) string {
		var parts []string
		for i, n := range s.placed {
			if n > 0 {
				parts = append(parts, fmt.Sprintf("%d on %s", n, req.tiers[i].Name))
			}
		}
		if len(parts) == 0 {
			return "none fit"
		}
		return strings.Join(parts, ", ")
	}
	var others []string
	for _, s := range ranked[1:] {
		others = append(others, fmt.Sprintf("%s: %s", s.zone, describe(s)))
	}
	scores := make([]v1alpha1.ZoneScore, len(ranked))
	for i, s := range ranked {
		scores[i] = v1alpha1.ZoneScore{Zone: s.zone, FreeExecutors: ptr.To(s.total), Applications: int32(in.ApplicationsPerZone[s.zone])}
	}
	return zoneChoice{
		zone: ranked[0].zone,
		reason: fmt.Sprintf("the application's %d executors fit best there now (%s; %s)",
			wanted, describe(ranked[0]), strings.Join(others, "; ")),
		scores: scores,
	}, true
}

// spread picks the least-loaded zone, ties broken by rendezvous hashing of
// the application's namespace/name, so the same application always lands in
// the same zone and applications spread evenly.
func spread(in ZoneInput, app *v1alpha1.SparkApplication, zones []string, prefix string) zoneChoice {
	key := app.Namespace + "/" + app.Name
	score := func(zone string) uint64 {
		h := fnv.New64a()
		h.Write([]byte(key))
		h.Write([]byte{0})
		h.Write([]byte(zone))
		return h.Sum64()
	}
	sorted := append([]string(nil), zones...)
	sort.SliceStable(sorted, func(i, j int) bool {
		li, lj := in.ApplicationsPerZone[sorted[i]], in.ApplicationsPerZone[sorted[j]]
		if li != lj {
			return li < lj
		}
		return score(sorted[i]) > score(sorted[j])
	})
	chosen := sorted[0]
	var loads []string
	for _, z := range zones {
		loads = append(loads, fmt.Sprintf("%s: %d", z, in.ApplicationsPerZone[z]))
	}
	scores := make([]v1alpha1.ZoneScore, len(sorted))
	for i, z := range sorted {
		scores[i] = v1alpha1.ZoneScore{Zone: z, Applications: int32(in.ApplicationsPerZone[z])}
	}
	return zoneChoice{
		zone:   chosen,
		scores: scores,
		reason: fmt.Sprintf("%s, so applications are spread: least-loaded allowed zone (running applications %s), ties broken by a stable hash of %s",
			prefix, strings.Join(loads, ", "), key),
	}
}

func selectorMatches(labels, selector map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// tierRequirements are a tier's node requirements.
func tierRequirements(t v1alpha1.PlacementTier) []corev1.NodeSelectorRequirement {
	var reqs []corev1.NodeSelectorRequirement
	if t.Architecture != "" {
		reqs = append(reqs, corev1.NodeSelectorRequirement{Key: corev1.LabelArchStable, Operator: corev1.NodeSelectorOpIn, Values: []string{t.Architecture}})
	}
	if t.CapacityType != "" {
		reqs = append(reqs, corev1.NodeSelectorRequirement{Key: karpv1.CapacityTypeLabelKey, Operator: corev1.NodeSelectorOpIn, Values: []string{t.CapacityType}})
	}
	return append(reqs, t.MatchExpressions...)
}

// Usage is what the pods bound to a node request of it: CPU in
// millicores, memory in bytes.
type Usage struct {
	MilliCPU, Memory int64
}

// PodRequests is what the scheduler charges a node for a pod: the larger of
// the containers' requests (plus restartable init containers, which keep
// running) and the largest init container's (plus the sidecars started
// before it), plus the pod overhead.
func PodRequests(spec *corev1.PodSpec) Usage {
	var sidecar, init Usage
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		cpu, mem := c.Resources.Requests.Cpu().MilliValue(), c.Resources.Requests.Memory().Value()
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			// A sidecar starts and keeps running beside what follows.
			sidecar.MilliCPU += cpu
			sidecar.Memory += mem
			init.MilliCPU, init.Memory = max(init.MilliCPU, sidecar.MilliCPU), max(init.Memory, sidecar.Memory)
			continue
		}
		init.MilliCPU, init.Memory = max(init.MilliCPU, sidecar.MilliCPU+cpu), max(init.Memory, sidecar.Memory+mem)
	}
	u := sidecar
	for i := range spec.Containers {
		u.MilliCPU += spec.Containers[i].Resources.Requests.Cpu().MilliValue()
		u.Memory += spec.Containers[i].Resources.Requests.Memory().Value()
	}
	u.MilliCPU, u.Memory = max(u.MilliCPU, init.MilliCPU), max(u.Memory, init.Memory)
	u.MilliCPU += spec.Overhead.Cpu().MilliValue()
	u.Memory += spec.Overhead.Memory().Value()
	return u
}

// ChargesNode says whether pod counts against its node now: bound, and
// neither succeeded nor failed (the scheduler's rule).
func ChargesNode(pod *corev1.Pod) bool {
	return pod.Spec.NodeName != "" && pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed
}

// NodeCapacities computes what is free on each schedulable node: allocatable
// minus the requests of the pods bound to it that have not finished. Nodes
// marked unschedulable are left out.
func NodeCapacities(nodes []corev1.Node, pods []corev1.Pod) []NodeCapacity {
	used := map[string]Usage{}
	for i := range pods {
		pod := &pods[i]
		if !ChargesNode(pod) {
			continue
		}
		u, r := used[pod.Spec.NodeName], PodRequests(&pod.Spec)
		used[pod.Spec.NodeName] = Usage{MilliCPU: u.MilliCPU + r.MilliCPU, Memory: u.Memory + r.Memory}
	}
	return FreeCapacities(nodes, used)
}

// FreeCapacities is NodeCapacities from what is already summed per node.
func FreeCapacities(nodes []corev1.Node, used map[string]Usage) []NodeCapacity {
	out := make([]NodeCapacity, 0, len(nodes))
	for i := range nodes {
		n := &nodes[i]
		if n.Spec.Unschedulable {
			continue
		}
		u := used[n.Name]
		cpu, mem := n.Status.Allocatable.Cpu().DeepCopy(), n.Status.Allocatable.Memory().DeepCopy()
		cpu.Sub(*resource.NewMilliQuantity(u.MilliCPU, resource.DecimalSI))
		mem.Sub(*resource.NewQuantity(u.Memory, resource.BinarySI))
		out = append(out, NodeCapacity{Name: n.Name, Labels: n.Labels, Taints: n.Spec.Taints,
			Free: corev1.ResourceList{corev1.ResourceCPU: cpu, corev1.ResourceMemory: mem}})
	}
	return out
}

// ZoneInputFor assembles a ZoneInput from what a controller's cache holds:
// the nodes, the pods bound to them (for free capacity) and the
// applications (unfinished ones count towards their status.zone's load).
// chosen is the zone already recorded for the application being resolved
// (status.zone), "" on its first resolution. With nodesOnDemand (Karpenter
// creates nodes), free capacity is not consulted and pods may be nil.
func ZoneInputFor(chosen string, nodes []corev1.Node, pods []corev1.Pod, apps []v1alpha1.SparkApplication, nodesOnDemand bool) ZoneInput {
	in := ZoneInput{Chosen: chosen, NodesOnDemand: nodesOnDemand, ApplicationsPerZone: map[string]int{}}
	for i := range apps {
		if z := apps[i].Status.Zone; z != "" && !apps[i].Status.State.IsTerminal() {
			in.ApplicationsPerZone[z]++
		}
	}
	if nodesOnDemand {
		in.Zones = ZonesOf(nodes)
		return in
	}
	in.Nodes = NodeCapacities(nodes, pods)
	return in
}

// ZonesOf returns the zones of nodes (their LabelZone), sorted, each once.
func ZonesOf(nodes []corev1.Node) []string {
	seen := map[string]bool{}
	var zones []string
	for i := range nodes {
		if z := nodes[i].Labels[LabelZone]; z != "" && !seen[z] {
			seen[z] = true
			zones = append(zones, z)
		}
	}
	sort.Strings(zones)
	return zones
}
