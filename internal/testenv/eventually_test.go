package testenv

import (
	"strings"
	"testing"
	"time"
)

// recorder is a testing.TB that records a failure instead of ending the test.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = format
	panic(r)
}

func run(f func(t testing.TB)) (failure string) {
	r := &recorder{}
	defer func() {
		if p := recover(); p != nil && p != r {
			panic(p)
		}
		failure = r.failed
	}()
	f(r)
	return ""
}

func TestEventually(t *testing.T) {
	n := 0
	if f := run(func(tb testing.TB) {
		Eventually(tb, time.Second, "third poll", func() bool { n++; return n == 3 })
	}); f != "" || n != 3 {
		t.Errorf("bool condition: failure %q after %d polls", f, n)
	}
	if f := run(func(tb testing.TB) {
		Eventually(tb, 50*time.Millisecond, "never", func() string { return "phase Pending" })
	}); !strings.Contains(f, "last seen") {
		t.Errorf("string condition: failure %q does not report what was seen", f)
	}
	if f := run(func(tb testing.TB) {
		Eventually(tb, time.Minute, "an error", func() (bool, error) { return false, errBoom })
	}); f == "" {
		t.Error("an error did not fail the wait at once")
	}
	start := time.Now()
	if f := run(func(tb testing.TB) {
		Eventually(tb, 100*time.Millisecond, "timeout", func() (bool, string) { return false, "" })
	}); f == "" || time.Since(start) > 2*time.Second {
		t.Errorf("timeout: failure %q after %v", f, time.Since(start))
	}
}

type boom struct{}

func (boom) Error() string { return "boom" }

var errBoom = boom{}
