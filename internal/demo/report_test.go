package demo

import (
	"bytes"
	"encoding/json"
	"flag"
	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var t0 = time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)

func at(seconds float64) time.Time { return t0.Add(time.Duration(seconds * float64(time.Second))) }

// fixture is a small demo: an optimized run with two notices (one executor
// of the second notice missed its deadline) and a baseline run.
func fixture() Demo {
	opt := RunResult{Name: RunOptimized, Profile: "cost-optimized", Start: at(0), End: at(120),
		Nodes: []NodeLife{
			{Name: "arm-1", NodePool: "arm64-spot", InstanceType: "m7g.2xlarge", CapacityType: "spot", Zone: "us-east-1a", Created: at(5), Deleted: at(65), PricePerHour: 0.11424},
			{Name: "arm-2", NodePool: "arm64-spot", InstanceType: "m7g.2xlarge", CapacityType: "spot", Zone: "us-east-1a", Created: at(6), Deleted: at(120), PricePerHour: 0.11424},
			{Name: "x86-1", NodePool: "amd64-spot", InstanceType: "m7i.2xlarge", CapacityType: "spot", Zone: "us-east-1a", Created: at(30), Deleted: at(110), PricePerHour: 0.14112},
			{Name: "drv-1", NodePool: "driver", InstanceType: "m7g.xlarge", CapacityType: "on-demand", Zone: "us-east-1a", Created: at(2), Deleted: at(120), PricePerHour: 0.1632},
		},
		Executors: []ExecutorLife{
			{Pod: "a-exec-1", App: "small-py-01", Node: "arm-1", NodePool: "arm64-spot", Start: at(10), End: at(60)},
			{Pod: "a-exec-2", App: "small-py-01", Node: "arm-2", NodePool: "arm64-spot", Start: at(10), End: at(100)},
			{Pod: "a-exec-3", App: "small-py-01", Node: "x86-1", NodePool: "amd64-spot", Start: at(61), End: at(100)},
		},
		Apps: []AppResult{
			{Name: "small-py-01", Profile: "cost-optimized", Type: "Python", Size: "small", State: "Succeeded", AppID: "spark-1", EventLog: "eventlogs/spark-1",
				Submitted: at(1), Finished: at(101), ExecutorsCreated: 3, ExecutorsDecommissioned: 1, MigratedBytes: 3 << 30, Images: multiArch},
			{Name: "large-scala-02", Profile: "cost-optimized", Type: "Scala", Size: "large", State: "Failed", AppID: "spark-2",
				Submitted: at(2), Finished: at(90), ExecutorsCreated: 4, ExecutorsLost: 1, RecomputedBytes: 512 << 20,
				Images: amd64Only, ExcludedTiers: []string{"arm64-spot", "arm64-on-demand"}},
		},
		Notices: []Notice{
			{Node: "arm-1", NodePool: "arm64-spot", At: at(60), Executors: []Decommission{{Pod: "a-exec-1", Reaction: 150 * time.Millisecond, Decommissioned: true, Source: SourceSparkplane}}},
			{Node: "x86-1", NodePool: "amd64-spot", At: at(100), Executors: []Decommission{
				{Pod: "b-exec-1", Reaction: 250 * time.Millisecond, Decommissioned: true, Source: SourceSparkplane},
				{Pod: "b-exec-2", Reaction: 400 * time.Millisecond, Decommissioned: true, Source: SourceKarpenter},
				{Pod: "b-exec-3", Reaction: 2 * time.Second, Source: SourceLost},
			}},
		},
		MigratedBytes: 3 << 30, RecomputedBytes: 512 << 20,
		NoticedShuffle: ShuffleAccount{Executors: 3, HeldBytes: 3<<30 + 512<<20, MigratedBytes: 3 << 30, RecomputedBytes: 512 << 20},
	}
	base := RunResult{Name: RunBaseline, Profile: BaselineProfileName, Start: at(200), End: at(310),
		Nodes: []NodeLife{
			{Name: "od-1", NodePool: "amd64-on-demand", InstanceType: "m7i.4xlarge", CapacityType: "on-demand", Zone: "us-east-1a", Created: at(205), Deleted: at(310), PricePerHour: 0.8064},
			{Name: "drv-2", NodePool: "driver", InstanceType: "m7i.xlarge", CapacityType: "on-demand", Zone: "us-east-1a", Created: at(202), Deleted: at(310), PricePerHour: 0.2016},
		},
		Executors: []ExecutorLife{{Pod: "a-exec-1", App: "small-py-01", Node: "od-1", NodePool: "amd64-on-demand", Start: at(210), End: at(300)}},
		Apps: []AppResult{
			{Name: "small-py-01", Profile: BaselineProfileName, Type: "Python", Size: "small", State: "Succeeded", AppID: "spark-3", EventLog: "eventlogs/spark-3", Submitted: at(201), Finished: at(300), ExecutorsCreated: 2},
			{Name: "large-scala-02", Profile: BaselineProfileName, Type: "Scala", Size: "large", State: "Succeeded", AppID: "spark-4", Submitted: at(202), Finished: at(305), ExecutorsCreated: 4},
		},
	}
	return Demo{Seed: 7, Apps: 2, Currency: "USD", PriceSource: "internal/devcluster/instance-types.json", StartedAt: t0.Add(-20 * time.Second), FinishedAt: at(330), Runs: []RunResult{opt, base},
		NoticeVia: NoticeViaKarpenter, SpotPriceFactor: 0.35, ShuffleModel: DefaultShuffleModel()}
}

