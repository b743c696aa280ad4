package advisor

// The types in this file are the JSON schema of `sparkplane advise -o json`
// (an array of Report). docs/advisor.md documents every field; the names are a
// contract: add fields, never rename or remove one.

// Report is the analysis of one Spark application's event log.
type Report struct {
	// Source is the path the log was read from: a file or a rolling event
	// log folder.
	Source string `json:"source"`
	// Files are the files read, in order (one, or the parts of a rolling log).
	Files []string `json:"files"`
	// Codec is how the log was compressed: none, lz4, snappy or zstd.
	Codec string `json:"codec"`

	Application     Application       `json:"application"`
	Config          map[string]string `json:"sparkConf"`
	Totals          Totals            `json:"totals"`
	Measures        Measures          `json:"measures"`
	Recommendations []Recommendation  `json:"recommendations"`
	Parse           ParseStats        `json:"parse"`

	// TaskTime is the histogram TaskDurationMs summarises, by power of two
	// of milliseconds, for the HTML report's chart; not part of the JSON
	// schema.
	TaskTime []TimeBucket `json:"-"`
}

// TimeBucket counts the tasks that ran from LowMs up to (not including)
// HighMs.
type TimeBucket struct {
	LowMs, HighMs int64
	Tasks         uint64
}

// Application identifies the application.
type Application struct {
	ID           string `json:"id"`
	AttemptID    string `json:"attemptId,omitempty"`
	Name         string `json:"name"`
	User         string `json:"user,omitempty"`
	SparkVersion string `json:"sparkVersion"`
	// StartTime and EndTime are RFC 3339 timestamps in UTC with milliseconds;
	// EndTime is empty while the application has not ended.
	StartTime string `json:"startTime"`
	EndTime   string `json:"endTime,omitempty"`
	// DurationMs is end minus start; for an unfinished log, the last event
	// time seen minus start.
	DurationMs int64 `json:"durationMs"`
	// Completed is true when the log holds the application's end event.
	Completed bool `json:"completed"`
	// InProgress is true when Spark marked the log as still being written
	// (".inprogress" file or appstatus marker).
	InProgress bool `json:"inProgress"`
}

// Totals are plain sums and counts over the log's events.
type Totals struct {
	// Tasks counts task-end events (every attempt, whatever its outcome).
	Tasks int64 `json:"tasks"`
	// FailedTasks counts task ends whose reason is not Success.
	FailedTasks int64 `json:"failedTasks"`
	// StagesCompleted counts stage-completed events (failed attempts
	// included); StagesFailed those with a failure reason.
	StagesCompleted  int64 `json:"stagesCompleted"`
	StagesFailed     int64 `json:"stagesFailed"`
	Jobs             int64 `json:"jobs"`
	ExecutorsAdded   int64 `json:"executorsAdded"`
	ExecutorsRemoved int64 `json:"executorsRemoved"`
	// The sums below are over the task metrics of every task end.
	ExecutorRunTimeMs  int64 `json:"executorRunTimeMs"`
	ExecutorCPUTimeNs  int64 `json:"executorCpuTimeNs"`
	JVMGCTimeMs        int64 `json:"jvmGcTimeMs"`
	ShuffleReadBytes   int64 `json:"shuffleReadBytes"` // remote + local
	ShuffleWriteBytes  int64 `json:"shuffleWriteBytes"`
	ShuffleFetchWaitMs int64 `json:"shuffleFetchWaitMs"`
	MemoryBytesSpilled int64 `json:"memoryBytesSpilled"`
	DiskBytesSpilled   int64 `json:"diskBytesSpilled"`
	InputBytes         int64 `json:"inputBytes"`
	OutputBytes        int64 `json:"outputBytes"`
	// SQLExecutions counts Spark SQL executions started (0 for an
	// application that only used RDDs).
	SQLExecutions int64 `json:"sqlExecutions"`
}

