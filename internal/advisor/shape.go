package advisor

import (
	"encoding/binary"
	"slices"
)

// A task-end line is most of an event log, and Spark writes the task ends of
// one stage with the same keys in the same order: from one line to the next
// only the values change. A lineShape is that layout, learnt from a line the
// general parser (parseTaskEnd) has read: the bytes between the values
// (keys, punctuation, the event name), and for each value what the general
// parser does with it. A later line whose bytes between its values are the
// very same is read by comparing those bytes and handling each value in turn,
// with no key lookup, no guess of the next key and no call per member. A line
// that differs anywhere (another key, another order, whitespace, a value of
// another type where that changes the result) is read by the general parser,
// and its shape is learnt.
//
// Why the result is the general parser's: a line that matches a shape has
// the same keys, in the same objects, in the same order as the line the shape
// was learnt from (the bytes between values are equal, and a skipped value
// cannot end earlier or later than the general parser's skip without the next
// bytes failing to match). Values are read by the general parser's own
// functions (readInt, readString, readBool, the metric groups' rule), and a
// shape is only learnt from a line with no key given twice in an object, so
// "the last value wins" cannot differ. The learner checks the shape against
// the line it came from; TestShapeAgreesWithParseTaskEnd,
// TestShapesOnRandomEdits and FuzzTaskEndShape check it against others.
type lineShape struct {
	steps []shapeStep // one per value, in line order, and for the bytes after the last
	base  record      // what the line's layout alone says (kind, which groups are present)
}

// shapeStep is the n bytes before a value, then act for the value. The
// bytes are held as words compared at once, masked, with one branch (as
// keySet compares keys); longer runs of bytes take several steps.
type shapeStep struct {
	words, masks [shapeWords]uint64
	n            int32
	act          shapeAction
	open         byte           // the first byte of a skipped container, as learnt
	elems        *elementShapes // for actSkipArray
}

// shapeWords is how many 8-byte words of bytes one step compares.
const shapeWords = 4

type shapeAction uint8

const (
	actNone shapeAction = iota
	// actBytes is bytes alone, with no value after them (more than one step holds).
	actBytes
	// Values the analysis does not read, skipped as the general parser
	// skips them; each checks the value's type is the one learnt, where the
	// type changes what the general parser does.
	actSkipNumber    // digits only (skipValue's rule for them)
	actSkipString    // a string
	actSkipContainer // an object or array opening with open
	actSkipLiteral   // another value that is not a string or container: skipValue
	actSkipArray     // an array, its objects through elems
	// Values read, each by the same function and rule as in parseTaskEnd.
	actStageID
	actStageAttempt
	actReason
	actLaunch
	actFinish
	actExecutorID
	actFailed
	actKilled
	actHeap
	actOffHeap
	actRSS
	actRunTime
	actCPUTime
	actGCTime
	actMemorySpilled
	actDiskSpilled
	actPeakExecution
	// Members of the metric groups (parseMetricGroup's rule: a number is read,
	// anything else counts as 0).
	actRemoteRead
	actLocalRead
	actFetchWait
	actShuffleWrite
	actInputBytes
	actOutputBytes
)

// shapeField is what parseTaskEnd does with one key: read the value (act),
// walk into it when it is an object (obj), and what its presence says (flag).
type shapeField struct {
	act  shapeAction
	obj  map[string]shapeField
	flag func(*record)
}

