//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// stallProbe watches, while a latency phase runs, the three things that can
// hold every application up at one moment, so a phase's slowest 1% can be
// told apart:
//   - the API server and etcd: a GET of the phase's namespace (a quorum read,
//     through the API server's handler chain to etcd) every 50 ms, on a client
//     of its own with no rate limit, timed;
//   - the machine: how late the probe's own 100 ms sleep wakes up (a core
//     held by something else, the hypervisor);
//   - who used the CPU: each process's CPU time and run-queue wait in every
//     100 ms tick.
type stallProbe struct {
	cancel context.CancelFunc
	done   sync.WaitGroup

	// getErr is why there is no GET probe (no client could be made).
	getErr error

	mu    sync.Mutex
	gets  []probeSample // GET latencies, by start time
	late  []probeSample // oversleeps, by wake time
	ticks []cpuTick
}

type probeSample struct {
	at time.Time
	d  time.Duration
}

// cpuTick is what each process used from the previous tick to at.
type cpuTick struct {
	at   time.Time
	used cpuSample
}

func startStallProbe(c *framework.Cluster, cpu *cpuMeter, namespace string) *stallProbe {
	ctx, cancel := context.WithCancel(context.Background())
	p := &stallProbe{cancel: cancel}
	cfg := rest.CopyConfig(c.Config)
	cfg.QPS, cfg.Burst, cfg.RateLimiter = -1, 0, nil
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		p.getErr = err
	} else {
		p.done.Go(func() {
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				start := time.Now()
				_, _ = cs.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
				if ctx.Err() != nil {
					return
				}
				p.mu.Lock()
				p.gets = append(p.gets, probeSample{start, time.Since(start)})
				p.mu.Unlock()
			}
		})
	}
	p.done.Go(func() {
		prev := cpu.read()
		for ctx.Err() == nil {
			const interval = 100 * time.Millisecond
			before := time.Now()
			time.Sleep(interval)
			now := time.Now()
			cur := cpu.read()
			p.mu.Lock()
			p.late = append(p.late, probeSample{now, now.Sub(before) - interval})
			p.ticks = append(p.ticks, cpuTick{now, cpuSample{}.add(prev, cur)})
			p.mu.Unlock()
			prev = cur
		}
	})
	return p
}

func (p *stallProbe) stop() {
	p.cancel()
	p.done.Wait()
}

// report says what the probes saw from from to to (a phase's slowest 1%
// window) beside the whole phase: the slowest GET and when it started, the
// latest wake-up, and the processes that used most CPU, and waited longest
// for one, in the window's ticks.
func (p *stallProbe) report(start, from, to time.Time) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	maxOf := func(samples []probeSample, from, to time.Time) (probeSample, int) {
		var worst probeSample
		n := 0
		for _, s := range samples {
			if s.at.Before(from) || s.at.After(to) {
				continue
			}
			n++
			if s.d > worst.d {
				worst = s
			}
		}
		return worst, n
	}
	// The probe has stopped: every sample is before now.
	now := time.Now()
	wGet, nGet := maxOf(p.gets, from, to)
	allGet, _ := maxOf(p.gets, time.Time{}, now)
	wLate, _ := maxOf(p.late, from, to)
	allLate, _ := maxOf(p.late, time.Time{}, now)
	var b strings.Builder
	at := func(t time.Time) string { return t.Sub(start).Round(100 * time.Millisecond).String() }
	if p.getErr != nil {
		fmt.Fprintf(&b, "(no GET probe: %v) ", p.getErr)
	}
	fmt.Fprintf(&b, "probes in the slowest 1%%'s window (%s-%s, from %s UTC): slowest GET of the namespace %s (at %s, %d GETs), the probe woke up to %s late",
		at(from), at(to), from.UTC().Format("15:04:05.0"), wGet.d.Round(time.Millisecond), at(wGet.at), nGet, wLate.d.Round(time.Millisecond))
	fmt.Fprintf(&b, "; over the whole phase: slowest GET %s (at %s), up to %s late", allGet.d.Round(time.Millisecond), at(allGet.at), allLate.d.Round(time.Millisecond))
	// CPU in the window against the phase's mean, per process.
	window, whole := cpuSample{}, cpuSample{}
	var windowTime, wholeTime time.Duration
	for i, t := range p.ticks {
		span := 100 * time.Millisecond
		if i > 0 {
			span = t.at.Sub(p.ticks[i-1].at)
		}
		whole = whole.add(cpuSample{}, t.used)
		wholeTime += span
		if !t.at.Before(from) && !t.at.After(to.Add(100*time.Millisecond)) {
			window = window.add(cpuSample{}, t.used)
			windowTime += span
		}
	}
	if windowTime > 0 {
		names := make([]string, 0, len(window))
		for name := range window {
			names = append(names, name)
		}
		sort.Slice(names, func(i, j int) bool { return window[names[i]].cpu > window[names[j]].cpu })
		var parts []string
		for _, name := range names[:min(4, len(names))] {
			parts = append(parts, fmt.Sprintf("%s %.2f (phase %.2f; run-queue wait %.2f)", name,
				window[name].cpu.Seconds()/windowTime.Seconds(), whole[name].cpu.Seconds()/wholeTime.Seconds(),
				window[name].wait.Seconds()/windowTime.Seconds()))
		}
		fmt.Fprintf(&b, "; cores used in the window: %s", strings.Join(parts, ", "))
	}
	return b.String()
}
