package demo

import (
	"math"
	"slices"
	"sort"
	"time"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/emulator"
)

// Run names: the two runs of a demo.
const (
	RunOptimized = "optimized"
	RunBaseline  = "baseline"
	// RunAblated is the optimized run again with components switched off
	// (--ablate); it replaces the baseline.
	RunAblated = "ablated"
)

// SourceModel marks a figure that comes from a model rather than from the
// cluster (report.json "source", report.html's marker).
const SourceModel = "model"

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
	// NoticeVia is how notices were delivered (one of NoticeVias).
	NoticeVia string `json:"noticeVia"`
	// Ablated names the components the ablated run switched off.
	Ablated []string `json:"ablated,omitempty"`
	// SpotPriceFactor is the spot / on-demand price ratio of the price file
	// (0 when it is not one ratio for every offering).
	SpotPriceFactor float64 `json:"spotPriceFactor"`
	// ShuffleModel is the emulator's model behind the shuffle figures.
	ShuffleModel ShuffleModel `json:"shuffleModel"`
}

// ShuffleModel holds the parameters of the emulator's shuffle model.
type ShuffleModel struct {
	// MigrationBytesPerSecond: one executor hands on one block at a time at
	// this rate, in model time.
	MigrationBytesPerSecond int64 `json:"migrationBytesPerSecond"`
	// TimeScale is model seconds per real second (a grace period of g real
	// seconds gives g × TimeScale model seconds of migration).
	TimeScale float64 `json:"timeScale"`
}

// DefaultShuffleModel is the emulator's default model (the demo's
// applications do not change it).
func DefaultShuffleModel() ShuffleModel {
	return ShuffleModel{MigrationBytesPerSecond: emulator.DefaultMigrationBytesPerSecond, TimeScale: emulator.DefaultTimeScale}
}

// ShuffleAccount is what became of the shuffle output the executors of
// noticed nodes held when they left: HeldBytes = MigratedBytes +
// FallbackBytes + RecomputedBytes + UnreadBytes, each block counted once.
type ShuffleAccount struct {
	Executors       int   `json:"executors"`
	HeldBytes       int64 `json:"heldBytes"`
	MigratedBytes   int64 `json:"migratedBytes"`
	FallbackBytes   int64 `json:"fallbackBytes"`
	RecomputedBytes int64 `json:"recomputedBytes"`
	UnreadBytes     int64 `json:"unreadBytes"`
}

func (a *ShuffleAccount) add(b ShuffleAccount) {
	a.Executors += b.Executors
	a.HeldBytes += b.HeldBytes
	a.MigratedBytes += b.MigratedBytes
	a.FallbackBytes += b.FallbackBytes
	a.RecomputedBytes += b.RecomputedBytes
	a.UnreadBytes += b.UnreadBytes
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
	FallbackBytes   int64 `json:"fallbackBytes"`
	// NoticedShuffle accounts the shuffle output of the noticed nodes'
	// executors.
	NoticedShuffle ShuffleAccount `json:"noticedShuffle"`
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
	FallbackBytes           int64     `json:"fallbackBytes"`
	// Images are the application's images with the platforms the registry
	// gave at submission (status.resolution.images); ExcludedTiers the
	// executor tiers left out for an architecture the image lacks.
	Images        []v1alpha1.ImagePlatforms `json:"images,omitempty"`
	ExcludedTiers []string                  `json:"excludedTiers,omitempty"`
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
	// Reaction is the time from the notice to the executor's delete as a
	// watch saw it: its graceful delete, or (Source lost) its removal; zero
	// while it has not been deleted.
	Reaction time.Duration `json:"reaction"`
	// Decommissioned is true when a graceful delete was seen, whoever made it.
	Decommissioned bool `json:"decommissioned"`
	// Source is who deleted it: SourceSparkplane, SourceKarpenter,
	// SourceOther or SourceLost; "" while it has not been deleted.
	Source string `json:"source"`
}

