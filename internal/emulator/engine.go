package emulator

import (
	"fmt"
	"sort"
	"time"
)

// RemovalKind says how an executor went away, which decides what happens to
// the shuffle blocks it held.
type RemovalKind int

const (
	// Decommissioned: the executor pod was deleted gracefully with
	// spark.decommission.enabled=true; its shuffle blocks migrate, one after
	// another at the migration rate, to executors that are not leaving
	// themselves, until it is done or its grace period runs out.
	Decommissioned RemovalKind = iota
	// Lost: the executor vanished without decommissioning (a hard delete, a
	// failed pod, or decommissioning off); the map outputs it held are
	// recomputed.
	Lost
	// Released: the driver itself removed an idle executor (dynamic
	// allocation); it held no shuffle output that was still needed.
	Released
)

func (k RemovalKind) String() string {
	switch k {
	case Decommissioned:
		return "Decommissioned"
	case Lost:
		return "Lost"
	case Released:
		return "Released"
	}
	return fmt.Sprintf("RemovalKind(%d)", int(k))
}

// EngineOptions tune the engine.
type EngineOptions struct {
	// MigrationBytesPerSecond is how fast a decommissioning executor copies
	// shuffle blocks to a peer, in model time: a block of b bytes takes
	// b / MigrationBytesPerSecond, and an executor migrates one block at a time.
	MigrationBytesPerSecond int64
	// FallbackStorage: spark.storage.decommission.fallbackStorage.path is
	// set, so a block with no peer left to take it goes there instead of
	// being lost.
	FallbackStorage  bool
	BlockManagerPort int
	// ExecutorStorageMemory is the block manager memory each executor reports.
	ExecutorStorageMemory int64
	// SparkVersion is the version the event log claims (SparkVersion when
	// empty): the driver pod's spark-version label, as a real driver logs
	// its own version.
	SparkVersion string
}

// EngineStats are the totals of one application.
type EngineStats struct {
	TasksSucceeded int
	TasksFailed    int
	// MigratedBytes are shuffle bytes that decommissioning executors copied
	// to peers that were not leaving; FallbackBytes those copied to fallback
	// storage because no such peer was left.
	MigratedBytes int64
	FallbackBytes int64
	// RecomputedBytes are shuffle bytes that had to be written again because
	// the executor holding them was lost, or left before it could hand them
	// on.
	RecomputedBytes int64
	// RecomputeTaskTime is the task time spent rewriting lost map outputs.
	RecomputeTaskTime time.Duration
	ExecutorsAdded    int
	ExecutorsRemoved  int
	// Removals has one entry per executor that left holding shuffle output
	// still to be read, in the order they began to leave.
	Removals []Removal
}

// Removal is what became of the shuffle output one executor held when it
// began to leave (a decommission or a loss). Every block it held is counted
// in exactly one of the other byte fields, so HeldBytes = MigratedBytes +
// FallbackBytes + RecomputedBytes + UnreadBytes.
type Removal struct {
	Executor string
	Kind     RemovalKind
	// At is the model time it began to leave; Ended when it was gone (for a
	// decommission: its migration finished or its grace period ran out).
	At, Ended time.Duration
	// HeldBytes is the shuffle output still to be read that it held at At.
	HeldBytes       int64
	MigratedBytes   int64
	FallbackBytes   int64
	RecomputedBytes int64
	// UnreadBytes were no longer needed by the time their turn to migrate
	// came (the reading stage had finished with them).
	UnreadBytes int64
	// Killed: the grace period ran out (or the executor was lost) before
	// every block was handed on.
	Killed bool
}

// Engine is the driver's scheduler over a workload: it runs tasks on the
// executors it is given, in model time, and records Spark listener events.
// It is pure: the caller says what happened (executors added and removed) and
// how far model time has moved; the engine never reads a clock.
type Engine struct {
	w        *Workload
	opts     EngineOptions
	startMs  int64
	now      time.Duration
	execs    map[string]*engineExecutor
	stages   map[int]*stageState
	running  []*runningTask
	jobIndex int
	jobOpen  bool
	nextTask int64
	events   []any
	stats    EngineStats
	done     bool
	failed   bool
	endedAt  time.Duration
	// nextPeer is each leaving executor's round-robin position over peers.
	nextPeer map[string]int
}

type engineExecutor struct {
	id, host  string
	cores     int
	busy      int
	order     int
	idleSince time.Duration
	// leaving is set while the executor decommissions: it runs no tasks,
	// takes no migrated blocks, and hands its own on one at a time.
	leaving *departure
}

