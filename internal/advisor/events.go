package advisor

import (
	"bytes"
)

// eventKind names the events the analysis distinguishes. Spark writes one JSON
// object per line with its class name in "Event"; the analysis decodes only the
// fields of the kinds below and counts every other known event without reading
// past its name.
type eventKind uint8

const (
	kindNone eventKind = iota
	kindCorrupt
	kindUnknown
	kindIgnored   // a known Spark event the advice does not need
	kindTruncated // an unterminated last line
	kindOversized // a line longer than Options.MaxLineBytes
	kindLogStart
	kindApplicationStart
	kindApplicationEnd
	kindEnvironmentUpdate
	kindResourceProfileAdded
	kindExecutorAdded
	kindExecutorRemoved
	kindJobStart
	kindStageSubmitted
	kindStageCompleted
	kindTaskStart
	kindTaskEnd
	kindStageExecutorMetrics
	// kindSQLExecutionStart is counted by name only: its presence says the
	// application ran Spark SQL (so spark.sql.shuffle.partitions applies).
	kindSQLExecutionStart
)

// decodedKinds maps the event names whose fields the analysis reads (or whose
// occurrence it counts) to their kind.
var decodedKinds = map[string]eventKind{
	"SparkListenerLogStart":                                            kindLogStart,
	"SparkListenerApplicationStart":                                    kindApplicationStart,
	"SparkListenerApplicationEnd":                                      kindApplicationEnd,
	"SparkListenerEnvironmentUpdate":                                   kindEnvironmentUpdate,
	"SparkListenerResourceProfileAdded":                                kindResourceProfileAdded,
	"SparkListenerExecutorAdded":                                       kindExecutorAdded,
	"SparkListenerExecutorRemoved":                                     kindExecutorRemoved,
	"SparkListenerJobStart":                                            kindJobStart,
	"org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart": kindSQLExecutionStart,
	"SparkListenerStageSubmitted":                                      kindStageSubmitted,
	"SparkListenerStageCompleted":                                      kindStageCompleted,
	"SparkListenerTaskStart":                                           kindTaskStart,
	"SparkListenerTaskEnd":                                             kindTaskEnd,
	"SparkListenerStageExecutorMetrics":                                kindStageExecutorMetrics,
}

