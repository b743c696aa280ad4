package sparkapplication_test

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/sparkapplication"
)

func (h *harness) setSuspend(name string, suspend bool) {
	h.t.Helper()
	app := h.get(name)
	app.Spec.Suspend = ptr.To(suspend)
	if err := env.Client.Update(h.ctx, app); err != nil {
		h.t.Fatalf("setting spec.suspend=%v on %s: %v", suspend, name, err)
	}
}

// TestSuspendCreatesNothing: an application created suspended gets no driver
// and state Suspended; clearing spec.suspend submits attempt 1.
func TestSuspendCreatesNothing(t *testing.T) {
	h := newHarness(t, sparkapplication.Options{})
	app := scalaApp(h.ns, "held")
	app.Spec.Suspend = ptr.To(true)
	h.create(app)
	h.reconcile("held")
	h.reconcile("held") // a second look changes nothing and creates nothing
	got := h.get("held")
	if got.Status.State != v1alpha1.StateSuspended || got.Status.Attempts != 0 {
		t.Fatalf("suspended at creation: state %q attempts %d; want Suspended, 0", got.Status.State, got.Status.Attempts)
	}
	if c := condition(got, v1alpha1.ConditionSuspended); c.Status != metav1.ConditionTrue || c.Reason != v1alpha1.ReasonSuspended {
		t.Errorf("Suspended condition = %+v", c)
	}
	if pods := h.driverPods("held"); len(pods) != 0 {
		t.Fatalf("a suspended application created %d driver pods", len(pods))
	}

	h.setSuspend("held", false)
	h.reconcile("held")
	got = h.get("held")
	if got.Status.State != v1alpha1.StatePending || got.Status.Attempts != 1 {
		t.Fatalf("after resume: state %q attempts %d; want Pending, 1", got.Status.State, got.Status.Attempts)
	}
	if c := condition(got, v1alpha1.ConditionSuspended); c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonResumed {
		t.Errorf("Suspended condition after resume = %+v", c)
	}
	h.pod("held-1-driver")
}

// TestSuspendRunningDeletesDriver: suspending a running application deletes
// its driver and keeps the application; resuming starts attempt 2; a
// finished application ignores spec.suspend.
func TestSuspendRunningDeletesDriver(t *testing.T) {
	h := newHarness(t, sparkapplication.Options{})
	h.create(scalaApp(h.ns, "busy"))
	h.reconcile("busy")
	h.setPodStatus("busy-1-driver", running)
	h.reconcile("busy")
	if st := h.get("busy").Status.State; st != v1alpha1.StateRunning {
		t.Fatalf("state %q, want Running", st)
	}

	h.setSuspend("busy", true)
	h.reconcile("busy")
	got := h.get("busy")
	if got.Status.State != v1alpha1.StateSuspended || got.Status.Attempts != 1 {
		t.Fatalf("after suspend: state %q attempts %d", got.Status.State, got.Status.Attempts)
	}
	if c := condition(got, v1alpha1.ConditionRunning); c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonSuspended {
		t.Errorf("Running condition after suspend = %+v", c)
	}
	if !h.driverGone("busy-1-driver") {
		t.Fatal("the running driver must be deleted on suspend")
	}
	// The deleted driver's disappearance does not end the application.
	h.reconcile("busy")
	if st := h.get("busy").Status.State; st != v1alpha1.StateSuspended {
		t.Fatalf("state %q after the driver went, want Suspended", st)
	}

	h.setSuspend("busy", false)
	h.reconcile("busy")
	got = h.get("busy")
	if got.Status.State != v1alpha1.StatePending || got.Status.Attempts != 2 || got.Status.DriverInfo.PodName != "busy-2-driver" {
		t.Fatalf("after resume: state %q attempts %d driver %q; want Pending, 2, busy-2-driver", got.Status.State, got.Status.Attempts, got.Status.DriverInfo.PodName)
	}
	h.setPodStatus("busy-2-driver", succeeded)
	h.reconcile("busy")
	h.setSuspend("busy", true)
	h.reconcile("busy")
	if st := h.get("busy").Status.State; st != v1alpha1.StateSucceeded {
		t.Errorf("a finished application must ignore spec.suspend; state %q", st)
	}
}

// TestQueueAdmissionHolds: with Kueue admission on, an application labelled
// for a queue with spec.suspend unset waits Suspended; the queue controller's
// spec.suspend=false submits it. Without the label nothing is held.
func TestQueueAdmissionHolds(t *testing.T) {
	h := newHarness(t, sparkapplication.Options{QueueAdmission: true})
	app := scalaApp(h.ns, "queued")
	app.Labels = map[string]string{v1alpha1.LabelKueueQueueName: "team"}
	h.create(app)
	h.reconcile("queued")
	got := h.get("queued")
	if got.Status.State != v1alpha1.StateSuspended || len(h.driverPods("queued")) != 0 {
		t.Fatalf("queued, not admitted: state %q, %d drivers", got.Status.State, len(h.driverPods("queued")))
	}
	if c := condition(got, v1alpha1.ConditionSuspended); !strings.Contains(c.Message, "Kueue") {
		t.Errorf("Suspended condition = %+v, want it to say it waits for Kueue", c)
	}
	h.setSuspend("queued", false)
	h.reconcile("queued")
	if got := h.get("queued"); got.Status.Attempts != 1 {
		t.Fatalf("admitted: attempts %d, want 1", got.Status.Attempts)
	}
	h.create(scalaApp(h.ns, "plain"))
	h.reconcile("plain")
	if got := h.get("plain"); got.Status.Attempts != 1 {
		t.Fatalf("an unlabelled application is not held: attempts %d", got.Status.Attempts)
	}
}
