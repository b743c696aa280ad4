//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/testenv"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// faultyMix is scenario 3's seeded mix of API faults.
func faultyMix(seed uint64) framework.FaultMix {
	return framework.FaultMix{
		Seed:            seed,
		TooManyRequests: 0.05, RetryAfter: time.Second,
		ServerError: 0.03,
		Reset:       0.02,
		Latency:     0.10, Delay: 2 * time.Second,
		CutWatchesAfter: 20 * time.Second,
	}
}

// fleetThroughProxy submits apps applications to a new namespace and
// returns how long they took from the first create to the last final
// state, with the namespace's tracker.
func fleetThroughProxy(t *testing.T, c *framework.Cluster, prefix string, apps int, ttl time.Duration) (time.Duration, *framework.Tracker) {
	ns := c.Namespace(t)
	tracker := framework.Track(t, c.Config, ns)
	framework.RunDrivers(t, c.Config, ns, 3*time.Second)
	sub := &submitter{cl: sparkplaneClient(t, c)}
	start := time.Now()
	sub.submit(context.Background(), t, apps, 8, 0, func(i int) *v1alpha1.SparkApplication {
		return reliabilityApp(ns, fmt.Sprintf("%s-%04d", prefix, i), ttl)
	})
	sub.wait()
	tracker.WaitFinal(t, apps, 10*time.Minute)
	return time.Since(start), tracker
}

// perSecond counts requests per whole second over [from, to).
func perSecond(reqs []framework.ProxiedRequest, from, to time.Time) float64 {
	secs := to.Sub(from).Seconds()
	if secs <= 0 {
		return 0
	}
	return float64(len(reqs)) / secs
}

// earlyRetries counts requests repeated sooner than the Retry-After the
// proxy answered the previous one with (10% tolerance for timer jitter). A
// repeat within 100 ms was already on its way when the 429 was answered
// (another worker's identical GET) and is not counted as early.
func earlyRetries(reqs []framework.ProxiedRequest) (retried, early int) {
	sort.Slice(reqs, func(i, j int) bool { return reqs[i].At.Before(reqs[j].At) })
	throttled := map[string]framework.ProxiedRequest{}
	for _, r := range reqs {
		if prev, ok := throttled[r.Key]; ok {
			retried++
			if gap := r.At.Sub(prev.At); gap > 100*time.Millisecond && gap < prev.RetryAfter*9/10 {
				early++
			}
			delete(throttled, r.Key)
		}
		if r.Fault == "429" {
			throttled[r.Key] = r
		}
	}
	return retried, early
}