// departure is a decommissioning executor's migration in progress.
type departure struct {
	// queue holds the blocks still to hand on, in stage then partition order.
	queue []blockRef
	// cursor is when the transfer of queue[0] began (or begins); killAt the
	// end of the grace period.
	cursor, killAt time.Duration
	reason         string
	removal        int // index in stats.Removals
}

// blockRef names one map output: stage and partition.
type blockRef struct{ stage, partition int }

// fallbackHolder holds blocks in fallback storage: never lost, never leaving.
const fallbackHolder = "fallback-storage"

type stageState struct {
	spec      *StageSpec
	jobIndex  int
	attempt   int // -1 before the first submission
	active    bool
	complete  bool
	submitted time.Duration
	pending   []int
	running   int
	done      []bool
	outputs   []string // executor holding each partition's shuffle output
	attempts  []int    // task attempts per partition
	recompute []bool   // partition being rerun because its output was lost
	// attemptTasks is the number of tasks the current attempt runs.
	attemptTasks int
}

type runningTask struct {
	id        int64
	stage     *stageState
	attempt   int // stage attempt
	partition int
	try       int
	exec      string
	start     time.Duration
	end       time.Duration
}

// NewEngine prepares an engine; startMs is the wall-clock time, in Unix
// milliseconds, that model time zero corresponds to in the event log.
func NewEngine(w *Workload, startMs int64, opts EngineOptions) *Engine {
	if opts.MigrationBytesPerSecond <= 0 {
		opts.MigrationBytesPerSecond = DefaultMigrationBytesPerSecond
	}
	if opts.SparkVersion == "" {
		opts.SparkVersion = SparkVersion
	}
	e := &Engine{w: w, opts: opts, startMs: startMs, execs: map[string]*engineExecutor{}, stages: map[int]*stageState{}, nextPeer: map[string]int{}}
	for j := range w.Jobs {
		for s := range w.Jobs[j].Stages {
			spec := &w.Jobs[j].Stages[s]
			n := len(spec.Tasks)
			e.stages[spec.ID] = &stageState{spec: spec, jobIndex: j, attempt: -1, done: make([]bool, n), outputs: make([]string, n), attempts: make([]int, n), recompute: make([]bool, n)}
		}
	}
	return e
}

func (e *Engine) ts(t time.Duration) int64 { return e.startMs + t.Milliseconds() }

func (e *Engine) emit(ev any) { e.events = append(e.events, ev) }

// Drain returns the events recorded since the last Drain.
func (e *Engine) Drain() []any {
	out := e.events
	e.events = nil
	return out
}

// Now is the engine's model time.
func (e *Engine) Now() time.Duration { return e.now }

// Done reports whether every job has ended (or one failed).
func (e *Engine) Done() bool { return e.done }

// Failed reports whether a job failed.
func (e *Engine) Failed() bool { return e.failed }

// Stats returns the totals so far.
func (e *Engine) Stats() EngineStats { return e.stats }

// Start records the events a driver logs when its SparkContext starts.
func (e *Engine) Start(appName, appID, user, driverHost string, cores int, memoryMiB int64, props Conf) {
	e.emit(logStartEvent{Event: "SparkListenerLogStart", SparkVersion: e.opts.SparkVersion})
	e.emit(resourceProfileAddedEvent{
		Event:             "SparkListenerResourceProfileAdded",
		ResourceProfileID: 0,
		ExecutorResourceRequests: map[string]resourceRequest{
			"cores":   {ResourceName: "cores", Amount: int64(cores)},
			"memory":  {ResourceName: "memory", Amount: memoryMiB},
			"offHeap": {ResourceName: "offHeap", Amount: 0},
		},
		TaskResourceRequests: map[string]taskResourceRequest{"cpus": {ResourceName: "cpus", Amount: 1}},
	})
	e.emit(blockManagerAddedEvent{
		Event: "SparkListenerBlockManagerAdded", BlockManagerID: blockManagerID{ExecutorID: "driver", Host: driverHost, Port: 7079},
		MaximumMemory: e.opts.ExecutorStorageMemory, Timestamp: e.ts(0), MaximumOnheapMemory: e.opts.ExecutorStorageMemory,
	})
	sparkProps := map[string]string{}
	for k, v := range props {
		sparkProps[k] = v
	}
	e.emit(environmentUpdateEvent{
		Event:             "SparkListenerEnvironmentUpdate",
		JVMInformation:    map[string]string{"Java Home": "/opt/java/openjdk", "Java Version": "17.0.12 (Eclipse Adoptium)", "Scala Version": "version 2.12.18"},
		SparkProperties:   sparkProps,
		HadoopProperties:  map[string]string{},
		SystemProperties:  map[string]string{"sparkplane.emulated": "true"},
		MetricsProperties: map[string]string{},
		ClasspathEntries:  map[string]string{},
	})
	e.emit(applicationStartEvent{Event: "SparkListenerApplicationStart", AppName: appName, AppID: appID, Timestamp: e.ts(0), User: user})
}

