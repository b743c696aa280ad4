package emulator

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWorkloadIsSeeded(t *testing.T) {
	p := workloadPresets["medium"]
	p.Seed = 7
	a, b := NewWorkload(p), NewWorkload(p)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("same seed, different workloads:\n%s", diff)
	}
	p.Seed = 8
	if c := NewWorkload(p); cmp.Equal(a, c) {
		t.Fatal("different seeds gave the same workload")
	}
	if len(a.Jobs) != 1 || len(a.Jobs[0].Stages) != 3 || len(a.Jobs[0].Stages[0].Tasks) != 48 {
		t.Fatalf("medium shape: %d jobs, stages %d, tasks %d", len(a.Jobs), len(a.Jobs[0].Stages), len(a.Jobs[0].Stages[0].Tasks))
	}
	last := a.Jobs[0].Stages[2]
	if last.ShuffleMap || last.ShuffleBytes() != 0 || !a.Jobs[0].Stages[0].ShuffleMap {
		t.Error("only the last stage of a job is a result stage without shuffle output")
	}
	// The mean task time stays near the preset's 3s.
	mean := a.TotalTaskTime() / time.Duration(3*48)
	if mean < 2500*time.Millisecond || mean > 3500*time.Millisecond {
		t.Errorf("mean task time %v, want about 3s", mean)
	}
}

