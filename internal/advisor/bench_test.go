//go:build unix

package advisor

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// plainEvent holds the same fields the advisor reads, for the reference
// measurement: encoding/json decoding every line into it.
type plainEvent struct {
	Event          string `json:"Event"`
	StageID        int64  `json:"Stage ID"`
	StageAttemptID int64  `json:"Stage Attempt ID"`
	Timestamp      int64  `json:"Timestamp"`
	ExecutorID     string `json:"Executor ID"`
	AppName        string `json:"App Name"`
	AppID          string `json:"App ID"`
	User           string `json:"User"`
	AppAttemptID   string `json:"App Attempt ID"`
	SparkVersion   string `json:"Spark Version"`
	TaskEndReason  struct {
		Reason string `json:"Reason"`
	} `json:"Task End Reason"`
	TaskInfo struct {
		LaunchTime int64  `json:"Launch Time"`
		FinishTime int64  `json:"Finish Time"`
		ExecutorID string `json:"Executor ID"`
		Failed     bool   `json:"Failed"`
		Killed     bool   `json:"Killed"`
	} `json:"Task Info"`
	TaskExecutorMetrics plainMetrics `json:"Task Executor Metrics"`
	ExecutorMetrics     plainMetrics `json:"Executor Metrics"`
	TaskMetrics         struct {
		ExecutorRunTime     int64 `json:"Executor Run Time"`
		ExecutorCPUTime     int64 `json:"Executor CPU Time"`
		JVMGCTime           int64 `json:"JVM GC Time"`
		MemoryBytesSpilled  int64 `json:"Memory Bytes Spilled"`
		DiskBytesSpilled    int64 `json:"Disk Bytes Spilled"`
		PeakExecutionMemory int64 `json:"Peak Execution Memory"`
		ShuffleReadMetrics  struct {
			RemoteBytesRead int64 `json:"Remote Bytes Read"`
			LocalBytesRead  int64 `json:"Local Bytes Read"`
			FetchWaitTime   int64 `json:"Fetch Wait Time"`
		} `json:"Shuffle Read Metrics"`
		ShuffleWriteMetrics struct {
			ShuffleBytesWritten int64 `json:"Shuffle Bytes Written"`
		} `json:"Shuffle Write Metrics"`
		InputMetrics struct {
			BytesRead int64 `json:"Bytes Read"`
		} `json:"Input Metrics"`
		OutputMetrics struct {
			BytesWritten int64 `json:"Bytes Written"`
		} `json:"Output Metrics"`
	} `json:"Task Metrics"`
	StageInfo struct {
		StageID        int64   `json:"Stage ID"`
		StageAttemptID int64   `json:"Stage Attempt ID"`
		NumberOfTasks  int64   `json:"Number of Tasks"`
		SubmissionTime int64   `json:"Submission Time"`
		CompletionTime int64   `json:"Completion Time"`
		FailureReason  *string `json:"Failure Reason"`
	} `json:"Stage Info"`
	ExecutorInfo struct {
		TotalCores int64 `json:"Total Cores"`
	} `json:"Executor Info"`
	SparkProperties map[string]string `json:"Spark Properties"`
}

type plainMetrics struct {
	JVMHeapMemory           int64 `json:"JVMHeapMemory"`
	JVMOffHeapMemory        int64 `json:"JVMOffHeapMemory"`
	ProcessTreeJVMRSSMemory int64 `json:"ProcessTreeJVMRSSMemory"`
}

// forLines calls fn for every line of the file, as the raw reference read.
func forLines(b *testing.B, path string, fn func([]byte)) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 4<<20)
	for {
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			b.Fatal("line over 4 MiB")
		}
		if len(line) > 0 {
			fn(line)
		}
		if err != nil {
			return
		}
	}
}

