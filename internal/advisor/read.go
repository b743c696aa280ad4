package advisor

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"sync"
)

// Options tune how a log is read. The zero value is the default.
type Options struct {
	// Workers is the number of goroutines that parse lines; 0 means
	// GOMAXPROCS. With one worker everything runs on the calling goroutine.
	// The result does not depend on it: lines are parsed in parallel, then
	// applied to the analysis in log order.
	Workers int
	// ChunkBytes is the size of the blocks the log is cut into (1 MiB).
	ChunkBytes int
	// MaxLineBytes is the longest line kept (64 MiB). Longer lines, such as a
	// huge SQL plan, are counted as oversized and skipped without being held
	// in memory.
	MaxLineBytes int
}

func (o Options) withDefaults() Options {
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.ChunkBytes <= 0 {
		o.ChunkBytes = 1 << 20
	}
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = 64 << 20
	}
	if o.MaxLineBytes < o.ChunkBytes {
		o.MaxLineBytes = o.ChunkBytes
	}
	return o
}

// maxBatch is the most records parsed from a chunk at once. A chunk of very
// short lines is parsed in several batches, so the records held at any time
// are bounded whatever the lines look like.
const maxBatch = 8192

// chunk is a block of whole lines (or, when final, whole lines and an
// unterminated last line) and the records parsed from it.
type chunk struct {
	data      []byte
	parsed    int  // bytes of data parsed into records so far
	final     bool // data may end with an unterminated line
	oversized bool // a single line longer than the chunk was skipped; data holds its start
	truncated bool // ... and the stream ended inside it
	recs      []record
	scratch   []byte
	shapes    shapeCache // task-end layouts, learnt by the goroutine parsing the chunk
	done      chan struct{}
}

func newChunk(size int) *chunk {
	return &chunk{
		data:    make([]byte, 0, size),
		recs:    make([]record, 0, min(maxBatch, size/128+1)),
		done:    make(chan struct{}, 1),
		scratch: make([]byte, 0, 256),
	}
}

// chunker cuts a stream into chunks at line ends with bounded memory: a chunk
// grows only to hold one long line, up to the line limit.
type chunker struct {
	r        io.Reader
	opts     Options
	carry    []byte
	eof      bool
	err      error // a read error other than EOF; the stream ends there
	bytes    int64
	anyBytes bool
}

// next fills c with the next chunk; false when the stream is exhausted.
func (ch *chunker) next(c *chunk) bool {
	c.data = append(c.data[:0], ch.carry...)
	ch.carry = ch.carry[:0]
	c.final, c.oversized, c.truncated, c.parsed = false, false, false, 0
	if cap(c.data) > ch.opts.ChunkBytes && len(c.data) < ch.opts.ChunkBytes {
		// Give back a buffer that grew for a long line.
		c.data = append(make([]byte, 0, ch.opts.ChunkBytes), c.data...)
	}
	for {
		if !ch.eof && len(c.data) < cap(c.data) {
			n, err := io.ReadAtLeast(ch.r, c.data[len(c.data):cap(c.data)], 1)
			if n > 0 {
				ch.anyBytes = true
			}
			ch.bytes += int64(n)
			c.data = c.data[:len(c.data)+n]
			if err != nil {
				ch.eof = true
				if !errors.Is(err, io.EOF) {
					ch.err = err
				}
			}
			if len(c.data) < cap(c.data) && !ch.eof {
				continue
			}
		}
		if ch.eof {
			c.final = true
			return len(c.data) > 0
		}
		// The buffer is full.
		if last := bytes.LastIndexByte(c.data, '\n'); last >= 0 {
			ch.carry = append(ch.carry, c.data[last+1:]...)
			c.data = c.data[:last+1]
			return true
		}
		// A line longer than a chunk: keep it whole only if its event is one
		// whose fields are read; any other (a huge SQL plan, say) is counted
		// from its start and skipped without being held.
		if needsFields(c.data) && cap(c.data) < ch.opts.MaxLineBytes {
			grown := make([]byte, len(c.data), min(2*cap(c.data), ch.opts.MaxLineBytes))
			copy(grown, c.data)
			c.data = grown
			continue
		}
		ch.skipLine(c)
		return true
	}
}

// skipLine drops the rest of an over-long line, keeping only its first bytes
// (enough to tell its event type) in c.
func (ch *chunker) skipLine(c *chunk) {
	c.oversized = true
	c.data = c.data[:min(len(c.data), 4096)]
	var buf [64 << 10]byte
	for {
		n, err := ch.r.Read(buf[:])
		ch.bytes += int64(n)
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			ch.carry = append(ch.carry, buf[i+1:n]...)
			return
		}
		if err != nil {
			// The stream ends inside the line: it is an unfinished last line.
			ch.eof = true
			c.truncated = true
			if !errors.Is(err, io.EOF) {
				ch.err = err
			}
			return
		}
	}
}

