package interruption

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestAfterBurst(t *testing.T) {
	const quiet = 30 * time.Millisecond
	t.Run("waits for the deletes in flight, then the quiet period", func(t *testing.T) {
		a := newAfterBurst(quiet)
		var ran atomic.Int32
		a.begin()
		a.later(func() { ran.Add(1) })
		time.Sleep(3 * quiet)
		if ran.Load() != 0 {
			t.Fatal("deferred work ran while a delete was in flight")
		}
		a.end()
		time.Sleep(quiet / 3)
		if ran.Load() != 0 {
			t.Fatal("deferred work ran before the quiet period")
		}
		waitUntil(t, func() bool { return ran.Load() == 1 })
	})
	t.Run("runs at the latest maxWait after the first deferral", func(t *testing.T) {
		a := newAfterBurst(quiet)
		var ran atomic.Int32
		a.begin() // never ends: a cluster that is always busy
		start := time.Now()
		a.later(func() { ran.Add(1) })
		a.later(func() { ran.Add(1) })
		waitUntil(t, func() bool { return ran.Load() == 2 })
		if waited := time.Since(start); waited < a.maxWait {
			t.Errorf("ran after %v, before maxWait %v", waited, a.maxWait)
		}
	})
	t.Run("nothing in flight: runs after the quiet period", func(t *testing.T) {
		a := newAfterBurst(quiet)
		var ran atomic.Int32
		a.later(func() { ran.Add(1) })
		waitUntil(t, func() bool { return ran.Load() == 1 })
	})
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
