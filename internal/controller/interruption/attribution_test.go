package interruption

import (
	"context"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/spark"
)

// TestDecommissionCountsOnlyDeletesItStarted: the controller's delete is
// conditional on the resourceVersion it read, so when an eviction (as
// Karpenter's drain makes) reached the pod first the controller neither
// counts the executor nor writes its ExecutorDecommissioning event — the
// event a reader uses to attribute the delete to sparkplane. A pod that was
// only updated meanwhile is still decommissioned.
func TestDecommissionCountsOnlyDeletesItStarted(t *testing.T) {
	c := newCluster(t)
	c.node("doomed", nil)
	c.application("app", v1alpha1.RestartPolicyType("Never"))
	evicted := c.pod("exec-evicted", "doomed", spark.RoleExecutor, "app")
	updated := c.pod("exec-updated", "doomed", spark.RoleExecutor, "app")
	var ctrl *Controller
	env.StartManager(t, func(mgr manager.Manager) error {
		var err error
		if ctrl, err = NewController(Options{StatusFlushDelay: 50 * time.Millisecond}); err != nil {
			return err
		}
		return ctrl.Register(mgr)
	})
	ctx := context.Background()

	// Someone else evicts the pod after the controller read it.
	if err := env.Client.SubResource("eviction").Create(ctx, evicted, &policyv1.Eviction{}); err != nil {
		t.Fatalf("evicting: %v", err)
	}
	evictedGrace := ptr.Deref(c.getPod("exec-evicted").DeletionGracePeriodSeconds, -1)
	// And another pod gets a label after the controller read it.
	live := c.getPod("exec-updated")
	live.Labels["touched"] = "yes"
	if err := env.Client.Update(ctx, live); err != nil {
		t.Fatal(err)
	}

	notice := Notice{Signal: SignalKarpenterDisrupted, Time: time.Now()}
	before := counterValue(t, executorsDecommissionedTotal.WithLabelValues(SignalKarpenterDisrupted))
	if grace, err := ctrl.decommissionExecutor(ctx, evicted, notice); err != nil || grace != -1 {
		t.Errorf("pod evicted first: grace %d, err %v; want -1 (not ours) and no error", grace, err)
	}
	if grace, err := ctrl.decommissionExecutor(ctx, updated, notice); err != nil || grace < 100 {
		t.Errorf("pod updated meanwhile: grace %d, err %v; want a decommission with ~115s", grace, err)
	}
	if got := counterValue(t, executorsDecommissionedTotal.WithLabelValues(SignalKarpenterDisrupted)) - before; got != 1 {
		t.Errorf("executors decommissioned went up by %v, want 1 (only the pod whose delete was ours)", got)
	}
	if g := ptr.Deref(c.getPod("exec-evicted").DeletionGracePeriodSeconds, -1); g != evictedGrace {
		t.Errorf("evicted pod's grace changed from %d to %d", evictedGrace, g)
	}
	waitForEvent(t, c.ns, "exec-updated", ReasonExecutorDecommissioning)
	settle()
	var list eventsv1.EventList
	if err := env.Client.List(ctx, &list, client.InNamespace(c.ns)); err != nil {
		t.Fatal(err)
	}
	for _, e := range list.Items {
		if e.Regarding.Name == "exec-evicted" && e.Reason == ReasonExecutorDecommissioning {
			t.Errorf("the evicted pod got sparkplane's mark: %s", e.Note)
		}
	}
}
