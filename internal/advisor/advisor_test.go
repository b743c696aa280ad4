package advisor

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sparkEventsDir is where the real event logs from Spark's own test suite
// live: ../shared/testdata/spark-events beside the repository (see its
// SOURCE.md). The tests read them in place rather than copying them, so there
// is one copy with one provenance note.
const sparkEventsDir = "../../../shared/testdata/spark-events"

// realLog is one real application log and the files that hold its events.
type realLog struct {
	name  string // path under sparkEventsDir, as given to Discover
	files []string
}

func realLogs(t testing.TB) []realLog {
	t.Helper()
	if _, err := os.Stat(filepath.Join(sparkEventsDir, "SOURCE.md")); err != nil {
		t.Fatalf("the real Spark event logs are missing: expected %s (the shared testdata beside the repository, ../shared/testdata/spark-events): %v", sparkEventsDir, err)
	}
	return []realLog{
		{"app-20161116163331-0000", []string{"app-20161116163331-0000"}},
		{"application_1553914137147_0018", []string{"application_1553914137147_0018"}},
		{"local-1430917381534", []string{"local-1430917381534"}},
		{"eventlog_v2_local-1766844910796", []string{"eventlog_v2_local-1766844910796/events_1_local-1766844910796"}},
	}
}

func readReal(t testing.TB, log realLog) []byte {
	t.Helper()
	var all []byte
	for _, f := range log.files {
		b, err := os.ReadFile(filepath.Join(sparkEventsDir, f))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

// independentTotals counts the totals from the raw JSON with
// encoding/json, sharing no code with the advisor.
func independentTotals(t testing.TB, data []byte) map[string]int64 {
	t.Helper()
	want := map[string]int64{
		"tasks": 0, "stagesCompleted": 0, "executorsAdded": 0, "executorRunTimeMs": 0,
		"executorCpuTimeNs": 0, "shuffleReadBytes": 0, "shuffleWriteBytes": 0,
		"memoryBytesSpilled": 0, "diskBytesSpilled": 0,
	}
	num := func(m map[string]any, path ...string) int64 {
		var cur any = m
		for _, p := range path {
			obj, ok := cur.(map[string]any)
			if !ok {
				return 0
			}
			cur = obj[p]
		}
		n, ok := cur.(json.Number)
		if !ok {
			return 0
		}
		v, err := n.Int64()
		if err != nil {
			t.Fatalf("%v: %v", path, err)
		}
		return v
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		var ev map[string]any
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("real log line does not decode: %v", err)
		}
		switch ev["Event"] {
		case "SparkListenerTaskEnd":
			want["tasks"]++
			want["executorRunTimeMs"] += num(ev, "Task Metrics", "Executor Run Time")
			want["executorCpuTimeNs"] += num(ev, "Task Metrics", "Executor CPU Time")
			want["shuffleReadBytes"] += num(ev, "Task Metrics", "Shuffle Read Metrics", "Remote Bytes Read") +
				num(ev, "Task Metrics", "Shuffle Read Metrics", "Local Bytes Read")
			want["shuffleWriteBytes"] += num(ev, "Task Metrics", "Shuffle Write Metrics", "Shuffle Bytes Written")
			want["memoryBytesSpilled"] += num(ev, "Task Metrics", "Memory Bytes Spilled")
			want["diskBytesSpilled"] += num(ev, "Task Metrics", "Disk Bytes Spilled")
		case "SparkListenerStageCompleted":
			want["stagesCompleted"]++
		case "SparkListenerExecutorAdded":
			want["executorsAdded"]++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return want
}

// jsonTotals runs the report through the JSON output and reads the issue's
// totals back by their contract names.
func jsonTotals(t testing.TB, rep *Report) map[string]int64 {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, []*Report{rep}); err != nil {
		t.Fatal(err)
	}
	var out []struct {
		Totals map[string]int64 `json:"totals"`
	}
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, k := range []string{"tasks", "stagesCompleted", "executorsAdded", "executorRunTimeMs",
		"executorCpuTimeNs", "shuffleReadBytes", "shuffleWriteBytes", "memoryBytesSpilled", "diskBytesSpilled"} {
		v, ok := out[0].Totals[k]
		if !ok {
			t.Fatalf("JSON totals lack %q: %v", k, out[0].Totals)
		}
		got[k] = v
	}
	return got
}

// writeVariant writes a real log in one of the forms Spark writes and
// returns the path to give the advisor.
func writeVariant(t *testing.T, dir string, log realLog, variant string) string {
	t.Helper()
	write := func(path string, b []byte) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data := readReal(t, log)
	base := filepath.Join(dir, variant, filepath.Base(log.files[0]))
	switch variant {
	case "plain":
		return filepath.Join(sparkEventsDir, log.name)
	case "inprogress":
		write(base+".inprogress", data)
		return base + ".inprogress"
	case "zstd":
		write(base+".zstd", encodeZstd(t, data))
		return base + ".zstd"
	case "lz4":
		write(base+".lz4", encodeLZ4Block(t, data, 32<<10))
		return base + ".lz4"
	case "snappy":
		write(base+".snappy", encodeSnappyStream(data, 32<<10))
		return base + ".snappy"
	case "rolling-lz4":
		// The log cut into three parts at line ends, each its own lz4
		// stream, as RollingEventLogFilesWriter writes them.
		app := "eventlog_v2_" + log.name
		folder := filepath.Join(dir, variant, app)
		lines := bytes.SplitAfter(data, []byte("\n"))
		third := (len(lines) + 2) / 3
		for i := 0; i < 3; i++ {
			part := bytes.Join(lines[min(i*third, len(lines)):min((i+1)*third, len(lines))], nil)
			write(filepath.Join(folder, "events_"+string(rune('1'+i))+"_"+log.name+".lz4"), encodeLZ4Block(t, part, 32<<10))
		}
		write(filepath.Join(folder, "appstatus_"+log.name), nil)
		return folder
	}
	t.Fatalf("unknown variant %s", variant)
	return ""
}

// TestTotalsEqualIndependentCount is the acceptance test: on every
// real log, in every form Spark writes, and with one or several workers, the
// totals equal a count made from the raw JSON.
func TestTotalsEqualIndependentCount(t *testing.T) {
	dir := t.TempDir()
	for _, log := range realLogs(t) {
		want := independentTotals(t, readReal(t, log))
		if want["tasks"] == 0 {
			t.Fatalf("%s: the independent count found no tasks; the test would prove nothing", log.name)
		}
		for _, variant := range []string{"plain", "inprogress", "zstd", "lz4", "snappy", "rolling-lz4"} {
			path := writeVariant(t, dir, log, variant)
			for _, workers := range []int{1, 2, 3} {
				t.Run(log.name+"/"+variant+"/workers="+string(rune('0'+workers)), func(t *testing.T) {
					srcs, _, err := Discover([]string{path})
					if err != nil {
						t.Fatal(err)
					}
					if len(srcs) != 1 {
						t.Fatalf("Discover(%s) = %d sources, want 1", path, len(srcs))
					}
					// Small chunks so that lines span reads and chunks.
					rep, err := Analyze(srcs[0], Options{Workers: workers, ChunkBytes: 8 << 10})
					if err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(want, jsonTotals(t, rep)); diff != "" {
						t.Errorf("totals differ from the independent count (-want +got):\n%s", diff)
					}
					p := rep.Parse
					if p.CorruptLines+p.TruncatedLines+p.OversizedLines+p.UnknownEvents != 0 || len(p.Warnings) > 0 && variant != "plain" {
						t.Errorf("a clean log reported problems: %+v", p)
					}
					wantCodec := map[string]string{"zstd": "zstd", "lz4": "lz4", "snappy": "snappy", "rolling-lz4": "lz4"}[variant]
					if wantCodec == "" {
						wantCodec = CodecNone
					}
					if rep.Codec != wantCodec {
						t.Errorf("codec = %s, want %s", rep.Codec, wantCodec)
					}
					if got := rep.Application.InProgress; got != (variant == "inprogress") {
						t.Errorf("inProgress = %v", got)
					}
				})
			}
		}
	}
}

// TestResultDoesNotDependOnWorkersOrChunks compares whole reports.
func TestResultDoesNotDependOnWorkersOrChunks(t *testing.T) {
	for _, log := range realLogs(t) {
		srcs, _, err := Discover([]string{filepath.Join(sparkEventsDir, log.name)})
		if err != nil {
			t.Fatal(err)
		}
		ref, err := Analyze(srcs[0], Options{Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, opts := range []Options{{Workers: 2}, {Workers: 4, ChunkBytes: 4096}, {Workers: 1, ChunkBytes: 1024}} {
			got, err := Analyze(srcs[0], opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(ref, got); diff != "" {
				t.Errorf("%s with %+v differs from one worker (-want +got):\n%s", log.name, opts, diff)
			}
		}
	}
}

func TestOversizedLinesAreSkippedAndCounted(t *testing.T) {
	log := realLogs(t)[1] // application_1553914137147_0018: its environment line is ~90 KB
	data := readReal(t, log)
	long := 0
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(line) > 16<<10 {
			long++
		}
	}
	if long == 0 {
		t.Fatal("no line over 16 KiB in the log; the test would prove nothing")
	}
	rep, err := AnalyzeReader(bytes.NewReader(data), Options{Workers: 1, ChunkBytes: 4096, MaxLineBytes: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Parse.OversizedLines != int64(long) {
		t.Errorf("oversizedLines = %d, want %d", rep.Parse.OversizedLines, long)
	}
	want := independentTotals(t, data)
	if diff := cmp.Diff(want, jsonTotals(t, rep)); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
}

func TestTruncatedUnknownAndCorruptLinesAreCountedNotFatal(t *testing.T) {
	taskEnd := `{"Event":"SparkListenerTaskEnd","Stage ID":0,"Stage Attempt ID":0,"Task End Reason":{"Reason":"Success"},"Task Info":{"Launch Time":1000,"Finish Time":1500,"Executor ID":"1"},"Task Metrics":{"Executor Run Time":400,"Executor CPU Time":300000000,"Disk Bytes Spilled":7,"Shuffle Read Metrics":{"Remote Bytes Read":10,"Local Bytes Read":5},"Shuffle Write Metrics":{"Shuffle Bytes Written":3}}}`
	cases := map[string]struct {
		log       string
		tasks     int64
		runTimeMs int64
		want      ParseStats
	}{
		"clean": {
			log: taskEnd + "\n", tasks: 1, runTimeMs: 400,
			want: ParseStats{Lines: 1, Events: 1},
		},
		"truncated last line": {
			log: taskEnd + "\n" + taskEnd[:120], tasks: 1, runTimeMs: 400,
			want: ParseStats{Lines: 2, Events: 1, TruncatedLines: 1},
		},
		"complete last line without newline": {
			log: taskEnd + "\n" + taskEnd, tasks: 2, runTimeMs: 800,
			want: ParseStats{Lines: 2, Events: 2},
		},
		"unknown event": {
			log: `{"Event":"com.example.MyListenerEvent","x":1}` + "\n" + taskEnd + "\n", tasks: 1, runTimeMs: 400,
			want: ParseStats{Lines: 2, Events: 2, UnknownEvents: 1, UnknownEventTypes: map[string]int64{"com.example.MyListenerEvent": 1}},
		},
		"corrupt lines": {
			log: "not json\n" + `{"no event":1}` + "\n" + taskEnd[:200] + "\n" + taskEnd + "\n", tasks: 1, runTimeMs: 400,
			want: ParseStats{Lines: 4, Events: 1, CorruptLines: 3},
		},
		"a decoded event with a malformed field": {
			log: strings.Replace(taskEnd, `"Executor Run Time":400`, `"Executor Run Time":"x"`, 1) + "\n" + taskEnd + "\n", tasks: 1, runTimeMs: 400,
			want: ParseStats{Lines: 2, Events: 1, CorruptLines: 1},
		},
		"blank lines and CRLF": {
			log: "\n  \n" + taskEnd + "\r\n\r\n", tasks: 1, runTimeMs: 400,
			want: ParseStats{Lines: 1, Events: 1},
		},
		"Event not the first key, whitespace, escaped key": {
			log: `{ "Stage ID" : 0 , "Task Metrics" : { "Executor Run Time" : 400 } , "Ev\u0065nt" : "SparkListenerTaskEnd" }` + "\n", tasks: 1, runTimeMs: 400,
			want: ParseStats{Lines: 1, Events: 1},
		},
		"Spark 2 scheduler prefix": {
			log: `{"Event":"org.apache.spark.scheduler.SparkListenerTaskEnd","Task Metrics":{"Executor Run Time":5}}` + "\n", tasks: 1, runTimeMs: 5,
			want: ParseStats{Lines: 1, Events: 1},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			for _, workers := range []int{1, 2} {
				rep, err := AnalyzeReader(strings.NewReader(tc.log), Options{Workers: workers})
				if err != nil {
					t.Fatal(err)
				}
				tc.want.Bytes = int64(len(tc.log))
				if diff := cmp.Diff(tc.want, rep.Parse); diff != "" {
					t.Errorf("parse stats (-want +got):\n%s", diff)
				}
				if rep.Totals.Tasks != tc.tasks || rep.Totals.ExecutorRunTimeMs != tc.runTimeMs {
					t.Errorf("tasks %d run time %d, want %d and %d", rep.Totals.Tasks, rep.Totals.ExecutorRunTimeMs, tc.tasks, tc.runTimeMs)
				}
			}
		})
	}
}

// TestLongLinesOfUnneededEventsAreCountedNotHeld: a line longer than a chunk
// is kept whole only when its event's fields are read; others are counted by
// name and skipped, and a needed one beyond MaxLineBytes is oversized.
func TestLongLinesOfUnneededEventsAreCountedNotHeld(t *testing.T) {
	pad := strings.Repeat("x", 300<<10)
	log := `{"Event":"org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart","physicalPlanDescription":"` + pad + `"}` + "\n" +
		`{"Event":"com.example.HugeEvent","blob":"` + pad + `"}` + "\n" +
		`{"Event":"SparkListenerTaskEnd","Task Metrics":{"Executor Run Time":5},"Task Info":{"Accumulables":["` + pad[:100<<10] + `"]}}` + "\n" +
		`{"Event":"SparkListenerTaskEnd","Task Metrics":{"Executor Run Time":7},"Task Info":{"Accumulables":["` + pad + `"]}}` + "\n" +
		`{"Event":"com.example.HugeEvent","blob":"` + pad
	rep, err := AnalyzeReader(strings.NewReader(log), Options{Workers: 1, ChunkBytes: 16 << 10, MaxLineBytes: 200 << 10})
	if err != nil {
		t.Fatal(err)
	}
	want := ParseStats{
		Bytes: int64(len(log)), Lines: 5, Events: 3, UnknownEvents: 1,
		UnknownEventTypes: map[string]int64{"com.example.HugeEvent": 1},
		OversizedLines:    1, TruncatedLines: 1,
	}
	if diff := cmp.Diff(want, rep.Parse); diff != "" {
		t.Errorf("parse stats (-want +got):\n%s", diff)
	}
	if rep.Totals.Tasks != 1 || rep.Totals.ExecutorRunTimeMs != 5 {
		t.Errorf("tasks %d run time %d, want the 100 KB task end only", rep.Totals.Tasks, rep.Totals.ExecutorRunTimeMs)
	}
}

// TestNamesFromTheLogCannotInjectConf: an application name with a newline
// must not add a line to the --emit-conf patch or break the table.
func TestNamesFromTheLogCannotInjectConf(t *testing.T) {
	log := `{"Event":"SparkListenerApplicationStart","App Name":"x\nspark.evil=1","App ID":"app\u001b[31m","Timestamp":1}` + "\n"
	rep, err := AnalyzeReader(strings.NewReader(log), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var conf, table bytes.Buffer
	if err := WriteConf(&conf, []*Report{rep}); err != nil {
		t.Fatal(err)
	}
	if err := WriteTable(&table, []*Report{rep}); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(conf.String(), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			t.Errorf("the patch gained a line from the log: %q", line)
		}
	}
	if strings.ContainsAny(table.String(), "\x1b") || strings.Contains(table.String(), "\nspark.evil") {
		t.Errorf("the table prints control characters from the log:\n%s", table.String())
	}
}
