package devcluster

import (
	"testing"

	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestGroupNodes(t *testing.T) {
	fleet, err := StaticFleet(FleetOptions{Zones: 2, NodesPerTier: 2})
	if err != nil {
		t.Fatal(err)
	}
	var nodes []corev1.Node
	for i, n := range fleet {
		// Every third node is not Ready yet.
		status := corev1.ConditionTrue
		if i%3 == 0 {
			status = corev1.ConditionFalse
		}
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status}}
		nodes = append(nodes, *n)
	}
	groups := GroupNodes(nodes)
	type row struct {
		Pool, Arch, Capacity, Zone string
		Nodes                      int
	}
	var got []row
	ready, total := 0, 0
	for _, g := range groups {
		got = append(got, row{g.NodePool, g.Arch, g.CapacityType, g.Zone, g.Nodes})
		ready += g.Ready
		total += g.Nodes
	}
	want := []row{
		{NodePoolArm64Spot, ArchArm64, karpv1.CapacityTypeSpot, "us-east-1a", 2},
		{NodePoolArm64Spot, ArchArm64, karpv1.CapacityTypeSpot, "us-east-1b", 2},
		{NodePoolAmd64Spot, ArchAmd64, karpv1.CapacityTypeSpot, "us-east-1a", 2},
		{NodePoolAmd64Spot, ArchAmd64, karpv1.CapacityTypeSpot, "us-east-1b", 2},
		{NodePoolArm64OnDemand, ArchArm64, karpv1.CapacityTypeOnDemand, "us-east-1a", 2},
		{NodePoolArm64OnDemand, ArchArm64, karpv1.CapacityTypeOnDemand, "us-east-1b", 2},
		{NodePoolAmd64OnDemand, ArchAmd64, karpv1.CapacityTypeOnDemand, "us-east-1a", 2},
		{NodePoolAmd64OnDemand, ArchAmd64, karpv1.CapacityTypeOnDemand, "us-east-1b", 2},
		{NodePoolDriver, "mixed", karpv1.CapacityTypeOnDemand, "us-east-1a", 2},
		{NodePoolDriver, "mixed", karpv1.CapacityTypeOnDemand, "us-east-1b", 2},
		{NodePoolSystem, ArchArm64, karpv1.CapacityTypeOnDemand, "us-east-1a", 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
	if total != len(fleet) {
		t.Errorf("groups hold %d nodes, fleet %d", total, len(fleet))
	}
	if wantReady := len(fleet) - (len(fleet)+2)/3; ready != wantReady {
		t.Errorf("%d Ready, want %d", ready, wantReady)
	}
	// Two m7g.4xlarge nodes: 2 x 15890m.
	if cpu := groups[0].AllocatableCPU.MilliValue(); cpu != 2*15890 {
		t.Errorf("arm64-spot us-east-1a allocatable cpu %dm, want %dm", cpu, 2*15890)
	}
}
