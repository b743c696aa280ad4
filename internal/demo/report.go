package demo

import (
	"math"
	"slices"
	"sort"
	"time"
)

// Run names: the two runs of a demo.
const (
	RunOptimized = "optimized"
	RunBaseline  = "baseline"
)

// DecommissionBudget is how long after a notice an executor's graceful delete
// may be issued and still meet the deadline: the 120 s Spot notice less the
// interruption controller's 5 s reserve.
const DecommissionBudget = 115 * time.Second

// Demo is everything a demo observed; BuildReport and RenderHTML read it.
type Demo struct {
	Seed int64 `json:"seed"`
	// Apps is the number of applications per run.
	Apps        int         `json:"apps"`
	Currency    string      `json:"currency"`
	PriceSource string      `json:"priceSource"`
	StartedAt   time.Time   `json:"startedAt"`
	FinishedAt  time.Time   `json:"finishedAt"`
	Runs        []RunResult `json:"runs"`
}

// RunResult is one pass over the application mix on one profile.
type RunResult struct {
	Name    string    `json:"name"`
	Profile string    `json:"profile"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	// Nodes are the Karpenter nodes that lived during the run (created during
	// it); Deleted is when the node was removed, or the end of tracking.
	Nodes     []NodeLife     `json:"nodes"`
	Executors []ExecutorLife `json:"executors"`
	Apps      []AppResult    `json:"apps"`
	Notices   []Notice       `json:"notices"`
	// MigratedBytes and RecomputedBytes total the run's applications' shuffle
	// blocks moved off removed executors or recomputed after a loss.
	MigratedBytes   int64 `json:"migratedBytes"`
	RecomputedBytes int64 `json:"recomputedBytes"`
}

// NodeLife is one node's life and price.
type NodeLife struct {
	Name         string    `json:"name"`
	NodePool     string    `json:"nodePool"`
	InstanceType string    `json:"instanceType"`
	CapacityType string    `json:"capacityType"`
	Zone         string    `json:"zone"`
	Created      time.Time `json:"created"`
	Deleted      time.Time `json:"deleted"`
	// PricePerHour is the instance-type file's price of the node's offering.
	PricePerHour float64 `json:"pricePerHour"`
}

// Hours is the node's lifetime in hours.
func (n NodeLife) Hours() float64 {
	if n.Deleted.Before(n.Created) {
		return 0
	}
	return n.Deleted.Sub(n.Created).Hours()
}

// Cost is the node's lifetime times its price.
func (n NodeLife) Cost() float64 { return n.Hours() * n.PricePerHour }

// ExecutorLife is one executor pod's time running on a node.
type ExecutorLife struct {
	Pod      string    `json:"pod"`
	App      string    `json:"app"`
	Node     string    `json:"node"`
	NodePool string    `json:"nodePool"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
}

// AppResult is one application's outcome in one run.
type AppResult struct {
	Name    string `json:"name"`
	Profile string `json:"profile"`
	Type    string `json:"type"`
	Size    string `json:"size"`
	// State is the SparkApplication's final state (Succeeded, Failed, or
	// the state it was in when the run gave up waiting).
	State                   string    `json:"state"`
	AppID                   string    `json:"appID"`
	EventLog                string    `json:"eventLog"` // relative to the report dir; "" when none
	Submitted               time.Time `json:"submitted"`
	Finished                time.Time `json:"finished"`
	ExecutorsCreated        int       `json:"executorsCreated"`
	ExecutorsDecommissioned int       `json:"executorsDecommissioned"`
	ExecutorsLost           int       `json:"executorsLost"`
	MigratedBytes           int64     `json:"migratedBytes"`
	RecomputedBytes         int64     `json:"recomputedBytes"`
}

// Notice is one interruption notice the demo delivered to a node.
type Notice struct {
	Node     string    `json:"node"`
	NodePool string    `json:"nodePool"`
	At       time.Time `json:"at"`
	// Executors are the executors that ran on the node at the notice.
	Executors []Decommission `json:"executors"`
}

// Decommission is what happened to one executor of a noticed node.
type Decommission struct {
	Pod string `json:"pod"`
	// Reaction is the time from the notice to the executor's graceful
	// delete; zero when there was none.
	Reaction time.Duration `json:"reaction"`
	// Decommissioned is true when a graceful delete was seen.
	Decommissioned bool `json:"decommissioned"`
}

// Missed reports whether the executor did not get its graceful delete within
// DecommissionBudget of the notice.
func (d Decommission) Missed() bool { return !d.Decommissioned || d.Reaction > DecommissionBudget }

// Report is report.json.
type Report struct {
	Applications  ApplicationsReport  `json:"applications"`
	Interruptions InterruptionsReport `json:"interruptions"`
	Shuffle       ShuffleReport       `json:"shuffle"`
	Cost          CostReport          `json:"cost"`
	// Nodes holds, for each run, each node pool's node count and node-hours.
	Nodes map[string]map[string]TierUsage `json:"nodes"`
}

