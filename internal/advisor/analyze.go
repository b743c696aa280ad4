package advisor

import (
	"math"
	"sort"
	"strconv"
	"time"
)

// Thresholds of the stage-skew measure (docs/advisor.md explains them).
const (
	// minTasksForSkew is the fewest tasks a stage needs for its median to
	// mean something.
	minTasksForSkew = 4
	// topSkewedStages is how many stages Measures.StageSkew.Top keeps.
	topSkewedStages = 10
	// maxUnknownEventTypes bounds ParseStats.UnknownEventTypes.
	maxUnknownEventTypes = 20
)

type stageKey struct{ id, attempt int64 }

// stageState is kept from a stage's submission to its completion only, so the
// number alive is bounded by the stages running at once, not the log's length.
type stageState struct {
	durations histogram
	// readsShuffle: some task of the stage read shuffle blocks.
	readsShuffle bool
}

type executorState struct {
	added int64
	cores int64
}

// analysis is the state folded over the records of one application's log, in
// log order. apply is the only code that changes it.
type analysis struct {
	report Report

	appStart, appEnd int64
	firstTime        int64 // smallest event timestamp seen
	lastTime         int64 // largest event timestamp seen
	completed        bool

	props        map[string]string
	profileCores int64
	profileMemMi int64
	// largestShuffleStage is the most tasks any completed stage that read
	// shuffle data ran.
	largestShuffleStage int64

	durations  histogram
	taskTimeMs int64
	timeline   timeline

	stages map[stageKey]*stageState
	// spareStages are the states of completed stages, reused for the next
	// ones: each holds a 4 KB histogram, and allocating one per stage (5,110
	// in the 210 MB benchmark log) cost a garbage collection every few
	// hundred stages.
	spareStages []*stageState
	skewTop     []StageSkewEntry

	running, peakRunning int64

	executors                  map[string]executorState
	alive, peakAlive           int64
	aliveCores, peakAliveCores int64
	maxExecutorCores           int64
	driverCores                int64 // cores of the driver's executor in local mode
	coreMs                     float64
	tasksOnDriver, tasks       int64

	hasCPU             bool
	executorPeak       memoryPeaks
	driverPeak         memoryPeaks
	hasExecutorMetrics bool
	hasDriverMetrics   bool
}

func newAnalysis() *analysis {
	return &analysis{
		props:     map[string]string{},
		stages:    map[stageKey]*stageState{},
		executors: map[string]executorState{},
		report: Report{
			Parse: ParseStats{},
		},
	}
}

func (a *analysis) seeTime(t int64) {
	if t <= 0 {
		return
	}
	if a.firstTime == 0 || t < a.firstTime {
		a.firstTime = t
	}
	if t > a.lastTime {
		a.lastTime = t
	}
}

// apply folds one record into the analysis.
func (a *analysis) apply(r *record) {
	ps := &a.report.Parse
	switch r.kind {
	case kindNone:
		return
	case kindCorrupt:
		ps.CorruptLines++
		return
	case kindTruncated:
		ps.TruncatedLines++
		return
	case kindOversized:
		ps.OversizedLines++
		return
	case kindUnknown:
		ps.Events++
		ps.UnknownEvents++
		if ps.UnknownEventTypes == nil {
			ps.UnknownEventTypes = map[string]int64{}
		}
		if _, ok := ps.UnknownEventTypes[r.rare.name]; ok || len(ps.UnknownEventTypes) < maxUnknownEventTypes {
			ps.UnknownEventTypes[r.rare.name]++
		}
		return
	}
	ps.Events++
	t := &a.report.Totals
	rare := r.rare
	if rare == nil {
		rare = &rareFields{}
	}
	switch r.kind {
	case kindLogStart:
		a.report.Application.SparkVersion = rare.version
	case kindApplicationStart:
		app := &a.report.Application
		app.ID, app.Name, app.User, app.AttemptID = rare.id, rare.name, rare.user, rare.attempt
		a.appStart = r.timestamp
		a.seeTime(r.timestamp)
		if a.timeline.width == 0 {
			a.timeline.origin = r.timestamp
		}
	case kindApplicationEnd:
		a.appEnd = r.timestamp
		a.completed = true
		a.seeTime(r.timestamp)
	case kindEnvironmentUpdate:
		for _, kv := range rare.props {
			a.props[kv[0]] = kv[1]
		}
	case kindResourceProfileAdded:
		if r.stageID == 0 {
			a.profileCores, a.profileMemMi = r.count, r.finish
		}
	case kindExecutorAdded:
		t.ExecutorsAdded++
		a.seeTime(r.timestamp)
		if old, ok := a.executors[rare.id]; ok {
			// Added twice without a removal: close the first interval.
			a.closeExecutor(old, r.timestamp)
		}
		a.executors[rare.id] = executorState{added: r.timestamp, cores: r.count}
		a.alive++
		a.aliveCores += r.count
		a.peakAlive = max(a.peakAlive, a.alive)
		a.peakAliveCores = max(a.peakAliveCores, a.aliveCores)
		if r.isDriver {
			a.driverCores = r.count
		} else {
			a.maxExecutorCores = max(a.maxExecutorCores, r.count)
		}
	case kindExecutorRemoved:
		t.ExecutorsRemoved++
		a.seeTime(r.timestamp)
		if old, ok := a.executors[rare.id]; ok {
			a.closeExecutor(old, r.timestamp)
			delete(a.executors, rare.id)
		}
	case kindJobStart:
		t.Jobs++
	case kindSQLExecutionStart:
		t.SQLExecutions++
	case kindStageSubmitted:
		k := stageKey{r.stageID, r.stageAttempt}
		if _, ok := a.stages[k]; !ok {
			a.stages[k] = a.newStage()
		}
	case kindStageCompleted:
		t.StagesCompleted++
		if r.failureReason {
			t.StagesFailed++
		}
		a.seeTime(r.finish)
		k := stageKey{r.stageID, r.stageAttempt}
		if s, ok := a.stages[k]; ok {
			a.finishStage(k, s)
			delete(a.stages, k)
			a.spareStages = append(a.spareStages, s)
		}
	case kindTaskStart:
		a.running++
		a.peakRunning = max(a.peakRunning, a.running)
	case kindTaskEnd:
		a.taskEnd(r)
	case kindStageExecutorMetrics:
		a.memory(r)
	}
}

