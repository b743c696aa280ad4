//go:build e2e

package e2e

import (
	"context"
	"testing"
	"time"

	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
	"github.com/sparkplane/sparkplane/internal/controller/sparkprofile"
	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/imageplatforms"
	"github.com/sparkplane/sparkplane/internal/imageplatforms/registrytest"
	"github.com/sparkplane/sparkplane/test/e2e/framework"
)

// TestImagePlatformsOnKarpenter: with Karpenter creating nodes, a fleet
// whose image is amd64-only (read from an in-process registry at
// submission) gets no arm64 node: its executors, created from the
// operator's template as the Spark driver creates them, start on amd64
// Spot. The same fleet with a two-platform image starts on arm64 Spot, the
// profile's first tier.
func TestImagePlatformsOnKarpenter(t *testing.T) {
	if testing.Short() {
		t.Skip("long: starts Karpenter and waits for it to provision nodes")
	}
	reg, err := registrytest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	c := framework.Up(t, devcluster.Options{Karpenter: true, Zones: 2})
	cl := operatorOn(t, c, sparkprofile.ResolverOptions{NodesOnDemand: true, Zones: devcluster.Zones(2),
		Images: sparkprofile.ImageOptions{Lookup: imageplatforms.New(imageplatforms.Options{})}})
	const executors = 4

	fleet := func(name, repo string) map[string]*corev1.Node {
		ns := c.Namespace(t)
		app, objs := submitThroughOperator(t, cl, ns, executors, 1, func(a *v1alpha1.SparkApplication) {
			a.Name = name
			a.Spec.Image = ptr.To(reg.Image(repo))
		})
		if imgs := app.Status.Resolution.Images; len(imgs) != 1 || imgs[0].Digest == "" {
			t.Fatalf("%s: status.resolution.images = %+v, want the image's digest and platforms", name, imgs)
		}
		t.Logf("%s: image %s platforms %v, tiers left out %v", name, app.Status.Resolution.Images[0].Image,
			app.Status.Resolution.Images[0].Platforms, app.Status.Resolution.ExcludedTiers)
		executorsFromTemplate(t, c, objs, executors)
		placed := scheduledNodes(t, c, ns, executors+1, 4*time.Minute)
		delete(placed, objs.DriverPod.Name)
		return placed
	}
	arm64Nodes := func() int {
		nodes := &corev1.NodeList{}
		if err := c.Client.List(context.Background(), nodes, client.HasLabels{karpv1.NodePoolLabelKey}); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, node := range nodes.Items {
			if node.Labels[corev1.LabelArchStable] == devcluster.ArchArm64 {
				n++
			}
		}
		return n
	}

	for pod, node := range fleet("amd64-only", registrytest.AMD64Repo) {
		l := node.Labels
		t.Logf("amd64-only: %s → %s (%s %s %s)", pod, node.Name, l[karpv1.NodePoolLabelKey], l[corev1.LabelArchStable], l[karpv1.CapacityTypeLabelKey])
		if l[corev1.LabelArchStable] != devcluster.ArchAmd64 || l[karpv1.CapacityTypeLabelKey] != karpv1.CapacityTypeSpot {
			t.Errorf("amd64-only executor %s on %s/%s, want amd64 spot", pod, l[corev1.LabelArchStable], l[karpv1.CapacityTypeLabelKey])
		}
	}
	if n := arm64Nodes(); n != 0 {
		t.Errorf("Karpenter created %d arm64 nodes for an amd64-only fleet, want none", n)
	}

	for pod, node := range fleet("multiarch", registrytest.MultiArchRepo) {
		l := node.Labels
		t.Logf("multiarch: %s → %s (%s %s %s)", pod, node.Name, l[karpv1.NodePoolLabelKey], l[corev1.LabelArchStable], l[karpv1.CapacityTypeLabelKey])
		if l[corev1.LabelArchStable] != devcluster.ArchArm64 || l[karpv1.CapacityTypeLabelKey] != karpv1.CapacityTypeSpot {
			t.Errorf("multiarch executor %s on %s/%s, want arm64 spot", pod, l[corev1.LabelArchStable], l[karpv1.CapacityTypeLabelKey])
		}
	}
}