// taskEndSchema mirrors parseTaskEnd and the parsers it calls: any key not
// here is skipped.
var taskEndSchema = map[string]shapeField{
	"Stage ID":         {act: actStageID},
	"Stage Attempt ID": {act: actStageAttempt},
	"Task End Reason":  {obj: map[string]shapeField{"Reason": {act: actReason}}},
	"Task Info": {obj: map[string]shapeField{
		"Launch Time": {act: actLaunch},
		"Finish Time": {act: actFinish},
		"Executor ID": {act: actExecutorID},
		"Failed":      {act: actFailed},
		"Killed":      {act: actKilled},
	}},
	"Task Executor Metrics": {flag: func(r *record) { r.hasMetrics = true }, obj: map[string]shapeField{
		"JVMHeapMemory":           {act: actHeap},
		"JVMOffHeapMemory":        {act: actOffHeap},
		"ProcessTreeJVMRSSMemory": {act: actRSS},
	}},
	"Task Metrics": {flag: func(r *record) { r.hasTaskMetrics = true }, obj: map[string]shapeField{
		"Executor Run Time":     {act: actRunTime},
		"Executor CPU Time":     {act: actCPUTime, flag: func(r *record) { r.hasCPU = true }},
		"JVM GC Time":           {act: actGCTime},
		"Memory Bytes Spilled":  {act: actMemorySpilled},
		"Disk Bytes Spilled":    {act: actDiskSpilled},
		"Peak Execution Memory": {act: actPeakExecution},
		"Shuffle Read Metrics": {obj: map[string]shapeField{
			"Remote Bytes Read": {act: actRemoteRead},
			"Local Bytes Read":  {act: actLocalRead},
			"Fetch Wait Time":   {act: actFetchWait},
		}},
		"Shuffle Write Metrics": {obj: map[string]shapeField{"Shuffle Bytes Written": {act: actShuffleWrite}}},
		"Input Metrics":         {obj: map[string]shapeField{"Bytes Read": {act: actInputBytes}}},
		"Output Metrics":        {obj: map[string]shapeField{"Bytes Written": {act: actOutputBytes}}},
	}},
}

// match reads line into r if it has the shape, and reports whether it had.
// r must be zero on entry; it is only meaningful when the line matched.
func (s *lineShape) match(b []byte, r *record) bool {
	if s.run(b, 0, r) != len(b) {
		return false
	}
	r.kind, r.hasMetrics, r.hasTaskMetrics, r.hasCPU = s.base.kind, s.base.hasMetrics, s.base.hasTaskMetrics, s.base.hasCPU
	return true
}