// Missed reports whether the executor did not get its graceful delete within
// DecommissionBudget of the notice.
func (d Decommission) Missed() bool { return !d.Decommissioned || d.Reaction > DecommissionBudget }

// Report is report.json. Figures that come from a model rather than from the
// cluster sit in sections with "source": "model".
//
// A multi-cluster demo (`demo --clusters 2`) fills Applications and
// Clusters only; the single-cluster sections are then left out.
type Report struct {
	Applications  ApplicationsReport  `json:"applications"`
	Interruptions InterruptionsReport `json:"interruptions,omitzero"`
	Shuffle       ShuffleReport       `json:"shuffle,omitzero"`
	Cost          CostReport          `json:"cost,omitzero"`
	// Nodes holds, for each run, each node pool's node count and node-hours.
	Nodes map[string]map[string]TierUsage `json:"nodes,omitempty"`
	// Ablation compares the optimized run with the ablated one (--ablate).
	Ablation *AblationReport `json:"ablation,omitempty"`
	// Images lists, per run and application, the platforms the registry
	// gave for its images at submission and the architectures of the nodes
	// its executors ran on (measured).
	Images ImagesReport `json:"images,omitzero"`
	// Clusters is the multi-cluster demo's account (demo --clusters 2).
	Clusters *ClustersReport `json:"clusters,omitempty"`
}

// ImagesReport is where the applications' images allowed their pods to run
// and where they ran.
type ImagesReport struct {
	Applications []ApplicationImages `json:"applications"`
	// ExecutorsOnMissingArchitecture counts executors that ran on a node
	// pool of an architecture their application's executor image lacks
	// (measured from the executors' nodes; 0 is the point).
	ExecutorsOnMissingArchitecture int `json:"executorsOnMissingArchitecture"`
}

// ApplicationImages is one application's images in one run.
type ApplicationImages struct {
	Run         string `json:"run"`
	Application string `json:"application"`
	// Images as status.resolution.images recorded them.
	Images []v1alpha1.ImagePlatforms `json:"images"`
	// ExcludedTiers are the executor tiers left out for an architecture
	// the executor image lacks.
	ExcludedTiers []string `json:"excludedTiers,omitempty"`
	// ExecutorArchitectures counts the application's executors by the
	// architecture of the node pool they ran on.
	ExecutorArchitectures map[string]int `json:"executorArchitectures"`
}

// AblationReport puts the optimized run and the same run with components
// switched off side by side.
type AblationReport struct {
	Without []string `json:"without"`
	// With and Ablated: each run's interruption, shuffle and outcome figures.
	With    RunFigures `json:"with"`
	Ablated RunFigures `json:"ablated"`
}

// RunFigures are one chaos run's figures.
type RunFigures struct {
	Run          string `json:"run"`
	Applications int    `json:"applications"`
	Failed       int    `json:"failed"`
	InterruptionFigures
	// Shuffle is the emulator's model's account of the noticed nodes'
	// executors.
	Shuffle       ShuffleAccount `json:"shuffle"`
	ShuffleSource string         `json:"shuffleSource"`
}

// ApplicationsReport counts the applications of both runs.
type ApplicationsReport struct {
	Total     int            `json:"total"`
	Succeeded int            `json:"succeeded"`
	Failed    int            `json:"failed"`
	ByProfile map[string]int `json:"byProfile"`
}

// InterruptionsReport sums the notices the demo delivered. The top-level
// figures count every executor of a noticed node, whoever deleted it:
// ExecutorsDecommissioned and the reaction percentiles every graceful delete,
// DeadlineMisses every executor without a graceful delete inside
// DecommissionBudget. BySource splits them by who deleted each executor.
type InterruptionsReport struct {
	InterruptionFigures
	// NoticeVia is how notices were delivered.
	NoticeVia string `json:"noticeVia"`
}

