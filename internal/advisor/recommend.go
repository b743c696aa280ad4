package advisor

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	shufflepvc "github.com/sparkplane/sparkplane/internal/spark/shuffle"
)

// Thresholds of the recommendations. docs/advisor.md gives the reasoning and
// source of each; change them there too.
const (
	// shortTaskMs: Spark's tuning guide says Spark "can efficiently support
	// tasks as short as 200 ms"; a median below it means scheduling overhead
	// dominates.
	shortTaskMs = 200
	// longTaskMs: a task longer than the 2-minute Spot interruption notice
	// cannot finish inside it, so its work is lost when the node goes.
	longTaskMs = 120_000
	// minTasksForPartitions: fewer tasks than this say nothing about
	// partitioning.
	minTasksForPartitions = 10
	// maxPartitionFactor caps one step of partition change.
	maxPartitionFactor = 10
	// defaultShufflePartitions is spark.sql.shuffle.partitions' default.
	defaultShufflePartitions = 200

	// lowCPUUtilization: below it, tasks spend most of their time waiting
	// (I/O, shuffle fetch, sleeping), so a core per task slot is wasted.
	lowCPUUtilization = 0.5
	// minRunTimeForCPU: less total task time than this (ms) is too little
	// evidence for CPU advice.
	minRunTimeForCPU = 60_000
	// cpuHeadroom is added above the measured utilisation.
	cpuHeadroom = 1.25

	// memoryHeadroom is added above the peak heap when sizing executors.
	memoryHeadroom = 1.25
	// shrinkWhenBelow: recommend less memory only when the new size is at
	// most this share of the current one.
	shrinkWhenBelow = 0.75
	// nearLimit: a peak heap above this share of the heap is too tight.
	nearLimit = 0.9
	// spillBytes and spillShare: spilling this much to disk (absolute, or as
	// a share of shuffle bytes) means executors lack execution memory.
	spillBytes = 1 << 30
	spillShare = 0.1
	// memoryGrowth is the step up when executors spill or run near the limit.
	memoryGrowth = 1.5

	// maxExecutorCores / minCoresForMany: Cloudera's tuning guide puts 5 as
	// the most cores per executor before HDFS/S3 client throughput and GC
	// suffer; single-core executors waste a JVM per task slot.
	maxExecutorCoresAdvice = 5
	manyCoresTarget        = 4
	minPeakForMoreCores    = 8

	// lowSlotUtilization: below it, executors sat idle for a large share of
	// the time they were paid for.
	lowSlotUtilization = 0.6
	// minDurationForDynamic (ms): shorter applications finish before dynamic
	// allocation could act (its default idle timeout is 60 s).
	minDurationForDynamic = 60_000

	// Shuffle storage.
	minShuffleForStorage = 10 << 30 // below: the default local dir is fine
	rssShuffleBytes      = 1 << 40  // above: a remote shuffle service
	rssFetchWaitRatio    = 0.1      // above: fetches stall tasks
	nvmeBytesPerCoreHour = 20 << 30 // above: local NVMe throughput is needed

	// Skew: Spark's AQE treats a partition as skewed when it is 5× the
	// median (spark.sql.adaptive.skewJoin.skewedPartitionFactor); the time
	// floor keeps short stages out.
	skewFactor   = 5.0
	skewMinMaxMs = 30_000
)

// Evidence thresholds of the confidence levels: an application reaches a
// level when it meets every figure of it. Below medium, a few tasks or
// minutes say little about the sizes an application needs (its next run may
// read ten times the data), so memory and core changes are only observed.
// docs/advisor.md gives the reasoning.
var (
	mediumEvidence = EvidenceSize{Tasks: 100, TaskSeconds: 300, Executors: 1, MinutesObserved: 2}
	highEvidence   = EvidenceSize{Tasks: 1000, TaskSeconds: 3600, Executors: 2, MinutesObserved: 10}
)

// observedOnlyBelowMedium are the kinds shown as observations, without a
// conf patch, below medium confidence: they resize executors.
var observedOnlyBelowMedium = map[string]bool{
	"executor-memory": true, "spill": true, "executor-cores": true, "oversubscription": true,
}

// confidence grades an evidence size.
func confidence(e EvidenceSize) string {
	meets := func(t EvidenceSize) bool {
		return e.Tasks >= t.Tasks && e.TaskSeconds >= t.TaskSeconds && e.Executors >= t.Executors && e.MinutesObserved >= t.MinutesObserved
	}
	switch {
	case meets(highEvidence):
		return ConfidenceHigh
	case meets(mediumEvidence):
		return ConfidenceMedium
	}
	return ConfidenceLow
}

