package advisor

import (
	"bytes"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// realTaskEnds returns the task-end lines of the real logs.
func realTaskEnds(t testing.TB) [][]byte {
	var lines [][]byte
	for _, log := range realLogs(t) {
		for _, line := range bytes.Split(readReal(t, log), []byte("\n")) {
			if bytes.HasPrefix(line, []byte(`{"Event":"SparkListenerTaskEnd"`)) {
				lines = append(lines, line)
			}
		}
	}
	return lines
}

// inChunk returns a copy of line followed by more bytes in the same storage,
// as a line of a chunk is: the shape's word compares then run past its end.
func inChunk(line []byte) []byte {
	buf := append(append([]byte{}, line...), bytes.Repeat([]byte(`}]"1, `), 16)...)
	return buf[:len(line)]
}

// checkShaped parses line through cache (which may learn from it) and
// through the general parser, with the line alone in its storage and inside
// a larger one, and fails unless every record is the same.
func checkShaped(t *testing.T, cache *shapeCache, line []byte) {
	t.Helper()
	var want record
	parseLine(append([]byte{}, line...), &want, make([]byte, 0, 64))
	for _, b := range [][]byte{append([]byte{}, line...), inChunk(line)} {
		var got record
		parseLineWith(b, &got, make([]byte, 0, 64), cache)
		if fromRecord(&want) != fromRecord(&got) || got.kind != want.kind {
			diff := cmp.Diff(fromRecord(&want), fromRecord(&got), cmp.AllowUnexported(refTaskEnd{}))
			t.Fatalf("through shapes %q reads differently (-general +shapes), kind %d, want %d:\n%s", line, got.kind, want.kind, diff)
		}
	}
}

// valueSpans returns where every value of the line's objects starts and ends.
func valueSpans(line []byte) [][2]int {
	var spans [][2]int
	for i := 0; i < len(line); i++ {
		if line[i] != ':' {
			continue
		}
		if end := skipValue(line, i+1); end > i+1 {
			spans = append(spans, [2]int{i + 1, end})
		}
	}
	return spans
}

// TestShapeAgreesWithParseTaskEnd learns the shape of every real task-end
// line, then reads through it the line with each value in turn replaced by
// values of every other type and form (and the keys' bytes changed), and
// checks that every record is the general parser's.
func TestShapeAgreesWithParseTaskEnd(t *testing.T) {
	replacements := []string{`0`, `7`, `-3`, `1.5`, `2e3`, `123456789012345678901234`, `null`, `true`, `false`,
		`"x"`, `"Success"`, `"driver"`, `"dri\u0076er"`, `""`, `{}`, `[]`, `{"Reason":"Success"}`, `[1,{"a":"]"}]`,
		`"}"`, `"\""`, ` 5`, `5 `, `tr"ue`, `{`, `]`, ``}
	lines := realTaskEnds(t)
	if len(lines) < 100 {
		t.Fatalf("only %d task-end lines in the real logs", len(lines))
	}
	// One line of each layout: lines that differ only in their digits make
	// the same variants.
	layouts := map[string]bool{}
	for k, line := range lines {
		if k%8 != 0 {
			continue // a sample, for the test's time: every layout of the logs is met in the fuzz seeds
		}
		layout := string(bytes.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return -1
			}
			return r
		}, line))
		if layouts[layout] {
			continue
		}
		layouts[layout] = true
		cache := &shapeCache{}
		checkShaped(t, cache, line)
		if len(cache.shapes) != 1 {
			t.Fatalf("no shape learnt from %s", line)
		}
		learnt := *cache
		learnt.misses = 1 << 30 // the variants are read through this line's shape, not learnt
		readVariants(t, &learnt, line, replacements)
		// Every byte changed in turn, keys and punctuation included.
		for i := range line {
			variant := append([]byte{}, line...)
			variant[i] ^= 0x20
			c := learnt
			c.shapes = append([]*lineShape{}, learnt.shapes...)
			checkShaped(t, &c, variant)
		}
	}
	// Shapes learnt from lines whose values have other types: a value the
	// general parser walks into when it is an object must not be skipped
	// when the shape was learnt from a line where it was not.
	for _, line := range lines[:3] {
		for _, span := range valueSpans(line) {
			for _, r := range []string{`"x"`, `[]`, `null`, `7`, `{}`} {
				learnFrom := splice(line, span, r)
				cache := &shapeCache{}
				checkShaped(t, cache, learnFrom)
				if len(cache.shapes) == 0 {
					continue // the line is corrupt
				}
				cache.misses = 1 << 30
				for _, r2 := range replacements {
					c := *cache
					c.shapes = append([]*lineShape{}, cache.shapes...)
					checkShaped(t, &c, splice(line, span, r2))
				}
			}
		}
	}
}

