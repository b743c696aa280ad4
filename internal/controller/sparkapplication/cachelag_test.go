package sparkapplication_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/sparkapplication"
)

// laggingReads serves an old copy of one application for its next `reads`
// reads, as a cache that has not seen this process's status write yet.
type laggingReads struct {
	client.Client
	name  string
	old   atomic.Pointer[v1alpha1.SparkApplication]
	reads atomic.Int32
}

func (l *laggingReads) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if app, ok := obj.(*v1alpha1.SparkApplication); ok && key.Name == l.name && l.reads.Add(-1) >= 0 {
		l.old.Load().DeepCopyInto(app)
		return nil
	}
	return l.Client.Get(ctx, key, obj, opts...)
}

// TestCacheLagWaitsForItsOwnStatus: a reconcile that reads the application
// from a cache without the attempt this process just submitted creates
// nothing and waits for the status write's watch event (a long safety-net
// requeue only), instead of polling; when the cache catches up while it
// decides to wait, it comes back at once.
func TestCacheLagWaitsForItsOwnStatus(t *testing.T) {
	h := newHarness(t, sparkapplication.Options{})
	lag := &laggingReads{Client: env.Client, name: "lag"}
	ctrl := sparkapplication.NewController(lag, env.Client, sparkapplication.Options{Clock: h.clock})
	reconcileLagging := func() reconcile.Result {
		t.Helper()
		res, err := ctrl.Reconcile(h.ctx, reconcile.Request{NamespacedName: client.ObjectKey{Namespace: h.ns, Name: "lag"}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	h.create(scalaApp(h.ns, "lag"))
	lag.old.Store(h.get("lag")) // before its submission
	reconcileLagging()
	submitted := h.get("lag")
	if submitted.Status.Attempts != 1 {
		t.Fatalf("attempts %d after the first reconcile", submitted.Status.Attempts)
	}

	// Both reads of the reconcile (its own and the check after it decided
	// to wait) see the old copy: it waits.
	lag.reads.Store(2)
	if res := reconcileLagging(); res.RequeueAfter < 5*time.Second {
		t.Errorf("a reconcile from a lagging cache requeued after %s; want to wait for the status write's event (a safety net of seconds)", res.RequeueAfter)
	}
	// Only the reconcile's own read is old: the check finds the status.
	lag.reads.Store(1)
	if res := reconcileLagging(); res.RequeueAfter <= 0 || res.RequeueAfter > 10*time.Millisecond {
		t.Errorf("the cache caught up while the reconcile decided to wait: requeue after %s, want at once", res.RequeueAfter)
	}
	if pods := h.driverPods("lag"); len(pods) != 1 {
		t.Errorf("%d driver pods; the lagging reconciles must create none", len(pods))
	}
	if got := h.get("lag"); got.ResourceVersion != submitted.ResourceVersion {
		t.Errorf("a lagging reconcile wrote the status (attempts %d)", got.Status.Attempts)
	}
}

// TestForgetsDeletedApplications: what the controller remembers of its own
// submissions goes with the application, also when it is deleted before it
// ends (a running application deleted, its namespace deleted).
func TestForgetsDeletedApplications(t *testing.T) {
	h := newHarness(t, sparkapplication.Options{})
	h.create(scalaApp(h.ns, "gone"))
	h.reconcile("gone")
	if n := h.ctrl.Remembered(); n != 1 {
		t.Fatalf("after submitting: %d applications remembered, want 1", n)
	}
	first := h.get("gone")
	if err := env.Client.Delete(h.ctx, first); err != nil {
		t.Fatal(err)
	}
	h.reconcile("gone") // the deletion's event
	if n := h.ctrl.Remembered(); n != 0 {
		t.Errorf("after the deletion: %d applications remembered, want 0", n)
	}
}