// AddExecutor registers an executor with the scheduler.
func (e *Engine) AddExecutor(id, host string, cores int) {
	if _, ok := e.execs[id]; ok || e.done {
		return
	}
	e.execs[id] = &engineExecutor{id: id, host: host, cores: cores, order: e.stats.ExecutorsAdded, idleSince: e.now}
	e.stats.ExecutorsAdded++
	e.emit(executorAddedEvent{
		Event: "SparkListenerExecutorAdded", Timestamp: e.ts(e.now), ExecutorID: id,
		ExecutorInfo: executorInfo{Host: host, TotalCores: cores, LogURLs: map[string]string{}, Attributes: map[string]string{}, Resources: map[string]any{}},
	})
	e.emit(blockManagerAddedEvent{
		Event: "SparkListenerBlockManagerAdded", BlockManagerID: blockManagerID{ExecutorID: id, Host: host, Port: e.opts.BlockManagerPort},
		MaximumMemory: e.opts.ExecutorStorageMemory, Timestamp: e.ts(e.now), MaximumOnheapMemory: e.opts.ExecutorStorageMemory,
	})
	e.schedule()
}

// HasExecutor reports whether id is registered.
func (e *Engine) HasExecutor(id string) bool { _, ok := e.execs[id]; return ok }

// Executors returns the ids of the registered executors that are not
// leaving, in registration order.
func (e *Engine) Executors() []string {
	ids := make([]string, 0, len(e.execs))
	for id, x := range e.execs {
		if x.leaving == nil {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return e.execs[ids[i]].order < e.execs[ids[j]].order })
	return ids
}

// outputNeeded reports whether a map stage's output will still be read.
func (e *Engine) outputNeeded(s *stageState) bool {
	if !s.spec.ShuffleMap || s.jobIndex < e.jobIndex || e.done {
		return false
	}
	job := e.w.Jobs[s.jobIndex]
	for _, child := range job.Stages {
		for _, p := range child.ParentIDs {
			if p == s.spec.ID && !e.stages[child.ID].complete {
				return true
			}
		}
	}
	return false
}

// HoldsShuffle reports whether executor id holds shuffle output still needed.
func (e *Engine) HoldsShuffle(id string) bool {
	for _, s := range e.stages {
		if !e.outputNeeded(s) {
			continue
		}
		for _, holder := range s.outputs {
			if holder == id {
				return true
			}
		}
	}
	return false
}

// IdleFor returns how long executor id has run no task (zero when busy).
func (e *Engine) IdleFor(id string) time.Duration {
	x, ok := e.execs[id]
	if !ok || x.busy > 0 || x.leaving != nil {
		return 0
	}
	return e.now - x.idleSince
}

// Backlog is the number of tasks waiting or running: what dynamic allocation
// sizes the executor target by.
func (e *Engine) Backlog() int {
	if e.done {
		return 0
	}
	n := 0
	for _, s := range e.stages {
		if s.jobIndex != e.jobIndex || s.complete {
			continue
		}
		if s.active {
			n += len(s.pending) + s.running
		} else if e.parentsReady(s) {
			n += e.missingPartitions(s)
		}
	}
	return n
}

func (e *Engine) missingPartitions(s *stageState) int {
	n := 0
	for _, d := range s.done {
		if !d {
			n++
		}
	}
	return n
}

func (e *Engine) parentsReady(s *stageState) bool {
	for _, p := range s.spec.ParentIDs {
		parent := e.stages[p]
		if !parent.complete || parent.active {
			return false
		}
	}
	return true
}

