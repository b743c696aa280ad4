package advisor

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// TableWidth is the width the table output fits in.
const TableWidth = 100

// WriteJSON writes the reports as a JSON array (the documented schema).
func WriteJSON(w io.Writer, reports []*Report) error {
	if reports == nil {
		reports = []*Report{}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(reports)
}

// ConfPatch merges the sparkConf of every actionable recommendation of a
// report (medium or high confidence, not an observation), in recommendation
// order (a later recommendation wins on the same key).
func ConfPatch(rep *Report) map[string]string {
	patch := map[string]string{}
	for _, r := range rep.Recommendations {
		if !r.Actionable() {
			continue
		}
		for k, v := range r.SparkConf {
			patch[k] = v
		}
	}
	return patch
}

// WriteConf writes each report's sparkConf patch as spark.properties lines
// (key=value, sorted), under a comment naming the application.
func WriteConf(w io.Writer, reports []*Report) error {
	var b strings.Builder
	for i, rep := range reports {
		if i > 0 {
			b.WriteString("\n")
		}
		// Names come from the log: escaped, so that none can end the comment
		// and add a line to the patch.
		fmt.Fprintf(&b, "# %s (%s) from %s\n", printable(orDash(rep.Application.ID)), printable(orDash(rep.Application.Name)), printable(rep.Source))
		patch := ConfPatch(rep)
		if len(patch) == 0 {
			b.WriteString("# no change recommended with medium or high confidence\n")
			continue
		}
		for _, k := range sortedKeys(patch) {
			fmt.Fprintf(&b, "%s=%s\n", k, patch[k])
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteConfJSON writes the patches as a JSON object keyed by application ID
// (the source path when the log has none).
func WriteConfJSON(w io.Writer, reports []*Report) error {
	out := map[string]map[string]string{}
	for _, rep := range reports {
		key := rep.Application.ID
		if key == "" {
			key = rep.Source
		}
		out[key] = ConfPatch(rep)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// WriteTable writes the reports for people, every line at most TableWidth
// columns.
func WriteTable(w io.Writer, reports []*Report) error {
	return WriteTableWidth(w, reports, TableWidth)
}

// WriteTableWidth is WriteTable fitting every line in width columns (a
// terminal's width). A long source path is shortened in its middle, so its
// file name and codec stay readable.
func WriteTableWidth(w io.Writer, reports []*Report, width int) error {
	var b strings.Builder
	for i, rep := range reports {
		if i > 0 {
			b.WriteString("\n")
		}
		writeReport(&b, rep, width)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeReport(b *strings.Builder, rep *Report, width int) {
	app := rep.Application
	t := rep.Totals
	m := rep.Measures
	line := func(format string, args ...any) {
		b.WriteString(fit(fmt.Sprintf(format, args...), width))
		b.WriteString("\n")
	}
	row := func(label, value string) { line("  %-18s%s", label, value) }

	line("%s  %s", printable(orDash(app.ID)), quoteName(app.Name))
	state := "completed"
	switch {
	case app.InProgress:
		state = "in progress"
	case !app.Completed:
		state = "no end event"
	}
	row("spark", fmt.Sprintf("%s, user %s", printable(orDash(app.SparkVersion)), printable(orDash(app.User))))
	row("run", fmt.Sprintf("%s → %s (%s, %s)", orDash(app.StartTime), orDash(app.EndTime), formatMs(app.DurationMs), state))
	codec := " [" + rep.Codec + "]"
	row("source", elide(printable(rep.Source), width-20-utf8.RuneCountInString(codec))+codec)
	p := rep.Parse
	row("parse", fmt.Sprintf("%d lines: %d unknown events, %d corrupt, %d truncated, %d oversized",
		p.Lines, p.UnknownEvents, p.CorruptLines, p.TruncatedLines, p.OversizedLines))
	for _, warn := range p.Warnings {
		wrapTo(b, "warning: "+printable(warn), 4, width)
	}

	b.WriteString("\n  TOTALS\n")
	cells := [][2]string{
		{"tasks", fmt.Sprintf("%d (%d failed)", t.Tasks, t.FailedTasks)},
		{"stages", fmt.Sprintf("%d (%d failed)", t.StagesCompleted, t.StagesFailed)},
		{"executors added", fmt.Sprint(t.ExecutorsAdded)},
		{"executor run", formatMs(t.ExecutorRunTimeMs)},
		{"executor CPU", formatMs(t.ExecutorCPUTimeNs / 1e6)},
		{"JVM GC time", formatMs(t.JVMGCTimeMs)},
		{"shuffle read", formatBytes(t.ShuffleReadBytes)},
		{"shuffle write", formatBytes(t.ShuffleWriteBytes)},
		{"fetch wait", formatMs(t.ShuffleFetchWaitMs)},
		{"memory spilled", formatBytes(t.MemoryBytesSpilled)},
		{"disk spilled", formatBytes(t.DiskBytesSpilled)},
		{"input", formatBytes(t.InputBytes)},
	}
	for i := 0; i < len(cells); i += 3 {
		var parts []string
		for _, c := range cells[i:min(i+3, len(cells))] {
			parts = append(parts, fmt.Sprintf("%-18s%-14s ", c[0], c[1]))
		}
		line("  %s", strings.TrimRight(strings.Join(parts, ""), " "))
	}

	b.WriteString("\n  MEASURES\n")
	row("CPU utilisation", percentOr(m.CPUUtilization, "n/a (no CPU time before Spark 2.1)"))
	d := m.TaskDurationMs
	row("task duration", fmt.Sprintf("p50 %s, p90 %s, p99 %s, max %s", formatMs(d.P50), formatMs(d.P90), formatMs(d.P99), formatMs(d.Max)))
	if len(m.StageSkew.Top) > 0 {
		s := m.StageSkew.Top[0]
		row("most skewed stage", fmt.Sprintf("%d.%d: max %s = %.1f× median %s (%d tasks)", s.StageID, s.AttemptID, formatMs(s.MaxTaskMs), s.Skew, formatMs(s.MedianTaskMs), s.Tasks))
	} else {
		row("most skewed stage", fmt.Sprintf("none with %d+ tasks", minTasksForSkew))
	}
	row("peak executor mem", formatPeak(m.PeakExecutorMemory, app.SparkVersion))
	row("peak driver mem", formatPeak(m.PeakDriverMemory, app.SparkVersion))
	c := m.Concurrency
	row("running tasks", fmt.Sprintf("peak %d, average %.1f; executors peak %d (%d cores); slots busy %s",
		c.PeakRunningTasks, c.AverageRunningTasks, c.PeakExecutors, c.PeakExecutorCores, percentOr(c.SlotUtilization, "n/a")))
	row("over time", sparkline(c.OverTime))
	row("core-hours", fmt.Sprintf("%s; shuffle per core-hour %s; fetch wait %s of run time",
		floatOr(m.ExecutorCoreHours, "n/a"), bytesOr(m.ShuffleBytesPerCoreHour), percentOr(m.FetchWaitRatio, "n/a")))

	b.WriteString("\n  RECOMMENDATIONS\n")
	if len(rep.Recommendations) == 0 {
		wrapTo(b, "none: nothing in this log crosses a threshold (docs/advisor.md)", 2, width)
	}
	for i, r := range rep.Recommendations {
		wrapTo(b, fmt.Sprintf("%d. [%s, %s confidence] %s", i+1, r.Kind, r.Confidence, r.Summary), 2, width)
		for _, k := range sortedKeys(r.SparkConf) {
			line("     set %s=%s", k, r.SparkConf[k])
		}
		for _, k := range sortedKeys(r.Profile) {
			line("     profile %s: %s", k, r.Profile[k])
		}
		var ev []string
		for _, k := range sortedKeys(r.Evidence) {
			v, _ := json.Marshal(r.Evidence[k])
			ev = append(ev, fmt.Sprintf("%s=%s", k, v))
		}
		wrapTo(b, "evidence: "+strings.Join(ev, " "), 5, width)
		e := r.EvidenceSize
		line("     evidence size: %d tasks, %.0f task-seconds, %d executors, %.1f minutes", e.Tasks, e.TaskSeconds, e.Executors, e.MinutesObserved)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// wrapTo writes text wrapped at tableWidth, each line indented; words longer
// than a line are cut.
func wrapTo(b *strings.Builder, text string, indent, tableWidth int) {
	pad := strings.Repeat(" ", indent)
	width := tableWidth - indent
	cont := "  "
	cur := ""
	flush := func() {
		if cur != "" {
			b.WriteString(pad + fit(cur, width) + "\n")
		}
		cur = ""
	}
	for _, word := range strings.Fields(text) {
		switch {
		case cur == "":
			cur = word
		case utf8.RuneCountInString(cur)+1+utf8.RuneCountInString(word) <= width:
			cur += " " + word
		default:
			flush()
			cur = cont + word
		}
	}
	flush()
}

// before3 reports whether a Spark version string is older than 3.0 (an
// unknown version is taken as old, which is what a log without one is).
func before3(version string) bool {
	major, _, _ := strings.Cut(version, ".")
	n, err := strconv.Atoi(major)
	return err != nil || n < 3
}

// elide shortens s to width runes by cutting its middle, marking the cut.
func elide(s string, width int) string {
	r := []rune(s)
	if len(r) <= width || width < 5 {
		return s
	}
	head := (width - 1) / 2
	tail := width - 1 - head
	return string(r[:head]) + "…" + string(r[len(r)-tail:])
}

// fit cuts s to width runes, marking the cut.
func fit(s string, width int) string {
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	r := []rune(s)
	return string(r[:width-1]) + "…"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printable returns s, or s quoted with Go escapes when it holds control
// characters (a newline, a terminal escape) that would break a line or the
// terminal.
func printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == utf8.RuneError }) < 0 {
		return s
	}
	return strconv.Quote(s)
}

func quoteName(s string) string {
	if s == "" {
		return "(no name)"
	}
	return fmt.Sprintf("%q", s)
}

func percentOr(p *float64, def string) string {
	if p == nil {
		return def
	}
	return fmt.Sprintf("%.0f%%", 100**p)
}

func floatOr(p *float64, def string) string {
	if p == nil {
		return def
	}
	return fmt.Sprintf("%.3f", *p)
}

func bytesOr(p *float64) string {
	if p == nil {
		return "n/a"
	}
	return formatBytes(int64(*p))
}

func formatPeak(p *MemoryPeak, sparkVersion string) string {
	if p == nil {
		if before3(sparkVersion) {
			return "n/a (no executor metrics before Spark 3.0)"
		}
		return "n/a (no executor metrics in this log; in local mode see the driver's)"
	}
	s := fmt.Sprintf("heap %s, off-heap %s", formatBytes(p.JVMHeapBytes), formatBytes(p.JVMOffHeapBytes))
	if p.ProcessTreeRSSBytes > 0 {
		s += ", RSS " + formatBytes(p.ProcessTreeRSSBytes)
	}
	return s
}

// sparkline draws running tasks over time with block characters, scaled to
// the peak interval, followed by the peak.
func sparkline(points []ConcurrencyPoint) string {
	if len(points) == 0 {
		return "n/a"
	}
	const blocks = "▁▂▃▄▅▆▇█"
	peak := 0.0
	for _, p := range points {
		peak = max(peak, p.RunningTasks)
	}
	var b strings.Builder
	levels := []rune(blocks)
	for _, p := range points {
		k := 0
		if peak > 0 {
			k = int(p.RunningTasks / peak * float64(len(levels)-1))
		}
		b.WriteRune(levels[k])
	}
	fmt.Fprintf(&b, " (max %.1f, %s per mark)", peak, formatMs(points[0].WidthMs))
	return b.String()
}