// evidenceSize measures how much of the application the log shows.
func evidenceSize(rep *Report, taskTimeMs int64) EvidenceSize {
	return EvidenceSize{
		Tasks:           rep.Totals.Tasks,
		TaskSeconds:     round3(float64(taskTimeMs) / 1000),
		Executors:       rep.Measures.Concurrency.PeakExecutors,
		MinutesObserved: round3(float64(rep.Application.DurationMs) / 60_000),
	}
}

// hints are figures from the log the advice uses that the report does not show.
type hints struct {
	profileMemMiB     int64 // executor memory of resource profile 0
	shuffleStageTasks int64 // most tasks of any completed stage that read shuffle data
	taskTimeMs        int64 // total task wall time
}

// recommend derives the advice from a finished report, each piece graded by
// the evidence behind it.
func recommend(rep *Report, h hints) []Recommendation {
	out := []Recommendation{}
	size := evidenceSize(rep, h.taskTimeMs)
	level := confidence(size)
	add := func(r *Recommendation) {
		if r == nil {
			return
		}
		r.Confidence, r.EvidenceSize = level, size
		if level == ConfidenceLow && observedOnlyBelowMedium[r.Kind] {
			r.Observation = true
			r.Summary = "Observation only (too little evidence to change sizes: " + describeEvidence(size) + "): " + r.Summary
			r.SparkConf = map[string]string{}
		}
		out = append(out, *r)
	}
	add(recommendMemory(rep, h.profileMemMiB))
	add(recommendSpill(rep, h.profileMemMiB))
	add(recommendCores(rep))
	add(recommendOversubscription(rep))
	add(recommendPartitions(rep, h.shuffleStageTasks))
	add(recommendDynamicAllocation(rep))
	add(recommendShuffleStorage(rep))
	add(recommendSkew(rep))
	return out
}

func describeEvidence(e EvidenceSize) string {
	return fmt.Sprintf("%d tasks, %.0f task-seconds, %d executors, %.1f minutes", e.Tasks, e.TaskSeconds, e.Executors, e.MinutesObserved)
}

// Actionable reports whether r's patch may be applied: not an observation,
// and at least medium confidence. `--emit-conf` emits only these.
func (r Recommendation) Actionable() bool {
	return !r.Observation && (r.Confidence == ConfidenceMedium || r.Confidence == ConfidenceHigh)
}

// executorMemory returns the configured executor memory and where it came from.
func executorMemory(rep *Report, profileMemMiB int64) (int64, string) {
	if configured, ok := parseMemMiB(rep.Config["spark.executor.memory"]); ok {
		return configured, "spark.executor.memory"
	}
	if profileMemMiB > 0 {
		return profileMemMiB, "resource profile 0"
	}
	return 1024, "Spark's default"
}

// spilled reports whether executors spilled enough to lack execution memory.
func spilled(t *Totals) bool {
	shuffle := t.ShuffleReadBytes + t.ShuffleWriteBytes
	return t.DiskBytesSpilled >= spillBytes || (shuffle > 0 && float64(t.DiskBytesSpilled) >= spillShare*float64(shuffle))
}

// recommendSpill: executors that spill a lot to disk lack execution memory.
func recommendSpill(rep *Report, profileMemMiB int64) *Recommendation {
	t := &rep.Totals
	if rep.Measures.LocalMode || !spilled(t) {
		return nil
	}
	configured, source := executorMemory(rep, profileMemMiB)
	target := roundUpMiB(float64(configured)*memoryGrowth, 512)
	return &Recommendation{
		Kind: "spill",
		Summary: fmt.Sprintf("Raise executor memory from %s to %s: executors spilled %s to disk (%s of the shuffle), which means too little execution memory.",
			formatMiB(configured), formatMiB(target), formatBytes(t.DiskBytesSpilled), formatBytes(t.ShuffleReadBytes+t.ShuffleWriteBytes)),
		Evidence: map[string]any{
			"configuredMemoryMiB": configured,
			"configuredFrom":      source,
			"diskBytesSpilled":    t.DiskBytesSpilled,
			"memoryBytesSpilled":  t.MemoryBytesSpilled,
			"shuffleBytes":        t.ShuffleReadBytes + t.ShuffleWriteBytes,
		},
		SparkConf: map[string]string{"spark.executor.memory": formatMiB(target)},
	}
}

