package scheduled_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/scheduled"
	"github.com/sparkplane/sparkplane/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.MainSparkplane(m, &env) }

func template() v1alpha1.SparkApplicationSpec {
	return v1alpha1.SparkApplicationSpec{
		Type:                v1alpha1.SparkApplicationTypeScala,
		SparkVersion:        "3.5.3",
		Image:               ptr.To("apache/spark:3.5.3"),
		MainClass:           ptr.To("org.apache.spark.examples.SparkPi"),
		MainApplicationFile: ptr.To("local:///opt/spark/examples/jars/spark-examples.jar"),
		Driver:              v1alpha1.DriverSpec{SparkPodSpec: v1alpha1.SparkPodSpec{Cores: ptr.To[int32](1), Memory: ptr.To[v1alpha1.MemorySize]("1g")}},
		Executor:            v1alpha1.ExecutorSpec{SparkPodSpec: v1alpha1.SparkPodSpec{Cores: ptr.To[int32](1), Memory: ptr.To[v1alpha1.MemorySize]("1g")}, Instances: ptr.To[int32](1)},
	}
}

// harness calls Reconcile directly with a fake clock against a real API server.
type harness struct {
	t     *testing.T
	ctx   context.Context
	ns    string
	clock *clocktesting.FakeClock
	ctrl  *scheduled.Controller
}

// newSchedule creates a schedule and a harness whose clock starts at the
// schedule's creation time.
func newSchedule(t *testing.T, name string, mutate func(*v1alpha1.ScheduledSparkApplicationSpec)) (*harness, *v1alpha1.ScheduledSparkApplication) {
	t.Helper()
	ns := env.Namespace(t)
	sched := &v1alpha1.ScheduledSparkApplication{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"team": "data"}},
		Spec:       v1alpha1.ScheduledSparkApplicationSpec{Schedule: "@every 10s", Template: template()},
	}
	if mutate != nil {
		mutate(&sched.Spec)
	}
	if err := env.Client.Create(context.Background(), sched); err != nil {
		t.Fatalf("creating %s: %v", name, err)
	}
	clk := clocktesting.NewFakeClock(sched.CreationTimestamp.Time)
	return &harness{t: t, ctx: context.Background(), ns: ns, clock: clk, ctrl: scheduled.NewController(env.Client, scheduled.Options{Clock: clk})}, sched
}

func (h *harness) reconcile(name string) reconcile.Result {
	h.t.Helper()
	res, err := h.ctrl.Reconcile(h.ctx, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: h.ns, Name: name}})
	if err != nil {
		h.t.Fatalf("reconcile: %v", err)
	}
	return res
}

func (h *harness) get(name string) *v1alpha1.ScheduledSparkApplication {
	h.t.Helper()
	s := &v1alpha1.ScheduledSparkApplication{}
	if err := env.Client.Get(h.ctx, client.ObjectKey{Namespace: h.ns, Name: name}, s); err != nil {
		h.t.Fatal(err)
	}
	return s
}

// runs are the schedule's SparkApplications by name, sorted.
func (h *harness) runs(name string) []string {
	h.t.Helper()
	list := &v1alpha1.SparkApplicationList{}
	if err := env.Client.List(h.ctx, list, client.InNamespace(h.ns), client.MatchingLabels{v1alpha1.LabelScheduledBy: name}); err != nil {
		h.t.Fatal(err)
	}
	var names []string
	for _, a := range list.Items {
		names = append(names, a.Name)
	}
	slices.Sort(names)
	return names
}

// finish plays the sparkapplication controller: it ends a run.
func (h *harness) finish(run string, state v1alpha1.ApplicationState) {
	h.t.Helper()
	app := &v1alpha1.SparkApplication{}
	if err := env.Client.Get(h.ctx, client.ObjectKey{Namespace: h.ns, Name: run}, app); err != nil {
		h.t.Fatal(err)
	}
	app.Status.State = state
	if err := env.Client.Status().Update(h.ctx, app); err != nil {
		h.t.Fatal(err)
	}
}

