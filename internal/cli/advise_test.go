package cli

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/sparkplane/sparkplane/internal/emulator"
	"github.com/sparkplane/sparkplane/internal/eventsource/eventsourcetest"
)

// sparkEvents is the real event logs beside the repository (see their
// SOURCE.md).
const sparkEvents = "../../../shared/testdata/spark-events"

func runAdvise(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	return runAdviseWithInput(t, nil, args...)
}

func runAdviseWithInput(t *testing.T, stdin io.Reader, args ...string) (string, string, error) {
	t.Helper()
	if _, err := os.Stat(sparkEvents); err != nil {
		t.Fatalf("the real Spark event logs are missing at %s (../shared/testdata/spark-events beside the repository): %v", sparkEvents, err)
	}
	cmd := NewRootCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	if stdin != nil {
		cmd.SetIn(stdin)
	}
	cmd.SetArgs(append([]string{"advise"}, args...))
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestAdviseTableFitsIn100Columns(t *testing.T) {
	out, errOut, err := runAdvise(t, sparkEvents)
	if err != nil {
		t.Fatal(err)
	}
	for _, app := range []string{"app-20161116163331-0000", "application_1553914137147_0018", "local-1430917381534", "local-1766844910796"} {
		if !strings.Contains(out, app) {
			t.Errorf("the table does not mention %s", app)
		}
	}
	for i, line := range strings.Split(out, "\n") {
		if n := utf8.RuneCountInString(line); n > 100 {
			t.Errorf("line %d is %d columns: %q", i+1, n, line)
		}
	}
	// The recommendation, with its evidence; six tasks in a minute make it a
	// low-confidence observation without a conf line.
	for _, want := range []string{"[executor-memory, low confidence] Observation only", "Lower executor memory from 7g", "evidence: ", "evidence size: 6 tasks"} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q", want)
		}
	}
	if strings.Contains(out, "set spark.executor.memory=1280m") {
		t.Error("the table proposes the low-confidence memory change as a conf patch")
	}
	if !strings.Contains(errOut, "skipped "+filepath.Join(sparkEvents, "SOURCE.md")) {
		t.Errorf("stderr does not name the skipped SOURCE.md: %q", errOut)
	}
}

func TestAdviseJSONAndEmitConf(t *testing.T) {
	log := filepath.Join(sparkEvents, "application_1553914137147_0018")
	out, _, err := runAdvise(t, "-o", "json", log)
	if err != nil {
		t.Fatal(err)
	}
	var reports []struct {
		Application struct{ ID string } `json:"application"`
		Totals      map[string]int64    `json:"totals"`
	}
	if err := json.Unmarshal([]byte(out), &reports); err != nil {
		t.Fatalf("-o json is not a JSON array of reports: %v\n%s", err, out)
	}
	if len(reports) != 1 || reports[0].Application.ID != "application_1553914137147_0018" || reports[0].Totals["tasks"] != 6 {
		t.Errorf("unexpected report: %+v", reports)
	}

	out, _, err = runAdvise(t, "--emit-conf", log)
	if err != nil {
		t.Fatal(err)
	}
	// Six tasks in a minute: the memory change is a low-confidence
	// observation, so there is no patch to emit (issue 15).
	want := "# application_1553914137147_0018 (LargeBlocks) from " + log + "\n# no change recommended with medium or high confidence\n"
	if out != want {
		t.Errorf("--emit-conf printed\n%s\nwant\n%s", out, want)
	}

	out, _, err = runAdvise(t, "--emit-conf", "-o", "json", log)
	if err != nil {
		t.Fatal(err)
	}
	var patch map[string]map[string]string
	err = json.Unmarshal([]byte(out), &patch)
	if p, ok := patch["application_1553914137147_0018"]; err != nil || !ok || len(p) != 0 {
		t.Errorf("--emit-conf -o json printed %s (%v), want an empty patch for the application", out, err)
	}
}