// TestReliabilityAPIFaults is issue 18's scenario 3: the operator talks to
// the API server through a fault-injecting proxy on loopback (429 with
// Retry-After, 500/503, connection resets, cut watch streams, 2 s latency
// on 10% of requests, in a seeded mix). A fleet submitted through it
// completes, none twice, and a Spot notice is still handled within its
// time; the slowdown against a clean run of the same size is reported.
// Under a storm of 429s the operator honours Retry-After (no retry sooner)
// and its request rate falls.
func TestReliabilityAPIFaults(t *testing.T) {
	framework.Reliability(t, "two fleets through a fault-injecting proxy and a 429 storm")
	s := framework.NewScenario(t, "3-api-faults",
		"a proxy between operator and API server: 5% 429 (Retry-After 1 s), 3% 500/503, 2% connection resets, 10% delayed 2 s, every watch cut within 20 s; then 15 s of 429 on every request")
	apps := reliabilityScale(t, 300)
	seed := reliabilitySeed(t)
	const ttl = 15 * time.Second
	s.SetScale("%d applications per fleet (seed %d)", apps, seed)
	c := framework.Up(t, devcluster.Options{Zones: 1, NodesPerTier: 1})
	installSparkplane(t, c)
	proxy := framework.StartFaultProxy(t, c.Config)
	op := startOperatorWithMetrics(t, proxy.Kubeconfig(t, impersonatingKubeconfig(t, c.Kubeconfig())))

	// The clean run: the proxy passes everything.
	proxy.SetMix(framework.FaultMix{Seed: seed})
	clean, cleanTracker := fleetThroughProxy(t, c, "clean", apps, ttl)
	s.Figure(t, "clean fleet", clean.Seconds(), "s", fmt.Sprintf("%d applications through the proxy without faults, first create to last final state", apps))

	// The same fleet with the seeded faults.
	proxy.SetMix(faultyMix(seed))
	faultyStart := time.Now()
	faulty, faultyTracker := fleetThroughProxy(t, c, "faulty", apps, ttl)
	faultyEnd := time.Now()
	s.Figure(t, "faulty fleet", faulty.Seconds(), "s", "the same fleet with the seeded fault mix")
	s.Figure(t, "slowdown", faulty.Seconds()/clean.Seconds(), "x", "faulty fleet time over clean fleet time, same seed and size")
	counts := map[string]int{}
	for _, r := range proxy.Requests(faultyStart, faultyEnd) {
		counts[r.Fault]++
	}
	s.Note(t, "faults injected during the faulty fleet: %d passed, %d 429, %d 500, %d 503, %d resets, %d delayed, %d watches cut",
		counts[""], counts["429"], counts["500"], counts["503"], counts["reset"], counts["delay"], counts["cut"])
	if counts["429"] == 0 || counts["reset"] == 0 || counts["delay"] == 0 || counts["cut"] == 0 {
		t.Errorf("the mix injected too little to judge: %v", counts)
	}

	// Decommission under the same faults.
	ctx := context.Background()
	spotNS, node, executors := noticedExecutors(t, ctx, c, sparkplaneClient(t, c))
	terminations := watchTerminations(t, c, spotNS)
	checkDecommissioned(t, ctx, s, sparkplaneClient(t, c), terminations, executors, noticeNode(t, c, node, spotNoticeLength), spotNoticeLength, time.Time{}, "under the fault mix")

	// A 429 storm: every request refused with Retry-After 2 s for 15 s
	// while applications arrive; then the faults lift.
	proxy.SetMix(framework.FaultMix{Seed: seed})
	stormApps := apps
	ns := c.Namespace(t)
	stormTracker := framework.Track(t, c.Config, ns)
	framework.RunDrivers(t, c.Config, ns, 3*time.Second)
	sub := &submitter{cl: sparkplaneClient(t, c)}
	beforeStart := time.Now()
	sub.submit(ctx, t, stormApps, 4, float64(stormApps)/30, func(i int) *v1alpha1.SparkApplication {
		return reliabilityApp(ns, fmt.Sprintf("storm-%04d", i), ttl)
	})
	time.Sleep(10 * time.Second)
	stormStart := time.Now()
	proxy.SetMix(framework.FaultMix{Seed: seed, TooManyRequests: 1, RetryAfter: 2 * time.Second})
	time.Sleep(15 * time.Second)
	stormEnd := time.Now()
	proxy.SetMix(framework.FaultMix{Seed: seed})
	before := perSecond(proxy.Requests(beforeStart, stormStart), beforeStart, stormStart)
	// The first second answers what was in flight; judge the rest.
	storm := perSecond(proxy.Requests(stormStart.Add(2*time.Second), stormEnd), stormStart.Add(2*time.Second), stormEnd)
	retried, early := earlyRetries(proxy.Requests(stormStart, stormEnd))
	s.Figure(t, "operator requests per second before the 429 storm", before, "req/s", "requests through the proxy in the 10 s before the storm, applications arriving")
	s.Figure(t, "operator requests per second under 429s", storm, "req/s", "requests through the proxy in seconds 2-15 of the storm (every request answered 429, Retry-After: 2)")
	s.Figure(t, "retries sooner than Retry-After", float64(early), "requests", fmt.Sprintf("of %d repeats of a 429-refused request, those sent before its Retry-After passed", retried))
	s.Check(t, "the operator honours Retry-After", retried > 0 && early == 0, "%d of %d repeated requests came before Retry-After", early, retried)
	// Every in-flight request waits 2 s between tries: the rate under the
	// storm is bounded by the operator's concurrency over Retry-After.
	s.Check(t, "the operator backs off under 429s", storm < before && storm < 40,
		"%.1f req/s under the storm, %.1f before; want fewer than before and under 40 (what it has in flight, at most once per 2 s Retry-After)", storm, before)
	sub.wait()
	stormTracker.WaitFinal(t, stormApps, 5*time.Minute)
	s.Figure(t, "storm fleet final after the storm", time.Since(stormEnd).Seconds(), "s", "from the storm's end to every storm application final")

	cleanTracker.Check(t, s, framework.Expectations{Apps: apps, Succeeded: true, TTL: ttl})
	faultyTracker.Check(t, s, framework.Expectations{Apps: apps, Succeeded: true, TTL: ttl})
	stormTracker.Check(t, s, framework.Expectations{Apps: stormApps, Succeeded: true, TTL: ttl})
	rss, _, err := op.memory()
	if err != nil {
		t.Fatal(err)
	}
	s.CheckMemory(t, rss, 1<<30)
	testenv.Eventually(t, time.Minute, "the operator's queue drained", func() (bool, error) {
		m, err := op.metrics()
		return err == nil && queueDepth(m) == 0, nil
	})
}
