package hub

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// Resources are CPU in millicores and memory in bytes.
type Resources struct {
	MilliCPU, Memory int64
}

// TierRef names the capacity a profile tier allows: a karpenter.sh
// capacity type and an architecture; "" allows any.
type TierRef struct {
	CapacityType, Architecture string
}

// Demand is what one application asks of a member: its driver and every
// executor it starts with, and the capacity its resolved profile lets each
// use (the driver's capacity type, the executors' tiers).
type Demand struct {
	Driver, Executors Resources
	// DriverCapacityType is the capacity type the driver requires ("": any).
	DriverCapacityType string
	// ExecutorTiers are the profile's executor tiers; none: any tier.
	ExecutorTiers []TierRef
}

// Candidate is one member as the placement sees it.
type Candidate struct {
	Name   string
	Labels map[string]string
	State  v1alpha1.MemberState
	Weight int32
	// Capacity is the member's last heartbeat.
	Capacity v1alpha1.MemberCapacity
	// InFlight counts applications the hub placed on the member since that
	// heartbeat: pending drivers the member has not reported yet.
	InFlight int32
}

// Score ranks the members for an application: a member is eligible when its
// labels match selector (nil: every member), it is Healthy (not draining,
// reachable), it is not excluded, and its free capacity holds the demand;
// eligible members come first, by fewest pending drivers (reported plus in
// flight), then youngest oldest-pending driver, then highest weight, then
// name, so equal inputs always give the same choice. It returns the chosen
// member ("" when none is eligible) and every member's score, best first.
func Score(selector labels.Selector, demand Demand, candidates []Candidate, exclude string) (string, []v1alpha1.ClusterScore) {
	scores := make([]v1alpha1.ClusterScore, 0, len(candidates))
	for _, c := range candidates {
		s := v1alpha1.ClusterScore{
			Cluster:              c.Name,
			PendingDrivers:       c.Capacity.PendingDrivers + c.InFlight,
			OldestPendingSeconds: c.Capacity.OldestPendingDriverSeconds,
			Weight:               c.Weight,
		}
		switch {
		case selector != nil && !selector.Matches(labels.Set(c.Labels)):
			s.Reason = "labels do not match spec.clusterSelector"
		case c.Name == exclude:
			s.Reason = "the cluster the application is leaving"
		case c.State != v1alpha1.MemberHealthy:
			s.Reason = fmt.Sprintf("state %s", orUnknown(string(c.State)))
		default:
			if reason := fits(demand, c.Capacity.Tiers); reason != "" {
				s.Reason = reason
			} else {
				s.Eligible = true
			}
		}
		scores = append(scores, s)
	}
	slices.SortStableFunc(scores, func(a, b v1alpha1.ClusterScore) int {
		if a.Eligible != b.Eligible {
			if a.Eligible {
				return -1
			}
			return 1
		}
		return cmp.Or(
			cmp.Compare(a.PendingDrivers, b.PendingDrivers),
			cmp.Compare(a.OldestPendingSeconds, b.OldestPendingSeconds),
			cmp.Compare(b.Weight, a.Weight),
			cmp.Compare(a.Cluster, b.Cluster),
		)
	})
	if len(scores) > 0 && scores[0].Eligible {
		return scores[0].Cluster, scores
	}
	return "", scores
}

