package testenv

import (
	"fmt"
	"testing"
	"time"
)

// Timeout is how long integration tests wait for the controllers by default.
const Timeout = 20 * time.Second

// Condition is what Eventually polls:
//   - func() bool: true when the wait is over;
//   - func() string: "" when the wait is over, else what is seen now;
//   - func() (bool, string): true when over, else what is seen now;
//   - func() (bool, error): true when over; an error ends the wait and fails
//     the test at once.
type Condition interface {
	func() bool | func() string | func() (bool, string) | func() (bool, error)
}

// Eventually polls cond until it reports the wait over, failing the test
// after timeout with what and the last state cond reported. It is the one
// waiting helper of the project's tests (envtest and end to end). It polls
// every timeout/200, between 20 ms and 200 ms.
func Eventually[C Condition](t testing.TB, timeout time.Duration, what string, cond C) {
	t.Helper()
	poll := func() (done bool, seen string) {
		switch c := any(cond).(type) {
		case func() bool:
			return c(), ""
		case func() string:
			seen = c()
			return seen == "", seen
		case func() (bool, string):
			return c()
		case func() (bool, error):
			ok, err := c()
			if err != nil {
				t.Fatalf("waiting for %s: %v", what, err)
			}
			return ok, ""
		}
		panic(fmt.Sprintf("testenv.Eventually: condition of type %T", cond))
	}
	interval := min(max(timeout/200, 20*time.Millisecond), 200*time.Millisecond)
	deadline := time.Now().Add(timeout)
	for {
		done, seen := poll()
		if done {
			return
		}
		if time.Now().After(deadline) {
			if seen != "" {
				t.Fatalf("%s: not after %s; last seen: %s", what, timeout, seen)
			}
			t.Fatalf("%s: not after %s", what, timeout)
		}
		time.Sleep(interval)
	}
}