// ignoredEvents are Spark's other event classes (core, SQL, streaming,
// Structured Streaming, resource profiles): known, not needed. Names are
// matched with and without the "org.apache.spark.scheduler." prefix that
// Spark 2.x wrote for some of them.
var ignoredEvents = map[string]bool{
	"SparkListenerTaskGettingResult":                                                       true,
	"SparkListenerJobEnd":                                                                  true,
	"SparkListenerBlockManagerAdded":                                                       true,
	"SparkListenerBlockManagerRemoved":                                                     true,
	"SparkListenerUnpersistRDD":                                                            true,
	"SparkListenerExecutorMetricsUpdate":                                                   true,
	"SparkListenerBlockUpdated":                                                            true,
	"SparkListenerSpeculativeTaskSubmitted":                                                true,
	"SparkListenerExecutorBlacklisted":                                                     true,
	"SparkListenerExecutorUnblacklisted":                                                   true,
	"SparkListenerNodeBlacklisted":                                                         true,
	"SparkListenerNodeUnblacklisted":                                                       true,
	"SparkListenerExecutorBlacklistedForStage":                                             true,
	"SparkListenerNodeBlacklistedForStage":                                                 true,
	"SparkListenerExecutorExcluded":                                                        true,
	"SparkListenerExecutorUnexcluded":                                                      true,
	"SparkListenerNodeExcluded":                                                            true,
	"SparkListenerNodeUnexcluded":                                                          true,
	"SparkListenerExecutorExcludedForStage":                                                true,
	"SparkListenerNodeExcludedForStage":                                                    true,
	"SparkListenerUnschedulableTaskSetAdded":                                               true,
	"SparkListenerUnschedulableTaskSetRemoved":                                             true,
	"SparkListenerMiscellaneousProcessAdded":                                               true,
	"SparkListenerLogStartWithSparkVersion":                                                true,
	"SparkListenerResourceProfileRemoved":                                                  true,
	"SparkListenerExecutorDecommissioned":                                                  true,
	"SparkListenerExecutorDecommissionStarted":                                             true,
	"org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionEnd":                       true,
	"org.apache.spark.sql.execution.ui.SparkListenerDriverAccumUpdates":                    true,
	"org.apache.spark.sql.execution.ui.SparkListenerSQLAdaptiveExecutionUpdate":            true,
	"org.apache.spark.sql.execution.ui.SparkListenerSQLAdaptiveSQLMetricUpdates":           true,
	"org.apache.spark.sql.execution.ui.SparkListenerEffectiveSQLConf":                      true,
	"org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionUIDataProgress":            true,
	"org.apache.spark.sql.streaming.StreamingQueryListener$QueryStartedEvent":              true,
	"org.apache.spark.sql.streaming.StreamingQueryListener$QueryProgressEvent":             true,
	"org.apache.spark.sql.streaming.StreamingQueryListener$QueryTerminatedEvent":           true,
	"org.apache.spark.sql.streaming.StreamingQueryListener$QueryIdleEvent":                 true,
	"org.apache.spark.streaming.scheduler.StreamingListenerBatchCompleted":                 true,
	"org.apache.spark.sql.hive.thriftserver.ui.SparkListenerThriftServerSessionCreated":    true,
	"org.apache.spark.sql.hive.thriftserver.ui.SparkListenerThriftServerSessionClosed":     true,
	"org.apache.spark.sql.hive.thriftserver.ui.SparkListenerThriftServerOperationStart":    true,
	"org.apache.spark.sql.hive.thriftserver.ui.SparkListenerThriftServerOperationParsed":   true,
	"org.apache.spark.sql.hive.thriftserver.ui.SparkListenerThriftServerOperationFinish":   true,
	"org.apache.spark.sql.hive.thriftserver.ui.SparkListenerThriftServerOperationClosed":   true,
	"org.apache.spark.sql.hive.thriftserver.ui.SparkListenerThriftServerOperationError":    true,
	"org.apache.spark.sql.hive.thriftserver.ui.SparkListenerThriftServerOperationCanceled": true,
	"org.apache.spark.sql.hive.thriftserver.ui.SparkListenerThriftServerOperationTimeout":  true,
}

const schedulerPrefix = "org.apache.spark.scheduler."

// classify maps an event name to its kind.
func classify(name []byte) eventKind {
	if k, ok := decodedKinds[string(name)]; ok {
		return k
	}
	if ignoredEvents[string(name)] {
		return kindIgnored
	}
	if rest, ok := bytes.CutPrefix(name, []byte(schedulerPrefix)); ok {
		if k, ok := decodedKinds[string(rest)]; ok {
			return k
		}
		if ignoredEvents[string(rest)] {
			return kindIgnored
		}
	}
	return kindUnknown
}

// memoryPeaks are the executor memory metrics the advice uses, in bytes, as
// Spark's ExecutorMetrics reports them (peaks since the previous report).
type memoryPeaks struct {
	heap, offHeap, rss int64
}

// record is what parsing one line yields: the kind and the few fields the
// analysis needs. Strings are only set for rare events.
type record struct {
	kind eventKind

	stageID, stageAttempt int64
	timestamp             int64 // event timestamp; task launch time for TaskEnd
	finish                int64 // task finish time; stage completion time
	count                 int64 // stage: number of tasks; executor: total cores

	isDriver   bool // the executor of a task or metrics report is the driver
	hasMetrics bool // executor memory metrics were present
	memory     memoryPeaks

	// Task end.
	success, failed, killed bool
	hasTaskMetrics          bool
	hasCPU                  bool
	runTimeMs, cpuTimeNs    int64
	gcTimeMs                int64
	memorySpilled           int64
	diskSpilled             int64
	remoteRead, localRead   int64
	fetchWaitMs             int64
	shuffleWrite            int64
	inputBytes, outputBytes int64
	peakExecutionMemory     int64

	failureReason bool

	// rare holds the strings of rare events (application, executor and
	// environment events), so that the record of a task stays small.
	rare *rareFields
}

type rareFields struct {
	name, id, user, attempt, version string
	props                            [][2]string
}

// strings returns the record's rare fields, allocating them on first use.
func (r *record) strings() *rareFields {
	if r.rare == nil {
		r.rare = &rareFields{}
	}
	return r.rare
}

