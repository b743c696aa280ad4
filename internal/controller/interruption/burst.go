package interruption

import (
	"sync"
	"time"
)

// afterBurst holds writes that can wait (events, application status) until a
// burst of executor deletes is over: it runs them once no delete has been in
// flight for quiet, or at the latest maxWait after the first was deferred,
// so that on a busy API server they do not slow the deletes down.
type afterBurst struct {
	quiet, maxWait time.Duration

	mu       sync.Mutex
	inflight int
	pending  []func()
	quietT   *time.Timer
	deadline *time.Timer
}

func newAfterBurst(quiet time.Duration) *afterBurst {
	return &afterBurst{quiet: quiet, maxWait: 10 * quiet}
}

// begin marks a delete in flight.
func (a *afterBurst) begin() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inflight++
	if a.quietT != nil {
		a.quietT.Stop()
	}
}

// end marks a delete done.
func (a *afterBurst) end() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inflight--
	if a.inflight == 0 && len(a.pending) > 0 {
		a.armLocked()
	}
}

// later defers f until the burst is over; each f runs in its own goroutine.
func (a *afterBurst) later(f func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pending = append(a.pending, f)
	if a.deadline == nil {
		a.deadline = time.AfterFunc(a.maxWait, func() { a.run(true) })
	}
	if a.inflight == 0 {
		a.armLocked()
	}
}

func (a *afterBurst) armLocked() {
	if a.quietT != nil {
		a.quietT.Stop()
	}
	a.quietT = time.AfterFunc(a.quiet, func() { a.run(false) })
}

func (a *afterBurst) run(force bool) {
	a.mu.Lock()
	if !force && a.inflight > 0 {
		a.mu.Unlock()
		return // end re-arms
	}
	work := a.pending
	a.pending = nil
	if a.deadline != nil {
		a.deadline.Stop()
		a.deadline = nil
	}
	a.mu.Unlock()
	for _, f := range work {
		go f()
	}
}
