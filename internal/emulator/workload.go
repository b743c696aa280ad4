package emulator

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"time"
)

// Conf keys that pick and shape an application's emulated workload. All are
// optional; docs/emulator.md lists them with their defaults.
const (
	ConfWorkload      = "spark.sparkplane.emulator.workload"
	ConfSeed          = "spark.sparkplane.emulator.seed"
	ConfJobs          = "spark.sparkplane.emulator.jobs"
	ConfStagesPerJob  = "spark.sparkplane.emulator.stagesPerJob"
	ConfTasksPerStage = "spark.sparkplane.emulator.tasksPerStage"
	ConfTaskDuration  = "spark.sparkplane.emulator.taskDuration"
	ConfShuffleBytes  = "spark.sparkplane.emulator.shuffleBytesPerTask"
	ConfTimeScale     = "spark.sparkplane.emulator.timeScale"
	ConfMigrationRate = "spark.sparkplane.emulator.migrationBytesPerSecond"
	ConfOutcome       = "spark.sparkplane.emulator.outcome"
	// ConfFallbackStoragePath is Spark's own key: when set, decommissioning
	// executors with no peer left put their blocks there.
	ConfFallbackStoragePath = "spark.storage.decommission.fallbackStorage.path"
	DefaultWorkloadName     = "medium"
	DefaultTimeScale        = 5.0
	// DefaultMigrationBytesPerSecond is ConfMigrationRate's default (256m).
	DefaultMigrationBytesPerSecond int64 = 256 << 20
)

// WorkloadParams shape a workload. Durations are model time: what the event
// log records; the emulator plays them TimeScale times faster.
type WorkloadParams struct {
	Name                string
	Seed                uint64
	Jobs                int
	StagesPerJob        int
	TasksPerStage       int
	TaskDuration        time.Duration
	ShuffleBytesPerTask int64
	// Fail makes the last stage of the first job fail, so the application
	// ends Failed.
	Fail bool
}

// workloadPresets are the named workloads of spark.sparkplane.emulator.workload.
var workloadPresets = map[string]WorkloadParams{
	"small":  {Jobs: 1, StagesPerJob: 2, TasksPerStage: 16, TaskDuration: 2 * time.Second, ShuffleBytesPerTask: 16 << 20},
	"medium": {Jobs: 1, StagesPerJob: 3, TasksPerStage: 48, TaskDuration: 3 * time.Second, ShuffleBytesPerTask: 64 << 20},
	"large":  {Jobs: 2, StagesPerJob: 3, TasksPerStage: 96, TaskDuration: 4 * time.Second, ShuffleBytesPerTask: 128 << 20},
}

// WorkloadParamsFromConf reads the spark.sparkplane.emulator.* keys. The seed
// defaults to a hash of the application name, so the same application gets
// the same workload in every run.
func WorkloadParamsFromConf(conf Conf, appName string) (WorkloadParams, error) {
	name := conf.String(DefaultWorkloadName, ConfWorkload)
	p, ok := workloadPresets[name]
	if !ok {
		return p, fmt.Errorf("%s=%q: want small, medium or large", ConfWorkload, name)
	}
	p.Name = name
	h := fnv.New64a()
	h.Write([]byte(appName))
	p.Seed = h.Sum64()
	if s, ok := conf.Get(ConfSeed); ok {
		var seed uint64
		if _, err := fmt.Sscan(s, &seed); err != nil {
			return p, fmt.Errorf("%s=%q: want a whole number of zero or more", ConfSeed, s)
		}
		p.Seed = seed
	}
	var err error
	for _, field := range []struct {
		key string
		ptr *int
		min int
	}{{ConfJobs, &p.Jobs, 1}, {ConfStagesPerJob, &p.StagesPerJob, 1}, {ConfTasksPerStage, &p.TasksPerStage, 1}} {
		if *field.ptr, err = conf.Int(field.key, *field.ptr); err != nil {
			return p, err
		}
		if *field.ptr < field.min || *field.ptr > 100000 {
			return p, fmt.Errorf("%s=%d: want a number from %d to 100000", field.key, *field.ptr, field.min)
		}
	}
	if p.TaskDuration, err = conf.Duration(ConfTaskDuration, p.TaskDuration.String(), time.Millisecond); err != nil {
		return p, err
	}
	if p.TaskDuration <= 0 {
		return p, fmt.Errorf("%s: want a positive time such as 3s", ConfTaskDuration)
	}
	if p.ShuffleBytesPerTask, err = conf.Bytes(ConfShuffleBytes, fmt.Sprint(p.ShuffleBytesPerTask), 1); err != nil {
		return p, err
	}
	switch outcome := conf.String("succeed", ConfOutcome); outcome {
	case "succeed":
	case "fail":
		p.Fail = true
	default:
		return p, fmt.Errorf("%s=%q: want succeed or fail", ConfOutcome, outcome)
	}
	return p, nil
}