// eventNamePrefix is how Spark's JsonProtocol starts every line.
var eventNamePrefix = []byte(`{"Event":"`)

// eventName finds the value of the top-level "Event" member: at the start of
// the line on the fast path, by walking the top-level object otherwise.
func eventName(line []byte, scratch []byte) ([]byte, bool) {
	if bytes.HasPrefix(line, eventNamePrefix) {
		rest := line[len(eventNamePrefix):]
		// Event names never hold quotes or escapes; a backslash sends the
		// line down the general path.
		if end := bytes.IndexByte(rest, '"'); end > 0 && bytes.IndexByte(rest[:end], '\\') < 0 {
			return rest[:end], true
		}
	}
	i := objectStart(line, 0)
	var name []byte
	found := false
	for {
		key, j, more := objectKey(line, i, scratch)
		if !more {
			if j < 0 {
				return nil, false
			}
			break
		}
		if string(key) == "Event" {
			v, k := readString(line, j, nil)
			if k < 0 {
				return nil, false
			}
			// Copy out of scratch-free storage: readString only uses scratch
			// for escaped content, and nil scratch allocates.
			name, found = v, true
			j = k
		} else {
			j = skipValue(line, j)
		}
		i = objectNext(line, j)
	}
	return name, found
}

// parseLine decodes one line (without its newline) into rec. It reports a
// corrupt line as kindCorrupt and an unknown event as kindUnknown with its name.
func parseLine(line []byte, rec *record, scratch []byte) {
	parseLineWith(line, rec, scratch, nil)
}

// parseLineWith is parseLine reading task ends through the shapes of shapes
// (nil: none).
func parseLineWith(line []byte, rec *record, scratch []byte, shapes *shapeCache) {
	*rec = record{}
	// Most lines are task ends of the last shape matched: that shape is
	// tried before the event name is looked up (the event name is part of
	// its bytes, so a line that has the shape is a task end).
	triedLast := false
	if shapes != nil && len(shapes.shapes) > 0 && shapes.paying() {
		if shapes.shapes[0].match(line, rec) {
			shapes.hits++
			return
		}
		*rec = record{}
		triedLast = true
	}
	name, ok := eventName(line, scratch)
	if !ok {
		rec.kind = kindCorrupt
		return
	}
	kind := classify(name)
	var end int
	switch kind {
	case kindIgnored, kindTaskStart, kindJobStart, kindSQLExecutionStart:
		// Counted by name only: nothing in them is needed.
		rec.kind = kind
		return
	case kindUnknown:
		rec.kind = kindUnknown
		rec.strings().name = string(name)
		return
	case kindTaskEnd:
		if shapes != nil {
			end = shapes.parseTaskEnd(line, rec, scratch, triedLast)
		} else {
			end = parseTaskEnd(line, rec, scratch)
		}
	case kindStageSubmitted, kindStageCompleted:
		end = parseStage(line, rec, scratch)
	case kindStageExecutorMetrics:
		end = parseStageExecutorMetrics(line, rec, scratch)
	case kindExecutorAdded, kindExecutorRemoved:
		end = parseExecutor(line, rec, scratch)
	case kindApplicationStart, kindApplicationEnd, kindLogStart:
		end = parseApplication(line, rec, scratch)
	case kindEnvironmentUpdate:
		end = parseEnvironment(line, rec, scratch)
	case kindResourceProfileAdded:
		end = parseResourceProfile(line, rec, scratch)
	}
	if end < 0 || ws(line, end) != len(line) {
		*rec = record{kind: kindCorrupt}
		return
	}
	rec.kind = kind
}

// The parsers below walk one object each: known keys are decoded, all others
// skipped. Each returns the position after the object, or -1.