func TestAdviseErrorsNameTheProblem(t *testing.T) {
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "app-1.lz4")
	if err := os.WriteFile(notJSON, []byte("hello, not lz4"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		args []string
		want []string
	}{
		"missing path":     {[]string{filepath.Join(dir, "nope")}, []string{filepath.Join(dir, "nope"), "no such file or folder"}},
		"no path":          {nil, []string{"no PATH given"}},
		"bad output":       {[]string{"-o", "yaml", sparkEvents}, []string{`--output "yaml"`, "-o table, -o json or -o html"}},
		"wrong codec":      {[]string{notJSON}, []string{notJSON, "lz4"}},
		"empty folder":     {[]string{t.TempDir()}, []string{"no event logs found"}},
		"negative workers": {[]string{"--workers", "-1", sparkEvents}, []string{"--workers -1"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := runAdvise(t, tc.args...)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestAdviseSourcesGiveTheSameTotals: a log read from a file, standard
// input, S3 (an S3-compatible server on loopback) and a History Server (its
// REST API over the same files) gives the same totals.
func TestAdviseSourcesGiveTheSameTotals(t *testing.T) {
	totals := func(out string) map[string]any {
		var reports []struct {
			Application struct{ ID string } `json:"application"`
			Totals      map[string]any      `json:"totals"`
		}
		if err := json.Unmarshal([]byte(out), &reports); err != nil {
			t.Fatalf("%v:\n%s", err, out)
		}
		got := map[string]any{}
		for _, r := range reports {
			got[r.Application.ID] = r.Totals
		}
		return got
	}
	out, _, err := runAdvise(t, "-o", "json", sparkEvents)
	if err != nil {
		t.Fatal(err)
	}
	want := totals(out)
	if len(want) != 4 {
		t.Fatalf("the files gave %d reports, want 4", len(want))
	}

	eventsourcetest.S3(t, "logs", "spark-events", sparkEvents)
	out, errOut, err := runAdvise(t, "-o", "json", "s3a://logs/spark-events/")
	if err != nil {
		t.Fatalf("advise s3a://: %v\n%s", err, errOut)
	}
	if diff := cmp.Diff(want, totals(out)); diff != "" {
		t.Errorf("S3 totals differ (-files +s3):\n%s", diff)
	}
	if !strings.Contains(errOut, "skipped s3a://logs/spark-events/SOURCE.md") {
		t.Errorf("stderr does not name the skipped object: %q", errOut)
	}

	url := eventsourcetest.NewHistory(sparkEvents).Serve(t)
	out, errOut, err = runAdvise(t, "-o", "json", "--history-server", url, "--since", "720h", "--limit", "10")
	if err != nil {
		t.Fatalf("advise --history-server: %v\n%s", err, errOut)
	}
	if diff := cmp.Diff(want, totals(out)); diff != "" {
		t.Errorf("History Server totals differ (-files +history server):\n%s", diff)
	}

	f, err := os.Open(filepath.Join(sparkEvents, "local-1430917381534"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, _, err = runAdviseWithInput(t, f, "-o", "json", "-")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want["local-1430917381534"], totals(out)["local-1430917381534"]); diff != "" {
		t.Errorf("stdin totals differ (-file +stdin):\n%s", diff)
	}
}

// TestAdviseRefusesWhatIsNotAnEventLog: a named file that is not an event
// log is an error saying what it looks like, never an empty report.
func TestAdviseRefusesWhatIsNotAnEventLog(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(`{"Event":"SparkListenerLogStart","Spark Version":"3.5.3"}` + "\n"))
	_ = zw.Close()
	cases := map[string]struct {
		path string
		want string
	}{
		"markdown":                  {write("notes.md", []byte("# Notes\nnothing to see\n")), `text that is not JSON lines (it starts "# Notes")`},
		"gzip under the wrong name": {write("app-1.zstd", gz.Bytes()), "gzip-compressed data"},
		"empty":                     {write("app-2", nil), "empty file"},
		"binary":                    {write("app-3", []byte{0, 1, 2, 3, 0xff, 0xfe}), "binary data"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			out, _, err := runAdvise(t, tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v (stdout %q), want an error naming %s and saying %q", err, out, tc.path, tc.want)
			}
		})
	}
	_, _, err := runAdviseWithInput(t, strings.NewReader("hello\n"), "-")
	if err == nil || !strings.Contains(err.Error(), "text that is not JSON lines") {
		t.Errorf("text on stdin: got %v", err)
	}
	// In a folder they are skipped with a line each, and with nothing else
	// there that is an error too.
	_, errOut, err := runAdvise(t, dir)
	if err == nil || !strings.Contains(err.Error(), "no event logs found") || strings.Count(errOut, "skipped ") != 4 {
		t.Errorf("a folder of non-logs: %v\n%s", err, errOut)
	}
}

func TestAdviseTableFitsTheWidth(t *testing.T) {
	for _, width := range []int{60, 80, 140} {
		out, _, err := runAdvise(t, "--width", fmt.Sprint(width), sparkEvents)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(out, "\n") {
			if n := utf8.RuneCountInString(line); n > width {
				t.Errorf("--width %d: line %d is %d columns: %q", width, i+1, n, line)
			}
			// The codec ends the source line: a long path is shortened, not the codec.
			if strings.HasPrefix(strings.TrimSpace(line), "source") && !strings.HasSuffix(line, "[none]") {
				t.Errorf("--width %d: the source line lost its codec: %q", width, line)
			}
		}
	}
	t.Setenv("COLUMNS", "70")
	out, _, err := runAdvise(t, sparkEvents)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(out, "\n") {
		if utf8.RuneCountInString(line) > 70 {
			t.Fatalf("COLUMNS=70 but a line is wider: %q", line)
		}
	}
	if _, _, err := runAdvise(t, "--width", "20", sparkEvents); err == nil || !strings.Contains(err.Error(), "at least 60 columns") {
		t.Errorf("--width 20: %v", err)
	}
}

func TestAdviseHTML(t *testing.T) {
	out, _, err := runAdvise(t, "-o", "html", sparkEvents)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<!DOCTYPE html>", `<svg class="histogram"`, `<table class="stages">`, "application_1553914137147_0018", "[executor-memory, low confidence]"} {
		if !strings.Contains(out, want) {
			t.Errorf("the HTML lacks %q", want)
		}
	}
	// Names from the log are escaped: the Spark 4 log's user is a script tag.
	if strings.Contains(out, "<script>") {
		t.Error("the HTML holds an unescaped <script> from the log")
	}
}

func TestAdviseSpark4(t *testing.T) {
	out, _, err := runAdvise(t, filepath.Join(sparkEvents, "eventlog_v2_local-1766844910796"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "4.2.0") || strings.Contains(out, "before Spark 3.0") {
		t.Errorf("a Spark 4 log is described as older than Spark 3:\n%s", out)
	}
}

// TestAdviseSpark4EmulatorLog: a Spark 4 event log written by the driver
// emulator (the version a driver pod's spark-version label names) is read
// as Spark 4: its version, every task, and no "before Spark 3.0".
func TestAdviseSpark4EmulatorLog(t *testing.T) {
	dir := t.TempDir()
	writer, err := emulator.NewEventLogWriter(dir, "spark-4000000000000001")
	if err != nil {
		t.Fatal(err)
	}
	w := emulator.NewWorkload(emulator.WorkloadParams{Seed: 4, Jobs: 1, StagesPerJob: 2, TasksPerStage: 24, TaskDuration: 2 * time.Second, ShuffleBytesPerTask: 8 << 20})
	e := emulator.NewEngine(w, time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC).UnixMilli(), emulator.EngineOptions{SparkVersion: "4.0.1"})
	e.Start("spark4-pi", "spark-4000000000000001", "alice", "svc", 1, 1024, emulator.Conf{"spark.app.name": "spark4-pi", "spark.master": "k8s://https://kubernetes.default.svc"})
	e.AddExecutor("1", "10.0.0.1", 2)
	e.AddExecutor("2", "10.0.0.2", 2)
	for i := 0; !e.Done(); i++ {
		next, ok := e.NextCompletion()
		if !ok || i > 10000 {
			t.Fatalf("the emulator's engine is stuck at %v", e.Now())
		}
		e.Advance(next)
	}
	e.Finish()
	writer.Write(e.Drain()...)
	path, err := writer.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := runAdvise(t, "-o", "json", path)
	if err != nil {
		t.Fatal(err)
	}
	var reports []struct {
		Application struct {
			SparkVersion string `json:"sparkVersion"`
			Completed    bool   `json:"completed"`
		} `json:"application"`
		Totals struct {
			Tasks int `json:"tasks"`
		} `json:"totals"`
	}
	if err := json.Unmarshal([]byte(out), &reports); err != nil || len(reports) != 1 {
		t.Fatalf("%v:\n%s", err, out)
	}
	r := reports[0]
	if r.Application.SparkVersion != "4.0.1" || !r.Application.Completed || r.Totals.Tasks != e.Stats().TasksSucceeded+e.Stats().TasksFailed {
		t.Errorf("read as %+v, want Spark 4.0.1, completed, %d tasks", r, e.Stats().TasksSucceeded+e.Stats().TasksFailed)
	}
	table, _, err := runAdvise(t, path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(table, "before Spark 3.0") || !strings.Contains(table, "4.0.1") {
		t.Errorf("the table of a Spark 4 log:\n%s", table)
	}
}
