package emulator

import (
	"fmt"
	"testing"
	"time"
)

// fiveExecutorsAfterMapStage runs a 2-stage workload on executors 1..5 until
// the map stage is complete, and returns the engine and the map output each
// executor holds.
func fiveExecutorsAfterMapStage(t *testing.T, opts EngineOptions) (*Engine, map[string]int64) {
	t.Helper()
	p := WorkloadParams{Seed: 3, Jobs: 1, StagesPerJob: 2, TasksPerStage: 20, TaskDuration: time.Second, ShuffleBytesPerTask: 64 << 20}
	w := NewWorkload(p)
	e := NewEngine(w, 0, opts)
	for i := 1; i <= 5; i++ {
		e.AddExecutor(fmt.Sprint(i), fmt.Sprintf("h%d", i), 2)
	}
	for !e.stages[0].complete {
		next, ok := e.NextCompletion()
		if !ok {
			t.Fatal("engine stuck before the map stage completed")
		}
		e.Advance(next)
	}
	held := map[string]int64{}
	for part, holder := range e.stages[0].outputs {
		held[holder] += w.Jobs[0].Stages[0].Tasks[part].ShuffleWriteBytes
	}
	return e, held
}

// The probe of issue 15: k of 5 executors share a node that goes away, and
// all are decommissioned at once (as sparkplane does for a noticed node).
// Every byte they held is counted once: migrated to one of the 5-k peers
// that stay, or recomputed when no peer is left.
func TestDecommissionOfExecutorsSharingANodeCountsEachBlockOnce(t *testing.T) {
	for _, k := range []int{2, 3, 4, 5} {
		t.Run(fmt.Sprintf("%d of 5 on the node", k), func(t *testing.T) {
			e, heldBy := fiveExecutorsAfterMapStage(t, EngineOptions{MigrationBytesPerSecond: 256 << 20})
			var held int64
			leaving := map[string]bool{}
			for i := 1; i <= k; i++ {
				id := fmt.Sprint(i)
				held += heldBy[id]
				leaving[id] = true
			}
			if held == 0 {
				t.Fatal("the executors on the node hold no map output")
			}
			for id := range leaving {
				e.DecommissionExecutor(id, 10*time.Minute, "node going away")
			}
			if k == 5 {
				// A replacement registers once the node's executors are gone.
				e.Advance(e.Now() + time.Second)
				e.AddExecutor("6", "h6", 2)
			}
			runToEnd(t, e)
			st := e.Stats()
			if got := st.MigratedBytes + st.RecomputedBytes; got != held {
				t.Errorf("migrated %d + recomputed %d = %d bytes (%.2f×), want exactly the %d held", st.MigratedBytes, st.RecomputedBytes, got, float64(got)/float64(held), held)
			}
			if k == 5 && st.MigratedBytes != 0 {
				t.Errorf("with no peer left, %d bytes were counted migrated", st.MigratedBytes)
			}
			if k < 5 && (st.MigratedBytes != held || st.RecomputedBytes != 0) {
				t.Errorf("with %d peers staying and a long grace: migrated %d, recomputed %d; want all %d migrated", 5-k, st.MigratedBytes, st.RecomputedBytes, held)
			}
			var sum Removal
			for _, r := range st.Removals {
				if !leaving[r.Executor] {
					t.Errorf("executor %s, which stayed, has a removal %+v", r.Executor, r)
				}
				if r.HeldBytes != r.MigratedBytes+r.FallbackBytes+r.RecomputedBytes+r.UnreadBytes {
					t.Errorf("removal of %s does not add up: %+v", r.Executor, r)
				}
				sum.HeldBytes += r.HeldBytes
				sum.MigratedBytes += r.MigratedBytes
				sum.RecomputedBytes += r.RecomputedBytes
			}
			if sum.HeldBytes != held || sum.MigratedBytes != st.MigratedBytes || sum.RecomputedBytes != st.RecomputedBytes {
				t.Errorf("removals sum to %+v, want held %d and the totals %d/%d", sum, held, st.MigratedBytes, st.RecomputedBytes)
			}
			if e.Failed() {
				t.Error("the application failed")
			}
		})
	}
}

func TestDecommissionWithFallbackStorageKeepsBlocksWithNoPeer(t *testing.T) {
	e, heldBy := fiveExecutorsAfterMapStage(t, EngineOptions{MigrationBytesPerSecond: 256 << 20, FallbackStorage: true})
	var held int64
	for i := 1; i <= 5; i++ {
		held += heldBy[fmt.Sprint(i)]
		e.DecommissionExecutor(fmt.Sprint(i), 10*time.Minute, "node going away")
	}
	e.Advance(e.Now() + time.Minute)
	e.AddExecutor("6", "h6", 2)
	runToEnd(t, e)
	st := e.Stats()
	if st.FallbackBytes != held || st.MigratedBytes != 0 || st.RecomputedBytes != 0 {
		t.Errorf("fallback %d, migrated %d, recomputed %d; want all %d to fallback storage", st.FallbackBytes, st.MigratedBytes, st.RecomputedBytes, held)
	}
}

// Migration takes bytes / rate per block, one block at a time; an executor
// whose grace period ends first loses the rest, which is recomputed.
func TestMigrationTakesTimeAndAKillLosesTheRemainder(t *testing.T) {
	const rate = 64 << 20 // bytes per model second
	e, heldBy := fiveExecutorsAfterMapStage(t, EngineOptions{MigrationBytesPerSecond: rate})
	held := heldBy["1"]
	start := e.Now()
	wholeMigration := time.Duration(float64(held) / rate * float64(time.Second))
	grace := wholeMigration / 2
	e.DecommissionExecutor("1", grace, "short notice")
	if st := e.Stats(); st.MigratedBytes != 0 {
		t.Fatalf("%d bytes migrated the moment the decommission began", st.MigratedBytes)
	}
	if e.HasExecutor("1") == false {
		t.Fatal("a decommissioning executor was unregistered before its migration ended")
	}
	for _, id := range e.Executors() {
		if id == "1" {
			t.Fatal("a decommissioning executor is still offered as a peer and task slot")
		}
	}
	runToEnd(t, e)
	st := e.Stats()
	r := st.Removals[0]
	if !r.Killed || r.Ended != start+grace {
		t.Errorf("removal %+v: want killed at the end of the grace period %v", r, start+grace)
	}
	if r.MigratedBytes == 0 || r.RecomputedBytes == 0 || r.MigratedBytes+r.RecomputedBytes != held {
		t.Errorf("migrated %d + recomputed %d, want both and a sum of %d", r.MigratedBytes, r.RecomputedBytes, held)
	}
	if max := int64(grace.Seconds() * rate); r.MigratedBytes > max {
		t.Errorf("migrated %d bytes in %v, more than the rate allows (%d)", r.MigratedBytes, grace, max)
	}

	// With grace to spare, the executor leaves when its last block is handed
	// on, after exactly the transfer time (fast enough to end before the
	// reading stage is done with the blocks).
	const fast = 4 * rate
	e, heldBy = fiveExecutorsAfterMapStage(t, EngineOptions{MigrationBytesPerSecond: fast})
	start = e.Now()
	e.DecommissionExecutor("2", time.Hour, "long notice")
	runToEnd(t, e)
	r = e.Stats().Removals[0]
	want := start + time.Duration(float64(heldBy["2"])/fast*float64(time.Second))
	if r.Killed || r.MigratedBytes != heldBy["2"] || r.Ended < want-time.Millisecond || r.Ended > want+time.Millisecond {
		t.Errorf("removal %+v: want all %d bytes migrated, ending at %v", r, heldBy["2"], want)
	}
}
