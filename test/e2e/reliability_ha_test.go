//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/install"
	"github.com/sparkplane/sparkplane/internal/testenv"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// haPair is two operator replicas with leader election.
type haPair struct {
	t          *testing.T
	kubeconfig string
	replicas   []*operatorProcess
}

// The election's timing: the operator's defaults.
const (
	haLeaseDuration = 15 * time.Second
	haRetryPeriod   = 2 * time.Second
)

func (h *haPair) start() *operatorProcess {
	p := startOperatorWithMetrics(h.t, h.kubeconfig, "--leader-elect", "--leader-election-namespace", install.Namespace)
	h.replicas = append(h.replicas, p)
	return p
}

func (p *operatorProcess) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// leader is the live replica whose leader_election_master_status is 1.
func (h *haPair) leader() *operatorProcess {
	for _, p := range h.replicas {
		if !p.alive() {
			continue
		}
		m, err := p.metrics()
		if err == nil && m[`leader_election_master_status{name="`+install.LeaderElectionID+`"}`] == 1 {
			return p
		}
	}
	return nil
}

func (h *haPair) waitLeader() *operatorProcess {
	var leader *operatorProcess
	testenv.Eventually(h.t, time.Minute, "a leader among the replicas", func() (bool, error) {
		leader = h.leader()
		return leader != nil, nil
	})
	return leader
}

func readLease(ctx context.Context, cl client.Client) (*coordinationv1.Lease, error) {
	lease := &coordinationv1.Lease{}
	err := cl.Get(ctx, client.ObjectKey{Namespace: install.Namespace, Name: install.LeaderElectionID}, lease)
	return lease, err
}