// Measures are the derived figures the recommendations rest on. A pointer
// field is null when the log lacks what it needs (for example executor CPU
// time before Spark 2.1, or executor metrics before Spark 3.0).
type Measures struct {
	// CPUUtilization is executor CPU time over executor run time: how much of
	// the time tasks ran they kept a core busy.
	CPUUtilization *float64 `json:"cpuUtilization"`
	// TaskDurationMs is the distribution of task wall time (finish − launch).
	TaskDurationMs Distribution `json:"taskDurationMs"`
	// StageSkew is the longest task over the median task of each completed
	// stage.
	StageSkew StageSkew `json:"stageSkew"`
	// PeakExecutorMemory is the highest memory use any executor reported.
	PeakExecutorMemory *MemoryPeak `json:"peakExecutorMemory"`
	// PeakDriverMemory is the same for the driver.
	PeakDriverMemory *MemoryPeak `json:"peakDriverMemory"`
	Concurrency      Concurrency `json:"concurrency"`
	// ExecutorCoreHours is the sum over executors of cores × time alive.
	ExecutorCoreHours *float64 `json:"executorCoreHours"`
	// ShuffleBytesPerCoreHour is (shuffle read + write) / executor core hours.
	ShuffleBytesPerCoreHour *float64 `json:"shuffleBytesPerCoreHour"`
	// FetchWaitRatio is shuffle fetch wait time over executor run time.
	FetchWaitRatio *float64 `json:"fetchWaitRatio"`
	// ExecutorCores is the cores per executor seen in executor-added events
	// (the largest), or from the configuration when no executor was added.
	ExecutorCores int64 `json:"executorCores"`
	// LocalMode is true when tasks ran inside the driver (master local[*]).
	LocalMode bool `json:"localMode"`
}

// Distribution summarises a histogram of values. Percentiles are exact to
// within one histogram bucket (12.5%); Max and Mean are exact.
type Distribution struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean"`
	P50   int64   `json:"p50"`
	P90   int64   `json:"p90"`
	P99   int64   `json:"p99"`
	Max   int64   `json:"max"`
}

// StageSkew lists the most skewed completed stages.
type StageSkew struct {
	// StagesAnalyzed counts completed stage attempts with at least one task.
	StagesAnalyzed int64 `json:"stagesAnalyzed"`
	// MaxSkew is the largest skew of any analysed stage with at least
	// minTasksForSkew tasks (0 when none).
	MaxSkew float64 `json:"maxSkew"`
	// Top holds up to 10 stages, most skewed first.
	Top []StageSkewEntry `json:"top"`
}

// StageSkewEntry is one stage attempt's task-time skew.
type StageSkewEntry struct {
	StageID      int64   `json:"stageId"`
	AttemptID    int64   `json:"attemptId"`
	Tasks        int64   `json:"tasks"`
	MedianTaskMs int64   `json:"medianTaskMs"`
	MaxTaskMs    int64   `json:"maxTaskMs"`
	Skew         float64 `json:"skew"`
}

// MemoryPeak is a peak of Spark's executor metrics, in bytes.
type MemoryPeak struct {
	JVMHeapBytes    int64 `json:"jvmHeapBytes"`
	JVMOffHeapBytes int64 `json:"jvmOffHeapBytes"`
	// ProcessTreeRSSBytes is 0 unless spark.executor.processTreeMetrics.enabled.
	ProcessTreeRSSBytes int64 `json:"processTreeRssBytes"`
}

// Concurrency describes how many tasks ran at once and on how many executors.
type Concurrency struct {
	// PeakRunningTasks is the most tasks started and not yet ended at any
	// point of the event stream.
	PeakRunningTasks int64 `json:"peakRunningTasks"`
	// AverageRunningTasks is total task time over the application's duration.
	AverageRunningTasks float64 `json:"averageRunningTasks"`
	PeakExecutors       int64   `json:"peakExecutors"`
	PeakExecutorCores   int64   `json:"peakExecutorCores"`
	// SlotUtilization is total task time over executor core time: the share
	// of the task slots paid for that ran a task.
	SlotUtilization *float64 `json:"slotUtilization"`
	// OverTime is the average number of running tasks in up to 48 equal
	// intervals of the application's run.
	OverTime []ConcurrencyPoint `json:"overTime"`
}

