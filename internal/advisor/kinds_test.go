package advisor

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// synthStage is one stage of a synthetic log: every task runs taskMs, the
// last one longTaskMs when set; per-task metrics as given.
type synthStage struct {
	tasks                     int
	taskMs, longTaskMs        int64
	cpuShare                  float64 // CPU time / run time; 0.9 when zero
	shuffleWrite, shuffleRead int64
	diskSpill, heap           int64
}

// synthApp describes a synthetic Spark application whose event log is
// written with the field names of Spark's JsonProtocol.
type synthApp struct {
	props            map[string]string
	sql              bool
	executors, cores int
	stages           []synthStage
	// idleMs keeps the executors alive with nothing to run after the stages.
	idleMs int64
}

// baseApp is large enough for high confidence (1200 tasks, 12000
// task-seconds, 4 executors, 12.5 minutes) and triggers no recommendation.
func baseApp() synthApp {
	return synthApp{
		props:     map[string]string{"spark.master": "k8s://https://kubernetes.default.svc", "spark.executor.memory": "8g", "spark.executor.cores": "4"},
		executors: 4, cores: 4,
		stages: []synthStage{
			{tasks: 800, taskMs: 10_000, shuffleWrite: 1 << 20},
			{tasks: 400, taskMs: 10_000, shuffleRead: 2 << 20},
		},
	}
}

func (s synthApp) log(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	emit := func(ev map[string]any) {
		data, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
		b.WriteByte('\n')
	}
	const t0 = int64(1_700_000_000_000)
	props := map[string]string{"spark.app.id": "spark-synth", "spark.app.name": "synth"}
	for k, v := range s.props {
		props[k] = v
	}
	emit(map[string]any{"Event": "SparkListenerLogStart", "Spark Version": "3.5.3"})
	emit(map[string]any{"Event": "SparkListenerEnvironmentUpdate", "JVM Information": map[string]string{}, "Spark Properties": props,
		"Hadoop Properties": map[string]string{}, "System Properties": map[string]string{}, "Metrics Properties": map[string]string{}, "Classpath Entries": map[string]string{}})
	emit(map[string]any{"Event": "SparkListenerApplicationStart", "App Name": "synth", "App ID": "spark-synth", "Timestamp": t0, "User": "spark"})
	for e := 1; e <= s.executors; e++ {
		emit(map[string]any{"Event": "SparkListenerExecutorAdded", "Timestamp": t0, "Executor ID": strconv.Itoa(e),
			"Executor Info": map[string]any{"Host": "10.0.0." + strconv.Itoa(e), "Total Cores": s.cores, "Log Urls": map[string]string{}}})
	}
	if s.sql {
		emit(map[string]any{"Event": "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart", "executionId": 0,
			"description": "q", "details": "", "physicalPlanDescription": "", "time": t0})
	}
	cur, taskID := t0+1000, 0
	slots := s.executors * s.cores
	for id, st := range s.stages {
		info := map[string]any{"Stage ID": id, "Stage Attempt ID": 0, "Stage Name": "stage", "Number of Tasks": st.tasks, "Submission Time": cur}
		emit(map[string]any{"Event": "SparkListenerStageSubmitted", "Stage Info": info, "Properties": map[string]string{}})
		free := make([]int64, slots)
		for i := range free {
			free[i] = cur
		}
		// Task starts and ends in time order (an end before a start at the
		// same moment), as the driver's listener bus writes them.
		type timed struct {
			at    int64
			start bool
			ev    map[string]any
		}
		var events []timed
		end := cur
		for i := 0; i < st.tasks; i++ {
			slot := 0
			for j := range free {
				if free[j] < free[slot] {
					slot = j
				}
			}
			d := st.taskMs
			if i == st.tasks-1 && st.longTaskMs > 0 {
				d = st.longTaskMs
			}
			launch := free[slot]
			free[slot] = launch + d
			end = max(end, launch+d)
			share := st.cpuShare
			if share == 0 {
				share = 0.9
			}
			exec := strconv.Itoa(slot/s.cores + 1)
			taskInfo := map[string]any{"Task ID": taskID, "Index": i, "Attempt": 0, "Launch Time": launch, "Executor ID": exec, "Host": "h",
				"Locality": "PROCESS_LOCAL", "Speculative": false, "Getting Result Time": 0, "Finish Time": launch + d, "Failed": false, "Killed": false}
			startInfo := map[string]any{}
			for k, v := range taskInfo {
				startInfo[k] = v
			}
			startInfo["Finish Time"] = 0
			events = append(events, timed{launch, true, map[string]any{"Event": "SparkListenerTaskStart", "Stage ID": id, "Stage Attempt ID": 0, "Task Info": startInfo}})
			ev := map[string]any{"Event": "SparkListenerTaskEnd", "Stage ID": id, "Stage Attempt ID": 0, "Task Type": "ResultTask",
				"Task End Reason": map[string]string{"Reason": "Success"}, "Task Info": taskInfo,
				"Task Metrics": map[string]any{
					"Executor Run Time": d, "Executor CPU Time": int64(float64(d) * share * 1e6), "JVM GC Time": 0,
					"Memory Bytes Spilled": st.diskSpill, "Disk Bytes Spilled": st.diskSpill,
					"Shuffle Read Metrics":  map[string]any{"Remote Bytes Read": st.shuffleRead, "Local Bytes Read": 0, "Fetch Wait Time": 0},
					"Shuffle Write Metrics": map[string]any{"Shuffle Bytes Written": st.shuffleWrite},
					"Input Metrics":         map[string]any{"Bytes Read": 0}, "Output Metrics": map[string]any{"Bytes Written": 0},
				}}
			if st.heap > 0 {
				ev["Task Executor Metrics"] = map[string]any{"JVMHeapMemory": st.heap, "JVMOffHeapMemory": 0}
			}
			events = append(events, timed{launch + d, false, ev})
			taskID++
		}
		sort.SliceStable(events, func(i, j int) bool {
			if events[i].at != events[j].at {
				return events[i].at < events[j].at
			}
			return !events[i].start && events[j].start
		})
		for _, e := range events {
			emit(e.ev)
		}
		info["Completion Time"] = end
		emit(map[string]any{"Event": "SparkListenerStageCompleted", "Stage Info": info})
		cur = end
	}
	emit(map[string]any{"Event": "SparkListenerApplicationEnd", "Timestamp": cur + s.idleMs})
	return b.Bytes()
}

