package operator

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestRetryAfterGate: after a 429 with Retry-After: 1, no request of any
// client behind the gate reaches the server for a second; answers without
// the header pause nothing.
func TestRetryAfterGate(t *testing.T) {
	var calls atomic.Int32
	var lastAt atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lastAt.Store(time.Now().UnixNano())
		switch calls.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		case 2:
			w.WriteHeader(http.StatusInternalServerError) // no Retry-After: no pause
		default:
			w.WriteHeader(http.StatusOK)
		}
	}))
	defer srv.Close()
	gate := newRetryAfterGate()
	client := &http.Client{Transport: gate.wrap(http.DefaultTransport)}
	get := func() time.Duration {
		start := time.Now()
		resp, err := client.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return time.Since(start)
	}
	get()
	first := time.Unix(0, lastAt.Load())
	get()
	if waited := time.Unix(0, lastAt.Load()).Sub(first); waited < 900*time.Millisecond {
		t.Errorf("the request after a 429 with Retry-After: 1 reached the server %s later, want at least 1s", waited)
	}
	if took := get(); took > 500*time.Millisecond {
		t.Errorf("a 500 without Retry-After paused the next request for %s", took)
	}
}