// ConcurrencyPoint is the average number of running tasks over
// [OffsetMs, OffsetMs+WidthMs) from the application's start.
type ConcurrencyPoint struct {
	OffsetMs     int64   `json:"offsetMs"`
	WidthMs      int64   `json:"widthMs"`
	RunningTasks float64 `json:"runningTasks"`
}

// Confidence levels of a recommendation (docs/advisor.md gives the
// thresholds).
const (
	ConfidenceLow    = "low"
	ConfidenceMedium = "medium"
	ConfidenceHigh   = "high"
)

// EvidenceSize is how much of the application a recommendation rests on.
type EvidenceSize struct {
	// Tasks counts task ends; TaskSeconds their total wall time.
	Tasks       int64   `json:"tasks"`
	TaskSeconds float64 `json:"taskSeconds"`
	// Executors is the most executors alive at once.
	Executors int64 `json:"executors"`
	// MinutesObserved is the application's run time the log covers.
	MinutesObserved float64 `json:"minutesObserved"`
}

// Recommendation is one piece of advice.
type Recommendation struct {
	// Kind is one of executor-memory, spill, executor-cores,
	// oversubscription, partitions, dynamic-allocation, shuffle-storage,
	// skew.
	Kind string `json:"kind"`
	// Confidence is low, medium or high: the evidence size measured against
	// the thresholds in docs/advisor.md. `--emit-conf` emits only medium and
	// high ones.
	Confidence   string       `json:"confidence"`
	EvidenceSize EvidenceSize `json:"evidenceSize"`
	// Observation is true for a memory or core change below medium
	// confidence: it is reported, with an empty SparkConf, not proposed.
	Observation bool `json:"observation,omitempty"`
	// Summary says what to change and why, in one sentence.
	Summary string `json:"summary"`
	// Evidence holds the figures behind it, by name.
	Evidence map[string]any `json:"evidence"`
	// SparkConf is the configuration patch to apply (may be empty when the
	// advice is about code, e.g. a skewed stage without AQE to turn on).
	SparkConf map[string]string `json:"sparkConf"`
	// Profile names the SparkProfile setting that carries the same advice,
	// when there is one (e.g. "shuffleStorage": "pvc-reuse").
	Profile map[string]string `json:"profile,omitempty"`
}

// ParseStats says how much of the log was read and what was wrong with it.
// Nothing here is fatal: the analysis covers every line that parsed.
type ParseStats struct {
	Bytes  int64 `json:"bytes"` // uncompressed bytes read
	Lines  int64 `json:"lines"`
	Events int64 `json:"events"`
	// UnknownEvents counts events whose type the advisor does not know (for
	// example a custom listener's); UnknownEventTypes names up to 20 of them.
	UnknownEvents     int64            `json:"unknownEvents"`
	UnknownEventTypes map[string]int64 `json:"unknownEventTypes,omitempty"`
	// CorruptLines counts lines that are not an event (not JSON, no "Event",
	// or a decoded event whose fields are malformed).
	CorruptLines int64 `json:"corruptLines"`
	// TruncatedLines counts unfinished last lines (a log still being
	// written, or cut short).
	TruncatedLines int64 `json:"truncatedLines"`
	// OversizedLines counts lines longer than the line limit, skipped.
	OversizedLines int64 `json:"oversizedLines"`
	// Warnings describe anything else worth knowing (a decompression error
	// part way, a rolling log without its appstatus marker).
	Warnings []string `json:"warnings,omitempty"`
}