func (s synthApp) analyze(t testing.TB) *Report {
	t.Helper()
	rep, err := AnalyzeReader(bytes.NewReader(s.log(t)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Parse; p.CorruptLines+p.UnknownEvents != 0 {
		t.Fatalf("the synthetic log does not read cleanly: %+v", p)
	}
	return rep
}

func findKind(rep *Report, kind string) *Recommendation {
	for i := range rep.Recommendations {
		if rep.Recommendations[i].Kind == kind {
			return &rep.Recommendations[i]
		}
	}
	return nil
}

// TestEveryRecommendationKind: for each kind the advisor has, a log built to
// trigger it gives that recommendation (pinned in testdata/golden/kinds, -update
// rewrites), and one built not to trigger it gives none of that kind.
func TestEveryRecommendationKind(t *testing.T) {
	cases := map[string]struct {
		trigger, quiet func(*synthApp)
	}{
		"oversubscription": {
			trigger: func(a *synthApp) { a.stages[0].cpuShare, a.stages[1].cpuShare = 0.2, 0.2 },
			quiet:   func(a *synthApp) { a.stages[0].cpuShare = 0.6 },
		},
		"executor-cores": {
			trigger: func(a *synthApp) { a.executors, a.cores, a.props["spark.executor.cores"] = 2, 8, "8" },
			quiet:   func(a *synthApp) { a.executors, a.cores, a.props["spark.executor.cores"] = 3, 5, "5" },
		},
		"executor-memory": {
			trigger: func(a *synthApp) { a.stages[0].heap = 1 << 30 },
			quiet:   func(a *synthApp) { a.stages[0].heap = 7 << 30 / 8 * 7 }, // 87.5%: neither near the limit nor far below
		},
		"spill": {
			trigger: func(a *synthApp) { a.stages[1].diskSpill = 4 << 20 },
			quiet:   func(a *synthApp) { a.stages[1].diskSpill = 64 << 10 },
		},
		"partitions": {
			trigger: func(a *synthApp) {
				a.sql, a.props["spark.sql.shuffle.partitions"] = true, "400"
				a.stages[0].taskMs, a.stages[1].taskMs = 50, 50
			},
			quiet: func(a *synthApp) { a.sql = true },
		},
		"skew": {
			trigger: func(a *synthApp) { a.stages[1].longTaskMs = 90_000 },
			quiet:   func(a *synthApp) { a.stages[1].longTaskMs = 40_000 },
		},
		"dynamic-allocation": {
			trigger: func(a *synthApp) { a.idleMs = 20 * 60_000 },
			quiet:   func(a *synthApp) { a.idleMs = 60_000 },
		},
		"shuffle-storage": {
			trigger: func(a *synthApp) { a.stages[0].shuffleWrite, a.stages[1].shuffleRead = 8<<20, 16<<20 },
			quiet:   func(a *synthApp) { a.stages[0].shuffleWrite, a.stages[1].shuffleRead = 4<<20, 8<<20 },
		},
	}
	if base := baseApp().analyze(t); len(base.Recommendations) != 0 {
		t.Fatalf("the base log must trigger nothing, got %+v", base.Recommendations)
	}
	for kind, tc := range cases {
		t.Run(kind, func(t *testing.T) {
			app := baseApp()
			tc.trigger(&app)
			rep := app.analyze(t)
			r := findKind(rep, kind)
			if r == nil {
				t.Fatalf("no %s recommendation; got %+v", kind, rep.Recommendations)
			}
			if r.Confidence == "" || r.EvidenceSize.Tasks == 0 {
				t.Errorf("%s carries no confidence or evidence size: %+v", kind, r)
			}
			got, err := json.MarshalIndent(r, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", "golden", "kinds", kind+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if diff := cmp.Diff(string(want), string(got)); diff != "" {
					t.Errorf("%s differs (-want +got); rerun with -update if intended:\n%s", path, diff)
				}
			}

			quiet := baseApp()
			tc.quiet(&quiet)
			if r := findKind(quiet.analyze(t), kind); r != nil {
				t.Errorf("the log built not to trigger %s gave: %s", kind, r.Summary)
			}
		})
	}
}

// TestPartitionAdviceFollowsTheApplication: an application that ran SQL is
// told about spark.sql.shuffle.partitions from its own setting; one that only
// used RDDs about spark.default.parallelism, from the task count its shuffle
// stages ran, never about the SQL setting it does not use.
func TestPartitionAdviceFollowsTheApplication(t *testing.T) {
	app := baseApp()
	app.stages[0].taskMs, app.stages[1].taskMs = 50, 50
	rdd := findKind(app.analyze(t), "partitions")
	if rdd == nil {
		t.Fatal("no partition advice for the RDD application")
	}
	if _, ok := rdd.SparkConf["spark.sql.shuffle.partitions"]; ok || rdd.SparkConf["spark.default.parallelism"] != "100" {
		t.Errorf("RDD application: conf %v, want only spark.default.parallelism 400 → 100 (4× fewer than the 400 tasks observed)", rdd.SparkConf)
	}
	if rdd.Evidence["partitionsFrom"] != "observed tasks of the largest shuffle stage" || rdd.Evidence["partitions"] != int64(400) {
		t.Errorf("RDD application evidence %v", rdd.Evidence)
	}

	app.sql = true
	sql := findKind(app.analyze(t), "partitions")
	if sql == nil || sql.SparkConf["spark.sql.shuffle.partitions"] != "50" || sql.Evidence["partitionsFrom"] != "Spark's default (not set in the log)" {
		t.Errorf("SQL application without the setting: %+v, want 200 → 50 from Spark's default", sql)
	}
	app.props["spark.sql.shuffle.partitions"] = "1000"
	sql = findKind(app.analyze(t), "partitions")
	if sql == nil || sql.SparkConf["spark.sql.shuffle.partitions"] != "250" || !strings.Contains(sql.Evidence["partitionsFrom"].(string), "the log's Spark properties") {
		t.Errorf("SQL application with the setting: %+v, want 1000 → 250 from the log", sql)
	}
}

// TestConfidence: the evidence thresholds, and what low confidence does to a
// memory change (an observation, no patch) compared with partition advice
// (kept, but left out of --emit-conf).
func TestConfidence(t *testing.T) {
	for name, tc := range map[string]struct {
		e    EvidenceSize
		want string
	}{
		"six tasks in a minute": {EvidenceSize{Tasks: 6, TaskSeconds: 106, Executors: 3, MinutesObserved: 1}, ConfidenceLow},
		"medium exactly":        {mediumEvidence, ConfidenceMedium},
		"many tasks, 1 minute":  {EvidenceSize{Tasks: 5000, TaskSeconds: 9000, Executors: 8, MinutesObserved: 1}, ConfidenceLow},
		"high exactly":          {highEvidence, ConfidenceHigh},
		"high but one executor": {EvidenceSize{Tasks: 5000, TaskSeconds: 9000, Executors: 1, MinutesObserved: 60}, ConfidenceMedium},
	} {
		if got := confidence(tc.e); got != tc.want {
			t.Errorf("%s: confidence(%+v) = %s, want %s", name, tc.e, got, tc.want)
		}
	}

	small := synthApp{
		props:     map[string]string{"spark.master": "k8s://x", "spark.executor.memory": "7g"},
		executors: 3, cores: 2,
		stages: []synthStage{{tasks: 6, taskMs: 17_000, heap: 940 << 20}},
	}
	rep := small.analyze(t)
	mem := findKind(rep, "executor-memory")
	if mem == nil || !mem.Observation || len(mem.SparkConf) != 0 || mem.Confidence != ConfidenceLow || mem.Actionable() {
		t.Fatalf("6 tasks in a minute: memory advice %+v, want a low-confidence observation without a patch", mem)
	}
	if patch := ConfPatch(rep); len(patch) != 0 {
		t.Errorf("--emit-conf patch %v from a low-confidence log, want none", patch)
	}
	var conf bytes.Buffer
	if err := WriteConf(&conf, []*Report{rep}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(conf.String(), "spark.executor.memory") {
		t.Errorf("--emit-conf printed the observation:\n%s", conf.String())
	}

	big := baseApp()
	big.stages[0].heap = 1 << 30
	rep = big.analyze(t)
	if mem := findKind(rep, "executor-memory"); mem == nil || mem.Observation || mem.Confidence != ConfidenceHigh || ConfPatch(rep)["spark.executor.memory"] != "1280m" {
		t.Errorf("12.5 minutes of 1200 tasks: memory advice %+v, patch %v; want a high-confidence patch to 1280m", mem, ConfPatch(rep))
	}
}