// killLeader SIGKILLs the leader, starts a fresh standby in its place (as
// its Deployment would) and returns how long after the kill the other
// replica acquired the lease (its spec.acquireTime), and how long after
// the killed leader's last renewal.
func (h *haPair) killLeader(ctx context.Context, cl client.Client) (killedAt time.Time, afterKill, afterRenew time.Duration) {
	t := h.t
	h.waitLeader().kill()
	killedAt = time.Now()
	// Read after the kill: the dead leader renews no more, so this is its
	// last renewal.
	before, err := readLease(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	oldHolder := ptr.Deref(before.Spec.HolderIdentity, "")
	var after *coordinationv1.Lease
	testenv.Eventually(t, 2*haLeaseDuration, "the standby to take the lease over", func() (bool, error) {
		lease, err := readLease(ctx, cl)
		if err != nil {
			return false, nil
		}
		after = lease
		return ptr.Deref(lease.Spec.HolderIdentity, "") != oldHolder && lease.Spec.AcquireTime != nil, nil
	})
	acquired := after.Spec.AcquireTime.Time
	lastRenew := before.Spec.RenewTime.Time
	h.start()
	return killedAt, acquired.Sub(killedAt), acquired.Sub(lastRenew)
}

// TestReliabilityHAOperator is issue 18's scenario 1: two operator replicas
// with leader election; the leader is SIGKILLed at seeded random points of
// a 1,000-application burst (once while applications are arriving, once
// while they are running) and during a Spot notice. The standby takes over
// within the lease duration (plus the retry period at which it looks),
// no application is lost or submitted twice, and the executors on the
// noticed node are still decommissioned within the notice.
func TestReliabilityHAOperator(t *testing.T) {
	framework.Reliability(t, "a 1,000-application burst and three 15 s leader takeovers")
	s := framework.NewScenario(t, "1-ha-operator",
		"two operator replicas with leader election; SIGKILL of the leader at seeded random points of a 1,000-application burst (while arriving, while running) and 0-3 s into a Spot notice")
	apps := reliabilityScale(t, 1000)
	const ttl = 20 * time.Second
	seed := reliabilitySeed(t)
	rng := rand.New(rand.NewPCG(seed, 1))
	s.SetScale("%d applications (seed %d)", apps, seed)

	c := framework.Up(t, devcluster.Options{Zones: 1, NodesPerTier: 1})
	installSparkplane(t, c)
	ns := c.Namespace(t)
	cl := sparkplaneClient(t, c)
	ctx := context.Background()
	tracker := framework.Track(t, c.Config, ns)
	framework.RunDrivers(t, c.Config, ns, 5*time.Second)
	h := &haPair{t: t, kubeconfig: impersonatingKubeconfig(t, c.Kubeconfig())}
	h.start()
	h.start()
	h.waitLeader()
	for _, p := range h.replicas {
		if !p.readyz() {
			t.Errorf("replica %d is not ready: a standby must be ready once its caches synced", p.cmd.Process.Pid)
		}
	}

	// client-go's elector counts the lease from when it observed the last
	// renewal, which it looks for every retry period (jittered by up to
	// 1.2x), and tries to acquire every retry period after expiry: so a
	// standby takes over at most the lease duration plus two jittered
	// retry periods after the last renewal; 2 s more for API latency on
	// two loaded cores.
	maxTakeover := haLeaseDuration + 2*haRetryPeriod*12/10 + 2*time.Second
	takeover := func(when string) {
		_, afterKill, afterRenew := h.killLeader(ctx, cl)
		s.Figure(t, "takeover after SIGKILL "+when, afterKill.Seconds(), "s",
			"from the SIGKILL of the leader to the standby's spec.acquireTime on the Lease "+install.LeaderElectionID)
		s.Figure(t, "takeover after the last renewal "+when, afterRenew.Seconds(), "s",
			"from the killed leader's last spec.renewTime to the standby's spec.acquireTime")
		s.Check(t, "standby takes over within the lease duration (plus the retry periods it looks at) "+when, afterRenew <= maxTakeover,
			"took over %.1fs after the last renewal, %.1fs after the kill; bound %s: lease %s + 2 retry periods of %s jittered up to 1.2x + 2 s API latency",
			afterRenew.Seconds(), afterKill.Seconds(), maxTakeover, haLeaseDuration, haRetryPeriod)
	}

	// Kill 1: at a random point while the burst arrives.
	killAtCreated := int64(apps/10 + rng.IntN(apps/2+1))
	killAtFinal := apps/10 + rng.IntN(apps*4/10+1)
	sub := &submitter{cl: cl}
	burstStart := time.Now()
	sub.submit(ctx, t, apps, 16, 0, func(i int) *v1alpha1.SparkApplication {
		return reliabilityApp(ns, fmt.Sprintf("ha-%04d", i), ttl)
	})
	testenv.Eventually(t, 5*time.Minute, fmt.Sprintf("%d applications created", killAtCreated), func() (bool, error) {
		return sub.created.Load() >= killAtCreated, nil
	})
	s.Note(t, "kill 1 with %d of %d applications created", sub.created.Load(), apps)
	takeover("while applications arrive")
	sub.wait()
	s.Figure(t, "burst submission time", time.Since(burstStart).Seconds(), "s", fmt.Sprintf("creating %d applications from 16 clients, across kill 1", apps))

	// Kill 2: at a random point while they run.
	testenv.Eventually(t, 10*time.Minute, fmt.Sprintf("%d applications final", killAtFinal), func() (bool, error) {
		return tracker.Terminal() >= killAtFinal, nil
	})
	s.Note(t, "kill 2 with %d of %d applications final", tracker.Terminal(), apps)
	takeover("while applications run")
	tracker.WaitFinal(t, apps, 10*time.Minute)
	s.Figure(t, "burst to every application final", time.Since(burstStart).Seconds(), "s", "from the first create to the tracker seeing every application in a final state, across both kills")

	// Kill 3: during a Spot notice.
	spotNotice(t, ctx, s, c, cl, h, rng)

	tracker.Check(t, s, framework.Expectations{Apps: apps, Succeeded: true, TTL: ttl})
	leader := h.waitLeader()
	rss, _, err := leader.memory()
	if err != nil {
		t.Fatal(err)
	}
	s.CheckMemory(t, rss, 1<<30)
}

// spotNotice puts executors on a spot node, gives the node a Karpenter
// notice, SIGKILLs the leader at a random point of the first 3 s and checks
// that the new leader still decommissions the executors within the notice.
func spotNotice(t *testing.T, ctx context.Context, s *framework.Scenario, c *framework.Cluster, cl client.Client, h *haPair, rng *rand.Rand) {
	ns, node, names := noticedExecutors(t, ctx, c, cl)
	h.waitLeader()
	terminations := watchTerminations(t, c, ns)
	noticeAt := noticeNode(t, c, node, spotNoticeLength)
	time.Sleep(time.Duration(rng.IntN(3000)) * time.Millisecond)
	s.Note(t, "kill 3 %.1fs into a %s Karpenter notice on %s", time.Since(noticeAt).Seconds(), spotNoticeLength, node)
	killedAt, afterKill, _ := h.killLeader(ctx, cl)
	s.Figure(t, "takeover after SIGKILL during a Spot notice", afterKill.Seconds(), "s", "from the SIGKILL to the standby's spec.acquireTime")
	checkDecommissioned(t, ctx, s, cl, terminations, names, noticeAt, spotNoticeLength, killedAt, "the leader killed in between")
}

// spotNoticeLength is a Spot interruption's notice. Karpenter's taint
// carries no time, so the operator assumes this much from when it sees it.
const spotNoticeLength = 2 * time.Minute

// noticedExecutors puts three executors of a running application on a
// spot node in a new namespace (the application's driver waits for the
// stand-in kubelet, which does not run there, so the application stays
// running and out of the scenario's tracker).
func noticedExecutors(t *testing.T, ctx context.Context, c *framework.Cluster, cl client.Client) (ns, node string, names []string) {
	ns = c.Namespace(t)
	var nodes corev1.NodeList
	if err := cl.List(ctx, &nodes, client.MatchingLabels{devcluster.LabelNodeRole: devcluster.NodeRoleExecutor, karpv1.CapacityTypeLabelKey: karpv1.CapacityTypeSpot}); err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) == 0 {
		t.Fatal("no spot executor node")
	}
	node = nodes.Items[0].Name
	app := benchApplication(ns, "spot", framework.StandInScheduler)
	if err := cl.Create(ctx, app); err != nil {
		t.Fatal(err)
	}
	for id := 1; id <= 3; id++ {
		pod := executorPodOn(ns, "spot", node, id)
		if err := cl.Create(ctx, pod); err != nil {
			t.Fatal(err)
		}
		names = append(names, pod.Name)
	}
	testenv.Eventually(t, time.Minute, "executors running on "+node, func() (bool, error) {
		return countRunningExecutors(ctx, cl, ns) == len(names), nil
	})
	return ns, node, names
}

