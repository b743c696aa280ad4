package advisor

import (
	"io"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

// peakHeap runs fn while sampling the live heap (collecting garbage before
// each sample, so only what is reachable counts) and returns the largest
// sample.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var peak uint64
	var mu sync.Mutex
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		for {
			runtime.GC()
			metrics.Read(sample)
			mu.Lock()
			peak = max(peak, sample[0].Value.Uint64())
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	fn()
	close(stop)
	<-done
	return peak
}

// TestMemoryIsFlat streams a 10 MB and a 100 MB log (generated on the fly,
// never held whole) and checks the analysis needs no more heap for the larger.
var sizeSmall, sizeLarge int64 = 10 << 20, 100 << 20

func TestMemoryIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 110 MB")
	}
	g := newBigLog(t)
	analyze := func(size int64) (uint64, *Report) {
		var rep *Report
		peak := peakHeap(func() {
			pr, pw := io.Pipe()
			go func() {
				g.rep = 0
				g.write(t, pw, size)
				pw.Close()
			}()
			var err error
			if rep, err = AnalyzeReader(pr, Options{Workers: 2}); err != nil {
				t.Error(err)
			}
		})
		return peak, rep
	}
	small, smallRep := analyze(sizeSmall)
	large, largeRep := analyze(sizeLarge)
	t.Logf("peak heap: %d MiB for %d MB, %d MiB for %d MB",
		small>>20, smallRep.Parse.Bytes/1e6, large>>20, largeRep.Parse.Bytes/1e6)
	if largeRep.Parse.Bytes < 9*smallRep.Parse.Bytes {
		t.Fatalf("the large log (%d bytes) is not ten times the small one (%d)", largeRep.Parse.Bytes, smallRep.Parse.Bytes)
	}
	if largeRep.Totals.Tasks < 9*smallRep.Totals.Tasks || largeRep.Parse.CorruptLines != 0 {
		t.Fatalf("the generated logs were not read: %+v", largeRep.Parse)
	}
	// Chunk buffers (2×workers+1 of 4 MiB), the generator's buffer and GC
	// slack bound both. The short run may end before its every buffer is in
	// use when a sample is taken, so the margin is four chunks: a heap
	// growing with the log (90 MB more of it) would still blow it.
	if large > small+16<<20 || large > 48<<20 {
		t.Errorf("peak heap grew with the log: %d MiB for 10 MB, %d MiB for 100 MB", small>>20, large>>20)
	}
}
