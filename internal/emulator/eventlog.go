package emulator

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// SparkVersion is the version the event log claims; the emulator follows
// Spark 3.5's behaviour and JSON shapes.
const SparkVersion = "3.5.3"

// The event types below encode Spark's listener events with the field names
// and order of org.apache.spark.util.JsonProtocol, one JSON object per line.

type logStartEvent struct {
	Event        string `json:"Event"`
	SparkVersion string `json:"Spark Version"`
}

type resourceRequest struct {
	ResourceName    string `json:"Resource Name"`
	Amount          int64  `json:"Amount"`
	DiscoveryScript string `json:"Discovery Script"`
	Vendor          string `json:"Vendor"`
}

type taskResourceRequest struct {
	ResourceName string  `json:"Resource Name"`
	Amount       float64 `json:"Amount"`
}

type resourceProfileAddedEvent struct {
	Event                    string                         `json:"Event"`
	ResourceProfileID        int                            `json:"Resource Profile Id"`
	ExecutorResourceRequests map[string]resourceRequest     `json:"Executor Resource Requests"`
	TaskResourceRequests     map[string]taskResourceRequest `json:"Task Resource Requests"`
}

type environmentUpdateEvent struct {
	Event             string            `json:"Event"`
	JVMInformation    map[string]string `json:"JVM Information"`
	SparkProperties   map[string]string `json:"Spark Properties"`
	HadoopProperties  map[string]string `json:"Hadoop Properties"`
	SystemProperties  map[string]string `json:"System Properties"`
	MetricsProperties map[string]string `json:"Metrics Properties"`
	ClasspathEntries  map[string]string `json:"Classpath Entries"`
}

type applicationStartEvent struct {
	Event     string `json:"Event"`
	AppName   string `json:"App Name"`
	AppID     string `json:"App ID"`
	Timestamp int64  `json:"Timestamp"`
	User      string `json:"User"`
}

type applicationEndEvent struct {
	Event     string `json:"Event"`
	Timestamp int64  `json:"Timestamp"`
	ExitCode  int    `json:"ExitCode"`
}

type executorInfo struct {
	Host              string            `json:"Host"`
	TotalCores        int               `json:"Total Cores"`
	LogURLs           map[string]string `json:"Log Urls"`
	Attributes        map[string]string `json:"Attributes"`
	Resources         map[string]any    `json:"Resources"`
	ResourceProfileID int               `json:"Resource Profile Id"`
}

type executorAddedEvent struct {
	Event        string       `json:"Event"`
	Timestamp    int64        `json:"Timestamp"`
	ExecutorID   string       `json:"Executor ID"`
	ExecutorInfo executorInfo `json:"Executor Info"`
}

type executorRemovedEvent struct {
	Event         string `json:"Event"`
	Timestamp     int64  `json:"Timestamp"`
	ExecutorID    string `json:"Executor ID"`
	RemovedReason string `json:"Removed Reason"`
}

type blockManagerID struct {
	ExecutorID string `json:"Executor ID"`
	Host       string `json:"Host"`
	Port       int    `json:"Port"`
}

type blockManagerAddedEvent struct {
	Event               string         `json:"Event"`
	BlockManagerID      blockManagerID `json:"Block Manager ID"`
	MaximumMemory       int64          `json:"Maximum Memory"`
	Timestamp           int64          `json:"Timestamp"`
	MaximumOnheapMemory int64          `json:"Maximum Onheap Memory"`
	MaximumOffheap      int64          `json:"Maximum Offheap Memory"`
}

type blockManagerRemovedEvent struct {
	Event          string         `json:"Event"`
	BlockManagerID blockManagerID `json:"Block Manager ID"`
	Timestamp      int64          `json:"Timestamp"`
}

type storageLevel struct {
	UseDisk      bool `json:"Use Disk"`
	UseMemory    bool `json:"Use Memory"`
	UseOffHeap   bool `json:"Use Off Heap"`
	Deserialized bool `json:"Deserialized"`
	Replication  int  `json:"Replication"`
}

type rddInfo struct {
	RDDID                    int          `json:"RDD ID"`
	Name                     string       `json:"Name"`
	Callsite                 string       `json:"Callsite"`
	ParentIDs                []int        `json:"Parent IDs"`
	StorageLevel             storageLevel `json:"Storage Level"`
	Barrier                  bool         `json:"Barrier"`
	DeterministicLevel       string       `json:"DeterministicLevel"`
	NumberOfPartitions       int          `json:"Number of Partitions"`
	NumberOfCachedPartitions int          `json:"Number of Cached Partitions"`
	MemorySize               int64        `json:"Memory Size"`
	DiskSize                 int64        `json:"Disk Size"`
}

