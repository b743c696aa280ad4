package advisor

import "math/bits"

// histBuckets is the number of buckets of a log-scale histogram: values 0–7
// exactly, then 8 buckets per power of two, so a bucket is at most 12.5% wide.
// The histogram's size is fixed, so memory does not grow with the log.
const histBuckets = 8 + 61*8

func bucketOf(v int64) int {
	if v < 8 {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	n := bits.Len64(uint64(v)) // 4..63
	return (n-3)*8 + int((uint64(v)>>(n-4))&7)
}

// bucketValue is the middle of bucket k.
func bucketValue(k int) int64 {
	if k < 8 {
		return int64(k)
	}
	n := k/8 + 3
	m := k % 8
	lower := int64(8+m) << (n - 4)
	width := int64(1) << (n - 4)
	return lower + (width-1)/2
}

// histogram counts values in log-scale buckets.
type histogram struct {
	counts [histBuckets]uint64
	n      int64
	sum    float64
	max    int64
	min    int64
}

func (h *histogram) add(v int64) {
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// quantile returns the value at rank q (0..1), clamped to the exact min and max.
func (h *histogram) quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n-1)) + 1
	var seen uint64
	for k, c := range h.counts {
		seen += c
		if seen >= rank {
			v := bucketValue(k)
			if v > h.max {
				v = h.max
			}
			if v < h.min {
				v = h.min
			}
			return v
		}
	}
	return h.max
}

func (h *histogram) distribution() Distribution {
	d := Distribution{Count: h.n, Max: h.max}
	if h.n == 0 {
		return d
	}
	d.Mean = round3(h.sum / float64(h.n))
	d.P50 = h.quantile(0.5)
	d.P90 = h.quantile(0.9)
	d.P99 = h.quantile(0.99)
	return d
}

// timeline spreads task time over up to timelineBuckets equal intervals from
// an origin, doubling the interval width (and merging pairs) whenever a task
// ends past the last one. Its size is fixed whatever the run's length.
const timelineBuckets = 48

type timeline struct {
	origin  int64
	width   int64 // ms; 0 until the first task
	taskMs  [timelineBuckets]float64
	lastEnd int64
}

func (t *timeline) add(start, end int64) {
	if end <= start {
		return
	}
	start -= t.origin
	end -= t.origin
	if start < 0 {
		start = 0
	}
	if end <= start {
		return
	}
	if t.width == 0 {
		t.width = 1000
	}
	for end > t.width*timelineBuckets {
		t.grow()
	}
	if end > t.lastEnd {
		t.lastEnd = end
	}
	for k := start / t.width; k < timelineBuckets && k*t.width < end; k++ {
		lo, hi := k*t.width, (k+1)*t.width
		if lo < start {
			lo = start
		}
		if hi > end {
			hi = end
		}
		t.taskMs[k] += float64(hi - lo)
	}
}

func (t *timeline) grow() {
	for k := 0; k < timelineBuckets/2; k++ {
		t.taskMs[k] = t.taskMs[2*k] + t.taskMs[2*k+1]
	}
	for k := timelineBuckets / 2; k < timelineBuckets; k++ {
		t.taskMs[k] = 0
	}
	t.width *= 2
}

// points returns the average running tasks per interval up to span ms.
func (t *timeline) points(span int64) []ConcurrencyPoint {
	if t.width == 0 {
		return []ConcurrencyPoint{}
	}
	if span < t.lastEnd {
		span = t.lastEnd
	}
	var out []ConcurrencyPoint
	for k := int64(0); k < timelineBuckets && k*t.width < span; k++ {
		// The last interval ends with the run.
		width := min(t.width, span-k*t.width)
		out = append(out, ConcurrencyPoint{
			OffsetMs:     k * t.width,
			WidthMs:      width,
			RunningTasks: round3(t.taskMs[k] / float64(width)),
		})
	}
	return out
}