var (
	multiArch = []v1alpha1.ImagePlatforms{{Roles: []string{"driver", "executor"}, Image: "127.0.0.1:5000/spark:3.5.3-multiarch", Digest: "sha256:aa", Platforms: []string{"linux/amd64", "linux/arm64"}}}
	amd64Only = []v1alpha1.ImagePlatforms{{Roles: []string{"driver", "executor"}, Image: "127.0.0.1:5000/spark:3.5.3-amd64", Digest: "sha256:bb", Platforms: []string{"linux/amd64"}}}
)

func TestBuildReport(t *testing.T) {
	got := BuildReport(fixture())
	// Costs by hand: hours × price.
	optimized := 60.0/3600*0.11424 + 114.0/3600*0.11424 + 80.0/3600*0.14112 + 118.0/3600*0.1632
	baseline := 105.0/3600*0.8064 + 108.0/3600*0.2016
	want := Report{
		Applications: ApplicationsReport{Total: 4, Succeeded: 3, Failed: 1, ByProfile: map[string]int{"cost-optimized": 2, BaselineProfileName: 2}},
		Interruptions: InterruptionsReport{InterruptionFigures: InterruptionFigures{Notices: 2, ExecutorsDecommissioned: 3, ReactionP50Seconds: 0.25, ReactionP99Seconds: 0.4, DeadlineMisses: 1,
			BySource: map[string]SourceReport{
				SourceSparkplane: {Executors: 2, ReactionP50Seconds: 0.15, ReactionP99Seconds: 0.25},
				SourceKarpenter:  {Executors: 1, ReactionP50Seconds: 0.4, ReactionP99Seconds: 0.4},
				SourceOther:      {},
				SourceLost:       {Executors: 1, ReactionP50Seconds: 2, ReactionP99Seconds: 2, DeadlineMisses: 1},
			}}, NoticeVia: NoticeViaKarpenter},
		Shuffle: ShuffleReport{MigratedBytes: 3 << 30, RecomputedBytes: 512 << 20, Source: SourceModel, Model: ShuffleModel{MigrationBytesPerSecond: 256 << 20, TimeScale: 5},
			NoticedNodes: ShuffleAccount{Executors: 3, HeldBytes: 3<<30 + 512<<20, MigratedBytes: 3 << 30, RecomputedBytes: 512 << 20}},
		Cost: CostReport{Optimized: round(optimized, 4), Baseline: round(baseline, 4), Ratio: round(optimized/baseline, 3),
			Currency: "USD", PriceSource: "internal/devcluster/instance-types.json", SpotPriceFactor: 0.35, Source: SourceModel},
		Images: ImagesReport{Applications: []ApplicationImages{
			{Run: RunOptimized, Application: "small-py-01", Images: multiArch, ExecutorArchitectures: map[string]int{"arm64": 2, "amd64": 1}},
			{Run: RunOptimized, Application: "large-scala-02", Images: amd64Only, ExcludedTiers: []string{"arm64-spot", "arm64-on-demand"}, ExecutorArchitectures: map[string]int{}},
			{Run: RunBaseline, Application: "small-py-01", ExecutorArchitectures: map[string]int{"amd64": 1}},
			{Run: RunBaseline, Application: "large-scala-02", ExecutorArchitectures: map[string]int{}},
		}},
		Nodes: map[string]map[string]TierUsage{
			RunOptimized: {
				"arm64-spot": {Count: 2, NodeHours: round(174.0/3600, 4)},
				"amd64-spot": {Count: 1, NodeHours: round(80.0/3600, 4)},
				"driver":     {Count: 1, NodeHours: round(118.0/3600, 4)},
			},
			RunBaseline: {
				"amd64-on-demand": {Count: 1, NodeHours: round(105.0/3600, 4)},
				"driver":          {Count: 1, NodeHours: round(108.0/3600, 4)},
			},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("BuildReport (-want +got):\n%s", diff)
	}
}

// TestReportJSONFields keeps report.json's field names, a contract of the
// issue, exactly as they are.
func TestReportJSONFields(t *testing.T) {
	data, err := json.Marshal(BuildReport(fixture()))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"applications":  {"byProfile", "failed", "succeeded", "total"},
		"interruptions": {"bySource", "deadlineMisses", "executorsDecommissioned", "noticeVia", "notices", "reactionP50Seconds", "reactionP99Seconds"},
		"shuffle":       {"fallbackBytes", "migratedBytes", "model", "noticedNodes", "recomputedBytes", "source"},
		"cost":          {"baseline", "currency", "optimized", "priceSource", "ratio", "source", "spotPriceFactor"},
		"nodes":         {RunBaseline, RunOptimized},
		"images":        {"applications", "executorsOnMissingArchitecture"},
	}
	keys := map[string][]string{}
	for section, fields := range got {
		for f := range fields {
			keys[section] = append(keys[section], f)
		}
	}
	for section := range keys {
		sortStrings(keys[section])
	}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("report.json fields (-want +got):\n%s", diff)
	}
	for _, src := range Sources {
		for _, f := range []string{"executors", "reactionP50Seconds", "reactionP99Seconds"} {
			if _, ok := got["interruptions"]["bySource"].(map[string]any)[src].(map[string]any)[f]; !ok {
				t.Errorf("interruptions.bySource.%s has no %s: %s", src, f, data)
			}
		}
	}
	if got["shuffle"]["source"] != SourceModel || got["cost"]["source"] != SourceModel {
		t.Errorf("shuffle and cost come from models and must say so: %s", data)
	}
	if _, ok := got["nodes"][RunOptimized].(map[string]any)["arm64-spot"].(map[string]any)["nodeHours"]; !ok {
		t.Errorf("nodes.optimized.arm64-spot has no nodeHours: %s", data)
	}
}