// Keys of the hot events, in the order Spark 2.x and 3.x write them (see
// keySet). Only the indexes named below are read; the others are there so
// that the guess of the next key stays right.
var (
	taskEndKeys = newKeySet("Event", "Stage ID", "Stage Attempt ID", "Task Type", "Task End Reason",
		"Task Info", "Task Executor Metrics", "Task Metrics")
	taskEndReasonKeys = newKeySet("Reason", "Class Name", "Description", "Stack Trace", "Full Stack Trace",
		"Accumulator Updates")
	taskInfoKeys = newKeySet("Task ID", "Index", "Attempt", "Partition ID", "Launch Time", "Executor ID",
		"Host", "Locality", "Speculative", "Getting Result Time", "Finish Time", "Failed", "Killed", "Accumulables")
	executorMetricsKeys = newKeySet("JVMHeapMemory", "JVMOffHeapMemory", "OnHeapExecutionMemory",
		"OffHeapExecutionMemory", "OnHeapStorageMemory", "OffHeapStorageMemory", "OnHeapUnifiedMemory",
		"OffHeapUnifiedMemory", "DirectPoolMemory", "MappedPoolMemory", "ProcessTreeJVMVMemory",
		"ProcessTreeJVMRSSMemory", "ProcessTreePythonVMemory", "ProcessTreePythonRSSMemory",
		"ProcessTreeOtherVMemory", "ProcessTreeOtherRSSMemory", "MinorGCCount", "MinorGCTime", "MajorGCCount",
		"MajorGCTime", "TotalGCTime", "ConcurrentGCCount", "ConcurrentGCTime")
	taskMetricsKeys = newKeySet("Host Name", "Executor Deserialize Time", "Executor Deserialize CPU Time",
		"Executor Run Time", "Executor CPU Time", "Peak Execution Memory", "Peak On Heap Execution Memory",
		"Peak Off Heap Execution Memory", "Result Size", "JVM GC Time", "Result Serialization Time",
		"Memory Bytes Spilled", "Disk Bytes Spilled", "Shuffle Read Metrics", "Shuffle Write Metrics",
		"Input Metrics", "Output Metrics", "Updated Blocks")
	shuffleReadKeys = newKeySet("Remote Blocks Fetched", "Local Blocks Fetched", "Fetch Wait Time",
		"Remote Bytes Read", "Remote Bytes Read To Disk", "Local Bytes Read", "Total Records Read", "Remote Requests Duration",
		"Push Based Shuffle")
	shuffleWriteKeys = newKeySet("Shuffle Bytes Written", "Shuffle Write Time", "Shuffle Records Written")
	inputKeys        = newKeySet("Data Read Method", "Bytes Read", "Records Read")
	outputKeys       = newKeySet("Bytes Written", "Records Written")
	stageKeys        = newKeySet("Event", "Stage Info", "Properties")
	stageInfoKeys    = newKeySet("Stage ID", "Stage Attempt ID", "Stage Name", "Number of Tasks", "RDD Info",
		"Parent IDs", "Details", "Submission Time", "Completion Time", "Failure Reason", "Accumulables", "Resource Profile Id",
		"Shuffle Push Enabled", "Shuffle Push Mergers Count")
	stageExecutorMetricsKeys = newKeySet("Event", "Executor ID", "Stage ID", "Stage Attempt ID", "Executor Metrics")
)

func parseTaskEnd(b []byte, r *record, scratch []byte) int {
	i := 0
	for c := (keyCursor{lead: '{'}); ; {
		id, j, more := taskEndKeys.next(b, i, &c, scratch)
		if !more {
			return j
		}
		switch id {
		case 1: // Stage ID
			r.stageID, j = readInt(b, j)
		case 2: // Stage Attempt ID
			r.stageAttempt, j = readInt(b, j)
		case 4: // Task End Reason
			j = parseTaskEndReason(b, j, r, scratch)
		case 5: // Task Info
			j = parseTaskInfo(b, j, r, scratch)
		case 6: // Task Executor Metrics
			j = parseExecutorMetrics(b, j, r, scratch)
		case 7: // Task Metrics
			j = parseTaskMetrics(b, j, r, scratch)
		default:
			j = skipValue(b, j)
		}
		i = j
	}
}

// Each parser below first clears the fields it owns, so that a key given twice
// means what encoding/json makes of it: the last value wins.

func parseTaskEndReason(b []byte, i int, r *record, scratch []byte) int {
	r.success = false
	if i < len(b) && b[i] != '{' {
		return skipValue(b, i)
	}
	for c := (keyCursor{lead: '{'}); ; {
		id, j, more := taskEndReasonKeys.next(b, i, &c, scratch)
		if !more {
			return j
		}
		if id == 0 { // Reason
			var v []byte
			v, j = readString(b, j, scratch)
			r.success = string(v) == "Success"
		} else {
			j = skipValue(b, j)
		}
		i = j
	}
}