// RemoveExecutor takes an executor away. Its running tasks fail and are
// rerun elsewhere. Decommissioned starts its decommission
// (DecommissionExecutor) with grace; Lost and Released remove it at once,
// and the shuffle output it held that is still needed is recomputed (for a
// decommissioning executor: what it had not handed on yet).
func (e *Engine) RemoveExecutor(id string, kind RemovalKind, grace time.Duration, reason string) {
	if kind == Decommissioned {
		e.DecommissionExecutor(id, grace, reason)
		return
	}
	x, ok := e.execs[id]
	if !ok {
		return
	}
	if x.leaving != nil {
		e.endDeparture(x, e.now, true)
		return
	}
	e.failTasksOn(x, reason)
	blocks := e.heldBlocks(id)
	r := Removal{Executor: id, Kind: kind, At: e.now, Ended: e.now, Killed: len(blocks) > 0}
	for _, b := range blocks {
		bytes := e.blockBytes(b)
		r.HeldBytes += bytes
		e.lose(b, &r)
	}
	if r.HeldBytes > 0 {
		e.stats.Removals = append(e.stats.Removals, r)
	}
	e.forget(x, reason)
}

// DecommissionExecutor starts executor id's graceful decommission, as Spark's
// BlockManagerDecommissioner does: from now on it runs no tasks (those
// running fail and rerun elsewhere) and takes no blocks, and it hands the
// shuffle blocks it holds that are still to be read, one at a time at the
// migration rate, to the executors that are not leaving themselves (round
// robin, chosen when each transfer ends). A block with no such peer left
// goes to fallback storage when configured, else it is recomputed. The
// executor is gone when its last block is handed on, or when grace runs out
// (what is left is recomputed), whichever comes first. A second call for an
// executor already leaving changes nothing.
func (e *Engine) DecommissionExecutor(id string, grace time.Duration, reason string) {
	x, ok := e.execs[id]
	if !ok || x.leaving != nil {
		return
	}
	e.failTasksOn(x, reason)
	blocks := e.heldBlocks(id)
	r := Removal{Executor: id, Kind: Decommissioned, At: e.now}
	for _, b := range blocks {
		r.HeldBytes += e.blockBytes(b)
	}
	e.stats.Removals = append(e.stats.Removals, r)
	x.leaving = &departure{queue: blocks, cursor: e.now, killAt: e.now + max(grace, 0), reason: reason, removal: len(e.stats.Removals) - 1}
	// Decommissioning with nothing to hand on: gone at once.
	e.stepMigrations(e.now)
	e.schedule()
}

// leavingExecutors returns the ids of executors that are decommissioning, in
// registration order.
func (e *Engine) leavingExecutors() []string {
	var ids []string
	for id, x := range e.execs {
		if x.leaving != nil {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return e.execs[ids[i]].order < e.execs[ids[j]].order })
	return ids
}

// failTasksOn fails the tasks running on x; they are queued again.
func (e *Engine) failTasksOn(x *engineExecutor, reason string) {
	kept := e.running[:0]
	for _, t := range e.running {
		if t.exec != x.id {
			kept = append(kept, t)
			continue
		}
		exitByApp := false
		e.stats.TasksFailed++
		t.stage.running--
		t.stage.pending = append([]int{t.partition}, t.stage.pending...)
		x.busy--
		e.emit(taskEndEvent{
			Event: "SparkListenerTaskEnd", StageID: t.stage.spec.ID, StageAttemptID: t.attempt, TaskType: taskType(t.stage.spec),
			TaskEndReason:       taskEndReason{Reason: "ExecutorLostFailure", ExecutorID: x.id, ExitCausedByApp: &exitByApp, LossReason: reason},
			TaskInfo:            e.taskInfo(t, x.host, e.now, true),
			TaskExecutorMetrics: zeroExecutorMetrics(),
		})
	}
	e.running = kept
}

// heldBlocks lists the map outputs executor id holds that are still to be
// read, in stage then partition order; outputs no longer needed are dropped.
func (e *Engine) heldBlocks(id string) []blockRef {
	ids := make([]int, 0, len(e.stages))
	for sid := range e.stages {
		ids = append(ids, sid)
	}
	sort.Ints(ids)
	var out []blockRef
	for _, sid := range ids {
		s := e.stages[sid]
		needed := e.outputNeeded(s)
		for p, holder := range s.outputs {
			if holder != id {
				continue
			}
			if !needed {
				s.outputs[p] = ""
				continue
			}
			out = append(out, blockRef{sid, p})
		}
	}
	return out
}