// recommendMemory sizes executor memory from the peak heap (spilling is
// recommendSpill's): up when it ran near the limit, down when far below.
func recommendMemory(rep *Report, profileMemMiB int64) *Recommendation {
	m := &rep.Measures
	t := &rep.Totals
	if m.LocalMode || m.PeakExecutorMemory == nil || spilled(t) {
		return nil
	}
	configured, source := executorMemory(rep, profileMemMiB)
	peakMiB := float64(m.PeakExecutorMemory.JVMHeapBytes) / (1 << 20)
	evidence := map[string]any{
		"configuredMemoryMiB": configured,
		"configuredFrom":      source,
		"diskBytesSpilled":    t.DiskBytesSpilled,
		"memoryBytesSpilled":  t.MemoryBytesSpilled,
		"peakJvmHeapBytes":    m.PeakExecutorMemory.JVMHeapBytes,
		"peakHeapShare":       round3(peakMiB / float64(configured)),
	}
	switch {
	case peakMiB >= nearLimit*float64(configured):
		target := roundUpMiB(float64(configured)*memoryGrowth, 512)
		return &Recommendation{
			Kind:      "executor-memory",
			Summary:   fmt.Sprintf("Raise executor memory from %s to %s: the peak heap reached %.0f%% of %s.", formatMiB(configured), formatMiB(target), 100*peakMiB/float64(configured), formatMiB(configured)),
			Evidence:  evidence,
			SparkConf: map[string]string{"spark.executor.memory": formatMiB(target)},
		}
	case peakMiB > 0:
		target := max(roundUpMiB(peakMiB*memoryHeadroom, 256), 1024)
		if float64(target) > shrinkWhenBelow*float64(configured) {
			return nil
		}
		return &Recommendation{
			Kind: "executor-memory",
			Summary: fmt.Sprintf("Lower executor memory from %s to %s: the peak heap of any executor was %s (%.0f%%) and nothing spilled.",
				formatMiB(configured), formatMiB(target), formatMiB(int64(math.Ceil(peakMiB))), 100*peakMiB/float64(configured)),
			Evidence:  evidence,
			SparkConf: map[string]string{"spark.executor.memory": formatMiB(target)},
		}
	}
	return nil
}

func recommendCores(rep *Report) *Recommendation {
	m := &rep.Measures
	if m.LocalMode || m.ExecutorCores == 0 {
		return nil
	}
	cores := m.ExecutorCores
	evidence := map[string]any{
		"executorCores":    cores,
		"peakRunningTasks": m.Concurrency.PeakRunningTasks,
		"peakExecutors":    m.Concurrency.PeakExecutors,
	}
	memMiB, ok := parseMemMiB(rep.Config["spark.executor.memory"])
	conf := func(target int64) map[string]string {
		c := map[string]string{"spark.executor.cores": strconv.FormatInt(target, 10)}
		if ok {
			// Keep the memory per core.
			c["spark.executor.memory"] = formatMiB(roundUpMiB(float64(memMiB)*float64(target)/float64(cores), 256))
		}
		return c
	}
	switch {
	case cores > maxExecutorCoresAdvice:
		return &Recommendation{
			Kind:      "executor-cores",
			Summary:   fmt.Sprintf("Use %d cores per executor instead of %d (more executors, same memory per core): beyond 5 concurrent tasks an executor's I/O throughput and GC pauses suffer.", maxExecutorCoresAdvice, cores),
			Evidence:  evidence,
			SparkConf: conf(maxExecutorCoresAdvice),
		}
	case cores == 1 && m.Concurrency.PeakRunningTasks >= minPeakForMoreCores:
		return &Recommendation{
			Kind:      "executor-cores",
			Summary:   fmt.Sprintf("Use %d cores per executor instead of 1: %d tasks ran at once, each in its own JVM, paying JVM overhead and broadcast copies per task slot.", manyCoresTarget, m.Concurrency.PeakRunningTasks),
			Evidence:  evidence,
			SparkConf: conf(manyCoresTarget),
		}
	}
	return nil
}