// fits says why the member's tiers cannot hold demand ("" when they can):
// the driver needs one tier of its capacity type with room for it, and the
// executors, after the driver, room in the tiers of the application's
// profile taken together (Karpenter falls back from one to the next). A
// tier without a CPU (memory) limit holds any CPU (memory); no tiers at all
// means the member does not report limits and is not limited here.
func fits(demand Demand, tiers []v1alpha1.TierCapacity) string {
	if len(tiers) == 0 {
		return ""
	}
	free := make([]tierFree, len(tiers))
	for i, t := range tiers {
		free[i] = tierFreeOf(t)
	}
	if demand.Driver != (Resources{}) {
		best := -1
		for i, t := range free {
			if t.matches(TierRef{CapacityType: demand.DriverCapacityType}) && t.holds(demand.Driver) && (best < 0 || t.cpu > free[best].cpu) {
				best = i
			}
		}
		if best < 0 {
			return fmt.Sprintf("no %s tier has %dm CPU and %dMi memory free for the driver", orAny(demand.DriverCapacityType), demand.Driver.MilliCPU, demand.Driver.Memory>>20)
		}
		free[best].take(demand.Driver)
	}
	if demand.Executors == (Resources{}) {
		return ""
	}
	var sum tierFree
	var names []string
	for _, t := range free {
		if !t.allowedBy(demand.ExecutorTiers) {
			continue
		}
		sum.add(t)
		names = append(names, t.name)
	}
	if len(names) == 0 {
		return "no tier of the application's profile (" + tierRefs(demand.ExecutorTiers) + ") for the executors"
	}
	if !sum.cpuUnlimited && sum.cpu < demand.Executors.MilliCPU {
		return fmt.Sprintf("%dm CPU free in the profile's tiers (%s), %dm needed by the executors", sum.cpu, strings.Join(names, ", "), demand.Executors.MilliCPU)
	}
	if !sum.memoryUnlimited && sum.memory < demand.Executors.Memory {
		return fmt.Sprintf("%dMi memory free in the profile's tiers (%s), %dMi needed by the executors", sum.memory>>20, strings.Join(names, ", "), demand.Executors.Memory>>20)
	}
	return ""
}

// tierFree is one member tier's free capacity during a fit.
type tierFree struct {
	name                          string
	capacityTypes, architectures  []string // nil: any
	cpu, memory                   int64
	cpuUnlimited, memoryUnlimited bool
}

// tierFreeOf reads a tier named "<capacity types>/<architectures>" (each
// "any" or values joined with "+", as the heartbeat writes them).
func tierFreeOf(t v1alpha1.TierCapacity) tierFree {
	f := tierFree{name: t.Name, cpuUnlimited: t.CPU == nil, memoryUnlimited: t.Memory == nil}
	if t.CPU != nil {
		f.cpu = max(t.CPU.MilliValue(), 0)
	}
	if t.Memory != nil {
		f.memory = max(t.Memory.Value(), 0)
	}
	capacityTypes, architectures, _ := strings.Cut(t.Name, "/")
	if capacityTypes != "any" && capacityTypes != "" {
		f.capacityTypes = strings.Split(capacityTypes, "+")
	}
	if architectures != "any" && architectures != "" {
		f.architectures = strings.Split(architectures, "+")
	}
	return f
}

func (f tierFree) matches(ref TierRef) bool {
	in := func(values []string, v string) bool { return v == "" || values == nil || slices.Contains(values, v) }
	return in(f.capacityTypes, ref.CapacityType) && in(f.architectures, ref.Architecture)
}

func (f tierFree) allowedBy(refs []TierRef) bool {
	return len(refs) == 0 || slices.ContainsFunc(refs, f.matches)
}

func (f tierFree) holds(r Resources) bool {
	return (f.cpuUnlimited || f.cpu >= r.MilliCPU) && (f.memoryUnlimited || f.memory >= r.Memory)
}

func (f *tierFree) take(r Resources) {
	f.cpu -= r.MilliCPU
	f.memory -= r.Memory
}

func (f *tierFree) add(o tierFree) {
	f.cpu += o.cpu
	f.memory += o.memory
	f.cpuUnlimited = f.cpuUnlimited || o.cpuUnlimited
	f.memoryUnlimited = f.memoryUnlimited || o.memoryUnlimited
}

func tierRefs(refs []TierRef) string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = orAny(r.CapacityType) + "/" + orAny(r.Architecture)
	}
	return strings.Join(out, ", ")
}

func orAny(s string) string {
	if s == "" {
		return "any"
	}
	return s
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown (no heartbeat yet)"
	}
	return s
}