// TestAblationReport: with an ablated run, the report sets the two chaos
// runs side by side and leaves the ablated run out of the top-level
// interruption figures.
func TestAblationReport(t *testing.T) {
	d := fixture()
	d.Runs = d.Runs[:1]
	ablated := d.Runs[0]
	ablated.Name = RunAblated
	ablated.Notices = []Notice{{Node: "arm-9", At: at(60), Executors: []Decommission{
		{Pod: "a-exec-1", Reaction: 118 * time.Second, Decommissioned: true, Source: SourceKarpenter},
		{Pod: "a-exec-2", Reaction: 120 * time.Second, Source: SourceLost},
	}}}
	ablated.NoticedShuffle = ShuffleAccount{Executors: 2, HeldBytes: 1 << 30, RecomputedBytes: 1 << 30}
	d.Runs = append(d.Runs, ablated)
	d.Ablated = []string{AblateInterruption}
	rep := BuildReport(d)
	if rep.Ablation == nil {
		t.Fatal("no ablation section")
	}
	with, without := rep.Ablation.With, rep.Ablation.Ablated
	if with.Notices != 2 || without.Notices != 1 || rep.Interruptions.Notices != 2 {
		t.Errorf("notices: with %d, ablated %d, top level %d; want 2, 1 and 2 (the optimized run's)", with.Notices, without.Notices, rep.Interruptions.Notices)
	}
	if without.DeadlineMisses != 2 || without.BySource[SourceLost].Executors != 1 || without.BySource[SourceKarpenter].Executors != 1 || without.BySource[SourceSparkplane].Executors != 0 {
		t.Errorf("ablated figures %+v", without)
	}
	if without.Shuffle.RecomputedBytes != 1<<30 || with.Shuffle.MigratedBytes != 3<<30 {
		t.Errorf("shuffle: with %+v, ablated %+v", with.Shuffle, without.Shuffle)
	}
	table := strings.Join(AblationTable(*rep.Ablation), "\n")
	for _, want := range []string{"with interruption", "without", "deleted by sparkplane", "deadline misses", "1.0 GiB"} {
		if !strings.Contains(table, want) {
			t.Errorf("ablation table lacks %q:\n%s", want, table)
		}
	}
	var page bytes.Buffer
	if err := RenderHTML(&page, d, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.String(), "Ablation: without interruption") {
		t.Error("report.html has no ablation section")
	}
}

func sortStrings(s []string) {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
}

func TestPercentile(t *testing.T) {
	cases := map[string]struct {
		values []float64
		p      float64
		want   float64
	}{
		"none":              {nil, 50, 0},
		"one":               {[]float64{3}, 99, 3},
		"median of odd":     {[]float64{5, 1, 3}, 50, 3},
		"median of even":    {[]float64{4, 1, 3, 2}, 50, 2},
		"p99 of 100":        {seq(100), 99, 99},
		"p99 of 10 is max":  {seq(10), 99, 10},
		"p100 is max":       {[]float64{2, 9, 4}, 100, 9},
		"tiny p is the min": {[]float64{2, 9, 4}, 0.1, 2},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := Percentile(tc.values, tc.p); got != tc.want {
				t.Errorf("Percentile(%v, %v) = %v, want %v", tc.values, tc.p, got, tc.want)
			}
		})
	}
}