func recommendOversubscription(rep *Report) *Recommendation {
	m := &rep.Measures
	t := &rep.Totals
	if m.CPUUtilization == nil || m.LocalMode || m.ExecutorCores == 0 || t.ExecutorRunTimeMs < minRunTimeForCPU {
		return nil
	}
	util := *m.CPUUtilization
	if util >= lowCPUUtilization {
		return nil
	}
	cores := float64(m.ExecutorCores)
	request := math.Ceil(cores*math.Max(util*cpuHeadroom, 0.1)*10) / 10 // in tenths of a core
	request = math.Min(request, cores)
	ratio := cores / request
	reqStr := strconv.FormatFloat(request, 'f', -1, 64)
	if request != math.Trunc(request) {
		reqStr = fmt.Sprintf("%dm", int64(math.Round(request*1000)))
	}
	return &Recommendation{
		Kind: "oversubscription",
		Summary: fmt.Sprintf("Request %s CPU per executor for its %d task slots (oversubscription %.1f:1): tasks kept a core busy only %.0f%% of their run time.",
			reqStr, m.ExecutorCores, ratio, 100*util),
		Evidence: map[string]any{
			"cpuUtilization":    util,
			"executorCpuTimeNs": t.ExecutorCPUTimeNs,
			"executorRunTimeMs": t.ExecutorRunTimeMs,
			"executorCores":     m.ExecutorCores,
			"ratio":             round3(ratio),
		},
		SparkConf: map[string]string{"spark.kubernetes.executor.request.cores": reqStr},
	}
}

// recommendPartitions advises on the number of shuffle partitions from the
// application's own evidence: for an application that ran Spark SQL (SQL
// execution events in the log) spark.sql.shuffle.partitions, whose current
// value is the log's own setting or Spark's default; for one that did not,
// spark.default.parallelism, whose current value is the log's own setting
// or else the task count its shuffle stages were observed to run. An
// application without SQL and without a shuffle stage gets no advice.
func recommendPartitions(rep *Report, shuffleStageTasks int64) *Recommendation {
	m := &rep.Measures
	d := m.TaskDurationMs
	if d.Count < minTasksForPartitions {
		return nil
	}
	key := "spark.default.parallelism"
	current, currentFrom := shuffleStageTasks, "observed tasks of the largest shuffle stage"
	if rep.Totals.SQLExecutions > 0 {
		key = "spark.sql.shuffle.partitions"
		current, currentFrom = defaultShufflePartitions, "Spark's default (not set in the log)"
	}
	if v, err := strconv.ParseInt(rep.Config[key], 10, 64); err == nil && v > 0 {
		current, currentFrom = v, key+" in the log's Spark properties"
	}
	if current <= 0 {
		return nil
	}
	evidence := map[string]any{
		"tasks":             d.Count,
		"taskP50Ms":         d.P50,
		"taskP90Ms":         d.P90,
		"sqlExecutions":     rep.Totals.SQLExecutions,
		"shuffleStageTasks": shuffleStageTasks,
		"partitionsKey":     key,
		"partitions":        current,
		"partitionsFrom":    currentFrom,
		"peakRunningTasks":  m.Concurrency.PeakRunningTasks,
	}
	switch {
	case d.P50 < shortTaskMs:
		factor := clampFactor(int64(math.Ceil(float64(shortTaskMs) / float64(max(d.P50, 1)))))
		target := max(1, current/factor)
		return &Recommendation{
			Kind: "partitions",
			Summary: fmt.Sprintf("Use about %d× fewer partitions (%s %d → %d): half the tasks ran under %d ms, below the ~200 ms where Spark's per-task overhead stops mattering.",
				factor, key, current, target, d.P50),
			Evidence:  evidence,
			SparkConf: map[string]string{key: strconv.FormatInt(target, 10)},
		}
	case d.P90 > longTaskMs:
		factor := clampFactor(int64(math.Ceil(float64(d.P90) / float64(longTaskMs/2))))
		target := current * factor
		return &Recommendation{
			Kind: "partitions",
			Summary: fmt.Sprintf("Use about %d× more partitions (%s %d → %d): 10%% of tasks ran over %s, longer than the 2-minute Spot interruption notice, so their work is lost when a node is reclaimed.",
				factor, key, current, target, formatMs(d.P90)),
			Evidence:  evidence,
			SparkConf: map[string]string{key: strconv.FormatInt(target, 10)},
		}
	}
	return nil
}

func clampFactor(f int64) int64 { return min(max(f, 2), maxPartitionFactor) }