// run matches the shape's steps from b[i] and returns the position after
// the last, or -1. r is nil for a shape with no value read (an element's).
func (s *lineShape) run(b []byte, i int, r *record) int {
	for k := range s.steps {
		st := &s.steps[k]
		n := int(st.n)
		if len(b)-i < n {
			return -1
		}
		if cap(b)-i >= 8*shapeWords {
			// The words may run past the line into the chunk it is a slice of:
			// masked out.
			w := b[i : i+8*shapeWords]
			d := (binary.LittleEndian.Uint64(w) ^ st.words[0]) & st.masks[0]
			d |= (binary.LittleEndian.Uint64(w[8:]) ^ st.words[1]) & st.masks[1]
			d |= (binary.LittleEndian.Uint64(w[16:]) ^ st.words[2]) & st.masks[2]
			d |= (binary.LittleEndian.Uint64(w[24:]) ^ st.words[3]) & st.masks[3]
			if d != 0 {
				return -1
			}
		} else if !st.sameBytes(b[i : i+n]) {
			return -1
		}
		i += n
		// One switch over every action, compiled to a jump table: the chain
		// of compares before it (three common actions, then a call for the
		// rest) held a third of the pass's simulated branch mispredicts.
		switch st.act {
		case actBytes:
		case actSkipNumber:
			j := skipDigits(b, i)
			if j == i {
				return -1
			}
			i = j
		case actSkipString:
			if i >= len(b) || b[i] != '"' {
				return -1
			}
			if i, _ = stringEnd(b, i+1); i < 0 {
				return -1
			}
			i++
		case actSkipContainer:
			if i >= len(b) || b[i] != st.open {
				return -1
			}
			i = skipContainer(b, i)
		case actSkipLiteral:
			if i >= len(b) || b[i] == '"' || b[i] == '{' || b[i] == '[' {
				return -1
			}
			i = skipValue(b, i)
		case actSkipArray:
			if i >= len(b) || b[i] != '[' {
				return -1
			}
			i = st.elems.skip(b, i)
		case actStageID:
			r.stageID, i = readInt(b, i)
		case actStageAttempt:
			r.stageAttempt, i = readInt(b, i)
		case actReason:
			var v []byte
			v, i = readString(b, i, nil)
			r.success = string(v) == "Success"
		case actLaunch:
			r.timestamp, i = readInt(b, i)
		case actFinish:
			r.finish, i = readInt(b, i)
		case actExecutorID:
			var v []byte
			v, i = readString(b, i, nil)
			r.isDriver = string(v) == "driver"
		case actFailed:
			r.failed, i = readBool(b, i)
		case actKilled:
			r.killed, i = readBool(b, i)
		case actHeap:
			r.memory.heap, i = readInt(b, i)
		case actOffHeap:
			r.memory.offHeap, i = readInt(b, i)
		case actRSS:
			r.memory.rss, i = readInt(b, i)
		case actRunTime:
			r.runTimeMs, i = readInt(b, i)
		case actCPUTime:
			r.cpuTimeNs, i = readInt(b, i)
		case actGCTime:
			r.gcTimeMs, i = readInt(b, i)
		case actMemorySpilled:
			r.memorySpilled, i = readInt(b, i)
		case actDiskSpilled:
			r.diskSpilled, i = readInt(b, i)
		case actPeakExecution:
			r.peakExecutionMemory, i = readInt(b, i)
		case actRemoteRead:
			r.remoteRead, i = readMetric(b, i)
		case actLocalRead:
			r.localRead, i = readMetric(b, i)
		case actFetchWait:
			r.fetchWaitMs, i = readMetric(b, i)
		case actShuffleWrite:
			r.shuffleWrite, i = readMetric(b, i)
		case actInputBytes:
			r.inputBytes, i = readMetric(b, i)
		case actOutputBytes:
			r.outputBytes, i = readMetric(b, i)
		default:
			return -1
		}
		if i < 0 {
			return -1
		}
	}
	return i
}

// sameBytes reports whether p is the step's bytes (for a line too near its
// storage's end to load whole words).
func (st *shapeStep) sameBytes(p []byte) bool {
	var want [8 * shapeWords]byte
	for w := range shapeWords {
		binary.LittleEndian.PutUint64(want[8*w:], st.words[w])
	}
	return string(p) == string(want[:st.n])
}

// newShapeStep is st for the bytes q (at most 8*shapeWords) before its
// value.
func newShapeStep(q []byte, st shapeStep) shapeStep {
	var word [8 * shapeWords]byte
	copy(word[:], q)
	st.n = int32(len(q))
	for w := range shapeWords {
		st.words[w] = binary.LittleEndian.Uint64(word[8*w:])
		if left := len(q) - 8*w; left > 0 {
			st.masks[w] = ^uint64(0) >> (64 - 8*min(left, 8))
		}
	}
	return st
}

// skipDigits returns the position after the ASCII digits from b[i].
func skipDigits(b []byte, i int) int {
	for len(b)-i >= 8 {
		k := digitRun(binary.LittleEndian.Uint64(b[i:]))
		i += k
		if k < 8 {
			return i
		}
	}
	for i < len(b) && b[i]-'0' <= 9 {
		i++
	}
	return i
}

// learnShape learns the shape of a task-end line the general parser read
// into want; nil when the line cannot have one (a key given twice in an
// object, trailing bytes) or the shape does not read the line as want.
func learnShape(b []byte, want *record, scratch []byte) *lineShape {
	l := shapeLearner{b: b, scratch: scratch, shape: &lineShape{base: record{kind: kindTaskEnd}}}
	end := l.object(0, taskEndSchema, true)
	if end < 0 || ws(b, end) != len(b) {
		return nil
	}
	l.addBytes(b[l.from:], shapeStep{act: actBytes})
	var got record
	if !l.shape.match(b, &got) || got != *want {
		return nil
	}
	return l.shape
}

