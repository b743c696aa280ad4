package framework

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/spark"
	"github.com/sparkplane/sparkplane/internal/testenv"
)

var quietLogs sync.Once

// QuietLogs discards what controller-runtime's clients and caches in the
// test process log: its global logger prints a stack trace into the test
// log when nothing set it.
func QuietLogs() { quietLogs.Do(func() { ctrllog.SetLogger(logr.Discard()) }) }

// Tracker watches one namespace's SparkApplications and driver pods for the
// whole of a scenario, so that the invariants every reliability scenario
// checks (one final state per application, never two drivers) are judged
// on everything that happened, including objects the TTL has since deleted.
// Its watches reconnect by themselves when the API server goes away.
type Tracker struct {
	namespace string
	client    client.Client

	mu   sync.Mutex
	apps map[string]*AppRecord
}

// AppRecord is what the tracker saw of one application.
type AppRecord struct {
	// FinalStates are the terminal states the application was seen in, in
	// order, each change once: exactly one entry is the invariant.
	FinalStates []v1alpha1.ApplicationState
	// Reopened is set when the application was seen non-terminal after a
	// terminal state.
	Reopened bool
	// Drivers are the UIDs of the driver pods seen for it.
	Drivers map[string]bool
	// TerminatedAt is when the tracker first saw it terminal.
	TerminatedAt time.Time
	// Message is the status message of its last terminal state.
	Message string
}

// Track starts watching namespace until the test ends.
func Track(t testing.TB, cfg *rest.Config, namespace string) *Tracker {
	t.Helper()
	QuietLogs()
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	drivers := labels.SelectorFromSet(labels.Set{spark.LabelRole: spark.RoleDriver})
	c, err := cache.New(cfg, cache.Options{
		Scheme:            scheme,
		DefaultNamespaces: map[string]cache.Config{namespace: {}},
		ByObject:          map[client.Object]cache.ByObject{&corev1.Pod{}: {Label: drivers}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	tr := &Tracker{namespace: namespace, client: cl, apps: map[string]*AppRecord{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Start(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	for _, obj := range []client.Object{&v1alpha1.SparkApplication{}, &corev1.Pod{}} {
		inf, err := c.GetInformer(ctx, obj)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    tr.observe,
			UpdateFunc: func(_, obj any) { tr.observe(obj) },
			DeleteFunc: tr.observe,
		}); err != nil {
			t.Fatal(err)
		}
	}
	if !c.WaitForCacheSync(ctx) {
		t.Fatal("the tracker's watches did not sync")
	}
	return tr
}

func (tr *Tracker) record(name string) *AppRecord {
	r := tr.apps[name]
	if r == nil {
		r = &AppRecord{Drivers: map[string]bool{}}
		tr.apps[name] = r
	}
	return r
}

func (tr *Tracker) observe(obj any) {
	if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	switch o := obj.(type) {
	case *v1alpha1.SparkApplication:
		r := tr.record(o.Name)
		state := o.Status.State
		switch {
		case state.IsTerminal():
			if n := len(r.FinalStates); n == 0 || r.FinalStates[n-1] != state {
				r.FinalStates = append(r.FinalStates, state)
			}
			if r.TerminatedAt.IsZero() {
				r.TerminatedAt = time.Now()
			}
			if c := meta.FindStatusCondition(o.Status.Conditions, v1alpha1.ConditionCompleted); c != nil {
				r.Message = c.Message
			}
		case len(r.FinalStates) > 0:
			r.Reopened = true
		}
	case *corev1.Pod:
		if app := o.Labels[v1alpha1.LabelApplication]; app != "" {
			tr.record(app).Drivers[string(o.UID)] = true
		}
	}
}

// Snapshot returns a copy of the records by application name.
func (tr *Tracker) Snapshot() map[string]AppRecord {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := make(map[string]AppRecord, len(tr.apps))
	for name, r := range tr.apps {
		c := *r
		c.FinalStates = append([]v1alpha1.ApplicationState(nil), r.FinalStates...)
		c.Drivers = make(map[string]bool, len(r.Drivers))
		for k, v := range r.Drivers {
			c.Drivers[k] = v
		}
		out[name] = c
	}
	return out
}

// Terminal counts the applications seen in a final state.
func (tr *Tracker) Terminal() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := 0
	for _, r := range tr.apps {
		if len(r.FinalStates) > 0 {
			n++
		}
	}
	return n
}

// WaitFinal waits until apps applications have reached a final state.
func (tr *Tracker) WaitFinal(t testing.TB, apps int, timeout time.Duration) {
	t.Helper()
	testenv.Eventually(t, timeout, fmt.Sprintf("%d applications in a final state", apps), func() (bool, error) {
		return tr.Terminal() >= apps, nil
	})
}

// Expectations say what a scenario's invariants are judged against.
type Expectations struct {
	// Apps is how many applications the scenario created.
	Apps int
	// Succeeded is true when every application must succeed (no bad input).
	Succeeded bool
	// TTL is the applications' spec.timeToLiveSeconds; 0 skips the
	// "nothing outlives its TTL" check.
	TTL time.Duration
	// Slack is how long past the last TTL the garbage collector may take
	// to delete what the application owned; 60 s when zero.
	Slack time.Duration
}

// LabelledKinds are the kinds sparkplane creates for an application, counted
// by its label (v1alpha1.LabelApplication) when checking what is left behind.
var LabelledKinds = []struct {
	Name string
	List func() client.ObjectList
}{
	{"ConfigMaps", func() client.ObjectList { return &corev1.ConfigMapList{} }},
	{"Services", func() client.ObjectList { return &corev1.ServiceList{} }},
	{"Pods", func() client.ObjectList { return &corev1.PodList{} }},
	{"PVCs", func() client.ObjectList { return &corev1.PersistentVolumeClaimList{} }},
}

// CountLeft counts the namespace's objects carrying sparkplane's application
// label, by kind, and its SparkApplications.
func (tr *Tracker) CountLeft(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	for _, kind := range LabelledKinds {
		list := kind.List()
		if err := tr.client.List(ctx, list, client.InNamespace(tr.namespace), client.HasLabels{v1alpha1.LabelApplication}); err != nil {
			return nil, err
		}
		out[kind.Name] = meta.LenList(list)
	}
	apps := &v1alpha1.SparkApplicationList{}
	if err := tr.client.List(ctx, apps, client.InNamespace(tr.namespace)); err != nil {
		return nil, err
	}
	out["SparkApplications"] = len(apps.Items)
	return out, nil
}

func total(counts map[string]int) int {
	n := 0
	for _, v := range counts {
		n += v
	}
	return n
}

func formatCounts(counts map[string]int) string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, counts[k])
	}
	return strings.Join(parts, ", ")
}

