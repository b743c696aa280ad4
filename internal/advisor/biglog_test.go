package advisor

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"regexp"
	"strconv"
	"testing"
)

// bigLog builds one large, consistent application log out of the real ones:
// the header of application_1553914137147_0018 (log start, application
// start, its ~90 KB environment update, executors), then the job, stage and
// task events of all four real logs repeated with fresh stage, job and task
// IDs and shifted timestamps, then the application end. Lines keep Spark's
// own layout, so the parser meets what it meets in production.
type bigLog struct {
	header []byte
	body   []bodyLine // in order
	period int64      // ms between repetitions
	base   int64      // application start
	rep    int64
}

type bodyLine struct {
	segments [][]byte // text between numbers to rewrite
	slots    []slot
	source   int
}

type slot struct {
	kind  byte // 's' stage, 'j' job, 't' task, 'T' time
	value int64
}

var bigLogBody = map[string]bool{
	"SparkListenerJobStart": true, "SparkListenerJobEnd": true, "SparkListenerStageSubmitted": true,
	"SparkListenerStageCompleted": true, "SparkListenerTaskStart": true, "SparkListenerTaskEnd": true,
	"SparkListenerStageExecutorMetrics": true,
}

var bigLogHeader = map[string]bool{
	"SparkListenerLogStart": true, "SparkListenerApplicationStart": true, "SparkListenerEnvironmentUpdate": true,
	"SparkListenerExecutorAdded": true, "SparkListenerBlockManagerAdded": true,
}

var numberField = regexp.MustCompile(`"(Stage ID|Job ID|Task ID|Launch Time|Finish Time|Submission Time|Completion Time|Timestamp)":(\d+)`)

func newBigLog(t testing.TB) *bigLog {
	t.Helper()
	g := &bigLog{period: 70_000}
	eventOf := regexp.MustCompile(`^\{"Event":"([^"]+)"`)
	for src, log := range realLogs(t) {
		data := readReal(t, log)
		var first int64
		for _, line := range bytes.SplitAfter(data, []byte("\n")) {
			m := eventOf.FindSubmatch(line)
			if m == nil {
				continue
			}
			event := string(m[1])
			if log.name == "application_1553914137147_0018" && bigLogHeader[event] {
				g.header = append(g.header, line...)
				if event == "SparkListenerApplicationStart" {
					ts := regexp.MustCompile(`"Timestamp":(\d+)`).FindSubmatch(line)
					g.base, _ = strconv.ParseInt(string(ts[1]), 10, 64)
				}
				continue
			}
			if !bigLogBody[event] {
				continue
			}
			bl := bodyLine{source: src}
			prev := 0
			for _, idx := range numberField.FindAllSubmatchIndex(line, -1) {
				v, _ := strconv.ParseInt(string(line[idx[4]:idx[5]]), 10, 64)
				kind := byte('T')
				switch string(line[idx[2]:idx[3]]) {
				case "Stage ID":
					kind = 's'
				case "Job ID":
					kind = 'j'
				case "Task ID":
					kind = 't'
				}
				if kind == 'T' && v > 0 && (first == 0 || v < first) {
					first = v
				}
				bl.segments = append(bl.segments, line[prev:idx[4]])
				bl.slots = append(bl.slots, slot{kind, v})
				prev = idx[5]
			}
			bl.segments = append(bl.segments, line[prev:])
			g.body = append(g.body, bl)
		}
		// Times of this source are rebased to the application's start.
		for i := range g.body {
			if g.body[i].source != src {
				continue
			}
			for j := range g.body[i].slots {
				if s := &g.body[i].slots[j]; s.kind == 'T' && s.value > 0 {
					s.value -= first
				}
			}
		}
	}
	return g
}

// writeRepetition writes the body once more with fresh IDs and times.
func (g *bigLog) writeRepetition(w *bufio.Writer) {
	k := g.rep
	g.rep++
	var num [20]byte
	for _, bl := range g.body {
		unique := (k*4 + int64(bl.source))
		for i, s := range bl.slots {
			w.Write(bl.segments[i])
			v := s.value
			switch s.kind {
			case 's', 'j':
				v += unique * 100
			case 't':
				v += unique * 1000
			case 'T':
				if v > 0 {
					v += g.base + 1000 + k*g.period
				}
			}
			w.Write(strconv.AppendInt(num[:0], v, 10))
		}
		w.Write(bl.segments[len(bl.segments)-1])
	}
}

// write writes a log of at least size bytes and returns its size.
func (g *bigLog) write(t testing.TB, w io.Writer, size int64) int64 {
	t.Helper()
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 1<<20)
	bw.Write(g.header)
	for cw.n+int64(bw.Buffered()) < size {
		g.writeRepetition(bw)
	}
	bw.WriteString(`{"Event":"SparkListenerApplicationEnd","Timestamp":` + strconv.FormatInt(g.base+1000+g.rep*g.period, 10) + "}\n")
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	return cw.n
}

func writeBigLogFile(t testing.TB, path string, size int64) int64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return newBigLog(t).write(t, f, size)
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
