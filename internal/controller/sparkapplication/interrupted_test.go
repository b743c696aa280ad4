package sparkapplication_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/sparkapplication"
	"github.com/sparkplane/sparkplane/internal/submit"
	"github.com/sparkplane/sparkplane/internal/testenv"
)

// reportInterruptedDriver writes what the interruption controller writes for
// a driver on a node with a notice: status.interruptions.driver and
// DriverNodeInterrupted=True, as a merge patch guarded by the
// resourceVersion it read.
func reportInterruptedDriver(t *testing.T, ctx context.Context, ns, app, driver, node string) {
	t.Helper()
	for {
		got := &v1alpha1.SparkApplication{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: app}, got); err != nil {
			t.Fatal(err)
		}
		base := got.DeepCopy()
		if got.Status.Interruptions == nil {
			got.Status.Interruptions = &v1alpha1.InterruptionStatus{}
		}
		got.Status.Interruptions.Driver = &v1alpha1.DriverInterruption{Pod: driver, Node: node, Signal: "spot-itn", NoticeTime: metav1.NewTime(time.Now().Truncate(time.Second))}
		meta.SetStatusCondition(&got.Status.Conditions, metav1.Condition{
			Type: v1alpha1.ConditionDriverNodeInterrupted, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonDriverNodeInterrupted,
			// The node is named in status.interruptions.driver only: the
			// message is for people, not for the application controller.
			Message:            fmt.Sprintf("The driver's node got a spot-itn notice at %s and is going away.", time.Now().UTC().Format(time.RFC3339)),
			ObservedGeneration: got.Generation,
		})
		err := env.Client.Status().Patch(ctx, got, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return
	}
}

// bindDriver schedules the driver pod on node, as the scheduler would (so a
// delete leaves it terminating, as on a real node).
func (h *harness) bindDriver(name, node string) {
	h.t.Helper()
	pod := h.pod(name)
	binding := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.ns}, Target: corev1.ObjectReference{Kind: "Node", Name: node}}
	if err := env.Client.SubResource("binding").Create(h.ctx, pod, binding); err != nil {
		h.t.Fatalf("binding %s to %s: %v", name, node, err)
	}
}