func runAt(name string, created time.Time, after time.Duration) string {
	return scheduled.RunName(name, created.Add(after))
}

// TestEveryRunsAndPrunes: @every 10s starts one run per slot, named from the
// slot; missed slots start one run; the history keeps exactly its limits.
func TestEveryRunsAndPrunes(t *testing.T) {
	h, sched := newSchedule(t, "pi", func(s *v1alpha1.ScheduledSparkApplicationSpec) {
		s.FailedRunHistoryLimit = ptr.To[int32](2)
	})
	t0 := sched.CreationTimestamp.Time
	if res := h.reconcile("pi"); res.RequeueAfter != 10*time.Second {
		t.Errorf("before the first slot: requeue after %s, want 10s", res.RequeueAfter)
	}
	if got := h.runs("pi"); len(got) != 0 {
		t.Fatalf("runs before the first slot: %v", got)
	}
	st := h.get("pi").Status
	if st.ScheduleState != v1alpha1.ScheduleStateScheduled || st.NextRun == nil || !st.NextRun.Time.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("status = %+v", st)
	}

	h.clock.Step(10 * time.Second)
	h.reconcile("pi")
	h.reconcile("pi") // the same slot again: no second run
	first := runAt("pi", t0, 10*time.Second)
	if got := h.runs("pi"); !slices.Equal(got, []string{first}) {
		t.Fatalf("runs after the first slot: %v, want [%s]", got, first)
	}
	st = h.get("pi").Status
	if st.LastRunName != first || !st.LastRun.Time.Equal(t0.Add(10*time.Second)) || !st.NextRun.Time.Equal(t0.Add(20*time.Second)) {
		t.Errorf("status after the first run: lastRunName %s lastRun %v nextRun %v", st.LastRunName, st.LastRun, st.NextRun)
	}
	run := &v1alpha1.SparkApplication{}
	if err := env.Client.Get(h.ctx, client.ObjectKey{Namespace: h.ns, Name: first}, run); err != nil {
		t.Fatal(err)
	}
	if run.Labels["team"] != "data" || metav1.GetControllerOf(run).UID != sched.UID || *run.Spec.MainClass != "org.apache.spark.examples.SparkPi" {
		t.Errorf("run: labels %v owner %v", run.Labels, run.OwnerReferences)
	}

	// The operator was down for 65s: six slots passed, one run starts.
	h.finish(first, v1alpha1.StateSucceeded)
	h.clock.Step(65 * time.Second)
	h.reconcile("pi")
	second := runAt("pi", t0, 70*time.Second)
	if got := h.runs("pi"); !slices.Equal(got, []string{first, second}) {
		t.Fatalf("after 65s down: runs %v, want [%s %s]", got, first, second)
	}

	// History: one success kept, two failures kept.
	h.finish(second, v1alpha1.StateSucceeded)
	h.reconcile("pi")
	if got := h.runs("pi"); !slices.Equal(got, []string{second}) {
		t.Fatalf("after two successes with limit 1: runs %v, want [%s]", got, second)
	}
	var failedRuns []string
	for i := 0; i < 3; i++ {
		h.clock.Step(10 * time.Second)
		h.reconcile("pi")
		name := h.get("pi").Status.LastRunName
		h.finish(name, v1alpha1.StateFailed)
		failedRuns = append(failedRuns, name)
	}
	h.reconcile("pi")
	st = h.get("pi").Status
	if got := h.runs("pi"); !slices.Equal(got, []string{second, failedRuns[1], failedRuns[2]}) {
		t.Fatalf("after three failures with limit 2: runs %v, want %v", got, []string{second, failedRuns[1], failedRuns[2]})
	}
	if !slices.Equal(st.PastSuccessfulRunNames, []string{second}) || !slices.Equal(st.PastFailedRunNames, []string{failedRuns[2], failedRuns[1]}) {
		t.Errorf("status history: successful %v failed %v", st.PastSuccessfulRunNames, st.PastFailedRunNames)
	}
}