type stageInfo struct {
	StageID                 int       `json:"Stage ID"`
	StageAttemptID          int       `json:"Stage Attempt ID"`
	StageName               string    `json:"Stage Name"`
	NumberOfTasks           int       `json:"Number of Tasks"`
	RDDInfo                 []rddInfo `json:"RDD Info"`
	ParentIDs               []int     `json:"Parent IDs"`
	Details                 string    `json:"Details"`
	SubmissionTime          int64     `json:"Submission Time,omitempty"`
	CompletionTime          int64     `json:"Completion Time,omitempty"`
	FailureReason           string    `json:"Failure Reason,omitempty"`
	Accumulables            []any     `json:"Accumulables"`
	ResourceProfileID       int       `json:"Resource Profile Id"`
	ShufflePushEnabled      bool      `json:"Shuffle Push Enabled"`
	ShufflePushMergersCount int       `json:"Shuffle Push Mergers Count"`
}

type jobStartEvent struct {
	Event          string            `json:"Event"`
	JobID          int               `json:"Job ID"`
	SubmissionTime int64             `json:"Submission Time"`
	StageInfos     []stageInfo       `json:"Stage Infos"`
	StageIDs       []int             `json:"Stage IDs"`
	Properties     map[string]string `json:"Properties"`
}

type jobResult struct {
	Result    string        `json:"Result"`
	Exception *jobException `json:"Exception,omitempty"`
}

type jobException struct {
	Message    string `json:"Message"`
	StackTrace []any  `json:"Stack Trace"`
}

type jobEndEvent struct {
	Event          string    `json:"Event"`
	JobID          int       `json:"Job ID"`
	CompletionTime int64     `json:"Completion Time"`
	JobResult      jobResult `json:"Job Result"`
}

type stageSubmittedEvent struct {
	Event      string            `json:"Event"`
	StageInfo  stageInfo         `json:"Stage Info"`
	Properties map[string]string `json:"Properties"`
}

type stageCompletedEvent struct {
	Event     string    `json:"Event"`
	StageInfo stageInfo `json:"Stage Info"`
}

type taskInfo struct {
	TaskID            int64  `json:"Task ID"`
	Index             int    `json:"Index"`
	Attempt           int    `json:"Attempt"`
	PartitionID       int    `json:"Partition ID"`
	LaunchTime        int64  `json:"Launch Time"`
	ExecutorID        string `json:"Executor ID"`
	Host              string `json:"Host"`
	Locality          string `json:"Locality"`
	Speculative       bool   `json:"Speculative"`
	GettingResultTime int64  `json:"Getting Result Time"`
	FinishTime        int64  `json:"Finish Time"`
	Failed            bool   `json:"Failed"`
	Killed            bool   `json:"Killed"`
	Accumulables      []any  `json:"Accumulables"`
}

type taskStartEvent struct {
	Event          string   `json:"Event"`
	StageID        int      `json:"Stage ID"`
	StageAttemptID int      `json:"Stage Attempt ID"`
	TaskInfo       taskInfo `json:"Task Info"`
}

type taskEndReason struct {
	Reason          string `json:"Reason"`
	ExecutorID      string `json:"Executor ID,omitempty"`
	ExitCausedByApp *bool  `json:"Exit Caused By App,omitempty"`
	LossReason      string `json:"Loss Reason,omitempty"`
}

type pushBasedShuffle struct {
	CorruptMergedBlockChunks     int64 `json:"Corrupt Merged Block Chunks"`
	MergedFetchFallbackCount     int64 `json:"Merged Fetch Fallback Count"`
	MergedRemoteBlocksFetched    int64 `json:"Merged Remote Blocks Fetched"`
	MergedLocalBlocksFetched     int64 `json:"Merged Local Blocks Fetched"`
	MergedRemoteChunksFetched    int64 `json:"Merged Remote Chunks Fetched"`
	MergedLocalChunksFetched     int64 `json:"Merged Local Chunks Fetched"`
	MergedRemoteBytesRead        int64 `json:"Merged Remote Bytes Read"`
	MergedLocalBytesRead         int64 `json:"Merged Local Bytes Read"`
	MergedRemoteRequestsDuration int64 `json:"Merged Remote Requests Duration"`
}

type shuffleReadMetrics struct {
	RemoteBlocksFetched    int64            `json:"Remote Blocks Fetched"`
	LocalBlocksFetched     int64            `json:"Local Blocks Fetched"`
	FetchWaitTime          int64            `json:"Fetch Wait Time"`
	RemoteBytesRead        int64            `json:"Remote Bytes Read"`
	RemoteBytesReadToDisk  int64            `json:"Remote Bytes Read To Disk"`
	LocalBytesRead         int64            `json:"Local Bytes Read"`
	TotalRecordsRead       int64            `json:"Total Records Read"`
	RemoteRequestsDuration int64            `json:"Remote Requests Duration"`
	PushBasedShuffle       pushBasedShuffle `json:"Push Based Shuffle"`
}

type shuffleWriteMetrics struct {
	ShuffleBytesWritten   int64 `json:"Shuffle Bytes Written"`
	ShuffleWriteTime      int64 `json:"Shuffle Write Time"`
	ShuffleRecordsWritten int64 `json:"Shuffle Records Written"`
}