// driverGone is true when the pod no longer exists or is terminating.
func (h *harness) driverGone(name string) bool {
	h.t.Helper()
	pod := &corev1.Pod{}
	err := env.Client.Get(h.ctx, client.ObjectKey{Namespace: h.ns, Name: name}, pod)
	if apierrors.IsNotFound(err) {
		return true
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return !pod.DeletionTimestamp.IsZero()
}

// TestDriverNodeInterrupted: DriverNodeInterrupted=True on the current
// attempt's driver deletes that driver and ends the attempt with reason
// DriverNodeInterrupted; OnFailure retries it (and the next attempt sets the
// condition False so it does not fire again), Never fails naming the node and
// the profile's driver placement. A report naming an earlier attempt's
// driver, or a succeeded driver, is not turned into a failure.
func TestDriverNodeInterrupted(t *testing.T) {
	for _, tc := range []struct {
		name      string
		policy    v1alpha1.RestartPolicy
		wantState v1alpha1.ApplicationState
	}{
		{"OnFailure", v1alpha1.RestartPolicy{Type: v1alpha1.RestartPolicyOnFailure, OnFailureRetries: ptr.To[int32](2), OnFailureRetryInterval: ptr.To[int64](10)}, v1alpha1.StateRetrying},
		{"Never", v1alpha1.RestartPolicy{Type: v1alpha1.RestartPolicyNever}, v1alpha1.StateFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sparkapplication.Options{})
			app := scalaApp(h.ns, "spot")
			app.Spec.RestartPolicy = tc.policy
			h.create(app)
			h.reconcile("spot")
			first := submit.NamesFor(h.get("spot"), 1)
			h.bindDriver(first.DriverPod, "spot-node-1")
			h.setPodStatus(first.DriverPod, running)
			h.reconcile("spot")
			if st := h.get("spot").Status.State; st != v1alpha1.StateRunning {
				t.Fatalf("state %q, want Running", st)
			}

			reportInterruptedDriver(t, h.ctx, h.ns, "spot", first.DriverPod, "spot-node-1")
			h.reconcile("spot")
			got := h.get("spot")
			if got.Status.State != tc.wantState {
				t.Fatalf("after the interruption: state %q, want %q", got.Status.State, tc.wantState)
			}
			if c := condition(got, v1alpha1.ConditionRunning); c.Reason != v1alpha1.ReasonDriverNodeInterrupted || !strings.Contains(c.Message, "spot-node-1") {
				t.Errorf("Running condition = %+v; want reason DriverNodeInterrupted naming the node", c)
			}
			if !h.driverGone(first.DriverPod) {
				t.Errorf("driver pod %s on the interrupted node was not deleted", first.DriverPod)
			}
			// status.interruptions is the interruption controller's: the
			// application controller reads it and leaves it as written.
			if in := got.Status.Interruptions; in == nil || in.Notices != 0 || in.ExecutorsDecommissioned != 0 || in.Driver == nil || in.Driver.Pod != first.DriverPod || in.Driver.Node != "spot-node-1" {
				t.Errorf("status.interruptions changed by the application controller: %+v", in)
			}

			if tc.wantState == v1alpha1.StateFailed {
				c := condition(got, v1alpha1.ConditionCompleted)
				if c.Status != metav1.ConditionTrue || c.Reason != v1alpha1.ReasonDriverNodeInterrupted ||
					!strings.Contains(c.Message, "spot-node-1") || !strings.Contains(c.Message, "spec.driver.capacityType") {
					t.Errorf("Completed condition = %+v; want DriverNodeInterrupted naming the node and the profile's driver placement", c)
				}
				if pods := h.driverPods("spot"); len(pods) != 1 {
					t.Errorf("Never must not start another attempt; driver pods: %d", len(pods))
				}
				return
			}

			h.clock.Step(10 * time.Second)
			h.reconcile("spot")
			got = h.get("spot")
			second := submit.NamesFor(got, 2)
			if got.Status.Attempts != 2 || got.Status.State != v1alpha1.StatePending {
				t.Fatalf("after the backoff: attempts %d state %q; want attempt 2 Pending", got.Status.Attempts, got.Status.State)
			}
			if _, err := h.podOrNil(second.DriverPod); err != nil {
				t.Fatalf("attempt 2's driver pod: %v", err)
			}
			c := condition(got, v1alpha1.ConditionDriverNodeInterrupted)
			if c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonNextAttemptStarted || !strings.Contains(c.Message, first.DriverPod) {
				t.Errorf("DriverNodeInterrupted after attempt 2 started = %+v; want False, NextAttemptStarted, naming attempt 1's driver", c)
			}

			// Attempt 2 runs; a late (repeated) report about attempt 1's
			// driver must not end it.
			h.setPodStatus(second.DriverPod, running)
			reportInterruptedDriver(t, h.ctx, h.ns, "spot", first.DriverPod, "spot-node-1")
			h.reconcile("spot")
			if st := h.get("spot").Status; st.State != v1alpha1.StateRunning || st.Attempts != 2 {
				t.Fatalf("a report about attempt 1's driver ended attempt 2: state %q attempts %d", st.State, st.Attempts)
			}
			// A driver that already succeeded is a success, interrupted or not.
			h.setPodStatus(second.DriverPod, succeeded)
			reportInterruptedDriver(t, h.ctx, h.ns, "spot", second.DriverPod, "spot-node-2")
			h.reconcile("spot")
			if got := h.get("spot"); got.Status.State != v1alpha1.StateSucceeded {
				t.Errorf("succeeded driver on an interrupted node: state %q (%+v), want Succeeded", got.Status.State, condition(got, v1alpha1.ConditionRunning))
			}
		})
	}
}

func (h *harness) podOrNil(name string) (*corev1.Pod, error) {
	pod := &corev1.Pod{}
	err := env.Client.Get(h.ctx, client.ObjectKey{Namespace: h.ns, Name: name}, pod)
	return pod, err
}

