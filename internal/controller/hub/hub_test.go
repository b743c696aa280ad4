package hub_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/testenv"
)

// TestPlaceMirrorFinish: applications are spread over both members, each
// copy carries its origin, is started only after the hub granted its lease,
// and its state comes back to the hub until the one final state.
func TestPlaceMirrorFinish(t *testing.T) {
	f := newFleet(t)
	f.startMemberOperator(envA)
	f.startMemberOperator(envB)
	f.waitMemberState(f.a, v1alpha1.MemberHealthy)
	f.waitMemberState(f.b, v1alpha1.MemberHealthy)

	names := []string{"one", "two", "three", "four"}
	for _, n := range names {
		f.app(n, v1alpha1.RestartPolicyNever)
	}
	testenv.Eventually(t, 30*time.Second, "the hub", func() string {
		if a, b := len(f.drivers(envA)), len(f.drivers(envB)); a+b != len(names) {
			return fmt.Sprintf("%d drivers on A and %d on B, want %d in all", a, b, len(names))
		}
		return ""
	})
	if len(f.drivers(envA)) == 0 || len(f.drivers(envB)) == 0 {
		t.Errorf("a burst of %d applications went to one member (A %d, B %d): in-flight placements should spread it", len(names), len(f.drivers(envA)), len(f.drivers(envB)))
	}
	for _, n := range names {
		app := f.hubApp(n)
		p := app.Status.Placement
		if p == nil || p.Epoch != 1 || p.LeaseGrantTime == nil || len(p.Scores) != 2 {
			t.Fatalf("%s: placement %+v, want epoch 1 with a lease grant and two scores", n, p)
		}
		member := map[string]*testenv.Env{f.a: envA, f.b: envB}[p.Cluster]
		cp := &v1alpha1.SparkApplication{}
		if err := member.Client.Get(f.ctx, types.NamespacedName{Namespace: f.ns, Name: n}, cp); err != nil {
			t.Fatalf("%s: copy on %s: %v", n, p.Cluster, err)
		}
		if cp.Labels[v1alpha1.LabelHubID] != f.id || cp.Labels[v1alpha1.LabelOriginUID] != string(app.UID) || cp.Labels[v1alpha1.LabelPlacementEpoch] != "1" {
			t.Errorf("%s: copy labels %v, want hub %s, origin %s, epoch 1", n, cp.Labels, f.id, app.UID)
		}
		// The member creates the driver before its status patch records the
		// lease, so the condition is waited for rather than read once.
		testenv.Eventually(t, 30*time.Second, n+"'s copy on "+p.Cluster, func() string {
			if err := member.Client.Get(f.ctx, types.NamespacedName{Namespace: f.ns, Name: n}, cp); err != nil {
				return err.Error()
			}
			if got := condition(cp, v1alpha1.ConditionLeased); got != "True/LeaseValid" {
				return fmt.Sprintf("Leased %s, want True/LeaseValid", got)
			}
			return ""
		})
	}
	f.finishDrivers(envA)
	f.finishDrivers(envB)
	testenv.Eventually(t, 30*time.Second, "the hub", func() string {
		for _, n := range names {
			app := f.hubApp(n)
			if app.Status.State != v1alpha1.StateSucceeded {
				return fmt.Sprintf("%s is %q on the hub, want Succeeded mirrored", n, app.Status.State)
			}
			if app.Status.Placement.SyncTime == nil || condition(app, v1alpha1.ConditionStale) != "False/StatusFresh" {
				return fmt.Sprintf("%s: syncTime %v, Stale %s", n, app.Status.Placement.SyncTime, condition(app, v1alpha1.ConditionStale))
			}
		}
		return ""
	})
	if got := f.member(f.a).Status.Capacity.PendingDrivers; got != 0 {
		// Pending drivers were counted while they waited (no scheduler here).
		t.Logf("member A still reports %d pending drivers from its last heartbeat", got)
	}
}