// Workload is an application's work: jobs run one after another, each a chain
// of stages where every stage but the last writes shuffle output that the
// next one reads.
type Workload struct {
	Params WorkloadParams
	Jobs   []JobSpec
}

// JobSpec is one Spark job.
type JobSpec struct {
	ID     int
	Stages []StageSpec
}

// StageSpec is one stage. A shuffle-map stage writes shuffle output; the
// last stage of a job is a result stage.
type StageSpec struct {
	ID         int
	Name       string
	ParentIDs  []int
	ShuffleMap bool
	Tasks      []TaskSpec
}

// TaskSpec is one task (one partition) of a stage.
type TaskSpec struct {
	Duration            time.Duration
	InputBytes          int64
	InputRecords        int64
	ShuffleWriteBytes   int64
	ShuffleWriteRecords int64
}

// ShuffleBytes is the stage's total shuffle output.
func (s StageSpec) ShuffleBytes() int64 {
	var total int64
	for _, t := range s.Tasks {
		total += t.ShuffleWriteBytes
	}
	return total
}

var stageNames = []string{"parquet at Ingest.scala:41", "groupBy at Transform.scala:88", "join at Transform.scala:132", "aggregate at Report.scala:57", "save at Report.scala:73"}

// NewWorkload draws a workload from its parameters. The same parameters give
// the same workload.
func NewWorkload(p WorkloadParams) *Workload {
	rng := rand.New(rand.NewPCG(p.Seed, p.Seed^0x9e3779b97f4a7c15))
	w := &Workload{Params: p}
	stageID := 0
	for j := 0; j < p.Jobs; j++ {
		job := JobSpec{ID: j}
		for s := 0; s < p.StagesPerJob; s++ {
			last := s == p.StagesPerJob-1
			stage := StageSpec{ID: stageID, Name: stageNames[min(s, len(stageNames)-2)], ShuffleMap: !last}
			if last {
				stage.Name = stageNames[len(stageNames)-1]
			}
			if s > 0 {
				stage.ParentIDs = []int{stageID - 1}
			}
			for t := 0; t < p.TasksPerStage; t++ {
				// Log-normal spread around the mean, as task times in real
				// stages are skewed.
				spread := math.Exp(rng.NormFloat64()*0.35 - 0.06)
				task := TaskSpec{Duration: time.Duration(float64(p.TaskDuration) * spread).Round(time.Millisecond)}
				if task.Duration < time.Millisecond {
					task.Duration = time.Millisecond
				}
				if s == 0 {
					task.InputBytes = int64(float64(p.ShuffleBytesPerTask) * 2 * spread)
					task.InputRecords = task.InputBytes / 100
				}
				if !last {
					task.ShuffleWriteBytes = int64(float64(p.ShuffleBytesPerTask) * math.Exp(rng.NormFloat64()*0.25-0.03))
					task.ShuffleWriteRecords = task.ShuffleWriteBytes / 100
				}
				stage.Tasks = append(stage.Tasks, task)
			}
			job.Stages = append(job.Stages, stage)
			stageID++
		}
		w.Jobs = append(w.Jobs, job)
	}
	return w
}

// TotalTaskTime is the sum of all task durations: the work with no losses.
func (w *Workload) TotalTaskTime() time.Duration {
	var total time.Duration
	for _, j := range w.Jobs {
		for _, s := range j.Stages {
			for _, t := range s.Tasks {
				total += t.Duration
			}
		}
	}
	return total
}
