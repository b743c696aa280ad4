package notice

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/sparkplane/sparkplane/internal/controller/interruption"
	"github.com/sparkplane/sparkplane/internal/spark"
)

func TestDeliverNotice(t *testing.T) {
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cases := map[string]struct {
		via        string
		wantTaint  corev1.Taint
		wantCordon bool
	}{
		"karpenter without Karpenter": {via: ViaKarpenter, wantTaint: corev1.Taint{Key: interruption.TaintKarpenterDisrupted, Effect: corev1.TaintEffectNoSchedule}},
		"nth": {via: ViaNTH, wantCordon: true,
			wantTaint: corev1.Taint{Key: interruption.TaintNTHSpotITN, Value: "dev-interrupt-1795608000", Effect: corev1.TaintEffectNoSchedule}},
		"spot-itn": {via: ViaSpotITN,
			wantTaint: corev1.Taint{Key: interruption.TaintNTHSpotITN, Value: "dev-interrupt-1795608000", Effect: corev1.TaintEffectNoSchedule}},
		"autoscaler": {via: ViaAutoscaler, wantTaint: corev1.Taint{Key: interruption.TaintClusterAutoscaler, Value: "1795608000", Effect: corev1.TaintEffectNoSchedule}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			existing := corev1.Taint{Key: "example.com/dedicated", Value: "spark", Effect: corev1.TaintEffectNoSchedule}
			c := fake.NewClientBuilder().WithObjects(&corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: "spot-1"},
				Spec:       corev1.NodeSpec{Taints: []corev1.Taint{existing}},
			}).Build()
			ctx := context.Background()
			// Twice: a repeated notice adds nothing.
			for range 2 {
				if _, err := Deliver(ctx, c, "spot-1", tc.via, at); err != nil {
					t.Fatal(err)
				}
			}
			node := &corev1.Node{}
			if err := c.Get(ctx, client.ObjectKey{Name: "spot-1"}, node); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]corev1.Taint{existing, tc.wantTaint}, node.Spec.Taints); diff != "" {
				t.Errorf("taints (-want +got):\n%s", diff)
			}
			if node.Spec.Unschedulable != tc.wantCordon {
				t.Errorf("unschedulable = %v, want %v", node.Spec.Unschedulable, tc.wantCordon)
			}
			// The controller reads the notice the way it was delivered.
			notice, ok := interruption.DetectNotice(node, interruption.DefaultSignals(), at.Add(time.Minute))
			if !ok {
				t.Fatalf("the controller sees no notice on %+v", node.Spec.Taints)
			}
			if tc.via == ViaAutoscaler && !notice.Time.Equal(at) {
				t.Errorf("cluster-autoscaler notice time = %s, want %s from the taint's value", notice.Time, at)
			}
		})
	}
}

func TestDeliverNoticeDeletesNodeClaim(t *testing.T) {
	claim := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "karpenter.sh/v1", "kind": "NodeClaim",
		"metadata": map[string]any{"name": "arm64-spot-x7k2p"},
		"status":   map[string]any{"nodeName": "spot-1"},
	}}
	c := fake.NewClientBuilder().WithObjects(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "spot-1"}}, claim).Build()
	ctx := context.Background()
	how, err := Deliver(ctx, c, "spot-1", ViaKarpenter, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(how, "deleted NodeClaim arm64-spot-x7k2p") {
		t.Errorf("deliverNotice said %q, want it to name the deleted NodeClaim", how)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(claim), claim.DeepCopy()); !apierrors.IsNotFound(err) {
		t.Errorf("NodeClaim still there (get error %v); Karpenter would not drain the node", err)
	}
	node := &corev1.Node{}
	if err := c.Get(ctx, client.ObjectKey{Name: "spot-1"}, node); err != nil {
		t.Fatal(err)
	}
	if len(node.Spec.Taints) != 0 {
		t.Errorf("node tainted %v; with Karpenter the taint is Karpenter's to add", node.Spec.Taints)
	}
}

func TestDeliverNoticeUnknownNode(t *testing.T) {
	c := fake.NewClientBuilder().Build()
	_, err := Deliver(context.Background(), c, "nope", ViaNTH, time.Now())
	if err == nil || !strings.Contains(err.Error(), `node "nope" not found`) {
		t.Fatalf("deliverNotice on a missing node = %v, want a not-found error naming it", err)
	}
}

func TestPickSpotNodes(t *testing.T) {
	node := func(name, capacity string, taints ...corev1.Taint) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{karpv1.CapacityTypeLabelKey: capacity}}, Spec: corev1.NodeSpec{Taints: taints}}
	}
	executor := func(name, node string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "spark", Labels: map[string]string{spark.LabelRole: spark.RoleExecutor}},
			Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	}
	objects := []client.Object{
		node("spot-a", "spot"), node("spot-b", "spot"), node("spot-c", "spot"), node("spot-d", "spot"),
		node("spot-idle", "spot"),
		node("spot-noticed", "spot", corev1.Taint{Key: interruption.TaintKarpenterDisrupted, Effect: corev1.TaintEffectNoSchedule}),
		node("od-a", "on-demand"),
		executor("e1", "spot-a"), executor("e2", "spot-b"), executor("e3", "spot-c"), executor("e4", "spot-d"),
		executor("e5", "spot-noticed"), executor("e6", "od-a"),
	}
	c := fake.NewClientBuilder().WithObjects(objects...).Build()
	ctx := context.Background()
	first, candidates, err := PickSpotNodes(ctx, c, 2, 42)
	if err != nil {
		t.Fatal(err)
	}
	if candidates != 4 || len(first) != 2 {
		t.Fatalf("picked %v of %d candidates, want 2 of 4 (spot, running executors, no notice yet)", first, candidates)
	}
	again, _, _ := PickSpotNodes(ctx, c, 2, 42)
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("same seed picked differently (-first +again):\n%s", diff)
	}
	all, _, _ := PickSpotNodes(ctx, c, 10, 1)
	for _, name := range all {
		if !strings.HasPrefix(name, "spot-") || name == "spot-idle" || name == "spot-noticed" {
			t.Errorf("picked %s, which is not a spot node running executors without a notice", name)
		}
	}
	if len(all) != 4 {
		t.Errorf("--random 10 picked %v, want all 4 candidates", all)
	}
	empty := fake.NewClientBuilder().WithObjects(node("spot-idle", "spot")).Build()
	if _, _, err := PickSpotNodes(ctx, empty, 1, 1); err == nil || !strings.Contains(err.Error(), "submit an application first") {
		t.Errorf("no candidates: error = %v, want one saying to submit an application", err)
	}
}

func TestRemoveWhenDue(t *testing.T) {
	c := fake.NewClientBuilder().WithObjects(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "a"}}).Build()
	var out strings.Builder
	if err := RemoveWhenDue(context.Background(), c, []string{"a", "b"}, time.Now(), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "node a: removed") || !strings.Contains(out.String(), "node b: already gone") {
		t.Errorf("report %q, want node a removed and b already gone", out.String())
	}
	if err := c.Get(context.Background(), client.ObjectKey{Name: "a"}, &corev1.Node{}); !apierrors.IsNotFound(err) {
		t.Errorf("node a after removal: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := RemoveWhenDue(ctx, c, []string{"x"}, time.Now().Add(time.Hour), io.Discard); err == nil || !strings.Contains(err.Error(), "keep their notice") {
		t.Errorf("stopped early: %v, want an error saying the nodes keep their notice", err)
	}
}