// splice returns line with the bytes of span replaced by r.
func splice(line []byte, span [2]int, r string) []byte {
	return append(append(append([]byte{}, line[:span[0]]...), r...), line[span[1]:]...)
}

// readVariants reads through a copy of cache the line with each of its
// values in turn replaced by each of replacements.
func readVariants(t *testing.T, cache *shapeCache, line []byte, replacements []string) {
	t.Helper()
	for _, span := range valueSpans(line) {
		for _, r := range replacements {
			c := *cache
			c.shapes = append([]*lineShape{}, cache.shapes...)
			checkShaped(t, &c, splice(line, span, r))
		}
	}
}

// TestShapesAreUsed: the real task ends are read through shapes after the
// first of each layout (the figure BenchmarkAdvise gains rests on it), and a
// log of task ends that all differ stops learning.
func TestShapesAreUsed(t *testing.T) {
	cache := &shapeCache{}
	lines := realTaskEnds(t)
	for _, line := range lines {
		checkShaped(t, cache, line)
	}
	if cache.hits < len(lines) {
		t.Errorf("%d of %d task-end lines (each read twice) were read through a shape", cache.hits, 2*len(lines))
	}
	// Task ends that all differ: after 64 misses (and 8 shapes), shapes are
	// tried on one line in restEvery only.
	odd := &shapeCache{}
	lines = lines[:0]
	for i := range 5000 {
		lines = append(lines, []byte(`{"Event":"SparkListenerTaskEnd","Stage ID":1,"k`+strconv.Itoa(i)+`":1}`))
	}
	for _, line := range lines {
		checkShaped(t, odd, line)
	}
	// Each line is read twice by checkShaped (10,000 reads), the second
	// time through the shape learnt from the first while shapes are tried.
	if odd.misses > 64+10000/restEvery+1 || len(odd.shapes) > maxShapes || odd.hits > odd.misses {
		t.Errorf("task ends that all differ: %d misses (lines learnt from), %d shapes kept, %d hits", odd.misses, len(odd.shapes), odd.hits)
	}
	if odd.rest < 10000-2*odd.misses {
		t.Errorf("only %d of 10,000 reads skipped the shapes (%d misses)", odd.rest, odd.misses)
	}
}

// FuzzTaskEndShape: a line read through the shape learnt from another (or
// from itself) reads as the general parser reads it.
func FuzzTaskEndShape(f *testing.F) {
	lines := realTaskEnds(f)
	for i, line := range lines {
		f.Add(line, lines[(i+1)%len(lines)])
	}
	f.Add([]byte(`{"Event":"SparkListenerTaskEnd","Stage ID":1,"Task Info":{"Accumulables":[{"ID":1}]}}`),
		[]byte(`{"Event":"SparkListenerTaskEnd","Stage ID":1,"Task Info":{"Accumulables":[{"ID":"}"}]}}`))
	f.Fuzz(func(t *testing.T, first, second []byte) {
		cache := &shapeCache{}
		checkShaped(t, cache, first)
		checkShaped(t, cache, second)
		checkShaped(t, cache, first)
	})
}

// realArrays returns the arrays of objects in the real task-end lines (the
// accumulables), each with the bytes after it in its line.
func realArrays(t testing.TB) [][]byte {
	var arrays [][]byte
	for _, line := range realTaskEnds(t) {
		for i := 0; i+1 < len(line); i++ {
			if line[i] == '[' && line[i+1] == '{' {
				arrays = append(arrays, line[i:])
			}
		}
	}
	return arrays
}

// checkArraySkip skips the array at b[0] with e (which may learn from it)
// and fails unless it ends where skipContainer does, with b alone in its
// storage and inside a larger one.
func checkArraySkip(t *testing.T, e *elementShapes, b []byte) {
	t.Helper()
	want := skipContainer(b, 0)
	for _, b := range [][]byte{append([]byte{}, b...), inChunk(b)} {
		if got := e.skip(b, 0); got != want {
			t.Fatalf("array skip through shapes of %q ends at %d, skipContainer at %d", b, got, want)
		}
	}
}