func recommendDynamicAllocation(rep *Report) *Recommendation {
	m := &rep.Measures
	c := &m.Concurrency
	if m.LocalMode || rep.Totals.ExecutorsAdded == 0 || c.SlotUtilization == nil || m.ExecutorCores == 0 ||
		rep.Application.DurationMs < minDurationForDynamic {
		return nil
	}
	slotsPerExecutor := m.ExecutorCores
	if v, err := strconv.ParseInt(rep.Config["spark.task.cpus"], 10, 64); err == nil && v > 0 {
		slotsPerExecutor = max(1, m.ExecutorCores/v)
	}
	maxExec := max(1, (c.PeakRunningTasks+slotsPerExecutor-1)/slotsPerExecutor)
	enabled := rep.Config["spark.dynamicAllocation.enabled"] == "true"
	currentMax, hasMax := int64(0), false
	if v, err := strconv.ParseInt(rep.Config["spark.dynamicAllocation.maxExecutors"], 10, 64); err == nil {
		currentMax, hasMax = v, true
	}
	util := *c.SlotUtilization
	if util >= lowSlotUtilization && (!enabled || (hasMax && currentMax <= maxExec)) {
		return nil
	}
	if enabled && hasMax && currentMax == maxExec {
		return nil
	}
	conf := map[string]string{
		"spark.dynamicAllocation.enabled":                 "true",
		"spark.dynamicAllocation.shuffleTracking.enabled": "true",
		"spark.dynamicAllocation.minExecutors":            "0",
		"spark.dynamicAllocation.maxExecutors":            strconv.FormatInt(maxExec, 10),
	}
	return &Recommendation{
		Kind: "dynamic-allocation",
		Summary: fmt.Sprintf("Let executors scale between 0 and %d: task slots were busy %.0f%% of the time they were held, and at most %d tasks ran at once (%d per executor).",
			maxExec, 100*util, c.PeakRunningTasks, slotsPerExecutor),
		Evidence: map[string]any{
			"slotUtilization":     util,
			"peakRunningTasks":    c.PeakRunningTasks,
			"averageRunningTasks": c.AverageRunningTasks,
			"peakExecutors":       c.PeakExecutors,
			"executorCoreHours":   derefOr(m.ExecutorCoreHours, 0),
			"dynamicAllocation":   enabled,
		},
		SparkConf: conf,
	}
}

func recommendShuffleStorage(rep *Report) *Recommendation {
	t := &rep.Totals
	m := &rep.Measures
	shuffle := t.ShuffleReadBytes + t.ShuffleWriteBytes
	if shuffle < minShuffleForStorage || m.LocalMode {
		return nil
	}
	fetchWait := derefOr(m.FetchWaitRatio, 0)
	perCoreHour := derefOr(m.ShuffleBytesPerCoreHour, 0)
	evidence := map[string]any{
		"shuffleReadBytes":        t.ShuffleReadBytes,
		"shuffleWriteBytes":       t.ShuffleWriteBytes,
		"fetchWaitRatio":          fetchWait,
		"shuffleBytesPerCoreHour": perCoreHour,
	}
	switch {
	case shuffle >= rssShuffleBytes || fetchWait >= rssFetchWaitRatio:
		return &Recommendation{
			Kind: "shuffle-storage",
			Summary: fmt.Sprintf("Use a remote shuffle service (Apache Celeborn; also set spark.celeborn.master.endpoints): %s shuffled and tasks waited on fetches %.0f%% of their run time.",
				formatBytes(shuffle), 100*fetchWait),
			Evidence: evidence,
			SparkConf: map[string]string{
				"spark.shuffle.manager":                           "org.apache.spark.shuffle.celeborn.SparkShuffleManager",
				"spark.shuffle.service.enabled":                   "false",
				"spark.dynamicAllocation.shuffleTracking.enabled": "false",
			},
			Profile: map[string]string{"shuffleStorage": "remote-shuffle-service"},
		}
	case perCoreHour >= nvmeBytesPerCoreHour:
		return &Recommendation{
			Kind: "shuffle-storage",
			Summary: fmt.Sprintf("Put shuffle on local NVMe (RAID0): executors moved %s of shuffle per core-hour, more than network block storage sustains.",
				formatBytes(int64(perCoreHour))),
			Evidence: evidence,
			SparkConf: map[string]string{
				"spark.kubernetes.executor.volumes.hostPath.spark-local-dir-1.mount.path":   "/data",
				"spark.kubernetes.executor.volumes.hostPath.spark-local-dir-1.options.path": "/mnt/nvme",
			},
			Profile: map[string]string{"shuffleStorage": "local-nvme"},
		}
	}
	return &Recommendation{
		Kind: "shuffle-storage",
		Summary: fmt.Sprintf("Keep shuffle on reusable PVCs: %s shuffled; a reclaimed executor's files then survive and are not recomputed (SPARK-35593).",
			formatBytes(shuffle)),
		Evidence: evidence,
		SparkConf: map[string]string{
			"spark.kubernetes.driver.ownPersistentVolumeClaim":   "true",
			"spark.kubernetes.driver.reusePersistentVolumeClaim": "true",
			// Spark 3.5 creates an OnDemand claim only with a storage class
			// and a size; the values are the cost-optimized profile's.
			shufflepvc.VolumePrefix + "options.claimName":    "OnDemand",
			shufflepvc.VolumePrefix + "options.storageClass": shufflepvc.StorageClass,
			shufflepvc.VolumePrefix + "options.sizeLimit":    shufflepvc.ClaimSize,
			shufflepvc.VolumePrefix + "mount.path":           shufflepvc.MountPath,
			"spark.shuffle.sort.io.plugin.class":             "org.apache.spark.shuffle.KubernetesLocalDiskShuffleDataIO",
		},
		Profile: map[string]string{"shuffleStorage": "pvc-reuse"},
	}
}