func (e *Engine) blockBytes(b blockRef) int64 {
	return e.stages[b.stage].spec.Tasks[b.partition].ShuffleWriteBytes
}

// lose marks block b lost: its map task runs again.
func (e *Engine) lose(b blockRef, r *Removal) {
	s := e.stages[b.stage]
	bytes := e.blockBytes(b)
	s.outputs[b.partition] = ""
	s.done[b.partition] = false
	s.recompute[b.partition] = true
	r.RecomputedBytes += bytes
	e.stats.RecomputedBytes += bytes
	if s.active {
		s.pending = append(s.pending, b.partition)
	} else {
		s.complete = false
	}
}

// forget unregisters x and records its removal.
func (e *Engine) forget(x *engineExecutor, reason string) {
	delete(e.execs, x.id)
	delete(e.nextPeer, x.id)
	e.stats.ExecutorsRemoved++
	e.emit(executorRemovedEvent{Event: "SparkListenerExecutorRemoved", Timestamp: e.ts(e.now), ExecutorID: x.id, RemovedReason: reason})
	e.emit(blockManagerRemovedEvent{Event: "SparkListenerBlockManagerRemoved", BlockManagerID: blockManagerID{ExecutorID: x.id, Host: x.host, Port: e.opts.BlockManagerPort}, Timestamp: e.ts(e.now)})
}

// transferTime is how long one block of bytes takes to migrate.
func (e *Engine) transferTime(bytes int64) time.Duration {
	return time.Duration(float64(bytes) / float64(e.opts.MigrationBytesPerSecond) * float64(time.Second))
}

// nextMigrationStep is the model time of the earliest pending migration
// step (a block handed on, an executor done or killed) and its executor.
func (e *Engine) nextMigrationStep() (time.Duration, *engineExecutor) {
	var (
		best   *engineExecutor
		bestAt time.Duration
	)
	nowhere := len(e.Executors()) == 0 && !e.opts.FallbackStorage
	for _, x := range e.execs {
		d := x.leaving
		if d == nil {
			continue
		}
		at := d.cursor
		if len(d.queue) > 0 && !nowhere {
			at = min(d.cursor+e.transferTime(e.blockBytes(d.queue[0])), d.killAt)
		}
		if best == nil || at < bestAt || (at == bestAt && x.order < best.order) {
			best, bestAt = x, at
		}
	}
	return bestAt, best
}

// stepMigrations runs every migration step due by model time to, in time
// order; e.now moves to each step's time.
func (e *Engine) stepMigrations(to time.Duration) {
	for {
		at, x := e.nextMigrationStep()
		if x == nil || at > to {
			return
		}
		e.now = max(e.now, at)
		e.stepMigration(x)
	}
}

// stepMigration takes one step of x's departure at e.now: skip blocks no
// longer needed, hand on the next block if its transfer is done, or end the
// departure (nothing left, or the grace period ran out).
func (e *Engine) stepMigration(x *engineExecutor) {
	d := x.leaving
	r := &e.stats.Removals[d.removal]
	for len(d.queue) > 0 {
		b := d.queue[0]
		s := e.stages[b.stage]
		if s.outputs[b.partition] != x.id || !e.outputNeeded(s) {
			r.UnreadBytes += e.blockBytes(b)
			d.queue = d.queue[1:]
			continue
		}
		if len(e.Executors()) == 0 && !e.opts.FallbackStorage {
			// Nowhere to send it: lost at once, no transfer time spent.
			d.queue = d.queue[1:]
			d.cursor = max(d.cursor, e.now)
			e.lose(b, r)
			continue
		}
		finish := d.cursor + e.transferTime(e.blockBytes(b))
		if finish > d.killAt {
			if e.now >= d.killAt {
				e.endDeparture(x, d.killAt, true)
			}
			return
		}
		if finish > e.now {
			return
		}
		d.queue = d.queue[1:]
		d.cursor = finish
		bytes := e.blockBytes(b)
		switch peer := e.peerFor(x.id); {
		case peer != "":
			s.outputs[b.partition] = peer
			r.MigratedBytes += bytes
			e.stats.MigratedBytes += bytes
		case e.opts.FallbackStorage:
			s.outputs[b.partition] = fallbackHolder
			r.FallbackBytes += bytes
			e.stats.FallbackBytes += bytes
		default:
			e.lose(b, r)
		}
	}
	e.endDeparture(x, d.cursor, false)
}