func parseTaskInfo(b []byte, i int, r *record, scratch []byte) int {
	r.timestamp, r.finish, r.isDriver, r.failed, r.killed = 0, 0, false, false, false
	if i < len(b) && b[i] != '{' {
		return skipValue(b, i)
	}
	for c := (keyCursor{lead: '{'}); ; {
		id, j, more := taskInfoKeys.next(b, i, &c, scratch)
		if !more {
			return j
		}
		switch id {
		case 4: // Launch Time
			r.timestamp, j = readInt(b, j)
		case 10: // Finish Time
			r.finish, j = readInt(b, j)
		case 5: // Executor ID
			var v []byte
			v, j = readString(b, j, scratch)
			r.isDriver = string(v) == "driver"
		case 11: // Failed
			r.failed, j = readBool(b, j)
		case 12: // Killed
			r.killed, j = readBool(b, j)
		default:
			j = skipValue(b, j)
		}
		i = j
	}
}

func parseExecutorMetrics(b []byte, i int, r *record, scratch []byte) int {
	r.hasMetrics, r.memory = false, memoryPeaks{}
	if i < len(b) && b[i] != '{' {
		return skipValue(b, i)
	}
	r.hasMetrics = true
	for c := (keyCursor{lead: '{'}); ; {
		id, j, more := executorMetricsKeys.next(b, i, &c, scratch)
		if !more {
			return j
		}
		switch id {
		case 0: // JVMHeapMemory
			r.memory.heap, j = readInt(b, j)
		case 1: // JVMOffHeapMemory
			r.memory.offHeap, j = readInt(b, j)
		case 11: // ProcessTreeJVMRSSMemory
			r.memory.rss, j = readInt(b, j)
		default:
			j = skipValue(b, j)
		}
		i = j
	}
}

func parseTaskMetrics(b []byte, i int, r *record, scratch []byte) int {
	r.hasTaskMetrics, r.hasCPU = false, false
	r.runTimeMs, r.cpuTimeNs, r.gcTimeMs, r.memorySpilled, r.diskSpilled, r.peakExecutionMemory = 0, 0, 0, 0, 0, 0
	r.remoteRead, r.localRead, r.fetchWaitMs, r.shuffleWrite, r.inputBytes, r.outputBytes = 0, 0, 0, 0, 0, 0
	if i < len(b) && b[i] != '{' {
		return skipValue(b, i)
	}
	r.hasTaskMetrics = true
	for c := (keyCursor{lead: '{'}); ; {
		id, j, more := taskMetricsKeys.next(b, i, &c, scratch)
		if !more {
			return j
		}
		switch id {
		case 3: // Executor Run Time
			r.runTimeMs, j = readInt(b, j)
		case 4: // Executor CPU Time
			r.cpuTimeNs, j = readInt(b, j)
			r.hasCPU = true
		case 9: // JVM GC Time
			r.gcTimeMs, j = readInt(b, j)
		case 11: // Memory Bytes Spilled
			r.memorySpilled, j = readInt(b, j)
		case 12: // Disk Bytes Spilled
			r.diskSpilled, j = readInt(b, j)
		case 5: // Peak Execution Memory
			r.peakExecutionMemory, j = readInt(b, j)
		case 13: // Shuffle Read Metrics
			r.remoteRead, r.localRead, r.fetchWaitMs = 0, 0, 0
			j = parseMetricGroup(b, j, scratch, shuffleReadKeys, [6]*int64{3: &r.remoteRead, 5: &r.localRead, 2: &r.fetchWaitMs})
		case 14: // Shuffle Write Metrics
			r.shuffleWrite = 0
			j = parseMetricGroup(b, j, scratch, shuffleWriteKeys, [6]*int64{0: &r.shuffleWrite})
		case 15: // Input Metrics
			r.inputBytes = 0
			j = parseMetricGroup(b, j, scratch, inputKeys, [6]*int64{1: &r.inputBytes})
		case 16: // Output Metrics
			r.outputBytes = 0
			j = parseMetricGroup(b, j, scratch, outputKeys, [6]*int64{0: &r.outputBytes})
		default:
			j = skipValue(b, j)
		}
		i = j
	}
}

