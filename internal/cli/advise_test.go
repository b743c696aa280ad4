package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// sparkEvents is the real event logs beside the repository (see their
// SOURCE.md).
const sparkEvents = "../../../shared/testdata/spark-events"

func runAdvise(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	if _, err := os.Stat(sparkEvents); err != nil {
		t.Fatalf("the real Spark event logs are missing at %s (../shared/testdata/spark-events beside the repository): %v", sparkEvents, err)
	}
	cmd := NewRootCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
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
		"bad output":       {[]string{"-o", "yaml", sparkEvents}, []string{`--output "yaml"`, "-o table or -o json"}},
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
