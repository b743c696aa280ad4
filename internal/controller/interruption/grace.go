package interruption

import (
	"fmt"
	"time"
)

// Budget is the time a node's executors have between the interruption notice
// and the node's end, and how it is spent.
type Budget struct {
	// Total is the notice length: 120 s for an EC2 Spot interruption.
	Total time.Duration
	// Reserve is kept back from the grace period for the kubelet to see the
	// delete and stop the container before the node disappears.
	Reserve time.Duration
	// MinGrace is the shortest grace period worth asking for; when less than
	// this is left the deadline is missed and MinGrace is used anyway, so the
	// executor still gets SIGTERM and a chance to report its state.
	MinGrace time.Duration
}

// DefaultBudget is the Spot notice: 120 s, 5 s of it kept in reserve, at least
// one second of grace.
var DefaultBudget = Budget{Total: 120 * time.Second, Reserve: 5 * time.Second, MinGrace: time.Second}

// Validate reports a budget that cannot work, naming the field.
func (b Budget) Validate() error {
	switch {
	case b.Total <= 0:
		return fmt.Errorf("interruption budget total %s must be positive (the Spot notice is 120s)", b.Total)
	case b.Reserve < 0:
		return fmt.Errorf("interruption budget reserve %s must not be negative", b.Reserve)
	case b.MinGrace < time.Second:
		return fmt.Errorf("interruption budget minimum grace %s must be at least 1s (the API's smallest graceful delete)", b.MinGrace)
	case b.Reserve+b.MinGrace > b.Total:
		return fmt.Errorf("interruption budget reserve %s plus minimum grace %s exceed the total %s: lower the reserve", b.Reserve, b.MinGrace, b.Total)
	}
	return nil
}

// Deadline is the last moment a decommission can be issued and still get
// MinGrace before the reserve.
func (b Budget) Deadline(notice time.Time) time.Time {
	return notice.Add(b.Total - b.Reserve - b.MinGrace)
}

// GracePeriod is the graceful-delete period, in whole seconds, for an executor
// decommissioned at now on a node whose notice appeared at notice: what is
// left of the budget minus the reserve, rounded down. missed reports that
// less than MinGrace was left; the grace period is then MinGrace. Pure: the
// caller supplies now from its (injected) clock.
func (b Budget) GracePeriod(notice, now time.Time) (seconds int64, missed bool) {
	left := notice.Add(b.Total - b.Reserve).Sub(now)
	// A notice stamped later than now (clock skew between writers) still
	// grants no more than the whole budget.
	left = min(left, b.Total-b.Reserve)
	if left < b.MinGrace {
		return int64(b.MinGrace / time.Second), true
	}
	return int64(left / time.Second), false
}
