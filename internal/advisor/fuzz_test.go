package advisor

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The fuzz targets are seeded with the real logs, so their seed corpus runs
// on every `go test`; `go test -fuzz FuzzParseTaskEnd ./internal/advisor`
// (or FuzzAnalyze, FuzzLZ4Block, FuzzSnappyStream) explores further.

func addRealLines(f *testing.F) {
	for _, log := range realLogs(f) {
		for _, line := range bytes.Split(readReal(f, log), []byte("\n")) {
			if len(line) > 0 {
				f.Add(line)
			}
		}
	}
}

// refTaskEnd is what the advisor must make of a task-end line, computed with
// encoding/json and the documented rules: a decoded number that is not a
// number (or null) makes the line corrupt; so does a non-string executor ID or
// reason, or a non-boolean flag. Members of the nested metric groups that are
// not numbers count as 0.
type refTaskEnd struct {
	corrupt                                        bool
	stageID, stageAttempt, launch, finish          int64
	success, driver, failed, killed                bool
	hasMetrics                                     bool
	heap, offHeap, rss                             int64
	hasTaskMetrics, hasCPU                         bool
	run, cpu, gc, memSpill, diskSpill, peakExec    int64
	remote, local, fetchWait, write, input, output int64
}

func refNumber(v any, present bool) (int64, bool) {
	if !present || v == nil {
		return 0, true
	}
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	if i, err := n.Int64(); err == nil {
		return i, true
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil && !isRangeErr(err) {
		return 0, false
	}
	switch {
	case f >= math.MaxInt64:
		return math.MaxInt64, true
	case f <= math.MinInt64:
		return math.MinInt64, true
	}
	return int64(f), true
}

func reference(ev map[string]any) refTaskEnd {
	var r refTaskEnd
	bad := false
	num := func(m map[string]any, k string) int64 {
		v, present := m[k]
		n, ok := refNumber(v, present)
		if !ok {
			bad = true
		}
		return n
	}
	str := func(m map[string]any, k string) string {
		v, present := m[k]
		if !present {
			return ""
		}
		s, ok := v.(string)
		if !ok {
			bad = true
		}
		return s
	}
	boolean := func(m map[string]any, k string) bool {
		v, present := m[k]
		if !present || v == nil {
			return false
		}
		b, ok := v.(bool)
		if !ok {
			bad = true
		}
		return b
	}
	group := func(m map[string]any, k string) map[string]any {
		g, _ := m[k].(map[string]any)
		return g
	}
	loose := func(m map[string]any, k string) int64 {
		if n, ok := m[k].(json.Number); ok {
			v, _ := refNumber(n, true)
			return v
		}
		return 0
	}
	r.stageID = num(ev, "Stage ID")
	r.stageAttempt = num(ev, "Stage Attempt ID")
	if reason := group(ev, "Task End Reason"); reason != nil {
		r.success = str(reason, "Reason") == "Success"
	}
	if info := group(ev, "Task Info"); info != nil {
		r.launch, r.finish = num(info, "Launch Time"), num(info, "Finish Time")
		r.driver = str(info, "Executor ID") == "driver"
		r.failed, r.killed = boolean(info, "Failed"), boolean(info, "Killed")
	}
	if em := group(ev, "Task Executor Metrics"); em != nil {
		r.hasMetrics = true
		r.heap, r.offHeap, r.rss = num(em, "JVMHeapMemory"), num(em, "JVMOffHeapMemory"), num(em, "ProcessTreeJVMRSSMemory")
	}
	if tm := group(ev, "Task Metrics"); tm != nil {
		r.hasTaskMetrics = true
		_, r.hasCPU = tm["Executor CPU Time"]
		r.run, r.cpu, r.gc = num(tm, "Executor Run Time"), num(tm, "Executor CPU Time"), num(tm, "JVM GC Time")
		r.memSpill, r.diskSpill, r.peakExec = num(tm, "Memory Bytes Spilled"), num(tm, "Disk Bytes Spilled"), num(tm, "Peak Execution Memory")
		if g := group(tm, "Shuffle Read Metrics"); g != nil {
			r.remote, r.local, r.fetchWait = loose(g, "Remote Bytes Read"), loose(g, "Local Bytes Read"), loose(g, "Fetch Wait Time")
		}
		if g := group(tm, "Shuffle Write Metrics"); g != nil {
			r.write = loose(g, "Shuffle Bytes Written")
		}
		if g := group(tm, "Input Metrics"); g != nil {
			r.input = loose(g, "Bytes Read")
		}
		if g := group(tm, "Output Metrics"); g != nil {
			r.output = loose(g, "Bytes Written")
		}
	}
	if bad {
		return refTaskEnd{corrupt: true}
	}
	return r
}

func fromRecord(rec *record) refTaskEnd {
	if rec.kind == kindCorrupt {
		return refTaskEnd{corrupt: true}
	}
	return refTaskEnd{
		stageID: rec.stageID, stageAttempt: rec.stageAttempt, launch: rec.timestamp, finish: rec.finish,
		success: rec.success, driver: rec.isDriver, failed: rec.failed, killed: rec.killed,
		hasMetrics: rec.hasMetrics, heap: rec.memory.heap, offHeap: rec.memory.offHeap, rss: rec.memory.rss,
		hasTaskMetrics: rec.hasTaskMetrics, hasCPU: rec.hasCPU,
		run: rec.runTimeMs, cpu: rec.cpuTimeNs, gc: rec.gcTimeMs,
		memSpill: rec.memorySpilled, diskSpill: rec.diskSpilled, peakExec: rec.peakExecutionMemory,
		remote: rec.remoteRead, local: rec.localRead, fetchWait: rec.fetchWaitMs,
		write: rec.shuffleWrite, input: rec.inputBytes, output: rec.outputBytes,
	}
}

// FuzzParseTaskEnd checks the hand-written scanner against encoding/json on
// every valid JSON task-end line, and that no input makes it panic.
func FuzzParseTaskEnd(f *testing.F) {
	addRealLines(f)
	f.Add([]byte(`{"Event":"SparkListenerTaskEnd","Task Metrics":{"Executor Run Time":1e3,"Executor Run Time":-7,"Shuffle Read Metrics":{"Remote Bytes Read":"x"}},"Task Info":{"Executor ID":"dri\u0076er"}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var rec record
		parseLine(line, &rec, make([]byte, 0, 64))
		if !json.Valid(line) {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		var ev map[string]any
		if dec.Decode(&ev) != nil {
			return
		}
		if name, _ := ev["Event"].(string); name != "SparkListenerTaskEnd" {
			return
		}
		if got, ok := eventName(line, nil); !ok || string(got) != "SparkListenerTaskEnd" {
			return // "Event" given twice: the advisor reads the first, encoding/json the last
		}
		want := reference(ev)
		if diff := cmp.Diff(want, fromRecord(&rec), cmp.AllowUnexported(refTaskEnd{})); diff != "" {
			t.Errorf("scanner and encoding/json disagree on %s (-json +scanner):\n%s", line, diff)
		}
	})
}

// FuzzAnalyze feeds whole logs: never a panic, and the same report whatever
// the workers and chunking.
func FuzzAnalyze(f *testing.F) {
	for _, log := range realLogs(f) {
		f.Add(readReal(f, log))
	}
	f.Add([]byte("{\"Event\":\"SparkListenerTaskStart\"}\n{\"Event\":\"SparkListenerTaskEnd\",\"Task Info\":{\"Launch Time\":5,\"Finish Time\":2}}\n{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		one, err := AnalyzeReader(bytes.NewReader(data), Options{Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		many, err := AnalyzeReader(bytes.NewReader(data), Options{Workers: 3, ChunkBytes: 512, MaxLineBytes: 64 << 10})
		if err != nil {
			t.Fatal(err)
		}
		if int64(bytes.Count(data, []byte("\n")))+1 < one.Parse.Lines {
			t.Errorf("%d lines reported for %d newlines", one.Parse.Lines, bytes.Count(data, []byte("\n")))
		}
		// Lines of events whose fields are read are kept whole up to
		// MaxLineBytes (smaller here), and an unfinished last line longer than
		// a chunk is truncated without being looked at: only then may the
		// reports differ.
		lastLine := data[bytes.LastIndexByte(data, '\n')+1:]
		if many.Parse.OversizedLines == 0 && len(lastLine) <= 512 {
			if diff := cmp.Diff(one, many); diff != "" {
				t.Errorf("report depends on workers/chunks (-1 worker +3 workers):\n%s", diff)
			}
		}
		var buf bytes.Buffer
		if err := WriteTable(&buf, []*Report{one}); err != nil {
			t.Fatal(err)
		}
		if err := WriteJSON(io.Discard, []*Report{one}); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzLZ4Block: any input decodes or fails cleanly; real logs round-trip.
func FuzzLZ4Block(f *testing.F) {
	for _, log := range realLogs(f) {
		f.Add(encodeLZ4Block(f, readReal(f, log)[:4096], 1024))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = io.Copy(io.Discard, newLZ4BlockReader(bytes.NewReader(data)))
	})
}

// FuzzSnappyStream: any input decodes or fails cleanly.
func FuzzSnappyStream(f *testing.F) {
	for _, log := range realLogs(f) {
		f.Add(encodeSnappyStream(readReal(f, log)[:4096], 1024))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = io.Copy(io.Discard, newSnappyStreamReader(bytes.NewReader(data)))
	})
}