// Check judges the shared invariants on what the tracker saw and records
// each in s: every application reaches exactly one final state (0 lost),
// no application has two drivers (0 duplicated), and, with a TTL, nothing
// labelled for an application outlives it beyond the TTL and the slack.
// Call it after WaitFinal.
func (tr *Tracker) Check(t testing.TB, s *Scenario, want Expectations) {
	t.Helper()
	apps := tr.Snapshot()
	var lost, twoFinal, reopened, twoDrivers, notSucceeded []string
	final := 0
	for name, r := range apps {
		switch {
		case len(r.FinalStates) == 0:
			lost = append(lost, name)
		case len(r.FinalStates) > 1:
			twoFinal = append(twoFinal, fmt.Sprintf("%s %v", name, r.FinalStates))
		case r.Reopened:
			reopened = append(reopened, name)
		default:
			final++
		}
		if len(r.Drivers) > 1 {
			twoDrivers = append(twoDrivers, fmt.Sprintf("%s (%d drivers)", name, len(r.Drivers)))
		}
		if want.Succeeded && len(r.FinalStates) > 0 && r.FinalStates[len(r.FinalStates)-1] != v1alpha1.StateSucceeded {
			notSucceeded = append(notSucceeded, fmt.Sprintf("%s %s: %s", name, r.FinalStates[len(r.FinalStates)-1], r.Message))
		}
	}
	sort.Strings(lost)
	s.Check(t, "every application reaches exactly one final state",
		final == want.Apps && len(apps) == want.Apps && len(twoFinal) == 0 && len(reopened) == 0,
		"%d of %d applications seen, %d with exactly one final state; lost %d %s, two final states %v, reopened %v",
		len(apps), want.Apps, final, len(lost), first(lost, 5), twoFinal, reopened)
	s.Check(t, "no application has two drivers", len(twoDrivers) == 0,
		"%d applications had more than one driver pod %s", len(twoDrivers), first(twoDrivers, 5))
	if want.Succeeded {
		s.Check(t, "every application succeeded", len(notSucceeded) == 0, "%d did not: %s", len(notSucceeded), first(notSucceeded, 5))
	}
	if want.TTL <= 0 {
		return
	}
	slack := want.Slack
	if slack == 0 {
		slack = time.Minute
	}
	var last time.Time
	for _, r := range apps {
		if r.TerminatedAt.After(last) {
			last = r.TerminatedAt
		}
	}
	deadline := last.Add(want.TTL + slack)
	ctx := context.Background()
	var left map[string]int
	for {
		var err error
		if left, err = tr.CountLeft(ctx); err != nil {
			t.Logf("counting what is left: %v", err)
		} else if total(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	s.Check(t, "nothing outlives its application's TTL", total(left) == 0,
		"%s left %s after the last application's TTL of %s ran out (slack %s for the garbage collector)",
		formatCounts(left), time.Since(last.Add(want.TTL)).Round(time.Second), want.TTL, slack)
}

// CheckMemory records the operator's resident memory at the end of a
// scenario and checks it against limit.
func (s *Scenario) CheckMemory(t testing.TB, rss, limit int64) {
	t.Helper()
	s.Figure(t, "operator RSS at the end", float64(rss)/(1<<20), "MiB", "VmRSS of the operator process from /proc/PID/status")
	s.Check(t, "operator memory at the end is bounded", rss > 0 && rss <= limit, "RSS %d MiB, limit %d MiB", rss>>20, limit>>20)
}

func first(items []string, n int) string {
	if len(items) <= n {
		return fmt.Sprint(items)
	}
	return fmt.Sprintf("%v and %d more", items[:n], len(items)-n)
}