func TestWorkloadParamsFromConf(t *testing.T) {
	conf := Conf{ConfWorkload: "small", ConfTasksPerStage: "5", ConfTaskDuration: "250ms", ConfShuffleBytes: "1m", ConfSeed: "42", ConfOutcome: "fail"}
	p, err := WorkloadParamsFromConf(conf, "app")
	if err != nil {
		t.Fatal(err)
	}
	want := WorkloadParams{Name: "small", Seed: 42, Jobs: 1, StagesPerJob: 2, TasksPerStage: 5, TaskDuration: 250 * time.Millisecond, ShuffleBytesPerTask: 1 << 20, Fail: true}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("params (-want +got):\n%s", diff)
	}
	a, _ := WorkloadParamsFromConf(Conf{}, "app-a")
	b, _ := WorkloadParamsFromConf(Conf{}, "app-b")
	if a.Seed == b.Seed {
		t.Error("the default seed does not depend on the application name")
	}
	for name, tc := range map[string]struct {
		conf Conf
		want string
	}{
		"unknown workload": {Conf{ConfWorkload: "huge"}, "small, medium or large"},
		"zero tasks":       {Conf{ConfTasksPerStage: "0"}, ConfTasksPerStage},
		"bad duration":     {Conf{ConfTaskDuration: "fast"}, ConfTaskDuration},
		"bad seed":         {Conf{ConfSeed: "-1"}, ConfSeed},
		"bad outcome":      {Conf{ConfOutcome: "maybe"}, "succeed or fail"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := WorkloadParamsFromConf(tc.conf, "app")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// smallWorkload: 2 stages × 8 tasks of exactly known size.
func smallWorkload() *Workload {
	p := WorkloadParams{Seed: 1, Jobs: 1, StagesPerJob: 2, TasksPerStage: 8, TaskDuration: time.Second, ShuffleBytesPerTask: 10 << 20}
	return NewWorkload(p)
}

func runToEnd(t *testing.T, e *Engine) {
	t.Helper()
	for i := 0; !e.Done(); i++ {
		next, ok := e.NextCompletion()
		if !ok || i > 10000 {
			t.Fatalf("engine stuck at %v (backlog %d)", e.Now(), e.Backlog())
		}
		e.Advance(next)
	}
	e.Finish()
}

func eventNames(events []any) map[string]int {
	counts := map[string]int{}
	for _, ev := range events {
		counts[eventName(ev)]++
	}
	return counts
}

func TestEngineRunsEveryTaskOnTheSlots(t *testing.T) {
	w := smallWorkload()
	e := NewEngine(w, 1_700_000_000_000, EngineOptions{})
	e.Start("app", "spark-1", "alice", "driver-svc", 2, 1024, Conf{"spark.app.name": "app"})
	e.AddExecutor("1", "10.0.0.1", 2)
	e.AddExecutor("2", "10.0.0.2", 2)
	if got := e.Backlog(); got != 8 {
		t.Errorf("backlog at start = %d, want 8 tasks", got)
	}
	runToEnd(t, e)
	names := eventNames(e.Drain())
	for name, want := range map[string]int{
		"SparkListenerTaskStart": 16, "SparkListenerTaskEnd": 16, "SparkListenerStageSubmitted": 2, "SparkListenerStageCompleted": 2,
		"SparkListenerJobStart": 1, "SparkListenerJobEnd": 1, "SparkListenerExecutorAdded": 2, "SparkListenerApplicationEnd": 1,
	} {
		if names[name] != want {
			t.Errorf("%s × %d, want %d", name, names[name], want)
		}
	}
	// 16 tasks of about 1s on 4 slots: about 4s, never less than the work / slots.
	if lower := w.TotalTaskTime() / 4; e.Now() < lower || e.Now() > 2*lower {
		t.Errorf("makespan %v for %v of work on 4 slots", e.Now(), w.TotalTaskTime())
	}
	if st := e.Stats(); st.MigratedBytes != 0 || st.RecomputedBytes != 0 || st.TasksSucceeded != 16 {
		t.Errorf("stats = %+v", st)
	}
}

func TestEngineExecutorLoss(t *testing.T) {
	cases := map[string]struct {
		kind           RemovalKind
		grace          time.Duration
		wantMigrated   bool
		wantRecomputed bool
	}{
		"decommissioned within the grace period migrates":                  {kind: Decommissioned, grace: 30 * time.Second, wantMigrated: true},
		"decommissioned with too short a grace period recomputes the rest": {kind: Decommissioned, grace: 100 * time.Millisecond, wantMigrated: true, wantRecomputed: true},
		"lost recomputes": {kind: Lost, grace: 30 * time.Second, wantRecomputed: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			w := smallWorkload()
			e := NewEngine(w, 0, EngineOptions{MigrationBytesPerSecond: 100 << 20})
			e.AddExecutor("1", "h1", 2)
			e.AddExecutor("2", "h2", 2)
			// Run until the map stage is done and the reduce stage started.
			for e.stages[0].active || !e.stages[0].complete {
				next, _ := e.NextCompletion()
				e.Advance(next)
			}
			held := int64(0)
			for p, holder := range e.stages[0].outputs {
				if holder == "1" {
					held += w.Jobs[0].Stages[0].Tasks[p].ShuffleWriteBytes
				}
			}
			if held == 0 {
				t.Fatal("executor 1 holds no map output")
			}
			e.RemoveExecutor("1", tc.kind, tc.grace, "test")
			e.AddExecutor("3", "h3", 2)
			runToEnd(t, e)
			st := e.Stats()
			if got := st.MigratedBytes > 0; got != tc.wantMigrated {
				t.Errorf("migrated %d bytes, want migration %v", st.MigratedBytes, tc.wantMigrated)
			}
			if got := st.RecomputedBytes > 0; got != tc.wantRecomputed {
				t.Errorf("recomputed %d bytes, want recomputation %v", st.RecomputedBytes, tc.wantRecomputed)
			}
			if st.MigratedBytes+st.RecomputedBytes != held {
				t.Errorf("migrated %d + recomputed %d != %d bytes held", st.MigratedBytes, st.RecomputedBytes, held)
			}
			if tc.wantRecomputed && st.RecomputeTaskTime <= 0 {
				t.Error("recomputation took no task time")
			}
			if !tc.wantRecomputed && st.RecomputeTaskTime != 0 {
				t.Errorf("no recomputation, but %v of recompute task time", st.RecomputeTaskTime)
			}
			events := e.Drain()
			attempts := 0
			for _, ev := range events {
				if s, ok := ev.(stageSubmittedEvent); ok && s.StageInfo.StageID == 0 {
					attempts++
					if s.StageInfo.StageAttemptID > 0 && (s.StageInfo.NumberOfTasks < 1 || s.StageInfo.NumberOfTasks >= 8) {
						t.Errorf("resubmitted attempt runs %d tasks, want only the lost partitions", s.StageInfo.NumberOfTasks)
					}
				}
			}
			if want := map[bool]int{true: 2, false: 1}[tc.wantRecomputed]; attempts != want {
				t.Errorf("map stage submitted %d times, want %d", attempts, want)
			}
			if eventNames(events)["SparkListenerExecutorRemoved"] != 1 {
				t.Error("no ExecutorRemoved event")
			}
			if e.Failed() {
				t.Error("application failed")
			}
		})
	}
}

func TestEngineRunningTasksOfALostExecutorRerun(t *testing.T) {
	w := smallWorkload()
	e := NewEngine(w, 0, EngineOptions{})
	e.AddExecutor("1", "h1", 2)
	e.AddExecutor("2", "h2", 2)
	e.Advance(10 * time.Millisecond)
	e.RemoveExecutor("1", Lost, 0, "gone")
	runToEnd(t, e)
	st := e.Stats()
	if st.TasksFailed != 2 || st.TasksSucceeded != 16 {
		t.Errorf("tasks failed %d succeeded %d, want 2 and 16", st.TasksFailed, st.TasksSucceeded)
	}
	var lost int
	for _, ev := range e.Drain() {
		if te, ok := ev.(taskEndEvent); ok && te.TaskEndReason.Reason == "ExecutorLostFailure" {
			lost++
			if te.TaskMetrics != nil || !te.TaskInfo.Failed {
				t.Error("a lost task carries metrics or is not marked failed")
			}
		}
	}
	if lost != 2 {
		t.Errorf("%d ExecutorLostFailure task ends, want 2", lost)
	}
}

func TestEngineFailOutcome(t *testing.T) {
	p := smallWorkload().Params
	p.Fail = true
	e := NewEngine(NewWorkload(p), 0, EngineOptions{})
	e.AddExecutor("1", "h1", 4)
	runToEnd(t, e)
	if !e.Failed() {
		t.Fatal("outcome=fail did not fail the application")
	}
	var end jobEndEvent
	for _, ev := range e.Drain() {
		if je, ok := ev.(jobEndEvent); ok {
			end = je
		}
	}
	if end.JobResult.Result != "JobFailed" || end.JobResult.Exception == nil {
		t.Errorf("job end = %+v", end)
	}
}

func TestEngineIsDeterministic(t *testing.T) {
	run := func() []any {
		e := NewEngine(smallWorkload(), 5, EngineOptions{})
		e.AddExecutor("1", "h1", 2)
		e.AddExecutor("2", "h2", 3)
		e.Advance(1500 * time.Millisecond)
		e.RemoveExecutor("2", Lost, 0, "x")
		e.AddExecutor("3", "h3", 1)
		runToEnd(t, e)
		return e.Drain()
	}
	if diff := cmp.Diff(run(), run(), cmp.AllowUnexported(taskEndEvent{})); diff != "" {
		t.Fatalf("two runs differ:\n%s", diff)
	}
}