// TestSelectorAndDraining: spec.clusterSelector keeps an application to the
// members it selects; a draining member takes nothing new, and nothing is
// placed when no member may take it (condition Placed=False naming why).
func TestSelectorAndDraining(t *testing.T) {
	f := newFleet(t)
	f.patchMember(f.b, func(mc *v1alpha1.MemberCluster) { mc.Labels["env"] = "test" })
	f.waitMemberState(f.a, v1alpha1.MemberHealthy)
	f.waitMemberState(f.b, v1alpha1.MemberHealthy)

	sel := func(name string) {
		app := f.newApp(name, v1alpha1.RestartPolicyNever)
		app.Spec.ClusterSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"env": "test"}}
		if err := hubEnv.Client.Create(f.ctx, app); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		sel("sel-" + strconv.Itoa(i))
	}
	testenv.Eventually(t, 20*time.Second, "the hub", func() string {
		for i := range 3 {
			p := f.hubApp("sel-" + strconv.Itoa(i)).Status.Placement
			if p == nil || p.Cluster != f.b {
				return fmt.Sprintf("sel-%d placed %+v, want on %s (the only env=test member)", i, p, f.b)
			}
		}
		return ""
	})

	f.patchMember(f.b, func(mc *v1alpha1.MemberCluster) { mc.Spec.Draining = true })
	f.waitMemberState(f.b, v1alpha1.MemberDraining)
	sel("while-draining")
	testenv.Eventually(t, 20*time.Second, "the hub", func() string {
		app := f.hubApp("while-draining")
		if got := condition(app, v1alpha1.ConditionPlaced); got != "False/NoEligibleCluster" || app.Status.Placement != nil {
			return fmt.Sprintf("Placed %s, placement %+v; want False/NoEligibleCluster and none", got, app.Status.Placement)
		}
		return ""
	})
	f.patchMember(f.b, func(mc *v1alpha1.MemberCluster) { mc.Spec.Draining = false })
	testenv.Eventually(t, 20*time.Second, "the hub", func() string {
		if p := f.hubApp("while-draining").Status.Placement; p == nil || p.Cluster != f.b {
			return fmt.Sprintf("placement %+v after uncordon, want on %s", p, f.b)
		}
		return ""
	})
}

// TestLostMemberNotStarted is the fencing invariant: applications placed on
// member A whose driver A never started (its operator was down) are
// re-placed on B with epoch 2 when A is Lost; A's operator, back while A
// is still cut off from the hub, cannot start them (no lease), and when A
// is reachable again its stale copies are deleted. Every application runs
// exactly once and ends with one final state.
func TestLostMemberNotStarted(t *testing.T) {
	f := newFleet(t)
	f.startMemberOperator(envB)
	f.patchMember(f.b, func(mc *v1alpha1.MemberCluster) { mc.Spec.Draining = true })
	f.waitMemberState(f.a, v1alpha1.MemberHealthy)
	f.waitMemberState(f.b, v1alpha1.MemberDraining)

	const n = 5
	names := make([]string, n)
	for i := range names {
		names[i] = "fenced-" + strconv.Itoa(i)
		f.app(names[i], v1alpha1.RestartPolicyNever)
	}
	testenv.Eventually(t, 20*time.Second, "the hub", func() string {
		if got := len(f.copies(envA)); got != n {
			return fmt.Sprintf("%d copies on A, want %d", got, n)
		}
		return ""
	})
	f.patchMember(f.b, func(mc *v1alpha1.MemberCluster) { mc.Spec.Draining = false })
	f.waitMemberState(f.b, v1alpha1.MemberHealthy)

	f.partitionA()
	testenv.Eventually(t, 30*time.Second, "the hub", func() string {
		for _, name := range names {
			app := f.hubApp(name)
			if p := app.Status.Placement; p == nil || p.Cluster != f.b || p.Epoch != 2 {
				return fmt.Sprintf("%s placed %+v, want on B at epoch 2", name, p)
			}
		}
		if got := len(f.drivers(envB)); got != n {
			return fmt.Sprintf("%d drivers on B, want %d", got, n)
		}
		return ""
	})
	for _, name := range names {
		if got := condition(f.hubApp(name), v1alpha1.ConditionClusterLost); got != "none" {
			t.Errorf("%s: ClusterLost %s; a never-started application is re-placed, not lost", name, got)
		}
	}

	// A's operator comes to life while A is still cut off from the hub.
	f.startMemberOperator(envA)
	testenv.Eventually(t, 20*time.Second, "the hub", func() string {
		for _, cp := range f.copies(envA) {
			if got := condition(&cp, v1alpha1.ConditionLeased); got != "False/WaitingForLease" {
				return fmt.Sprintf("copy %s on A: Leased %s, want False/WaitingForLease", cp.Name, got)
			}
		}
		return ""
	})
	if got := len(f.drivers(envA)); got != 0 {
		t.Fatalf("member A started %d drivers for applications the hub re-placed: two drivers for one application", got)
	}

	f.proxyA.setCut(false)
	f.waitMemberState(f.a, v1alpha1.MemberHealthy)
	if got := len(f.copies(envA)); got != 0 {
		t.Errorf("%d stale copies left on A after it came back, want 0 (deleted before it is Healthy)", got)
	}
	if got := len(f.drivers(envA)); got != 0 {
		t.Fatalf("member A started %d drivers", got)
	}
	f.finishDrivers(envB)
	testenv.Eventually(t, 30*time.Second, "the hub", func() string {
		for _, name := range names {
			if st := f.hubApp(name).Status.State; st != v1alpha1.StateSucceeded {
				return fmt.Sprintf("%s is %q, want Succeeded", name, st)
			}
		}
		return ""
	})
}