type inputMetrics struct {
	BytesRead   int64 `json:"Bytes Read"`
	RecordsRead int64 `json:"Records Read"`
}

type outputMetrics struct {
	BytesWritten   int64 `json:"Bytes Written"`
	RecordsWritten int64 `json:"Records Written"`
}

type taskMetrics struct {
	ExecutorDeserializeTime    int64               `json:"Executor Deserialize Time"`
	ExecutorDeserializeCPUTime int64               `json:"Executor Deserialize CPU Time"`
	ExecutorRunTime            int64               `json:"Executor Run Time"`
	ExecutorCPUTime            int64               `json:"Executor CPU Time"`
	PeakExecutionMemory        int64               `json:"Peak Execution Memory"`
	ResultSize                 int64               `json:"Result Size"`
	JVMGCTime                  int64               `json:"JVM GC Time"`
	ResultSerializationTime    int64               `json:"Result Serialization Time"`
	MemoryBytesSpilled         int64               `json:"Memory Bytes Spilled"`
	DiskBytesSpilled           int64               `json:"Disk Bytes Spilled"`
	ShuffleReadMetrics         shuffleReadMetrics  `json:"Shuffle Read Metrics"`
	ShuffleWriteMetrics        shuffleWriteMetrics `json:"Shuffle Write Metrics"`
	InputMetrics               inputMetrics        `json:"Input Metrics"`
	OutputMetrics              outputMetrics       `json:"Output Metrics"`
	UpdatedBlocks              []any               `json:"Updated Blocks"`
}

type taskEndEvent struct {
	Event               string           `json:"Event"`
	StageID             int              `json:"Stage ID"`
	StageAttemptID      int              `json:"Stage Attempt ID"`
	TaskType            string           `json:"Task Type"`
	TaskEndReason       taskEndReason    `json:"Task End Reason"`
	TaskInfo            taskInfo         `json:"Task Info"`
	TaskExecutorMetrics map[string]int64 `json:"Task Executor Metrics"`
	TaskMetrics         *taskMetrics     `json:"Task Metrics,omitempty"`
}

var executorMetricNames = []string{
	"JVMHeapMemory", "JVMOffHeapMemory", "OnHeapExecutionMemory", "OffHeapExecutionMemory",
	"OnHeapStorageMemory", "OffHeapStorageMemory", "OnHeapUnifiedMemory", "OffHeapUnifiedMemory",
	"DirectPoolMemory", "MappedPoolMemory", "ProcessTreeJVMVMemory", "ProcessTreeJVMRSSMemory",
	"ProcessTreePythonVMemory", "ProcessTreePythonRSSMemory", "ProcessTreeOtherVMemory",
	"ProcessTreeOtherRSSMemory", "MinorGCCount", "MinorGCTime", "MajorGCCount", "MajorGCTime",
	"TotalGCTime", "ConcurrentGCCount", "ConcurrentGCTime",
}

func zeroExecutorMetrics() map[string]int64 {
	m := make(map[string]int64, len(executorMetricNames))
	for _, n := range executorMetricNames {
		m[n] = 0
	}
	return m
}

// EventLogWriter writes one application's event log the way Spark's
// SingleEventLogFileWriter does: to <dir>/<appID>.inprogress while the
// application runs, renamed to <dir>/<appID> when it ends.
type EventLogWriter struct {
	dir, appID string
	file       *os.File
	buf        *bufio.Writer
	err        error
}

// NewEventLogWriter creates the in-progress file.
func NewEventLogWriter(dir, appID string) (*EventLogWriter, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the event log directory: %w", err)
	}
	f, err := os.Create(filepath.Join(dir, appID+".inprogress"))
	if err != nil {
		return nil, fmt.Errorf("creating the event log: %w", err)
	}
	return &EventLogWriter{dir: dir, appID: appID, file: f, buf: bufio.NewWriterSize(f, 64<<10)}, nil
}

// Write appends events, one JSON line each. The first error sticks and is
// returned by Close.
func (w *EventLogWriter) Write(events ...any) {
	for _, e := range events {
		if w.err != nil {
			return
		}
		line, err := json.Marshal(e)
		if err != nil {
			w.err = err
			return
		}
		line = append(line, '\n')
		_, w.err = w.buf.Write(line)
	}
}

// Flush pushes buffered events to the file, so that a History Server sees
// an in-progress application.
func (w *EventLogWriter) Flush() error {
	if w.err == nil {
		w.err = w.buf.Flush()
	}
	return w.err
}

// Close flushes and renames the log to its final name, and returns its path.
func (w *EventLogWriter) Close() (string, error) {
	_ = w.Flush()
	if err := w.file.Close(); err != nil && w.err == nil {
		w.err = err
	}
	final := filepath.Join(w.dir, w.appID)
	if w.err == nil {
		w.err = os.Rename(w.file.Name(), final)
	}
	return final, w.err
}