// parseMetricGroup reads one of the task metrics' nested groups: the member
// whose key has index n in keys goes to targets[n] when that is set. Members
// that are not numbers are skipped (older Spark versions write strings in
// some).
func parseMetricGroup(b []byte, i int, scratch []byte, keys *keySet, targets [6]*int64) int {
	if i < len(b) && b[i] != '{' {
		return skipValue(b, i)
	}
	for c := (keyCursor{lead: '{'}); ; {
		id, j, more := keys.next(b, i, &c, scratch)
		if !more {
			return j
		}
		var target *int64
		if id >= 0 && id < len(targets) {
			target = targets[id]
		}
		if target != nil {
			*target, j = readMetric(b, j)
		} else {
			j = skipValue(b, j)
		}
		i = j
	}
}

// readMetric reads a member of a metric group: a number, or 0 for any
// other value (skipped).
func readMetric(b []byte, i int) (int64, int) {
	if i < len(b) && (b[i] == '-' || (b[i] >= '0' && b[i] <= '9')) {
		return readInt(b, i)
	}
	return 0, skipValue(b, i)
}

// parseInts walks a flat object, handing every numeric member to set and
// skipping the others.
func parseInts(b []byte, i int, scratch []byte, set func(key []byte, v int64)) int {
	if i < len(b) && b[i] != '{' {
		return skipValue(b, i)
	}
	i = objectStart(b, i)
	for {
		key, j, more := objectKey(b, i, scratch)
		if !more {
			return j
		}
		if j < len(b) && (b[j] == '-' || (b[j] >= '0' && b[j] <= '9')) {
			var v int64
			v, j = readInt(b, j)
			set(key, v)
		} else {
			j = skipValue(b, j)
		}
		i = objectNext(b, j)
	}
}

func parseStage(b []byte, r *record, scratch []byte) int {
	i := 0
	for c := (keyCursor{lead: '{'}); ; {
		id, j, more := stageKeys.next(b, i, &c, scratch)
		if !more {
			return j
		}
		if id == 1 { // Stage Info
			j = parseStageInfo(b, j, r, scratch)
		} else {
			j = skipValue(b, j)
		}
		i = j
	}
}

func parseStageInfo(b []byte, i int, r *record, scratch []byte) int {
	if i < len(b) && b[i] != '{' {
		return skipValue(b, i)
	}
	for c := (keyCursor{lead: '{'}); ; {
		id, j, more := stageInfoKeys.next(b, i, &c, scratch)
		if !more {
			return j
		}
		switch id {
		case 0: // Stage ID
			r.stageID, j = readInt(b, j)
		case 1: // Stage Attempt ID
			r.stageAttempt, j = readInt(b, j)
		case 3: // Number of Tasks
			r.count, j = readInt(b, j)
		case 7: // Submission Time
			r.timestamp, j = readInt(b, j)
		case 8: // Completion Time
			r.finish, j = readInt(b, j)
		case 9: // Failure Reason
			r.failureReason = true
			j = skipValue(b, j)
		default:
			j = skipValue(b, j)
		}
		i = j
	}
}

func parseStageExecutorMetrics(b []byte, r *record, scratch []byte) int {
	i := 0
	for c := (keyCursor{lead: '{'}); ; {
		id, j, more := stageExecutorMetricsKeys.next(b, i, &c, scratch)
		if !more {
			return j
		}
		switch id {
		case 1: // Executor ID
			var v []byte
			v, j = readString(b, j, scratch)
			r.isDriver = string(v) == "driver"
		case 2: // Stage ID
			r.stageID, j = readInt(b, j)
		case 3: // Stage Attempt ID
			r.stageAttempt, j = readInt(b, j)
		case 4: // Executor Metrics
			j = parseExecutorMetrics(b, j, r, scratch)
		default:
			j = skipValue(b, j)
		}
		i = j
	}
}