// TestLostMemberStarted: an application whose driver may have started on
// the lost member gets ClusterLost; restartPolicy Never ends it Failed,
// OnFailure resubmits it on the other member (at-least-once). When the
// member comes back both old copies are deleted there.
func TestLostMemberStarted(t *testing.T) {
	f := newFleet(t)
	f.startMemberOperator(envA)
	f.startMemberOperator(envB)
	f.patchMember(f.b, func(mc *v1alpha1.MemberCluster) { mc.Spec.Draining = true })
	f.waitMemberState(f.a, v1alpha1.MemberHealthy)
	f.waitMemberState(f.b, v1alpha1.MemberDraining)
	f.app("never", v1alpha1.RestartPolicyNever)
	f.app("onfailure", v1alpha1.RestartPolicyOnFailure)
	testenv.Eventually(t, 20*time.Second, "the hub", func() string {
		if got := len(f.drivers(envA)); got != 2 {
			return fmt.Sprintf("%d drivers on A, want 2", got)
		}
		return ""
	})
	f.patchMember(f.b, func(mc *v1alpha1.MemberCluster) { mc.Spec.Draining = false })
	f.waitMemberState(f.b, v1alpha1.MemberHealthy)

	f.partitionA()
	testenv.Eventually(t, 30*time.Second, "the hub", func() string {
		never := f.hubApp("never")
		if never.Status.State != v1alpha1.StateFailed || condition(never, v1alpha1.ConditionClusterLost) != "True/ClusterLost" || condition(never, v1alpha1.ConditionCompleted) != "True/ClusterLost" {
			return fmt.Sprintf("never: state %q, ClusterLost %s, Completed %s; want Failed, True/ClusterLost twice", never.Status.State, condition(never, v1alpha1.ConditionClusterLost), condition(never, v1alpha1.ConditionCompleted))
		}
		again := f.hubApp("onfailure")
		if p := again.Status.Placement; p == nil || p.Cluster != f.b || p.Epoch != 2 || p.Resubmissions != 1 {
			return fmt.Sprintf("onfailure placed %+v, want on B, epoch 2, 1 resubmission", p)
		}
		if condition(again, v1alpha1.ConditionClusterLost) != "True/ClusterLost" {
			return "onfailure: no ClusterLost condition"
		}
		if got := len(f.drivers(envB)); got != 1 {
			return fmt.Sprintf("%d drivers on B, want 1 (onfailure resubmitted)", got)
		}
		return ""
	})
	f.proxyA.setCut(false)
	f.waitMemberState(f.a, v1alpha1.MemberHealthy)
	testenv.Eventually(t, 20*time.Second, "the hub", func() string {
		if got := len(f.copies(envA)); got != 0 {
			return fmt.Sprintf("%d copies left on A, want 0", got)
		}
		return ""
	})
	if st := f.hubApp("never").Status.State; st != v1alpha1.StateFailed {
		t.Errorf("never: %q after A came back, want Failed to stand", st)
	}
}

// TestDeleteAndCollect: deleting the hub application deletes its copy; a
// copy whose origin never existed on this hub is collected.
func TestDeleteAndCollect(t *testing.T) {
	f := newFleet(t)
	f.patchMember(f.a, func(mc *v1alpha1.MemberCluster) { mc.Spec.Draining = true })
	f.waitMemberState(f.b, v1alpha1.MemberHealthy)
	app := f.app("doomed", v1alpha1.RestartPolicyNever)
	testenv.Eventually(t, 20*time.Second, "the hub", func() string {
		if got := len(f.copies(envB)); got != 1 {
			return fmt.Sprintf("%d copies on B, want 1", got)
		}
		return ""
	})
	if err := hubEnv.Client.Delete(f.ctx, app); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, "the hub", func() string {
		if got := len(f.copies(envB)); got != 0 {
			return fmt.Sprintf("%d copies on B after the hub application was deleted, want 0", got)
		}
		return ""
	})

	orphan := f.newApp("orphan", v1alpha1.RestartPolicyNever)
	orphan.Labels = map[string]string{v1alpha1.LabelHubID: f.id, v1alpha1.LabelOriginUID: "00000000-0000-0000-0000-000000000000", v1alpha1.LabelPlacementEpoch: "1"}
	if err := envB.Client.Create(f.ctx, orphan); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, "the hub", func() string {
		if got := len(f.copies(envB)); got != 0 {
			return fmt.Sprintf("orphan copy still on B (%d copies), want it collected", got)
		}
		return ""
	})
}

