package hub

import (
	"cmp"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

// Demand is what one application asks of a member: its driver plus every
// executor it starts with, CPU in millicores and memory in bytes.
type Demand struct {
	MilliCPU, Memory int64
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

// fits says why the tiers cannot hold demand ("" when they can). Tiers
// without a CPU (memory) limit hold any CPU (memory); no tiers at all means
// the member does not report limits and is not limited here.
func fits(demand Demand, tiers []v1alpha1.TierCapacity) string {
	if len(tiers) == 0 {
		return ""
	}
	var freeCPU, freeMemory int64
	cpuLimited, memoryLimited := true, true
	for _, t := range tiers {
		if t.CPU == nil {
			cpuLimited = false
		} else {
			freeCPU += max(t.CPU.MilliValue(), 0)
		}
		if t.Memory == nil {
			memoryLimited = false
		} else {
			freeMemory += max(t.Memory.Value(), 0)
		}
	}
	if cpuLimited && freeCPU < demand.MilliCPU {
		return fmt.Sprintf("%dm CPU free, %dm needed", freeCPU, demand.MilliCPU)
	}
	if memoryLimited && freeMemory < demand.Memory {
		return fmt.Sprintf("%dMi memory free, %dMi needed", freeMemory>>20, demand.Memory>>20)
	}
	return ""
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown (no heartbeat yet)"
	}
	return s
}
