package sparkapplication_test

import (
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/sparkapplication"
	"github.com/sparkplane/sparkplane/internal/submit"
)

// counter reads one series of a counter from the controller-runtime registry
// the operator serves.
func counter(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					continue series
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// TestAttemptCountedOnceWhenPatchConflicts: a reconcile that ends an attempt
// but loses its status patch to a conflict decides the same again on the
// next reconcile; the attempt is counted once, by the reconcile whose patch
// was written.
func TestAttemptCountedOnceWhenPatchConflicts(t *testing.T) {
	h := newHarness(t, sparkapplication.Options{})
	h.create(scalaApp(h.ns, "conflict"))
	h.reconcile("conflict")
	stale := h.get("conflict")
	h.setPodStatus(submit.NamesFor(stale, 1).DriverPod, failed("Error", 1))
	// Another writer of the status (the interruption controller) moves the
	// application on after the stale read.
	other := stale.DeepCopy()
	other.Status.Interruptions = &v1alpha1.InterruptionStatus{Notices: 1}
	if err := env.Client.Status().Patch(h.ctx, other, client.MergeFrom(stale)); err != nil {
		t.Fatal(err)
	}
	finished := map[string]string{"result": "failed", "reason": v1alpha1.ReasonDriverFailed}
	const metric = "sparkplane_sparkapplication_attempts_finished_total"
	before := counter(t, metric, finished)

	ctrl := sparkapplication.NewController(staleReads{Client: env.Client, app: stale}, env.Client, sparkapplication.Options{Clock: h.clock})
	_, err := ctrl.Reconcile(h.ctx, reconcile.Request{NamespacedName: client.ObjectKey{Namespace: h.ns, Name: "conflict"}})
	if !apierrors.IsConflict(err) {
		t.Fatalf("reconcile from a stale copy: err = %v, want a conflict", err)
	}
	h.reconcile("conflict")
	if got := h.get("conflict").Status.State; got != v1alpha1.StateFailed {
		t.Fatalf("state %q, want Failed", got)
	}
	if n := counter(t, metric, finished) - before; n != 1 {
		t.Errorf("%s{result=failed,reason=DriverFailed} grew by %v for one failed attempt, want 1", metric, n)
	}
}
