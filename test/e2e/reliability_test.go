//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// Helpers shared by the reliability scenarios (issue 18, TestReliability*).

// reliabilityScale multiplies the scenarios' application counts:
// SPARKPLANE_RELIABILITY_SCALE=0.1 runs a tenth (while developing on a
// shared machine); `make reliability` runs the counts (1).
func reliabilityScale(t testing.TB, n int) int {
	t.Helper()
	v := os.Getenv("SPARKPLANE_RELIABILITY_SCALE")
	if v == "" {
		return n
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 {
		t.Fatalf("SPARKPLANE_RELIABILITY_SCALE=%q: want a positive number", v)
	}
	return max(1, int(math.Round(float64(n)*f)))
}

// reliabilitySeed seeds the scenarios' random choices (kill points, fault
// mix): SPARKPLANE_RELIABILITY_SEED, 18 by default, so a run can be repeated.
func reliabilitySeed(t testing.TB) uint64 {
	t.Helper()
	v := os.Getenv("SPARKPLANE_RELIABILITY_SEED")
	if v == "" {
		return 18
	}
	seed, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		t.Fatalf("SPARKPLANE_RELIABILITY_SEED=%q: want a whole number", v)
	}
	return seed
}

// reliabilityApp is a SparkPi application whose driver the stand-in
// kubelet runs (framework.RunDrivers) and which is deleted ttl after it ends.
func reliabilityApp(namespace, name string, ttl time.Duration) *v1alpha1.SparkApplication {
	app := benchApplication(namespace, name, framework.StandInScheduler)
	app.Spec.Executor.Instances = ptr.To[int32](1)
	if ttl > 0 {
		app.Spec.TimeToLiveSeconds = ptr.To(int64(ttl / time.Second))
	}
	return app
}

// submitter creates applications from several clients, retrying each until
// the API server takes it (an outage or injected fault on the way is
// waited out; AlreadyExists means an earlier try got through).
type submitter struct {
	cl      client.Client
	created atomic.Int64
	wg      sync.WaitGroup
}

// submit creates n applications made by mk with workers clients, at most
// perSecond a second (0: as fast as they go), and returns at once; wait
// waits for them.
func (s *submitter) submit(ctx context.Context, t testing.TB, n, workers int, perSecond float64, mk func(i int) *v1alpha1.SparkApplication) {
	work := make(chan int)
	for w := 0; w < workers; w++ {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for i := range work {
				for {
					err := s.cl.Create(ctx, mk(i))
					if err == nil || apierrors.IsAlreadyExists(err) {
						s.created.Add(1)
						break
					}
					if ctx.Err() != nil {
						return
					}
					time.Sleep(200 * time.Millisecond)
				}
			}
		}()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(work)
		start := time.Now()
		for i := 0; i < n; i++ {
			if perSecond > 0 {
				if wait := time.Until(start.Add(time.Duration(float64(i) / perSecond * float64(time.Second)))); wait > 0 {
					time.Sleep(wait)
				}
			}
			select {
			case work <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
}

func (s *submitter) wait() { s.wg.Wait() }

// readyz reports whether the operator's /readyz answers 200 within 3 s
// (its API server check gives up after 2 s).
func (p *operatorProcess) readyz() bool {
	hc := http.Client{Timeout: 3 * time.Second}
	resp, err := hc.Get("http://" + p.probe + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// startOperatorWithMetrics starts the operator with its metrics endpoint on
// a free loopback port.
func startOperatorWithMetrics(t testing.TB, kubeconfig string, extraArgs ...string) *operatorProcess {
	t.Helper()
	addr := freeLoopbackAddress(t)
	p := startOperator(t, kubeconfig, append([]string{"--metrics-bind-address", addr}, extraArgs...)...)
	p.metricsAddr = addr
	return p
}

// metrics reads the operator's Prometheus metrics: each sample's value by
// its name and labels as written (`name` or `name{a="b"}`).
func (p *operatorProcess) metrics() (map[string]float64, error) {
	if p.metricsAddr == "" {
		return nil, fmt.Errorf("the operator was started without metrics")
	}
	hc := http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Get("http://" + p.metricsAddr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}

// runtimeSample is one reading of the operator's memory and goroutines.
type runtimeSample struct {
	at         time.Time
	rss, heap  float64 // bytes
	goroutines float64
}

func (p *operatorProcess) sample() (runtimeSample, error) {
	m, err := p.metrics()
	if err != nil {
		return runtimeSample{}, err
	}
	rss, _, err := p.memory()
	if err != nil {
		return runtimeSample{}, err
	}
	return runtimeSample{at: time.Now(), rss: float64(rss), heap: m["go_memstats_heap_alloc_bytes"], goroutines: m["go_goroutines"]}, nil
}

// slope is the least-squares slope of ys over xs.
func slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	if n < 2 {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
		sxx += xs[i] * xs[i]
		sxy += xs[i] * ys[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

// queueDepth is the sparkapplication controller's work queue depth.
func queueDepth(m map[string]float64) float64 {
	for k, v := range m {
		if strings.HasPrefix(k, "workqueue_depth{") && strings.Contains(k, `name="sparkapplication"`) {
			return v
		}
	}
	return -1
}