// TestRestartNeverStartsASlotTwice: an operator that created a run but did
// not get to record it finds the run (AlreadyExists) and records it.
func TestRestartNeverStartsASlotTwice(t *testing.T) {
	h, sched := newSchedule(t, "once", nil)
	h.clock.Step(10 * time.Second)
	h.reconcile("once")
	// Roll the status back as if the patch after the create was lost.
	s := h.get("once")
	s.Status.LastScheduleTime, s.Status.LastRun, s.Status.LastRunName = nil, nil, ""
	if err := env.Client.Status().Update(h.ctx, s); err != nil {
		t.Fatal(err)
	}
	restarted := scheduled.NewController(env.Client, scheduled.Options{Clock: h.clock})
	if _, err := restarted.Reconcile(h.ctx, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: h.ns, Name: "once"}}); err != nil {
		t.Fatal(err)
	}
	want := runAt("once", sched.CreationTimestamp.Time, 10*time.Second)
	if got := h.runs("once"); !slices.Equal(got, []string{want}) {
		t.Fatalf("runs %v, want [%s]", got, want)
	}
	if got := h.get("once").Status.LastRunName; got != want {
		t.Errorf("lastRunName = %q, want %q", got, want)
	}
}

func TestConcurrencyPolicies(t *testing.T) {
	t.Run("Forbid skips while a run is unfinished", func(t *testing.T) {
		h, sched := newSchedule(t, "forbid", func(s *v1alpha1.ScheduledSparkApplicationSpec) { s.ConcurrencyPolicy = v1alpha1.ConcurrencyForbid })
		t0 := sched.CreationTimestamp.Time
		h.clock.Step(10 * time.Second)
		h.reconcile("forbid")
		h.clock.Step(10 * time.Second)
		h.reconcile("forbid")
		first := runAt("forbid", t0, 10*time.Second)
		if got := h.runs("forbid"); !slices.Equal(got, []string{first}) {
			t.Fatalf("runs %v, want only %s", got, first)
		}
		if st := h.get("forbid").Status; !strings.Contains(st.Reason, "Forbid") || st.LastRunName != first {
			t.Errorf("reason %q lastRunName %q", st.Reason, st.LastRunName)
		}
		// The skipped slot is not caught up when the run ends.
		h.finish(first, v1alpha1.StateSucceeded)
		h.reconcile("forbid")
		if got := h.runs("forbid"); !slices.Equal(got, []string{first}) {
			t.Fatalf("the skipped slot started late: runs %v", got)
		}
		h.clock.Step(10 * time.Second)
		h.reconcile("forbid")
		if got := h.runs("forbid"); !slices.Contains(got, runAt("forbid", t0, 30*time.Second)) {
			t.Fatalf("the next slot after the run ended did not start: %v", got)
		}
	})
	t.Run("Replace deletes the unfinished run first", func(t *testing.T) {
		h, sched := newSchedule(t, "replace", func(s *v1alpha1.ScheduledSparkApplicationSpec) { s.ConcurrencyPolicy = v1alpha1.ConcurrencyReplace })
		t0 := sched.CreationTimestamp.Time
		h.clock.Step(10 * time.Second)
		h.reconcile("replace")
		h.clock.Step(10 * time.Second)
		h.reconcile("replace")
		if got, want := h.runs("replace"), []string{runAt("replace", t0, 20*time.Second)}; !slices.Equal(got, want) {
			t.Fatalf("runs %v, want %v", got, want)
		}
	})
	t.Run("Allow runs side by side", func(t *testing.T) {
		h, _ := newSchedule(t, "allow", nil)
		h.clock.Step(10 * time.Second)
		h.reconcile("allow")
		h.clock.Step(10 * time.Second)
		h.reconcile("allow")
		if got := h.runs("allow"); len(got) != 2 {
			t.Fatalf("runs %v, want two", got)
		}
	})
}