type shapeLearner struct {
	b       []byte
	scratch []byte
	shape   *lineShape
	from    int  // where the bytes before the next value start
	element bool // learning an array element's shape: see learnElement
}

// object walks the object at b[i] as the schema says, adding a step per
// value, and returns the position after it.
func (l *shapeLearner) object(i int, schema map[string]shapeField, top bool) int {
	b := l.b
	i = objectStart(b, i)
	var seen []string
	for {
		key, j, more := objectKey(b, i, l.scratch)
		if !more {
			return j
		}
		if j >= len(b) {
			return -1
		}
		name := string(key)
		if slices.Contains(seen, name) {
			return -1
		}
		seen = append(seen, name)
		f, known := schema[name]
		if known && f.flag != nil {
			f.flag(&l.shape.base)
		}
		switch {
		case top && name == "Event":
			// The event name is part of the bytes compared.
			j = skipValue(b, j)
		case known && f.obj != nil && b[j] == '{':
			j = l.object(j, f.obj, false)
		case known && f.act != actNone:
			j = l.step(j, shapeStep{act: f.act})
		case l.element && b[j] != '"' && b[j] != '{' && b[j] != '[' && (b[j] < '0' || b[j] > '9'):
			// Only true, false and null, which are part of the bytes compared.
			j = constantEnd(b, j)
		default:
			j = l.step(j, l.skipStep(b[j]))
		}
		if j < 0 {
			return -1
		}
		i = objectNext(b, j)
	}
}

// skipStep is the step that skips a value starting with c as the general
// parser would.
func (l *shapeLearner) skipStep(c byte) shapeStep {
	switch {
	case c >= '0' && c <= '9':
		return shapeStep{act: actSkipNumber}
	case c == '"':
		return shapeStep{act: actSkipString}
	case c == '[' && !l.element:
		return shapeStep{act: actSkipArray, elems: &elementShapes{}}
	case c == '{' || c == '[':
		return shapeStep{act: actSkipContainer, open: c}
	}
	return shapeStep{act: actSkipLiteral}
}

// constantEnd returns the position after the true, false or null at b[j], or
// -1 for any other bytes.
func constantEnd(b []byte, j int) int {
	for _, lit := range []string{"true", "false", "null"} {
		if len(b)-j >= len(lit) && string(b[j:j+len(lit)]) == lit {
			return j + len(lit)
		}
	}
	return -1
}

// elementShapes are the shapes of the objects of an array that is skipped
// (a task's accumulables): an array whose objects all have one of them, with
// a comma between and no whitespace, is skipped without looking at each
// byte. An object with none is skipped by skipContainer, and its shape is
// learnt; any other array is skipped whole by skipContainer from its start.
// The end found is skipContainer's: the objects that match a shape hold
// their brackets and quotes exactly where the object the shape was learnt
// from held them, strings are scanned by skipContainer's rule, numbers are
// digits, and true, false and null are compared as bytes.
type elementShapes struct {
	shapes []*lineShape
	learnt int
}

// maxElementShapes is how many object shapes one array step keeps (Spark
// writes an accumulable with or without its metadata and value kinds).
const maxElementShapes = 4

// skip returns the position after the array at b[start], or -1.
func (e *elementShapes) skip(b []byte, start int) int {
	i := start + 1
	if i < len(b) && b[i] == ']' {
		return i + 1
	}
	for {
		if i >= len(b) || b[i] != '{' {
			return skipContainer(b, start)
		}
		j := e.element(b, i)
		if j < 0 || j >= len(b) {
			return skipContainer(b, start)
		}
		switch b[j] {
		case ',':
			i = j + 1
		case ']':
			return j + 1
		default:
			return skipContainer(b, start)
		}
	}
}