// parse turns the next batch of the chunk's lines into records: up to
// maxBatch of them, from where the previous batch stopped.
func (c *chunk) parse() {
	c.recs = c.recs[:0]
	if c.oversized {
		rec := record{kind: kindOversized}
		if c.truncated {
			rec.kind = kindTruncated
		} else if name, ok := leadingEventName(c.data); ok && !needsFields(c.data) {
			rec.kind = classify(name)
			if rec.kind == kindUnknown {
				rec.strings().name = string(name)
			}
		}
		c.recs = append(c.recs, rec)
		c.parsed = len(c.data)
		return
	}
	data := c.data[c.parsed:]
	for len(data) > 0 && len(c.recs) < maxBatch {
		nl := bytes.IndexByte(data, '\n')
		var line []byte
		last := nl < 0
		if last {
			line, data = data, nil
		} else {
			line, data = data[:nl], data[nl+1:]
		}
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if ws(line, 0) == len(line) {
			continue
		}
		c.recs = append(c.recs, record{})
		rec := &c.recs[len(c.recs)-1]
		if last && c.final && !complete(line) {
			rec.kind = kindTruncated
			continue
		}
		parseLineWith(line, rec, c.scratch, &c.shapes)
	}
	c.parsed = len(c.data) - len(data)
}

// more reports whether lines of the chunk are still to be parsed.
func (c *chunk) more() bool { return c.parsed < len(c.data) }

// complete reports whether line holds a whole JSON object, brackets balanced.
func complete(line []byte) bool {
	i := ws(line, 0)
	if i >= len(line) || line[i] != '{' {
		return false
	}
	end := skipContainer(line, i)
	return end > 0 && ws(line, end) == len(line)
}

// consume reads a stream to its end and applies every line to a.
func (a *analysis) consume(r io.Reader, opts Options) (anyBytes bool, err error) {
	opts = opts.withDefaults()
	ch := &chunker{r: r, opts: opts}
	if opts.Workers <= 1 {
		c := newChunk(opts.ChunkBytes)
		for ch.next(c) {
			for c.more() {
				c.parse()
				a.applyChunk(c)
			}
		}
	} else {
		a.consumeParallel(ch, opts.Workers)
	}
	a.report.Parse.Bytes += ch.bytes
	return ch.anyBytes, ch.err
}

func (a *analysis) applyChunk(c *chunk) {
	for i := range c.recs {
		a.report.Parse.Lines++
		a.apply(&c.recs[i])
	}
}

// consumeParallel parses chunks on several goroutines and applies them in
// order on this one. At most 2×workers+1 chunks exist at once, each with at
// most maxBatch records, so memory stays flat whatever the log's size. All goroutines end before it returns.
func (a *analysis) consumeParallel(ch *chunker, workers int) {
	n := 2*workers + 1
	free := make(chan *chunk, n)
	for range n {
		free <- newChunk(ch.opts.ChunkBytes)
	}
	work := make(chan *chunk, n)
	ordered := make(chan *chunk, n)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				c.parse()
				c.done <- struct{}{}
			}
		}()
	}
	go func() {
		defer close(ordered)
		defer close(work)
		for {
			c := <-free
			if !ch.next(c) {
				return
			}
			work <- c
			ordered <- c
		}
	}()
	for c := range ordered {
		<-c.done
		a.applyChunk(c)
		for c.more() {
			// More lines than one batch: the rest is parsed here, in order.
			c.parse()
			a.applyChunk(c)
		}
		free <- c
	}
	wg.Wait()
}

// leadingEventName reads the event name where Spark writes it, at the start of
// the line, from a line's first bytes.
func leadingEventName(prefix []byte) ([]byte, bool) {
	if !bytes.HasPrefix(prefix, eventNamePrefix) {
		return nil, false
	}
	rest := prefix[len(eventNamePrefix):]
	end := bytes.IndexByte(rest, '"')
	if end <= 0 || bytes.IndexByte(rest[:end], '\\') >= 0 {
		return nil, false
	}
	return rest[:end], true
}

// needsFields reports whether the line starting with prefix may be an event
// whose fields the analysis reads (true when its name cannot be told).
func needsFields(prefix []byte) bool {
	name, ok := leadingEventName(prefix)
	if !ok {
		return true
	}
	switch classify(name) {
	case kindIgnored, kindTaskStart, kindJobStart, kindSQLExecutionStart, kindUnknown:
		return false
	}
	return true
}