func TestStartingDeadline(t *testing.T) {
	h, _ := newSchedule(t, "late", func(s *v1alpha1.ScheduledSparkApplicationSpec) { s.StartingDeadlineSeconds = ptr.To[int64](3) })
	h.clock.Step(15 * time.Second) // the slot at 10s is 5s late
	h.reconcile("late")
	if got := h.runs("late"); len(got) != 0 {
		t.Fatalf("a slot past its starting deadline started: %v", got)
	}
	if st := h.get("late").Status; !strings.Contains(st.Reason, "startingDeadlineSeconds") {
		t.Errorf("reason = %q", st.Reason)
	}
	h.clock.Step(7 * time.Second) // the slot at 20s is 2s late
	h.reconcile("late")
	if got := h.runs("late"); len(got) != 1 {
		t.Fatalf("a slot within its starting deadline did not start: %v", got)
	}
}

func TestSuspendSkipsSlots(t *testing.T) {
	h, sched := newSchedule(t, "paused", func(s *v1alpha1.ScheduledSparkApplicationSpec) { s.Suspend = ptr.To(true) })
	h.clock.Step(35 * time.Second)
	h.reconcile("paused")
	st := h.get("paused").Status
	if got := h.runs("paused"); len(got) != 0 || st.ScheduleState != v1alpha1.ScheduleStateSuspended || st.NextRun != nil {
		t.Fatalf("suspended: runs %v state %q nextRun %v", got, st.ScheduleState, st.NextRun)
	}
	s := h.get("paused")
	s.Spec.Suspend = ptr.To(false)
	if err := env.Client.Update(h.ctx, s); err != nil {
		t.Fatal(err)
	}
	h.reconcile("paused")
	if got := h.runs("paused"); len(got) != 0 {
		t.Fatalf("slots passed while suspended were caught up: %v", got)
	}
	// @every counts from the resume (as from the creation): 10s later.
	h.clock.Step(5 * time.Second)
	h.reconcile("paused")
	if got := h.runs("paused"); len(got) != 0 {
		t.Fatalf("5s after resume: runs %v, want none", got)
	}
	h.clock.Step(5 * time.Second)
	h.reconcile("paused")
	if got, want := h.runs("paused"), []string{runAt("paused", sched.CreationTimestamp.Time, 45*time.Second)}; !slices.Equal(got, want) {
		t.Fatalf("10s after resume: runs %v, want %v", got, want)
	}
}

func TestInvalidSchedule(t *testing.T) {
	h, _ := newSchedule(t, "bad", func(s *v1alpha1.ScheduledSparkApplicationSpec) { s.Schedule = "every day at noon" })
	h.reconcile("bad")
	st := h.get("bad").Status
	if st.ScheduleState != v1alpha1.ScheduleStateFailedValidation || !strings.Contains(st.Reason, "spec.schedule") {
		t.Fatalf("state %q reason %q", st.ScheduleState, st.Reason)
	}
}

// TestTemplateValidatedLikeAnApplication: the template is refused by the
// SparkApplication's own CEL rules, with the template's field path.
func TestTemplateValidatedLikeAnApplication(t *testing.T) {
	ns := env.Namespace(t)
	tmpl := template()
	tmpl.MainClass = nil
	sched := &v1alpha1.ScheduledSparkApplication{
		ObjectMeta: metav1.ObjectMeta{Name: "nomain", Namespace: ns},
		Spec:       v1alpha1.ScheduledSparkApplicationSpec{Schedule: "@daily", Template: tmpl},
	}
	err := env.Client.Create(context.Background(), sched)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.template.mainClass") {
		t.Fatalf("create = %v, want Invalid naming spec.template.mainClass", err)
	}
	long := sched.DeepCopy()
	long.Name = strings.Repeat("a", 53)
	long.Spec.Template = template()
	if err := env.Client.Create(context.Background(), long); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "52") {
		t.Fatalf("create with a 53-character name = %v, want Invalid", err)
	}
}