// BenchmarkAdvise measures the full analysis on a log of at least 200 MB
// built from the real ones, beside a raw line read and a plain encoding/json
// decode of every line into a struct with the same fields, all in one run, at
// GOMAXPROCS=1; then the analysis with two workers at GOMAXPROCS=2, printing
// the cores the process obtained. The analysis's totals must equal the
// decode's.
func BenchmarkAdvise(b *testing.B) {
	path := filepath.Join(b.TempDir(), "app-big-eventlog")
	size := writeBigLogFile(b, path, 200<<20)
	mb := float64(size) / 1e6
	src := Source{Path: path, Files: []string{path}}
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)

	// measure returns MB/s of wall time and MB per second of CPU time used by
	// the process (user + system, every thread): on a shared machine the
	// second is the fair per-core figure, the first what a user waits.
	var coresBusy float64 // CPU time over wall time of the last measurement
	measure := func(fn func()) (wall, cpu float64) {
		runtime.GC()
		cpuStart := cpuTime()
		start := time.Now()
		for range b.N {
			fn()
		}
		elapsed := time.Since(start).Seconds()
		used := (cpuTime() - cpuStart).Seconds()
		coresBusy = used / elapsed
		return mb * float64(b.N) / elapsed, mb * float64(b.N) / used
	}
	b.ResetTimer()
	var lines int
	raw, rawCPU := measure(func() { forLines(b, path, func([]byte) { lines++ }) })
	var decoded Totals
	decode, decodeCPU := measure(func() {
		decoded = Totals{}
		forLines(b, path, func(line []byte) {
			var ev plainEvent
			if err := json.Unmarshal(line, &ev); err != nil {
				b.Fatal(err)
			}
			ev.addTo(&decoded)
		})
	})
	// The analysis is timed over several passes, and the median pass is the
	// figure: one pass of the 210 MB log is a fifth of a second, and on a
	// shared machine one pass can run at half the speed of the next.
	var rep *Report
	advise1, advise1CPU, advise1Range := measurePasses(measure, func() {
		var err error
		if rep, err = Analyze(src, Options{Workers: 1}); err != nil {
			b.Fatal(err)
		}
	})
	runtime.GOMAXPROCS(2)
	var cores []float64
	advise2, advise2CPU, _ := measurePasses(func(fn func()) (float64, float64) {
		wall, cpu := measure(fn)
		cores = append(cores, coresBusy)
		return wall, cpu
	}, func() {
		if _, err := Analyze(src, Options{Workers: 2}); err != nil {
			b.Fatal(err)
		}
	})
	slices.Sort(cores)
	coresBusy = cores[len(cores)/2]
	b.StopTimer()
	if rep.Parse.Lines != int64(lines/b.N) || rep.Parse.CorruptLines != 0 {
		b.Fatalf("analysis read %d lines (%d corrupt), the raw read %d", rep.Parse.Lines, rep.Parse.CorruptLines, lines/b.N)
	}
	// The independent check: the totals equal those of the encoding/json
	// decode of every line.
	if diff := cmp.Diff(decoded, rep.Totals); diff != "" {
		b.Fatalf("the analysis's totals differ from the encoding/json decode's (-json +advise):\n%s", diff)
	}
	b.ReportMetric(rawCPU, "raw-MB/cpu-s")
	b.ReportMetric(decodeCPU, "json-MB/cpu-s")
	b.ReportMetric(advise1CPU, "advise-MB/cpu-s")
	b.ReportMetric(advise1CPU/decodeCPU, "x-json")
	b.ReportMetric(advise2, "advise-2cpu-MB/s")
	b.ReportMetric(advise2/advise1, "x-2cpu-wall")
	b.ReportMetric(coresBusy, "2cpu-cores-busy")
	b.Logf("log %.0f MB, %d lines, %d tasks, machine load %s", mb, lines/b.N, rep.Totals.Tasks, loadAverage())
	b.Logf("totals equal the encoding/json decode's: %d tasks, %d stages, executor run time %d ms, shuffle read %d B",
		decoded.Tasks, decoded.StagesCompleted, decoded.ExecutorRunTimeMs, decoded.ShuffleReadBytes)
	b.Logf("GOMAXPROCS=1, MB/s of CPU time (MB/s of wall time):")
	b.Logf("  raw line read          %6.0f (%6.0f)", rawCPU, raw)
	b.Logf("  encoding/json decode   %6.0f (%6.0f)", decodeCPU, decode)
	b.Logf("  advise analysis        %6.0f (%6.0f)  = %.1f× the decode; median of %d passes, which ran at %s",
		advise1CPU, advise1, advise1CPU/decodeCPU, advisePasses, advise1Range)
	b.Logf("GOMAXPROCS=2, 2 workers: advise %.0f MB/s of wall time = %.2f× one core's wall time, %.2f cores obtained on average (%.0f MB per CPU-second; medians of %d passes)",
		advise2, advise2/advise1, coresBusy, advise2CPU, advisePasses)
	if coresBusy < 1.9 {
		b.Logf("  the process got %.2f of 2 cores: the ×%.2f is not a two-core scaling figure", coresBusy, advise2/advise1)
	}
}

// advisePasses is how many passes of the analysis BenchmarkAdvise times.
const advisePasses = 5

// measurePasses times fn advisePasses times with measure and returns the
// median pass's MB/s of wall time and of CPU time, and the CPU figures of all
// passes, lowest to highest.
func measurePasses(measure func(func()) (float64, float64), fn func()) (wall, cpu float64, passes string) {
	var walls, cpus []float64
	for range advisePasses {
		w, c := measure(fn)
		walls, cpus = append(walls, w), append(cpus, c)
	}
	slices.Sort(walls)
	slices.Sort(cpus)
	var s []string
	for _, c := range cpus {
		s = append(s, strconv.FormatFloat(c, 'f', 0, 64))
	}
	return walls[len(walls)/2], cpus[len(cpus)/2], strings.Join(s, ", ") + " MB/cpu-s"
}

// addTo adds the event to the totals as the analysis counts them
// (docs/advisor.md), from the encoding/json decode alone.
func (ev *plainEvent) addTo(t *Totals) {
	switch ev.Event {
	case "SparkListenerTaskEnd":
		t.Tasks++
		if ev.TaskEndReason.Reason != "Success" {
			t.FailedTasks++
		}
		m := &ev.TaskMetrics
		t.ExecutorRunTimeMs += m.ExecutorRunTime
		t.ExecutorCPUTimeNs += m.ExecutorCPUTime
		t.JVMGCTimeMs += m.JVMGCTime
		t.MemoryBytesSpilled += m.MemoryBytesSpilled
		t.DiskBytesSpilled += m.DiskBytesSpilled
		t.ShuffleReadBytes += m.ShuffleReadMetrics.RemoteBytesRead + m.ShuffleReadMetrics.LocalBytesRead
		t.ShuffleFetchWaitMs += m.ShuffleReadMetrics.FetchWaitTime
		t.ShuffleWriteBytes += m.ShuffleWriteMetrics.ShuffleBytesWritten
		t.InputBytes += m.InputMetrics.BytesRead
		t.OutputBytes += m.OutputMetrics.BytesWritten
	case "SparkListenerStageCompleted":
		t.StagesCompleted++
		if ev.StageInfo.FailureReason != nil {
			t.StagesFailed++
		}
	case "SparkListenerJobStart":
		t.Jobs++
	case "SparkListenerExecutorAdded":
		t.ExecutorsAdded++
	case "SparkListenerExecutorRemoved":
		t.ExecutorsRemoved++
	case "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart":
		t.SQLExecutions++
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