// ApplicationsReport counts the applications of both runs.
type ApplicationsReport struct {
	Total     int            `json:"total"`
	Succeeded int            `json:"succeeded"`
	Failed    int            `json:"failed"`
	ByProfile map[string]int `json:"byProfile"`
}

// InterruptionsReport sums the notices the demo delivered.
type InterruptionsReport struct {
	Notices                 int     `json:"notices"`
	ExecutorsDecommissioned int     `json:"executorsDecommissioned"`
	ReactionP50Seconds      float64 `json:"reactionP50Seconds"`
	ReactionP99Seconds      float64 `json:"reactionP99Seconds"`
	DeadlineMisses          int     `json:"deadlineMisses"`
}

// ShuffleReport totals shuffle blocks migrated and recomputed in both runs.
type ShuffleReport struct {
	MigratedBytes   int64 `json:"migratedBytes"`
	RecomputedBytes int64 `json:"recomputedBytes"`
}

// CostReport compares the two runs' node cost.
type CostReport struct {
	Optimized   float64 `json:"optimized"`
	Baseline    float64 `json:"baseline"`
	Ratio       float64 `json:"ratio"`
	Currency    string  `json:"currency"`
	PriceSource string  `json:"priceSource"`
}

// TierUsage is one node pool's share of a run.
type TierUsage struct {
	Count     int     `json:"count"`
	NodeHours float64 `json:"nodeHours"`
}

// Percentile returns the p-th percentile (0 < p <= 100) of values by the
// nearest-rank method: the smallest value with at least p% of the values at or
// below it. It is 0 for no values.
func Percentile(values []float64, p float64) float64 {
	if len(values) == 0 {
		return 0
	}
	sorted := slices.Clone(values)
	sort.Float64s(sorted)
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// round to n decimals, so report.json shows figures, not float noise.
func round(v float64, decimals int) float64 {
	scale := math.Pow(10, float64(decimals))
	return math.Round(v*scale) / scale
}

// RunCost is the sum of the run's node costs.
func RunCost(r RunResult) float64 {
	total := 0.0
	for _, n := range r.Nodes {
		total += n.Cost()
	}
	return total
}

// TierUsages groups a run's nodes by node pool.
func TierUsages(r RunResult) map[string]TierUsage {
	out := map[string]TierUsage{}
	for _, n := range r.Nodes {
		u := out[n.NodePool]
		u.Count++
		u.NodeHours += n.Hours()
		out[n.NodePool] = u
	}
	for pool, u := range out {
		u.NodeHours = round(u.NodeHours, 4)
		out[pool] = u
	}
	return out
}

// Reactions returns the reaction times (seconds) of every executor that got
// its graceful delete, over all notices of the runs.
func Reactions(runs []RunResult) []float64 {
	var out []float64
	for _, r := range runs {
		for _, n := range r.Notices {
			for _, d := range n.Executors {
				if d.Decommissioned {
					out = append(out, d.Reaction.Seconds())
				}
			}
		}
	}
	return out
}

// BuildReport computes report.json from what the demo observed.
func BuildReport(d Demo) Report {
	rep := Report{
		Applications: ApplicationsReport{ByProfile: map[string]int{}},
		Cost:         CostReport{Currency: d.Currency, PriceSource: d.PriceSource},
		Nodes:        map[string]map[string]TierUsage{},
	}
	for _, r := range d.Runs {
		for _, a := range r.Apps {
			rep.Applications.Total++
			rep.Applications.ByProfile[a.Profile]++
			switch a.State {
			case "Succeeded":
				rep.Applications.Succeeded++
			case "Failed":
				rep.Applications.Failed++
			}
		}
		for _, n := range r.Notices {
			rep.Interruptions.Notices++
			for _, e := range n.Executors {
				if e.Decommissioned {
					rep.Interruptions.ExecutorsDecommissioned++
				}
				if e.Missed() {
					rep.Interruptions.DeadlineMisses++
				}
			}
		}
		rep.Shuffle.MigratedBytes += r.MigratedBytes
		rep.Shuffle.RecomputedBytes += r.RecomputedBytes
		switch r.Name {
		case RunOptimized:
			rep.Cost.Optimized += RunCost(r)
		case RunBaseline:
			rep.Cost.Baseline += RunCost(r)
		}
		rep.Nodes[r.Name] = TierUsages(r)
	}
	reactions := Reactions(d.Runs)
	rep.Interruptions.ReactionP50Seconds = round(Percentile(reactions, 50), 3)
	rep.Interruptions.ReactionP99Seconds = round(Percentile(reactions, 99), 3)
	if rep.Cost.Baseline > 0 {
		rep.Cost.Ratio = round(rep.Cost.Optimized/rep.Cost.Baseline, 3)
	}
	rep.Cost.Optimized = round(rep.Cost.Optimized, 4)
	rep.Cost.Baseline = round(rep.Cost.Baseline, 4)
	return rep
}