func (a *analysis) closeExecutor(e executorState, at int64) {
	if at > e.added && e.added > 0 {
		a.coreMs += float64(at-e.added) * float64(e.cores)
	}
	a.alive--
	a.aliveCores -= e.cores
}

func (a *analysis) memory(r *record) {
	if !r.hasMetrics {
		return
	}
	peak, seen := &a.executorPeak, &a.hasExecutorMetrics
	if r.isDriver {
		peak, seen = &a.driverPeak, &a.hasDriverMetrics
	}
	*seen = true
	peak.heap = max(peak.heap, r.memory.heap)
	peak.offHeap = max(peak.offHeap, r.memory.offHeap)
	peak.rss = max(peak.rss, r.memory.rss)
}

func (a *analysis) taskEnd(r *record) {
	t := &a.report.Totals
	t.Tasks++
	if !r.success {
		t.FailedTasks++
	}
	if a.running > 0 {
		a.running--
	}
	a.tasks++
	if r.isDriver {
		a.tasksOnDriver++
	}
	if r.hasTaskMetrics {
		t.ExecutorRunTimeMs += r.runTimeMs
		t.ExecutorCPUTimeNs += r.cpuTimeNs
		a.hasCPU = a.hasCPU || r.hasCPU
		t.JVMGCTimeMs += r.gcTimeMs
		t.MemoryBytesSpilled += r.memorySpilled
		t.DiskBytesSpilled += r.diskSpilled
		t.ShuffleReadBytes += r.remoteRead + r.localRead
		t.ShuffleFetchWaitMs += r.fetchWaitMs
		t.ShuffleWriteBytes += r.shuffleWrite
		t.InputBytes += r.inputBytes
		t.OutputBytes += r.outputBytes
	}
	a.memory(r)
	if r.timestamp > 0 && r.finish >= r.timestamp {
		d := r.finish - r.timestamp
		a.durations.add(d)
		a.taskTimeMs += d
		if a.timeline.width == 0 && a.timeline.origin == 0 {
			a.timeline.origin = r.timestamp
		}
		a.timeline.add(r.timestamp, r.finish)
		a.seeTime(r.timestamp)
		a.seeTime(r.finish)
		if s, ok := a.stages[stageKey{r.stageID, r.stageAttempt}]; ok {
			s.durations.add(d)
			s.readsShuffle = s.readsShuffle || r.remoteRead+r.localRead > 0
		}
	}
}

// newStage returns a zeroed stage state, a spare one when there is one.
func (a *analysis) newStage() *stageState {
	if n := len(a.spareStages); n > 0 {
		s := a.spareStages[n-1]
		a.spareStages = a.spareStages[:n-1]
		*s = stageState{}
		return s
	}
	return &stageState{}
}

