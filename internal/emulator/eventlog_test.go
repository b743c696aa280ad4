package emulator

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// realEventLogs are Apache Spark's own test event logs (see SOURCE.md there).
const realEventLogs = "/work/shared/testdata/spark-events"

// freeFormObjects hold keys that are data, not field names.
var freeFormObjects = map[string]bool{
	"Spark Properties": true, "Hadoop Properties": true, "System Properties": true, "Metrics Properties": true,
	"Classpath Entries": true, "Properties": true, "Log Urls": true, "Attributes": true, "Resources": true,
	"Executor Resource Requests": true, "Task Resource Requests": true,
}

// fieldPaths adds every object key path of v under prefix to paths.
func fieldPaths(prefix string, v any, paths map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			paths[p] = true
			if !freeFormObjects[k] {
				fieldPaths(p, child, paths)
			}
		}
	case []any:
		for _, child := range v {
			fieldPaths(prefix+"[]", child, paths)
		}
	}
}

// readEventLog parses a JSON-lines event log into field paths per event.
func readEventLog(t *testing.T, path string, into map[string]map[string]bool) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 16<<20)
	lines := 0
	for scanner.Scan() {
		lines++
		var event map[string]any
		if err := json.Unmarshal(scanner.Bytes(), &event); err != nil {
			t.Fatalf("%s line %d is not JSON: %v", path, lines, err)
		}
		name, _ := event["Event"].(string)
		if name == "" {
			t.Fatalf("%s line %d has no Event", path, lines)
		}
		if into[name] == nil {
			into[name] = map[string]bool{}
		}
		fieldPaths("", event, into[name])
	}
	if err := scanner.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// fieldsNotInSamples are JsonProtocol fields that Spark writes but that the
// sample logs happen not to contain (no executor was lost, no job failed).
var fieldsNotInSamples = map[string]map[string]bool{
	"SparkListenerTaskEnd": {
		"Task End Reason.Executor ID": true, "Task End Reason.Exit Caused By App": true, "Task End Reason.Loss Reason": true,
	},
	"SparkListenerStageCompleted": {"Stage Info.Failure Reason": true},
	"SparkListenerJobEnd":         {"Job Result.Exception": true, "Job Result.Exception.Message": true, "Job Result.Exception.Stack Trace": true},
	"SparkListenerExecutorRemoved": {
		"Event": true, "Timestamp": true, "Executor ID": true, "Removed Reason": true,
	},
	"SparkListenerBlockManagerRemoved": {
		"Event": true, "Timestamp": true, "Block Manager ID": true, "Block Manager ID.Executor ID": true,
		"Block Manager ID.Host": true, "Block Manager ID.Port": true,
	},
}

func TestEventLogMatchesSparksShapes(t *testing.T) {
	real := map[string]map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(realEventLogs, "*"))
	nested, _ := filepath.Glob(filepath.Join(realEventLogs, "*", "events_*"))
	for _, f := range append(files, nested...) {
		if st, err := os.Stat(f); err != nil || st.IsDir() || st.Size() == 0 || strings.HasSuffix(f, ".md") {
			continue
		}
		readEventLog(t, f, real)
	}
	if len(real) < 10 {
		t.Fatalf("read only %d event types from %s", len(real), realEventLogs)
	}

	// A run with a decommissioned and a lost executor and a failed job, so
	// every kind of event the emulator writes appears.
	dir := t.TempDir()
	writer, err := NewEventLogWriter(dir, "spark-test-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "spark-test-1.inprogress")); err != nil {
		t.Fatalf("no in-progress file while running: %v", err)
	}
	p := smallWorkload().Params
	p.Jobs, p.Fail = 2, true
	e := NewEngine(NewWorkload(p), time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC).UnixMilli(), EngineOptions{})
	e.Start("app", "spark-test-1", "alice", "svc", 2, 1024, Conf{"spark.app.name": "app", "spark.master": "k8s://x"})
	e.AddExecutor("1", "h1", 2)
	e.AddExecutor("2", "h2", 2)
	e.AddExecutor("3", "h3", 2)
	for !e.stages[0].complete {
		next, _ := e.NextCompletion()
		e.Advance(next)
	}
	e.RemoveExecutor("1", Decommissioned, time.Minute, "decommissioned")
	e.RemoveExecutor("2", Lost, 0, "lost")
	runToEnd(t, e)
	writer.Write(e.Drain()...)
	path, err := writer.Close()
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(dir, "spark-test-1") {
		t.Errorf("final path %s", path)
	}
	ours := map[string]map[string]bool{}
	if n := readEventLog(t, path, ours); n < 40 {
		t.Fatalf("only %d events", n)
	}
	for _, want := range []string{"SparkListenerLogStart", "SparkListenerApplicationStart", "SparkListenerEnvironmentUpdate", "SparkListenerExecutorAdded",
		"SparkListenerExecutorRemoved", "SparkListenerStageSubmitted", "SparkListenerStageCompleted", "SparkListenerTaskStart", "SparkListenerTaskEnd",
		"SparkListenerJobStart", "SparkListenerJobEnd", "SparkListenerApplicationEnd"} {
		if ours[want] == nil {
			t.Errorf("the log has no %s", want)
		}
	}
	for name, paths := range ours {
		known, ok := real[name]
		if !ok && fieldsNotInSamples[name] == nil {
			t.Errorf("event %s does not occur in Spark's logs", name)
			continue
		}
		var unknown []string
		for p := range paths {
			if !known[p] && !fieldsNotInSamples[name][p] {
				unknown = append(unknown, p)
			}
		}
		sort.Strings(unknown)
		if len(unknown) > 0 {
			t.Errorf("%s has fields Spark's logs do not: %s", name, strings.Join(unknown, ", "))
		}
	}
	// Fields that readers (the History Server, sparkplane advise) need.
	for name, fields := range map[string][]string{
		"SparkListenerTaskEnd": {"Task Metrics.Shuffle Read Metrics.Remote Bytes Read", "Task Metrics.Shuffle Write Metrics.Shuffle Bytes Written",
			"Task Metrics.Executor Run Time", "Task Info.Launch Time", "Task Info.Finish Time", "Task Info.Executor ID"},
		"SparkListenerExecutorAdded": {"Executor Info.Total Cores", "Timestamp"},
	} {
		for _, f := range fields {
			if !ours[name][f] {
				t.Errorf("%s lacks %s", name, f)
			}
		}
	}
}