// endDeparture removes a leaving executor at model time at; killed: what it
// had not handed on yet is recomputed (or unread, when no longer needed).
func (e *Engine) endDeparture(x *engineExecutor, at time.Duration, killed bool) {
	d := x.leaving
	r := &e.stats.Removals[d.removal]
	for _, b := range d.queue {
		s := e.stages[b.stage]
		if s.outputs[b.partition] != x.id || !e.outputNeeded(s) {
			r.UnreadBytes += e.blockBytes(b)
			if s.outputs[b.partition] == x.id {
				s.outputs[b.partition] = ""
			}
			continue
		}
		e.lose(b, r)
	}
	r.Killed = killed && len(d.queue) > 0
	r.Ended = at
	d.queue = nil
	e.forget(x, d.reason)
	e.schedule()
}

// peerFor picks the executor that takes leaving's next block: round robin
// over the executors not leaving, in registration order; "" when none is left.
func (e *Engine) peerFor(leaving string) string {
	peers := e.Executors()
	if len(peers) == 0 {
		return ""
	}
	i := e.nextPeer[leaving]
	e.nextPeer[leaving] = i + 1
	return peers[i%len(peers)]
}

func taskType(s *StageSpec) string {
	if s.ShuffleMap {
		return "ShuffleMapTask"
	}
	return "ResultTask"
}

// Advance runs the schedule forward to model time `to`: task ends and
// migration steps, in time order.
func (e *Engine) Advance(to time.Duration) {
	for !e.done {
		e.schedule()
		stepAt, leaving := e.nextMigrationStep()
		var next *runningTask
		for _, t := range e.running {
			if next == nil || t.end < next.end || (t.end == next.end && t.id < next.id) {
				next = t
			}
		}
		switch {
		case leaving != nil && stepAt <= to && (next == nil || stepAt <= next.end):
			e.now = max(e.now, stepAt)
			e.stepMigration(leaving)
			continue
		case next == nil || next.end > to:
		default:
			e.now = next.end
			e.finishTask(next)
			continue
		}
		break
	}
	if to > e.now {
		e.now = to
	}
}

// NextCompletion is the model time of the next task end or migration step,
// if any task runs or executor decommissions.
func (e *Engine) NextCompletion() (time.Duration, bool) {
	stepAt, leaving := e.nextMigrationStep()
	found := leaving != nil && !e.done
	end := stepAt
	for _, t := range e.running {
		if !found || t.end < end {
			end, found = t.end, true
		}
	}
	return end, found
}

// schedule submits stages whose parents are ready and places pending tasks
// on free task slots, spreading them over executors as Spark does.
func (e *Engine) schedule() {
	if e.done {
		return
	}
	if !e.jobOpen {
		e.startJob()
	}
	job := e.w.Jobs[e.jobIndex]
	for i := range job.Stages {
		s := e.stages[job.Stages[i].ID]
		if s.complete || s.active || !e.parentsReady(s) {
			continue
		}
		s.attempt++
		s.active = true
		s.submitted = e.now
		s.pending = s.pending[:0]
		for p, d := range s.done {
			if !d {
				s.pending = append(s.pending, p)
			}
		}
		s.attemptTasks = len(s.pending)
		e.emit(stageSubmittedEvent{Event: "SparkListenerStageSubmitted", StageInfo: e.stageInfo(s, false), Properties: map[string]string{}})
	}
	for {
		s := e.nextPendingStage()
		if s == nil {
			return
		}
		x := e.freestExecutor()
		if x == nil {
			return
		}
		p := s.pending[0]
		s.pending = s.pending[1:]
		s.running++
		x.busy++
		t := &runningTask{id: e.nextTask, stage: s, attempt: s.attempt, partition: p, try: s.attempts[p], exec: x.id, start: e.now, end: e.now + s.spec.Tasks[p].Duration}
		s.attempts[p]++
		e.nextTask++
		e.running = append(e.running, t)
		e.emit(taskStartEvent{Event: "SparkListenerTaskStart", StageID: s.spec.ID, StageAttemptID: s.attempt, TaskInfo: e.taskInfo(t, x.host, 0, false)})
	}
}

// nextPendingStage is the lowest-numbered active stage with pending tasks
// whose parents' outputs are all available.
func (e *Engine) nextPendingStage() *stageState {
	var best *stageState
	for _, s := range e.stages {
		if !s.active || len(s.pending) == 0 || s.jobIndex != e.jobIndex || !e.parentsReady(s) {
			continue
		}
		if best == nil || s.spec.ID < best.spec.ID {
			best = s
		}
	}
	return best
}