func (a *analysis) finishStage(k stageKey, s *stageState) {
	if s.durations.n == 0 {
		return
	}
	if s.readsShuffle {
		a.largestShuffleStage = max(a.largestShuffleStage, s.durations.n)
	}
	a.report.Measures.StageSkew.StagesAnalyzed++
	if s.durations.n < minTasksForSkew {
		return
	}
	median := s.durations.quantile(0.5)
	skew := float64(s.durations.max) / float64(max(median, 1))
	e := StageSkewEntry{
		StageID: k.id, AttemptID: k.attempt, Tasks: s.durations.n,
		MedianTaskMs: median, MaxTaskMs: s.durations.max, Skew: round3(skew),
	}
	sk := &a.report.Measures.StageSkew
	sk.MaxSkew = math.Max(sk.MaxSkew, e.Skew)
	// Keep the top entries sorted, most skewed first; ties keep log order.
	pos := sort.Search(len(a.skewTop), func(i int) bool { return a.skewTop[i].Skew < e.Skew })
	if pos >= topSkewedStages {
		return
	}
	a.skewTop = append(a.skewTop, StageSkewEntry{})
	copy(a.skewTop[pos+1:], a.skewTop[pos:])
	a.skewTop[pos] = e
	if len(a.skewTop) > topSkewedStages {
		a.skewTop = a.skewTop[:topSkewedStages]
	}
}

// finish computes the measures once every record is applied.
func (a *analysis) finish() *Report {
	rep := &a.report
	app := &rep.Application
	app.Completed = a.completed
	start := a.appStart
	if start == 0 {
		start = a.firstTime
	}
	end := a.appEnd
	if end == 0 {
		end = a.lastTime
	}
	if start > 0 {
		app.StartTime = formatMillis(start)
	}
	if a.completed && a.appEnd > 0 {
		app.EndTime = formatMillis(a.appEnd)
	}
	if end > start && start > 0 {
		app.DurationMs = end - start
	}

	// Stages still open (a log cut short) are measured as they stand, in a
	// fixed order.
	open := make([]stageKey, 0, len(a.stages))
	for k := range a.stages {
		open = append(open, k)
	}
	sort.Slice(open, func(i, j int) bool {
		if open[i].id != open[j].id {
			return open[i].id < open[j].id
		}
		return open[i].attempt < open[j].attempt
	})
	for _, k := range open {
		a.finishStage(k, a.stages[k])
	}

	// Executors still alive are counted up to the application's end.
	ids := make([]string, 0, len(a.executors))
	for id := range a.executors {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		a.closeExecutor(a.executors[id], end)
	}

	m := &rep.Measures
	t := &rep.Totals
	if a.hasCPU && t.ExecutorRunTimeMs > 0 {
		m.CPUUtilization = ptr(round3(float64(t.ExecutorCPUTimeNs) / (float64(t.ExecutorRunTimeMs) * 1e6)))
	}
	m.TaskDurationMs = a.durations.distribution()
	rep.TaskTime = a.durations.byPowerOfTwo()
	m.StageSkew.Top = a.skewTop
	if m.StageSkew.Top == nil {
		m.StageSkew.Top = []StageSkewEntry{}
	}
	m.LocalMode = a.tasks > 0 && a.tasksOnDriver == a.tasks
	if a.hasExecutorMetrics {
		m.PeakExecutorMemory = &MemoryPeak{a.executorPeak.heap, a.executorPeak.offHeap, a.executorPeak.rss}
	}
	if a.hasDriverMetrics {
		m.PeakDriverMemory = &MemoryPeak{a.driverPeak.heap, a.driverPeak.offHeap, a.driverPeak.rss}
	}
	c := &m.Concurrency
	c.PeakRunningTasks = a.peakRunning
	c.PeakExecutors = a.peakAlive
	c.PeakExecutorCores = a.peakAliveCores
	if app.DurationMs > 0 {
		c.AverageRunningTasks = round3(float64(a.taskTimeMs) / float64(app.DurationMs))
	}
	c.OverTime = a.timeline.points(end - a.timeline.origin)
	if a.coreMs > 0 {
		hours := a.coreMs / float64(time.Hour/time.Millisecond)
		m.ExecutorCoreHours = ptr(round6(hours))
		m.ShuffleBytesPerCoreHour = ptr(math.Round(float64(t.ShuffleReadBytes+t.ShuffleWriteBytes) / hours))
		c.SlotUtilization = ptr(round3(float64(a.taskTimeMs) / a.coreMs))
	}
	if t.ExecutorRunTimeMs > 0 {
		m.FetchWaitRatio = ptr(round3(float64(t.ShuffleFetchWaitMs) / float64(t.ExecutorRunTimeMs)))
	}
	m.ExecutorCores = a.maxExecutorCores
	if m.ExecutorCores == 0 && m.LocalMode {
		m.ExecutorCores = a.driverCores
	}
	if m.ExecutorCores == 0 {
		if v, err := strconv.ParseInt(a.props["spark.executor.cores"], 10, 64); err == nil && v > 0 {
			m.ExecutorCores = v
		} else if a.profileCores > 0 {
			m.ExecutorCores = a.profileCores
		}
	}
	rep.Config = a.props
	rep.Recommendations = recommend(rep, hints{profileMemMiB: a.profileMemMi,
		shuffleStageTasks: a.largestShuffleStage, taskTimeMs: a.taskTimeMs})
	return rep
}

func formatMillis(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

func ptr[T any](v T) *T { return &v }

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
func round6(f float64) float64 { return math.Round(f*1e6) / 1e6 }