func parseExecutor(b []byte, r *record, scratch []byte) int {
	i := objectStart(b, 0)
	for {
		key, j, more := objectKey(b, i, scratch)
		if !more {
			return j
		}
		switch string(key) {
		case "Timestamp":
			r.timestamp, j = readInt(b, j)
		case "Executor ID":
			var v []byte
			v, j = readString(b, j, scratch)
			r.strings().id = string(v)
			r.isDriver = r.rare.id == "driver"
		case "Executor Info":
			j = parseInts(b, j, scratch, func(k []byte, v int64) {
				if string(k) == "Total Cores" {
					r.count = v
				}
			})
		default:
			j = skipValue(b, j)
		}
		i = objectNext(b, j)
	}
}

func parseApplication(b []byte, r *record, scratch []byte) int {
	i := objectStart(b, 0)
	for {
		key, j, more := objectKey(b, i, scratch)
		if !more {
			return j
		}
		var target *string
		switch string(key) {
		case "Timestamp":
			r.timestamp, j = readInt(b, j)
		case "App Name":
			target = &r.strings().name
		case "App ID":
			target = &r.strings().id
		case "User":
			target = &r.strings().user
		case "App Attempt ID":
			target = &r.strings().attempt
		case "Spark Version":
			target = &r.strings().version
		default:
			j = skipValue(b, j)
		}
		if target != nil {
			if j < len(b) && b[j] == '"' {
				var v []byte
				v, j = readString(b, j, scratch)
				*target = string(v)
			} else {
				j = skipValue(b, j)
			}
		}
		i = objectNext(b, j)
	}
}

// wantedProperties are the sparkConf keys the advice reads from the
// environment update.
var wantedProperties = map[string]bool{
	"spark.master":                                    true,
	"spark.executor.cores":                            true,
	"spark.executor.memory":                           true,
	"spark.executor.memoryOverhead":                   true,
	"spark.executor.instances":                        true,
	"spark.kubernetes.executor.request.cores":         true,
	"spark.dynamicAllocation.enabled":                 true,
	"spark.dynamicAllocation.minExecutors":            true,
	"spark.dynamicAllocation.maxExecutors":            true,
	"spark.dynamicAllocation.shuffleTracking.enabled": true,
	"spark.shuffle.service.enabled":                   true,
	"spark.sql.shuffle.partitions":                    true,
	"spark.default.parallelism":                       true,
	"spark.sql.adaptive.enabled":                      true,
	"spark.shuffle.manager":                           true,
	"spark.task.cpus":                                 true,
}

func parseEnvironment(b []byte, r *record, scratch []byte) int {
	i := objectStart(b, 0)
	for {
		key, j, more := objectKey(b, i, scratch)
		if !more {
			return j
		}
		if string(key) == "Spark Properties" && j < len(b) && b[j] == '{' {
			j = objectStart(b, j)
			for {
				k, m, more := objectKey(b, j, scratch)
				if !more {
					j = m
					break
				}
				if wantedProperties[string(k)] && m < len(b) && b[m] == '"' {
					name := string(k)
					var v []byte
					v, m = readString(b, m, scratch)
					r.strings().props = append(r.strings().props, [2]string{name, string(v)})
				} else {
					m = skipValue(b, m)
				}
				j = objectNext(b, m)
			}
		} else {
			j = skipValue(b, j)
		}
		i = objectNext(b, j)
	}
}

func parseResourceProfile(b []byte, r *record, scratch []byte) int {
	i := objectStart(b, 0)
	r.stageID = -1
	for {
		key, j, more := objectKey(b, i, scratch)
		if !more {
			return j
		}
		switch string(key) {
		case "Resource Profile Id":
			r.stageID, j = readInt(b, j)
		case "Executor Resource Requests":
			// {"cores":{"Amount":1,...},"memory":{"Amount":1024,...},...}
			if j < len(b) && b[j] == '{' {
				j = objectStart(b, j)
				for {
					k, m, more := objectKey(b, j, scratch)
					if !more {
						j = m
						break
					}
					var target *int64
					switch string(k) {
					case "cores":
						target = &r.count
					case "memory":
						target = &r.finish // MiB
					}
					if target != nil {
						m = parseInts(b, m, scratch, func(k []byte, v int64) {
							if string(k) == "Amount" {
								*target = v
							}
						})
					} else {
						m = skipValue(b, m)
					}
					j = objectNext(b, m)
				}
			} else {
				j = skipValue(b, j)
			}
		default:
			j = skipValue(b, j)
		}
		i = objectNext(b, j)
	}
}