func (e *Engine) freestExecutor() *engineExecutor {
	var best *engineExecutor
	for _, x := range e.execs {
		free := x.cores - x.busy
		if free <= 0 || x.leaving != nil {
			continue
		}
		if best == nil || free > best.cores-best.busy || (free == best.cores-best.busy && x.order < best.order) {
			best = x
		}
	}
	return best
}

func (e *Engine) startJob() {
	e.jobOpen = true
	job := e.w.Jobs[e.jobIndex]
	var infos []stageInfo
	var ids []int
	for i := range job.Stages {
		s := e.stages[job.Stages[i].ID]
		infos = append(infos, e.stageInfo(s, false))
		ids = append(ids, s.spec.ID)
	}
	e.emit(jobStartEvent{Event: "SparkListenerJobStart", JobID: job.ID, SubmissionTime: e.ts(e.now), StageInfos: infos, StageIDs: ids, Properties: map[string]string{}})
}

func (e *Engine) finishTask(t *runningTask) {
	for i, r := range e.running {
		if r == t {
			e.running = append(e.running[:i], e.running[i+1:]...)
			break
		}
	}
	s := t.stage
	s.running--
	x := e.execs[t.exec]
	x.busy--
	if x.busy == 0 {
		x.idleSince = e.now
	}
	spec := s.spec.Tasks[t.partition]
	metrics := &taskMetrics{
		ExecutorDeserializeTime:    12,
		ExecutorDeserializeCPUTime: 9_000_000,
		ExecutorRunTime:            spec.Duration.Milliseconds(),
		ExecutorCPUTime:            spec.Duration.Nanoseconds() * 8 / 10,
		ResultSize:                 2048,
		JVMGCTime:                  spec.Duration.Milliseconds() / 50,
		UpdatedBlocks:              []any{},
		InputMetrics:               inputMetrics{BytesRead: spec.InputBytes, RecordsRead: spec.InputRecords},
	}
	if s.spec.ShuffleMap {
		metrics.ShuffleWriteMetrics = shuffleWriteMetrics{ShuffleBytesWritten: spec.ShuffleWriteBytes, ShuffleWriteTime: spec.ShuffleWriteBytes / 20, ShuffleRecordsWritten: spec.ShuffleWriteRecords}
		s.outputs[t.partition] = t.exec
	}
	for _, pid := range s.spec.ParentIDs {
		parent := e.stages[pid]
		share := int64(len(s.spec.Tasks))
		for p, holder := range parent.outputs {
			bytes := parent.spec.Tasks[p].ShuffleWriteBytes / share
			records := parent.spec.Tasks[p].ShuffleWriteRecords / share
			r := &metrics.ShuffleReadMetrics
			r.TotalRecordsRead += records
			if holder == t.exec {
				r.LocalBlocksFetched++
				r.LocalBytesRead += bytes
			} else {
				r.RemoteBlocksFetched++
				r.RemoteBytesRead += bytes
			}
		}
		metrics.ShuffleReadMetrics.FetchWaitTime = metrics.ShuffleReadMetrics.RemoteBytesRead >> 26
	}
	if !s.spec.ShuffleMap && e.w.Params.Fail && s.jobIndex == 0 {
		metrics = nil
	}
	if metrics == nil {
		e.failJob(t, x.host)
		return
	}
	if s.recompute[t.partition] {
		s.recompute[t.partition] = false
		e.stats.RecomputeTaskTime += spec.Duration
	}
	s.done[t.partition] = true
	e.stats.TasksSucceeded++
	e.emit(taskEndEvent{
		Event: "SparkListenerTaskEnd", StageID: s.spec.ID, StageAttemptID: t.attempt, TaskType: taskType(s.spec),
		TaskEndReason: taskEndReason{Reason: "Success"}, TaskInfo: e.taskInfo(t, x.host, e.now, false),
		TaskExecutorMetrics: zeroExecutorMetrics(), TaskMetrics: metrics,
	})
	if len(s.pending) > 0 || s.running > 0 {
		return
	}
	for _, d := range s.done {
		if !d {
			return
		}
	}
	s.active = false
	s.complete = true
	e.emit(stageCompletedEvent{Event: "SparkListenerStageCompleted", StageInfo: e.stageInfo(s, true)})
	job := e.w.Jobs[e.jobIndex]
	for _, st := range job.Stages {
		if !e.stages[st.ID].complete {
			return
		}
	}
	e.emit(jobEndEvent{Event: "SparkListenerJobEnd", JobID: job.ID, CompletionTime: e.ts(e.now), JobResult: jobResult{Result: "JobSucceeded"}})
	e.jobOpen = false
	e.jobIndex++
	if e.jobIndex == len(e.w.Jobs) {
		e.done = true
		e.endedAt = e.now
	}
}

