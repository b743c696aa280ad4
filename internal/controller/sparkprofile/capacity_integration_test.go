package sparkprofile_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/sparkprofile"
	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/profile"
	"github.com/sparkplane/sparkplane/internal/testenv"
)

// TestZoneFromFreeCapacity: without nodes on demand, the resolver chooses
// the zone from free capacity kept up to date by pod events (no pod list
// per submission), and its choice and reason equal a from-scratch
// computation over every node and pod the API server has. Filling the
// executor nodes of the first zone moves new applications to the other.
func TestZoneFromFreeCapacity(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	installProfile(t, "cost-optimized", "capacity")
	fleet, err := devcluster.StaticFleet(devcluster.FleetOptions{Zones: 2, NodesPerTier: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range fleet {
		n.Name = "capacity-" + n.Name
		status, taints := n.Status, n.Spec.Taints
		if err := env.Client.Create(ctx, n); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(context.Background(), n) })
		n.Status = status
		if err := env.Client.Status().Update(ctx, n); err != nil {
			t.Fatal(err)
		}
		// The API server taints new nodes not-ready; a kubelet would lift it.
		n.Spec.Taints = taints
		if err := env.Client.Update(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	resolver := sparkprofile.NewResolver(sparkprofile.ResolverOptions{})
	env.StartManager(t, func(mgr manager.Manager) error { return resolver.Register(mgr) })

	app := newApplication(ns, "fits")
	app.UID = "fits-uid"
	app.Spec.Profile = "capacity"
	app.Spec.Executor.Instances = ptr.To[int32](4)
	app.Spec.Executor.Cores = ptr.To[int32](4)

	// agree resolves app through the resolver and from scratch until both
	// give the same zone and reason, and returns that zone.
	agree := func(what string) string {
		var got, want profile.ResolveResult
		testenv.Eventually(t, testenv.Timeout, what, func() (bool, string) {
			eff, note, err := resolver.Resolve(ctx, app.DeepCopy())
			if err != nil {
				return false, err.Error()
			}
			got = profile.ResolveResult{Zone: eff.Status.Zone}
			want = fromScratch(t, app)
			ok := got.Zone == want.Zone && note == sparkprofile.ResolvedNote(want) &&
				eff.Status.Resolution.ExecutorPriorityClass == want.Resolution().ExecutorPriorityClass &&
				eff.Status.Resolution.DriverPriorityClass == want.Resolution().DriverPriorityClass
			return ok, fmt.Sprintf("resolver: %q; from scratch: zone %s (%s)", note, want.Zone, want.ZoneReason)
		})
		return got.Zone
	}
	first := agree("the resolver to agree with a from-scratch choice on an empty cluster")

	// Fill every executor node of that zone.
	var filled int
	for _, n := range fleet {
		if n.Labels[corev1.LabelTopologyZone] != first || n.Labels[devcluster.LabelNodeRole] != devcluster.NodeRoleExecutor {
			continue
		}
		filler := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("filler-%d", filled)},
			Spec: corev1.PodSpec{NodeName: n.Name, Containers: []corev1.Container{{Name: "c", Image: "x", Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: n.Status.Allocatable[corev1.ResourceCPU], corev1.ResourceMemory: resource.MustParse("1Gi")},
			}}}},
		}
		if err := env.Client.Create(ctx, filler); err != nil {
			t.Fatal(err)
		}
		filled++
	}
	if filled == 0 {
		t.Fatalf("no executor node in zone %s to fill", first)
	}
	second := agree("the resolver to see the filled zone")
	t.Logf("before filling: %s; after: %s (%s)", first, second, fromScratch(t, app).ZoneReason)
	if second == first {
		t.Errorf("with every executor node of %s full, the resolver still chose it", first)
	}
}

// fromScratch resolves app over everything the API server holds, the way
// `sparkplane explain` does (sparkprofile.Input over an APIView).
func fromScratch(t *testing.T, app *v1alpha1.SparkApplication) profile.ResolveResult {
	t.Helper()
	in, err := sparkprofile.Input(context.Background(), env.Client, sparkprofile.APIView{Reader: env.Client}, sparkprofile.ResolverOptions{}, app)
	if err != nil {
		t.Fatal(err)
	}
	res, err := profile.Resolve(in)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
