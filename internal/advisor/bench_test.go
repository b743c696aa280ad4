//go:build unix

package advisor

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
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
		StageID        int64  `json:"Stage ID"`
		StageAttemptID int64  `json:"Stage Attempt ID"`
		NumberOfTasks  int64  `json:"Number of Tasks"`
		SubmissionTime int64  `json:"Submission Time"`
		CompletionTime int64  `json:"Completion Time"`
		FailureReason  string `json:"Failure Reason"`
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
// GOMAXPROCS=1; then the analysis on two cores.
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
	var events int
	decode, decodeCPU := measure(func() {
		forLines(b, path, func(line []byte) {
			var ev plainEvent
			if err := json.Unmarshal(line, &ev); err != nil {
				b.Fatal(err)
			}
			events++
		})
	})
	var rep *Report
	advise1, advise1CPU := measure(func() {
		var err error
		if rep, err = Analyze(src, Options{Workers: 1}); err != nil {
			b.Fatal(err)
		}
	})
	runtime.GOMAXPROCS(2)
	advise2, advise2CPU := measure(func() {
		if _, err := Analyze(src, Options{Workers: 2}); err != nil {
			b.Fatal(err)
		}
	})
	b.StopTimer()
	if rep.Parse.Lines != int64(lines/b.N) || rep.Parse.CorruptLines != 0 {
		b.Fatalf("analysis read %d lines (%d corrupt), the raw read %d", rep.Parse.Lines, rep.Parse.CorruptLines, lines/b.N)
	}
	b.ReportMetric(rawCPU, "raw-MB/cpu-s")
	b.ReportMetric(decodeCPU, "json-MB/cpu-s")
	b.ReportMetric(advise1CPU, "advise-MB/cpu-s")
	b.ReportMetric(advise1CPU/decodeCPU, "x-json")
	b.ReportMetric(advise2, "advise-2cpu-MB/s")
	b.ReportMetric(advise2/advise1, "x-2cpu-wall")
	b.ReportMetric(coresBusy, "2cpu-cores-busy")
	b.Logf("log %.0f MB, %d lines, %d tasks, machine load %s", mb, lines/b.N, rep.Totals.Tasks, loadAverage())
	b.Logf("GOMAXPROCS=1, MB/s of CPU time (MB/s of wall time):")
	b.Logf("  raw line read          %6.0f (%6.0f)", rawCPU, raw)
	b.Logf("  encoding/json decode   %6.0f (%6.0f)", decodeCPU, decode)
	b.Logf("  advise analysis        %6.0f (%6.0f)  = %.1f× the decode", advise1CPU, advise1, advise1CPU/decodeCPU)
	b.Logf("GOMAXPROCS=2, 2 workers: advise %.0f MB/s of wall time = %.2f× one core's wall time, %.2f cores busy on average (%.0f MB per CPU-second)",
		advise2, advise2/advise1, coresBusy, advise2CPU)
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
