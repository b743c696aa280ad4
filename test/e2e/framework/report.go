package framework

import (
	"encoding/json"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// ReportDirEnv names the folder the reliability report is written to;
// reliability-report/ in the repository when unset.
const ReportDirEnv = "SPARKPLANE_RELIABILITY_REPORT"

// Scenario is one reliability scenario's entry in the report: what was
// injected, the figures measured, the invariants checked, and whether the
// test passed. NewScenario starts one; it is written when the test ends.
type Scenario struct {
	// Name is the scenario's short name (ha-operator, api-restart, ...).
	Name string `json:"name"`
	// Test is the Go test that ran it.
	Test string `json:"test"`
	// Injected says what went wrong on purpose.
	Injected string `json:"injected"`
	// Scale is how much work ran (e.g. "1000 applications"), and why when
	// less than the issue asks for.
	Scale      string      `json:"scale,omitempty"`
	Figures    []Figure    `json:"figures"`
	Invariants []Invariant `json:"invariants"`
	Notes      []string    `json:"notes,omitempty"`
	Passed     bool        `json:"passed"`
	StartedAt  time.Time   `json:"startedAt"`
	// Seconds is how long the test ran.
	Seconds float64 `json:"seconds"`

	mu sync.Mutex
}

// Figure is one measured value.
type Figure struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	// How says how it was measured.
	How string `json:"how,omitempty"`
}

// Invariant is one checked property and its outcome.
type Invariant struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	Detail string `json:"detail"`
}

// Report is report.json: every scenario that ran, by name.
type Report struct {
	GeneratedAt time.Time   `json:"generatedAt"`
	Scenarios   []*Scenario `json:"scenarios"`
	Passed      bool        `json:"passed"`
}

// NewScenario starts the report entry of scenario name; it is written to the
// report folder (and report.json and report.html rebuilt) when t ends, passed
// unless t failed. Register it first in the test so that it is written after
// every other cleanup.
func NewScenario(t testing.TB, name, injected string) *Scenario {
	t.Helper()
	QuietLogs()
	s := &Scenario{Name: name, Test: t.Name(), Injected: injected, StartedAt: time.Now()}
	t.Cleanup(func() {
		s.mu.Lock()
		s.Passed = !t.Failed()
		s.Seconds = time.Since(s.StartedAt).Round(100 * time.Millisecond).Seconds()
		s.mu.Unlock()
		if err := WriteScenario(ReportDir(t), s); err != nil {
			t.Errorf("writing the reliability report: %v", err)
		}
	})
	return s
}

// SetScale records how much work the scenario ran.
func (s *Scenario) SetScale(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Scale = fmt.Sprintf(format, args...)
}

// Figure records a measured value and logs it.
func (s *Scenario) Figure(t testing.TB, name string, value float64, unit, how string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Figures = append(s.Figures, Figure{Name: name, Value: value, Unit: unit, How: how})
	t.Logf("FIGURE %s: %s = %.3f %s (%s)", s.Name, name, value, unit, how)
}

// Note adds a sentence to the report and the log.
func (s *Scenario) Note(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Notes = append(s.Notes, msg)
	t.Log("NOTE " + msg)
}

// Check records an invariant and fails the test when it does not hold.
func (s *Scenario) Check(t testing.TB, name string, passed bool, format string, args ...any) {
	t.Helper()
	detail := fmt.Sprintf(format, args...)
	s.mu.Lock()
	s.Invariants = append(s.Invariants, Invariant{Name: name, Passed: passed, Detail: detail})
	s.mu.Unlock()
	if passed {
		t.Logf("INVARIANT %s: %s holds (%s)", s.Name, name, detail)
	} else {
		t.Errorf("INVARIANT %s: %s violated: %s", s.Name, name, detail)
	}
}

// ReportDir is where the report goes: $SPARKPLANE_RELIABILITY_REPORT, or
// reliability-report/ in the repository.
func ReportDir(t testing.TB) string {
	if dir := os.Getenv(ReportDirEnv); dir != "" {
		return dir
	}
	return filepath.Join(RepoRoot(t), "reliability-report")
}

// reportMu keeps two scenarios of one process from rebuilding the report at
// once (tests may run in parallel).
var reportMu sync.Mutex

// WriteScenario writes s as scenarios/<name>.json under dir and rebuilds
// report.json and report.html from every scenario there, so the report of a
// `make reliability` run holds each scenario however the tests were split
// over packages and processes.
func WriteScenario(dir string, s *Scenario) error {
	reportMu.Lock()
	defer reportMu.Unlock()
	scenarios := filepath.Join(dir, "scenarios")
	if err := os.MkdirAll(scenarios, 0o755); err != nil {
		return err
	}
	s.mu.Lock()
	data, err := json.MarshalIndent(s, "", "  ")
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(scenarios, s.Name+".json"), data, 0o644); err != nil {
		return err
	}
	report, err := readScenarios(scenarios)
	if err != nil {
		return err
	}
	data, err = json.MarshalIndent(report, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), data, 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "report.html"))
	if err != nil {
		return err
	}
	defer f.Close()
	return reportPage.Execute(f, report)
}

func readScenarios(dir string) (*Report, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	report := &Report{GeneratedAt: time.Now().UTC(), Passed: true}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		s := &Scenario{}
		if err := json.Unmarshal(data, s); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		report.Scenarios = append(report.Scenarios, s)
		report.Passed = report.Passed && s.Passed
	}
	sort.Slice(report.Scenarios, func(i, j int) bool { return report.Scenarios[i].Name < report.Scenarios[j].Name })
	return report, nil
}

var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"verdict": func(ok bool) string {
		if ok {
			return "pass"
		}
		return "FAIL"
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>sparkplane reliability report</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:80em}
table{border-collapse:collapse;width:100%;margin-bottom:1em}
td,th{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}
.pass{color:#176b2c;font-weight:bold}.FAIL{color:#b00020;font-weight:bold}
td.num{text-align:right;font-variant-numeric:tabular-nums}
</style></head><body>
<h1>sparkplane reliability report: <span class="{{verdict .Passed}}">{{verdict .Passed}}</span></h1>
<p>Generated {{.GeneratedAt.Format "2006-01-02 15:04:05 MST"}} by <code>make reliability</code>.</p>
<table><tr><th>scenario</th><th>injected</th><th>figures</th><th>invariants</th><th>result</th></tr>
{{range .Scenarios}}<tr>
<td><b>{{.Name}}</b><br><small>{{.Test}}, {{printf "%.0f" .Seconds}} s{{if .Scale}}<br>{{.Scale}}{{end}}</small></td>
<td>{{.Injected}}{{range .Notes}}<br><small>{{.}}</small>{{end}}</td>
<td><table>{{range .Figures}}<tr><td>{{.Name}}</td><td class="num">{{printf "%.3g" .Value}} {{.Unit}}</td></tr>{{end}}</table></td>
<td>{{range .Invariants}}<span class="{{verdict .Passed}}">{{verdict .Passed}}</span> {{.Name}}: <small>{{.Detail}}</small><br>{{end}}</td>
<td class="{{verdict .Passed}}">{{verdict .Passed}}</td>
</tr>{{end}}</table>
<h2>How each figure was measured</h2>
{{range .Scenarios}}<h3>{{.Name}}</h3><ul>{{range .Figures}}<li><b>{{.Name}}</b>: {{.How}}</li>{{end}}</ul>{{end}}
</body></html>
`))