// TestScheduledRunsArePlaced: a ScheduledSparkApplication on the hub starts
// its runs there (the schedules' controller runs in the hub operator), and
// the hub places each run like any application; the run's mirrored final
// state is what the schedule sees.
func TestScheduledRunsArePlaced(t *testing.T) {
	f := newFleet(t)
	f.startMemberOperator(envB)
	f.patchMember(f.a, func(mc *v1alpha1.MemberCluster) { mc.Spec.Draining = true })
	f.waitMemberState(f.b, v1alpha1.MemberHealthy)
	schedule := &v1alpha1.ScheduledSparkApplication{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "nightly"},
		Spec:       v1alpha1.ScheduledSparkApplicationSpec{Schedule: "@every 1m", Template: f.newApp("template", v1alpha1.RestartPolicyNever).Spec},
	}
	if err := hubEnv.Client.Create(f.ctx, schedule); err != nil {
		t.Fatal(err)
	}
	// The first slot comes a minute after creation (the fleet's clock started
	// before it, so two minutes pass);
	// a spec change wakes the schedule to see it.
	f.clock.Step(2 * time.Minute)
	base := schedule.DeepCopy()
	schedule.Spec.SuccessfulRunHistoryLimit = ptr.To[int32](3)
	if err := hubEnv.Client.Patch(f.ctx, schedule, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	var run string
	testenv.Eventually(t, 30*time.Second, "the schedule's run placed on B and started", func() string {
		list := &v1alpha1.SparkApplicationList{}
		if err := hubEnv.Client.List(f.ctx, list, client.InNamespace(f.ns)); err != nil {
			return err.Error()
		}
		if len(list.Items) != 1 {
			return fmt.Sprintf("%d runs on the hub, want 1", len(list.Items))
		}
		app := list.Items[0]
		run = app.Name
		if p := app.Status.Placement; p == nil || p.Cluster != f.b {
			return fmt.Sprintf("run %s placed %+v, want on B", app.Name, p)
		}
		if got := len(f.drivers(envB)); got != 1 {
			return fmt.Sprintf("%d drivers on B, want 1", got)
		}
		return ""
	})
	f.finishDrivers(envB)
	testenv.Eventually(t, 30*time.Second, "the run's final state on the hub", func() string {
		if st := f.hubApp(run).Status.State; st != v1alpha1.StateSucceeded {
			return fmt.Sprintf("run %s is %q on the hub, want Succeeded", run, st)
		}
		return ""
	})
}

// TestOperatorVersion: the member operator's version comes from the label
// its leader election writes on its Lease (status.capacity.operatorVersion),
// with OperatorHealthy from the Lease's renewal.
func TestOperatorVersion(t *testing.T) {
	f := newFleet(t)
	f.waitMemberState(f.b, v1alpha1.MemberHealthy)
	if v := f.member(f.b).Status.Capacity.OperatorVersion; v != "" {
		t.Fatalf("operatorVersion %q without an operator Lease, want none", v)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "sparkplane-system"}}
	if err := envB.Client.Create(f.ctx, ns); client.IgnoreAlreadyExists(err) != nil {
		t.Fatal(err)
	}
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "sparkplane-operator", Labels: map[string]string{v1alpha1.LabelOperatorVersion: "v1.2.3-rc.1"}},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("operator-0"), LeaseDurationSeconds: ptr.To[int32](15),
			RenewTime: &metav1.MicroTime{Time: f.clock.Now()}},
	}
	if err := envB.Client.Create(f.ctx, lease); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = envB.Client.Delete(context.Background(), lease) })
	testenv.Eventually(t, 20*time.Second, "the heartbeat", func() string {
		mc := f.member(f.b)
		healthy := meta.FindStatusCondition(mc.Status.Conditions, v1alpha1.MemberConditionOperatorHealthy)
		if mc.Status.Capacity.OperatorVersion != "v1.2.3-rc.1" || healthy == nil || healthy.Status != metav1.ConditionTrue {
			return fmt.Sprintf("operatorVersion %q, OperatorHealthy %+v; want v1.2.3-rc.1 and True", mc.Status.Capacity.OperatorVersion, healthy)
		}
		return ""
	})
}