// noticeNode gives node a Karpenter notice with `sparkplane dev interrupt
// --detach` and returns when the command returned.
func noticeNode(t *testing.T, c *framework.Cluster, node string, notice time.Duration) time.Time {
	res := framework.Run(t, nil, "dev", "interrupt", "--name", c.Name, "--via", "karpenter", "--notice", notice.String(), "--detach", node)
	if res.Err != nil {
		t.Fatalf("dev interrupt: %v", res.Err)
	}
	return time.Now()
}

// termination is when a test first saw a pod terminating (or gone), and
// the grace period its delete gave it.
type termination struct {
	at    time.Time
	grace int64 // -1 when the pod was seen gone without its delete
}

// terminationWatch records, from a watch of a namespace's pods started
// before the notice, when each pod's delete was accepted and with what
// grace period: read from the watch rather than from the operator's Event,
// because the delete is what decommissions an executor (an Event is best
// effort: the operator writes its ExecutorDecommissioning Events half a
// second after a burst of deletes, and a leader SIGKILLed in between takes
// them with it) and kwok removes a deleted pod at once, so a poll often
// finds it gone.
type terminationWatch struct {
	ns   string
	mu   sync.Mutex
	seen map[string]termination
}

func watchTerminations(t *testing.T, c *framework.Cluster, ns string) *terminationWatch {
	t.Helper()
	w := &terminationWatch{ns: ns, seen: map[string]termination{}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	pods := c.Clientset.CoreV1().Pods(ns)
	list, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	resumingWatchEvents(t, ctx, list.ResourceVersion, pods.Watch, func(ev watch.Event) {
		pod, ok := ev.Object.(*corev1.Pod)
		if !ok || (ev.Type != watch.Deleted && pod.DeletionTimestamp == nil) {
			return
		}
		seen := termination{at: time.Now(), grace: -1}
		if pod.DeletionTimestamp != nil && ev.Type != watch.Deleted {
			seen.grace = ptr.Deref(pod.DeletionGracePeriodSeconds, -1)
		}
		w.mu.Lock()
		if _, dup := w.seen[pod.Name]; !dup {
			w.seen[pod.Name] = seen
		}
		w.mu.Unlock()
	})
	return w
}

func (w *terminationWatch) get(name string) (termination, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.seen[name]
	return s, ok
}

// checkDecommissioned waits for the executors' deletes and checks that
// they came within the notice, each with a grace period within it. killedAt
// is when the leader was SIGKILLed during the notice (zero if it was not):
// the ExecutorDecommissioning Event, written after the deletes, must be
// there and agree with the delete's grace when the deletes came after the
// kill (the standby's) or without one; when the killed leader issued them,
// its Event may have died with it, and the test says which it was.
func checkDecommissioned(t *testing.T, ctx context.Context, s *framework.Scenario, cl client.Client, w *terminationWatch, names []string, noticeAt time.Time, notice time.Duration, killedAt time.Time, how string) {
	var last termination
	testenv.Eventually(t, notice, fmt.Sprintf("%v decommissioned", names), func() (bool, error) {
		last = termination{}
		for _, name := range names {
			seen, ok := w.get(name)
			if !ok {
				return false, nil
			}
			if seen.at.After(last.at) {
				last = seen
			}
		}
		return true, nil
	})
	took := last.at.Sub(noticeAt)
	s.Figure(t, "executors decommissioned after the notice ("+how+")", took.Seconds(), "s",
		"from `dev interrupt` returning to the last executor's delete seen by a pod watch")
	s.Check(t, "executors on a noticed node decommissioned within the notice ("+how+")", took < notice,
		"%d executors decommissioned %.1fs into a %s notice", len(names), took.Seconds(), notice)
	for _, name := range names {
		seen, _ := w.get(name)
		if seen.grace < 0 {
			t.Errorf("%s was gone without a graceful delete seen: not decommissioned", name)
		} else if seen.grace == 0 || seen.grace > int64(notice/time.Second) {
			t.Errorf("%s was deleted with %ds grace, want within the %s notice", name, seen.grace, notice)
		}
	}
	first, _ := w.get(names[0])
	byKilled := !killedAt.IsZero() && last.at.Before(killedAt)
	if byKilled {
		// The killed leader's Event may be lost with it: look briefly.
		if grace, found := findDecommissionEvent(ctx, cl, w.ns, names[0], 5*time.Second); found {
			s.Note(t, "the killed leader decommissioned the executors %.1fs before its SIGKILL; %s was given %ds grace (its delete) and its Event says %ds, %s",
				killedAt.Sub(last.at).Seconds(), names[0], first.grace, grace, how)
		} else {
			s.Note(t, "the killed leader decommissioned the executors %.1fs before its SIGKILL and its ExecutorDecommissioning Event died with it (written after the burst of deletes; Events are best effort); %s was given %ds grace (its delete), %s",
				killedAt.Sub(last.at).Seconds(), names[0], first.grace, how)
		}
		return
	}
	grace := graceFromEvents(t, ctx, cl, w.ns, names[0])
	if grace != first.grace {
		t.Errorf("%s: its ExecutorDecommissioning Event says %ds grace, its delete gave %ds", names[0], grace, first.grace)
	}
	s.Note(t, "%s was given %ds grace (its delete and its ExecutorDecommissioning Event), %s", names[0], grace, how)
}