// InterruptionFigures are the interruption figures of chaos runs.
type InterruptionFigures struct {
	Notices                 int     `json:"notices"`
	ExecutorsDecommissioned int     `json:"executorsDecommissioned"`
	ReactionP50Seconds      float64 `json:"reactionP50Seconds"`
	ReactionP99Seconds      float64 `json:"reactionP99Seconds"`
	DeadlineMisses          int     `json:"deadlineMisses"`
	// BySource has one entry per source in Sources, always all four.
	BySource map[string]SourceReport `json:"bySource"`
}

// SourceReport is one source's share of the executors of noticed nodes.
type SourceReport struct {
	Executors int `json:"executors"`
	// Reaction percentiles from the notice to the delete (for lost: to the
	// pod's removal).
	ReactionP50Seconds float64 `json:"reactionP50Seconds"`
	ReactionP99Seconds float64 `json:"reactionP99Seconds"`
	DeadlineMisses     int     `json:"deadlineMisses"`
}

// ShuffleReport totals shuffle blocks migrated and recomputed in the
// optimized run. Every figure is the emulator's model (Source), with its
// parameters (Model): no real shuffle data moves on the local cluster.
type ShuffleReport struct {
	MigratedBytes   int64 `json:"migratedBytes"`
	RecomputedBytes int64 `json:"recomputedBytes"`
	FallbackBytes   int64 `json:"fallbackBytes"`
	// NoticedNodes accounts the executors of noticed nodes alone.
	NoticedNodes ShuffleAccount `json:"noticedNodes"`
	Source       string         `json:"source"`
	Model        ShuffleModel   `json:"model"`
}

