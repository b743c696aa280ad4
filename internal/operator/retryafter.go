package operator

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// retryAfterPausesTotal counts the API server's answers that carried
// Retry-After (429 Too Many Requests, or a 5xx), each of which paused every
// request of the operator.
var retryAfterPausesTotal = prometheus.NewCounter(prometheus.CounterOpts{
	Namespace: "sparkplane", Subsystem: "apiserver", Name: "retry_after_pauses_total",
	Help: "Answers of the API server with a Retry-After header (429, 5xx); each pauses all of the operator's requests for that long.",
})

func init() { metrics.Registry.MustRegister(retryAfterPausesTotal) }

// retryAfterGate makes the whole operator honour the API server's
// Retry-After. client-go waits Retry-After before retrying a GET it was
// refused, but it does not retry a write with a body, and a reconcile
// that fails on a 429 is requeued by the work queue within milliseconds,
// ignoring the header; new requests from the other workers keep coming too.
// The gate holds every request until the latest Retry-After has passed, so
// under throttling the operator's request rate falls to what it has in
// flight per Retry-After, and no request repeats sooner than the server
// asked.
type retryAfterGate struct {
	mu    sync.Mutex
	until time.Time
	now   func() time.Time
}

func newRetryAfterGate() *retryAfterGate { return &retryAfterGate{now: time.Now} }

// wrap returns rt behind the gate.
func (g *retryAfterGate) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		if err := g.wait(req.Context()); err != nil {
			return nil, err
		}
		resp, err := rt.RoundTrip(req)
		if err == nil {
			g.observe(resp)
		}
		return resp, err
	})
}

func (g *retryAfterGate) wait(ctx context.Context) error {
	for {
		g.mu.Lock()
		d := g.until.Sub(g.now())
		g.mu.Unlock()
		if d <= 0 {
			return nil
		}
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	}
}

// observe pauses the gate for the Retry-After of a 429 or 5xx answer.
func (g *retryAfterGate) observe(resp *http.Response) {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500 {
		return
	}
	secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || secs <= 0 {
		return
	}
	// The API server asks for at most a few seconds; a bad header must not
	// stop the operator for long.
	pause := time.Duration(min(secs, 60)) * time.Second
	g.mu.Lock()
	defer g.mu.Unlock()
	if until := g.now().Add(pause); until.After(g.until) {
		g.until = until
	}
	retryAfterPausesTotal.Inc()
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