// failJob ends the application's job with a task failure, as a real
// application whose result stage throws (spark.sparkplane.emulator.outcome=fail).
func (e *Engine) failJob(t *runningTask, host string) {
	s := t.stage
	message := fmt.Sprintf("Job aborted due to stage failure: Task %d in stage %d.%d failed: emulated failure (%s=fail)", t.partition, s.spec.ID, t.attempt, ConfOutcome)
	e.stats.TasksFailed++
	e.emit(taskEndEvent{
		Event: "SparkListenerTaskEnd", StageID: s.spec.ID, StageAttemptID: t.attempt, TaskType: taskType(s.spec),
		TaskEndReason: taskEndReason{Reason: "ExceptionFailure"}, TaskInfo: e.taskInfo(t, host, e.now, true),
		TaskExecutorMetrics: zeroExecutorMetrics(),
	})
	for _, r := range e.running {
		r.stage.running--
		if x, ok := e.execs[r.exec]; ok {
			x.busy--
		}
	}
	e.running = nil
	s.active = false
	info := e.stageInfo(s, true)
	info.FailureReason = message
	e.emit(stageCompletedEvent{Event: "SparkListenerStageCompleted", StageInfo: info})
	job := e.w.Jobs[e.jobIndex]
	e.emit(jobEndEvent{Event: "SparkListenerJobEnd", JobID: job.ID, CompletionTime: e.ts(e.now), JobResult: jobResult{Result: "JobFailed", Exception: &jobException{Message: message, StackTrace: []any{}}}})
	e.done, e.failed, e.endedAt = true, true, e.now
}

// Finish records the application's end. Executors still decommissioning
// stop with it; the blocks they still held are no longer needed.
func (e *Engine) Finish() {
	for _, id := range e.leavingExecutors() {
		e.endDeparture(e.execs[id], e.now, false)
	}
	exitCode := 0
	if e.failed {
		exitCode = 1
	}
	e.emit(applicationEndEvent{Event: "SparkListenerApplicationEnd", Timestamp: e.ts(e.now), ExitCode: exitCode})
}

func (e *Engine) taskInfo(t *runningTask, host string, finish time.Duration, failed bool) taskInfo {
	info := taskInfo{
		TaskID: t.id, Index: t.partition, Attempt: t.try, PartitionID: t.partition, LaunchTime: e.ts(t.start),
		ExecutorID: t.exec, Host: host, Locality: "PROCESS_LOCAL", Failed: failed, Accumulables: []any{},
	}
	if len(t.stage.spec.ParentIDs) > 0 {
		info.Locality = "NODE_LOCAL"
	}
	if finish > 0 || failed {
		info.FinishTime = e.ts(finish)
	}
	return info
}

func (e *Engine) stageInfo(s *stageState, completed bool) stageInfo {
	attempt := max(s.attempt, 0)
	parents := s.spec.ParentIDs
	if parents == nil {
		parents = []int{}
	}
	// A resubmitted attempt runs only the partitions still missing.
	numTasks := len(s.spec.Tasks)
	if s.attempt > 0 {
		numTasks = s.attemptTasks
	}
	info := stageInfo{
		StageID: s.spec.ID, StageAttemptID: attempt, StageName: s.spec.Name, NumberOfTasks: numTasks,
		RDDInfo: []rddInfo{{
			RDDID: s.spec.ID, Name: "MapPartitionsRDD", Callsite: s.spec.Name, ParentIDs: []int{},
			StorageLevel: storageLevel{Replication: 1}, DeterministicLevel: "DETERMINATE", NumberOfPartitions: len(s.spec.Tasks),
		}},
		ParentIDs: parents, Details: "org.apache.spark.sparkplane.Emulated", Accumulables: []any{},
	}
	if s.attempt >= 0 {
		info.SubmissionTime = e.ts(s.submitted)
	}
	if completed {
		info.CompletionTime = e.ts(e.now)
	}
	return info
}