func seq(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[n-1-i] = float64(i + 1)
	}
	return out
}

func TestDecommissionMissed(t *testing.T) {
	cases := map[string]struct {
		d    Decommission
		want bool
	}{
		"fast":           {Decommission{Decommissioned: true, Reaction: time.Second}, false},
		"at the budget":  {Decommission{Decommissioned: true, Reaction: DecommissionBudget}, false},
		"after budget":   {Decommission{Decommissioned: true, Reaction: DecommissionBudget + time.Millisecond}, true},
		"never graceful": {Decommission{}, true},
	}
	for name, tc := range cases {
		if got := tc.d.Missed(); got != tc.want {
			t.Errorf("%s: Missed() = %v, want %v", name, got, tc.want)
		}
	}
}

func TestCountSeries(t *testing.T) {
	got := CountSeries([]Interval{
		{Group: "a", Start: at(1), End: at(5)},
		{Group: "a", Start: at(3), End: at(5)},
		{Group: "a", Start: at(5), End: at(8)}, // starts as two end: 1 at t=5
		{Group: "b", Start: at(2), End: at(1)}, // ends before it starts: ignored
	}, t0)
	want := map[string][]Step{"a": {{0, 0}, {1, 1}, {3, 2}, {5, 1}, {8, 0}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CountSeries (-want +got):\n%s", diff)
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 3 << 30: "3.0 GiB", 1536 << 20: "1.5 GiB"} {
		if got := HumanBytes(n); got != want {
			t.Errorf("HumanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestReportGolden renders report.json and report.html from the fixture and
// compares them with testdata (go test ./internal/demo -update rewrites them).
func TestReportGolden(t *testing.T) {
	d := fixture()
	rep := BuildReport(d)
	jsonData, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	if err := RenderHTML(&page, d, rep); err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]byte{"report.golden.json": append(jsonData, '\n'), "report.golden.html": page.Bytes()} {
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./internal/demo -update to write it)", err)
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("%s differs (-want +got; -update rewrites it):\n%s", name, diff)
		}
	}
}

// TestReportHTMLSelfContained: the page loads nothing and runs nothing, and
// shows what the issue asks for.
func TestReportHTMLSelfContained(t *testing.T) {
	d := fixture()
	var page bytes.Buffer
	if err := RenderHTML(&page, d, BuildReport(d)); err != nil {
		t.Fatal(err)
	}
	html := page.String()
	for _, forbidden := range []string{"<script", "<link", "<img", "<iframe", "@import", "url("} {
		if strings.Contains(strings.ToLower(html), forbidden) {
			t.Errorf("report.html contains %q: it must be self-contained", forbidden)
		}
	}
	// The only absolute URL allowed is the SVG namespace.
	for _, m := range regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+[^"' <]*`).FindAllString(html, -1) {
		if m != "http://www.w3.org/2000/svg" {
			t.Errorf("report.html refers to %q", m)
		}
	}
	for _, want := range []string{
		"Nodes by tier over time", "Executors by tier over time", "Interruptions (optimized run)", "Cost", "Applications",
		`<a href="eventlogs/spark-1" title="spark-1">spark-1</a>`, "x86-1", "1 missed", "USD",
		"Who deleted the executors of noticed nodes", "sparkplane 1, karpenter 1, lost 1", `<span class="model">model</span>`, "Legend:", "a 65% spot discount",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if n := strings.Count(html, "<svg"); n != 6 {
		t.Errorf("report.html has %d charts, want 6 (nodes and executors per run, timeline, cost)", n)
	}
}

// TestExecutorsOnMissingArchitecture: an executor of an amd64-only image on
// an arm64 pool is counted; one of a two-platform image is not.
func TestExecutorsOnMissingArchitecture(t *testing.T) {
	r := RunResult{Name: RunOptimized,
		Executors: []ExecutorLife{
			{Pod: "x-1", App: "amd64", NodePool: "arm64-spot"},
			{Pod: "x-2", App: "amd64", NodePool: "amd64-spot"},
			{Pod: "y-1", App: "multi", NodePool: "arm64-spot"},
		},
		Apps: []AppResult{{Name: "amd64", Images: amd64Only}, {Name: "multi", Images: multiArch}},
	}
	apps, missing := applicationImages(r)
	if missing != 1 {
		t.Errorf("executors on a missing architecture = %d, want 1 (x-1)", missing)
	}
	if got := apps[0].ExecutorArchitectures; got["arm64"] != 1 || got["amd64"] != 1 {
		t.Errorf("amd64 app's executor architectures = %v", got)
	}
}