// element returns the position after the object at b[i], or -1.
func (e *elementShapes) element(b []byte, i int) int {
	for _, s := range e.shapes {
		if j := s.run(b, i, nil); j >= 0 {
			return j
		}
	}
	j := skipContainer(b, i)
	if j >= 0 && len(e.shapes) < maxElementShapes && e.learnt < 64 {
		e.learnt++
		if s := learnElement(b[:j], i); s != nil {
			e.shapes = append(e.shapes, s)
		}
	}
	return j
}

// learnElement learns the shape of the object at b[i], which ends at the
// end of b; nil when it holds a value other than a string, container,
// non-negative integer, true, false or null.
func learnElement(b []byte, i int) *lineShape {
	l := shapeLearner{b: b, shape: &lineShape{}, from: i, element: true}
	if end := l.object(i, nil, false); end != len(b) {
		return nil
	}
	l.addBytes(b[l.from:], shapeStep{act: actBytes})
	if l.shape.run(b, i, nil) != len(b) {
		return nil
	}
	return l.shape
}

// step adds st for the value at b[j] and returns the position after it.
func (l *shapeLearner) step(j int, st shapeStep) int {
	l.addBytes(l.b[l.from:j], st)
	var scratch record
	end := (&lineShape{steps: []shapeStep{st}}).run(l.b, j, &scratch)
	l.from = end
	return end
}

// addBytes adds the steps comparing q, the last with last's value.
func (l *shapeLearner) addBytes(q []byte, last shapeStep) {
	for len(q) > 8*shapeWords {
		l.shape.steps = append(l.shape.steps, newShapeStep(q[:8*shapeWords], shapeStep{act: actBytes}))
		q = q[8*shapeWords:]
	}
	l.shape.steps = append(l.shape.steps, newShapeStep(q, last))
}

// maxShapes is how many task-end shapes a parser keeps: one per kind of
// task (with or without shuffle reads, failed, ...) of the stages running
// at the same time.
const maxShapes = 8

// shapeCache holds the shapes of recent task-end lines, the last matched
// first. It belongs to one goroutine.
type shapeCache struct {
	shapes []*lineShape
	// hits and misses count the lines a shape matched and those none did.
	// Once shapes stop paying (a log whose task ends all differ), lines are
	// no longer tried against them nor learnt, but one in restEvery, in case
	// the log changes; rest counts the lines since.
	misses, hits, rest int
}

// restEvery is how often a line is still tried against the shapes once they
// stopped paying.
const restEvery = 1024

// paying reports whether shapes have matched enough of the task ends so far.
func (sc *shapeCache) paying() bool {
	return sc.misses <= 64 || sc.misses <= sc.hits/4
}

// parseTaskEnd reads a task-end line through a known shape, or through
// parseTaskEnd and then learns its shape; it returns the position after the
// object as parseTaskEnd does. triedLast says the line did not match the
// first shape.
func (sc *shapeCache) parseTaskEnd(line []byte, rec *record, scratch []byte, triedLast bool) int {
	if !sc.paying() {
		if sc.rest++; sc.rest%restEvery != 0 {
			*rec = record{}
			return parseTaskEnd(line, rec, scratch)
		}
	}
	for k, s := range sc.shapes {
		if k == 0 && triedLast {
			continue
		}
		if s.match(line, rec) {
			if k > 0 {
				copy(sc.shapes[1:k+1], sc.shapes[:k])
				sc.shapes[0] = s
			}
			sc.hits++
			return len(line)
		}
		*rec = record{} // what the attempt left
	}
	*rec = record{}
	end := parseTaskEnd(line, rec, scratch)
	if end < 0 || ws(line, end) != len(line) {
		return end
	}
	sc.misses++
	rec.kind = kindTaskEnd
	if s := learnShape(line, rec, scratch); s != nil {
		if len(sc.shapes) < maxShapes {
			sc.shapes = append(sc.shapes, nil)
		}
		copy(sc.shapes[1:], sc.shapes[:len(sc.shapes)-1])
		sc.shapes[0] = s
	}
	return end
}
