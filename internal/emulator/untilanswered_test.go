package emulator

import (
	"context"
	"errors"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestUntilAnsweredOutlastsAnOutage(t *testing.T) {
	// An API server down for about a second: the call keeps failing, then
	// is answered. The retries of before gave up after four tries in 1.5 s.
	refused := errors.New("dial tcp 127.0.0.1:6443: connect: connection refused")
	start := time.Now()
	calls := 0
	err := untilAnswered(context.Background(), func() error {
		calls++
		if time.Since(start) < 1200*time.Millisecond {
			return refused
		}
		return nil
	})
	if err != nil {
		t.Fatalf("untilAnswered = %v after %d calls, want nil once the API server answers", err, calls)
	}
	if calls < 3 {
		t.Errorf("%d calls, want the call retried through the outage", calls)
	}
}

func TestUntilAnsweredStopsOnNotFound(t *testing.T) {
	gone := apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "app-1-driver")
	calls := 0
	err := untilAnswered(context.Background(), func() error { calls++; return gone })
	if !apierrors.IsNotFound(err) || calls != 1 {
		t.Errorf("untilAnswered = %v after %d calls, want NotFound after one call (the pod is gone, nothing to report to)", err, calls)
	}
}

func TestUntilAnsweredEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	unavailable := apierrors.NewServiceUnavailable("etcd is down")
	start := time.Now()
	err := untilAnswered(ctx, func() error { return unavailable })
	if !apierrors.IsServiceUnavailable(err) {
		t.Errorf("untilAnswered = %v, want the call's last error", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("untilAnswered returned %s after its context ended (300ms)", took)
	}
}