func recommendSkew(rep *Report) *Recommendation {
	var stages []map[string]any
	for _, s := range rep.Measures.StageSkew.Top {
		if s.Skew >= skewFactor && s.MaxTaskMs >= skewMinMaxMs {
			stages = append(stages, map[string]any{
				"stageId": s.StageID, "attemptId": s.AttemptID, "tasks": s.Tasks,
				"medianTaskMs": s.MedianTaskMs, "maxTaskMs": s.MaxTaskMs, "skew": s.Skew,
			})
		}
	}
	if len(stages) == 0 {
		return nil
	}
	first := rep.Measures.StageSkew.Top[0]
	return &Recommendation{
		Kind: "skew",
		Summary: fmt.Sprintf("%d stage(s) are skewed (stage %d: longest task %s, %.0f× the median): turn on AQE skew-join splitting, or salt the hot keys.",
			len(stages), first.StageID, formatMs(first.MaxTaskMs), first.Skew),
		Evidence: map[string]any{"stages": stages},
		SparkConf: map[string]string{
			"spark.sql.adaptive.enabled":          "true",
			"spark.sql.adaptive.skewJoin.enabled": "true",
		},
	}
}

func derefOr(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}

// parseMemMiB reads a JVM memory string as Spark does for
// spark.executor.memory ("4g", "512m", "2048" meaning MiB).
func parseMemMiB(s string) (int64, bool) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" {
		return 0, false
	}
	s = strings.TrimSuffix(s, "b")
	mult := 1.0
	switch s[len(s)-1] {
	case 'k':
		mult = 1.0 / 1024
	case 'm':
	case 'g':
		mult = 1024
	case 't':
		mult = 1024 * 1024
	case 'p':
		mult = 1024 * 1024 * 1024
	}
	if s[len(s)-1] < '0' || s[len(s)-1] > '9' {
		s = s[:len(s)-1]
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 {
		return 0, false
	}
	return int64(math.Ceil(v * mult)), true
}

func roundUpMiB(mib float64, step int64) int64 {
	return int64(math.Ceil(mib/float64(step))) * step
}

// formatMiB writes a size in Spark's memory-string form.
func formatMiB(mib int64) string {
	if mib%1024 == 0 {
		return fmt.Sprintf("%dg", mib/1024)
	}
	return fmt.Sprintf("%dm", mib)
}

// formatBytes writes a byte count with a binary unit.
func formatBytes(b int64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := int64(unit), 0
	for n := b / unit; n >= unit && exp < 5; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTPE"[exp])
}

// formatMs writes a duration in milliseconds briefly.
func formatMs(ms int64) string {
	switch {
	case ms < 1000:
		return fmt.Sprintf("%d ms", ms)
	case ms < 60_000:
		return fmt.Sprintf("%.1f s", float64(ms)/1000)
	case ms < 3_600_000:
		return fmt.Sprintf("%.1f min", float64(ms)/60_000)
	}
	return fmt.Sprintf("%.1f h", float64(ms)/3_600_000)
}