// TestElementShapesSkipAsSkipContainer: arrays of objects skipped through
// the shapes of their objects end where skipContainer ends them, for the
// real accumulables with every byte changed in turn (in the objects, the
// commas between them, the brackets), and with each value replaced by
// values of other types, strings holding brackets and quotes included.
func TestElementShapesSkipAsSkipContainer(t *testing.T) {
	arrays := realArrays(t)
	if len(arrays) < 20 {
		t.Fatalf("only %d arrays of objects in the real task ends", len(arrays))
	}
	replacements := []string{`0`, `-3`, `1.5`, `null`, `true`, `"x"`, `"]}"`, `"\"]"`, `{}`, `[]`, `[{"a":"]"}]`,
		`{"a":[1,"}"]}`, `tru"e`, `1"`, ` 5`, `]`, `}`, `{`, `[`, `"`, ``}
	for k, array := range arrays {
		if k%4 != 0 {
			continue // a sample, for the test's time
		}
		e := &elementShapes{}
		checkArraySkip(t, e, array)
		if len(e.shapes) == 0 {
			t.Fatalf("no element shape learnt from %s", array)
		}
		e.learnt = 1 << 30 // read through the shapes learnt from the real array only
		end := skipContainer(array, 0)
		for i := range end {
			variant := append([]byte{}, array...)
			variant[i] ^= 0x20
			checkArraySkip(t, e, variant)
		}
		for _, span := range valueSpans(array[:end]) {
			for _, r := range replacements {
				checkArraySkip(t, e, splice(array, span, r))
			}
		}
	}
}

// FuzzElementShapes: an array skipped through the shapes learnt from
// another ends where skipContainer ends it.
func FuzzElementShapes(f *testing.F) {
	arrays := realArrays(f)
	for i, a := range arrays {
		f.Add(a, arrays[(i+1)%len(arrays)])
	}
	f.Add([]byte(`[{"ID":1,"Name":"a","Internal":true}]`), []byte(`[{"ID":1,"Name":"]","Internal":true},{"ID":2"}]`))
	f.Fuzz(func(t *testing.T, first, second []byte) {
		if len(first) == 0 || len(second) == 0 || first[0] != '[' || second[0] != '[' {
			return
		}
		e := &elementShapes{}
		checkArraySkip(t, e, first)
		checkArraySkip(t, e, second)
		checkArraySkip(t, e, first)
	})
}

// TestShapesLeaveOtherLinesAlone: with the shapes of every real task end
// learnt, every line of the real logs, of every event, reads as the general
// parser reads it.
func TestShapesLeaveOtherLinesAlone(t *testing.T) {
	cache := &shapeCache{}
	for _, line := range realTaskEnds(t) {
		checkShaped(t, cache, line)
	}
	for _, log := range realLogs(t) {
		for _, line := range bytes.Split(readReal(t, log), []byte("\n")) {
			checkShaped(t, cache, line)
		}
	}
}

// TestShapesOnRandomEdits reads, through the shapes learnt from real task
// ends, lines made from them by random edits (bytes changed, JSON fragments
// inserted, runs deleted or repeated), and checks each against the general
// parser: the fuzz targets' property at the speed of a plain test (the fuzz
// engine runs this package's targets at a few executions a second, its
// coverage counters spanning the whole binary). ADVISOR_SHAPE_EDITS sets
// the number of edited lines (2,000 by default).
func TestShapesOnRandomEdits(t *testing.T) {
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("ADVISOR_SHAPE_EDITS")); err == nil {
		n = v
	}
	lines := realTaskEnds(t)
	fragments := []string{`0`, `-1`, `1.5e3`, `null`, `true`, `"`, `\`, `\"`, `{`, `}`, `[`, `]`, `,`, `:`, ` `,
		`"x"`, `{}`, `[]`, `[{"ID":1}]`, `"driver"`, `"Success"`, `,"Killed":true`, `,"Stage ID":9`, `\u0041`}
	arrays := realArrays(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for k := range n {
		if k%2 == 1 {
			// An array of accumulables edited, skipped through the shapes
			// of its objects against skipContainer.
			array := arrays[rng.IntN(len(arrays))]
			e := &elementShapes{}
			checkArraySkip(t, e, array)
			if edited := randomEdits(rng, array, fragments); edited[0] == '[' {
				checkArraySkip(t, e, edited)
			}
			continue
		}
		line := lines[rng.IntN(len(lines))]
		cache := &shapeCache{}
		checkShaped(t, cache, line)
		checkShaped(t, cache, randomEdits(rng, line, fragments))
	}
}

// randomEdits returns a copy of b with one to three random edits.
func randomEdits(rng *rand.Rand, b []byte, fragments []string) []byte {
	edited := append([]byte{}, b...)
	for range 1 + rng.IntN(3) {
		at := rng.IntN(len(edited))
		switch rng.IntN(4) {
		case 0:
			edited[at] = byte(rng.IntN(256))
		case 1:
			f := fragments[rng.IntN(len(fragments))]
			edited = append(edited[:at], append([]byte(f), edited[at:]...)...)
		case 2:
			end := min(len(edited), at+1+rng.IntN(16))
			edited = append(edited[:at], edited[end:]...)
		case 3:
			end := min(len(edited), at+1+rng.IntN(16))
			edited = append(edited[:end], append(append([]byte{}, edited[at:end]...), edited[end:]...)...)
		}
		if len(edited) == 0 {
			return []byte{'['}
		}
	}
	return edited
}