// TestDriverNodeInterruptedRegistered: with the controller running as the
// operator runs it, the interruption controller's status patch alone (no
// generation change, no pod change) ends the running attempt and starts the
// next one.
func TestDriverNodeInterruptedRegistered(t *testing.T) {
	ns := env.Namespace(t)
	ctx := startRegisteredManager(t)

	c := env.Client
	app := scalaApp(ns, "spot")
	app.Spec.RestartPolicy = v1alpha1.RestartPolicy{Type: v1alpha1.RestartPolicyOnFailure, OnFailureRetries: ptr.To[int32](1), OnFailureRetryInterval: ptr.To[int64](1)}
	if err := c.Create(ctx, app); err != nil {
		t.Fatal(err)
	}
	get := func() *v1alpha1.SparkApplication {
		got := &v1alpha1.SparkApplication{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "spot"}, got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	testenv.Eventually(t, testenv.Timeout, "submission", func() string {
		if st := get().Status; st.State != v1alpha1.StatePending {
			return fmt.Sprintf("state %q", st.State)
		}
		return ""
	})
	first := submit.NamesFor(get(), 1)
	driver := &corev1.Pod{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: first.DriverPod}, driver); err != nil {
		t.Fatal(err)
	}
	running(&driver.Status)
	if err := c.Status().Update(ctx, driver); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, testenv.Timeout, "running", func() string {
		if st := get().Status; st.State != v1alpha1.StateRunning {
			return fmt.Sprintf("state %q", st.State)
		}
		return ""
	})

	reportInterruptedDriver(t, ctx, ns, "spot", first.DriverPod, "spot-node-1")
	second := submit.NamesFor(get(), 2)
	testenv.Eventually(t, testenv.Timeout, "attempt 2 after the interruption", func() string {
		got := get()
		if got.Status.Attempts != 2 {
			return fmt.Sprintf("attempts %d state %q", got.Status.Attempts, got.Status.State)
		}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: second.DriverPod}, &corev1.Pod{}); err != nil {
			return err.Error()
		}
		if cond := condition(got, v1alpha1.ConditionDriverNodeInterrupted); cond.Status != metav1.ConditionFalse || cond.Reason != v1alpha1.ReasonNextAttemptStarted {
			return fmt.Sprintf("DriverNodeInterrupted = %+v", cond)
		}
		return ""
	})
	testenv.Eventually(t, testenv.Timeout, "events", func() string {
		list := &eventsv1.EventList{}
		if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
			return err.Error()
		}
		for _, e := range list.Items {
			if e.Regarding.Name == "spot" && e.Reason == sparkapplication.EventRetrying && strings.Contains(e.Note, v1alpha1.ReasonDriverNodeInterrupted) {
				for _, e := range list.Items {
					if e.Regarding.Name == "spot" && e.Reason == sparkapplication.EventDriverNodeInterrupted {
						return ""
					}
				}
			}
		}
		return "no Retrying event naming DriverNodeInterrupted and no DriverNodeInterrupted event"
	})
}

// staleReads serves one old copy of the application, as a lagging cache would.
type staleReads struct {
	client.Client
	app *v1alpha1.SparkApplication
}

func (s staleReads) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if app, ok := obj.(*v1alpha1.SparkApplication); ok && key.Name == s.app.Name {
		s.app.DeepCopyInto(app)
		return nil
	}
	return s.Client.Get(ctx, key, obj, opts...)
}

// TestConditionsPatchIsGuarded: a reconcile working from a copy read before
// the interruption controller set DriverNodeInterrupted must not erase it
// (a merge patch replaces status.conditions whole): its patch conflicts.
func TestConditionsPatchIsGuarded(t *testing.T) {
	h := newHarness(t, sparkapplication.Options{})
	h.create(scalaApp(h.ns, "stale"))
	h.reconcile("stale")
	stale := h.get("stale")
	first := submit.NamesFor(stale, 1)
	h.setPodStatus(first.DriverPod, running)
	reportInterruptedDriver(t, h.ctx, h.ns, "stale", first.DriverPod, "spot-node-1")

	ctrl := sparkapplication.NewController(staleReads{Client: env.Client, app: stale}, env.Client, sparkapplication.Options{Clock: h.clock})
	_, err := ctrl.Reconcile(h.ctx, reconcile.Request{NamespacedName: client.ObjectKey{Namespace: h.ns, Name: "stale"}})
	if !apierrors.IsConflict(err) {
		t.Errorf("reconcile from a stale copy: err = %v, want a conflict", err)
	}
	if c := condition(h.get("stale"), v1alpha1.ConditionDriverNodeInterrupted); c.Status != metav1.ConditionTrue {
		t.Errorf("DriverNodeInterrupted after a stale reconcile = %+v; it was erased", c)
	}
}