// CostReport compares the two runs' node cost: node lifetimes measured on
// the cluster times prices from the price file, whose spot prices are the
// on-demand list price times SpotPriceFactor (a fixed factor, not market
// data), hence Source model.
type CostReport struct {
	Optimized       float64 `json:"optimized"`
	Baseline        float64 `json:"baseline"`
	Ratio           float64 `json:"ratio"`
	Currency        string  `json:"currency"`
	PriceSource     string  `json:"priceSource"`
	SpotPriceFactor float64 `json:"spotPriceFactor"`
	Source          string  `json:"source"`
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

// BySource splits the executors of the runs' noticed nodes by who deleted
// them; every source in Sources has an entry.
func BySource(runs []RunResult) map[string]SourceReport {
	reactions := map[string][]float64{}
	out := map[string]SourceReport{}
	for _, s := range Sources {
		out[s] = SourceReport{}
	}
	for _, r := range runs {
		for _, n := range r.Notices {
			for _, d := range n.Executors {
				if d.Source == "" {
					continue
				}
				s := out[d.Source]
				s.Executors++
				if d.Missed() {
					s.DeadlineMisses++
				}
				out[d.Source] = s
				reactions[d.Source] = append(reactions[d.Source], d.Reaction.Seconds())
			}
		}
	}
	for source, s := range out {
		s.ReactionP50Seconds = round(Percentile(reactions[source], 50), 3)
		s.ReactionP99Seconds = round(Percentile(reactions[source], 99), 3)
		out[source] = s
	}
	return out
}

// BuildReport computes report.json from what the demo observed. The
// interruption and shuffle sections are the optimized run's; with an
// ablated run, Ablation sets the two side by side.
func BuildReport(d Demo) Report {
	rep := Report{
		Applications: ApplicationsReport{ByProfile: map[string]int{}},
		Cost:         CostReport{Currency: d.Currency, PriceSource: d.PriceSource, SpotPriceFactor: d.SpotPriceFactor, Source: SourceModel},
		Nodes:        map[string]map[string]TierUsage{},
		Shuffle:      ShuffleReport{Source: SourceModel, Model: d.ShuffleModel},
	}
	var optimized []RunResult
	for _, r := range d.Runs {
		apps, missing := applicationImages(r)
		rep.Images.Applications = append(rep.Images.Applications, apps...)
		rep.Images.ExecutorsOnMissingArchitecture += missing
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
		switch r.Name {
		case RunOptimized:
			optimized = append(optimized, r)
			rep.Cost.Optimized += RunCost(r)
			rep.Shuffle.MigratedBytes += r.MigratedBytes
			rep.Shuffle.RecomputedBytes += r.RecomputedBytes
			rep.Shuffle.FallbackBytes += r.FallbackBytes
			rep.Shuffle.NoticedNodes.add(r.NoticedShuffle)
		case RunBaseline:
			rep.Cost.Baseline += RunCost(r)
		}
		rep.Nodes[r.Name] = TierUsages(r)
	}
	in := Figures(RunOptimized, optimized)
	rep.Interruptions = InterruptionsReport{InterruptionFigures: in.InterruptionFigures, NoticeVia: d.NoticeVia}
	if len(d.Ablated) > 0 {
		var ablated []RunResult
		for _, r := range d.Runs {
			if r.Name == RunAblated {
				ablated = append(ablated, r)
			}
		}
		rep.Ablation = &AblationReport{Without: d.Ablated, With: in, Ablated: Figures(RunAblated, ablated)}
	}
	if rep.Cost.Baseline > 0 {
		rep.Cost.Ratio = round(rep.Cost.Optimized/rep.Cost.Baseline, 3)
	}
	rep.Cost.Optimized = round(rep.Cost.Optimized, 4)
	rep.Cost.Baseline = round(rep.Cost.Baseline, 4)
	return rep
}

// Figures sums the interruption, shuffle and outcome figures of runs.
func Figures(name string, runs []RunResult) RunFigures {
	f := RunFigures{Run: name, ShuffleSource: SourceModel}
	for _, r := range runs {
		for _, a := range r.Apps {
			f.Applications++
			if a.State != "Succeeded" {
				f.Failed++
			}
		}
		for _, n := range r.Notices {
			f.Notices++
			for _, e := range n.Executors {
				if e.Decommissioned {
					f.ExecutorsDecommissioned++
				}
				if e.Missed() {
					f.DeadlineMisses++
				}
			}
		}
		f.Shuffle.add(r.NoticedShuffle)
	}
	reactions := Reactions(runs)
	f.ReactionP50Seconds = round(Percentile(reactions, 50), 3)
	f.ReactionP99Seconds = round(Percentile(reactions, 99), 3)
	f.BySource = BySource(runs)
	return f
}

// applicationImages lists the run's applications' images and where their
// executors ran, and counts the executors that ran on an architecture their
// image lacks.
func applicationImages(r RunResult) ([]ApplicationImages, int) {
	arch := map[string]string{}
	for _, t := range devcluster.ExecutorTiers {
		arch[t.NodePool] = t.Arch
	}
	byApp := map[string]map[string]int{}
	for _, e := range r.Executors {
		if byApp[e.App] == nil {
			byApp[e.App] = map[string]int{}
		}
		a := arch[e.NodePool]
		if a == "" {
			a = "other pool " + e.NodePool
		}
		byApp[e.App][a]++
	}
	out := make([]ApplicationImages, 0, len(r.Apps))
	missing := 0
	for _, a := range r.Apps {
		execs := byApp[a.Name]
		if execs == nil {
			execs = map[string]int{}
		}
		for _, img := range a.Images {
			if !slices.Contains(img.Roles, "executor") || img.UnknownReason != "" {
				continue
			}
			has := img.Architectures()
			for archName, n := range execs {
				if !slices.Contains(has, archName) {
					missing += n
				}
			}
		}
		out = append(out, ApplicationImages{Run: r.Name, Application: a.Name, Images: a.Images, ExcludedTiers: a.ExcludedTiers, ExecutorArchitectures: execs})
	}
	return out, missing
}
