// Package notice simulates Spot interruption notices on a cluster the way
// the real components give them: Karpenter (deleting the node's NodeClaim,
// or its karpenter.sh/disrupted taint), aws-node-termination-handler (its
// spot-itn taint and a cordon) and the cluster autoscaler (its
// ToBeDeletedByClusterAutoscaler taint); it picks spot nodes that run
// executors, and removes the nodes when the notice runs out. `sparkplane dev
// interrupt` and the demo both use it.
package notice

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	"github.com/sparkplane/sparkplane/internal/controller/interruption"
	"github.com/sparkplane/sparkplane/internal/spark"
)

// The ways a notice is delivered, each as the real component does.
const (
	ViaKarpenter  = "karpenter"
	ViaNTH        = "nth"
	ViaAutoscaler = "autoscaler"
	// ViaSpotITN is the bare spot-itn taint, with no cordon: what an agent
	// that only reports the EC2 Spot interruption warning leaves on a node.
	ViaSpotITN = "spot-itn"
)

// nodeClaimGVK is Karpenter's NodeClaim; deleting one makes Karpenter taint
// (karpenter.sh/disrupted), drain and remove its node.
var nodeClaimGVK = schema.GroupVersionKind{Group: "karpenter.sh", Version: "v1", Kind: "NodeClaim"}

// Deliver gives node its notice the way via's component does and says
// what it did.
func Deliver(ctx context.Context, c client.Client, node, via string, at time.Time) (string, error) {
	var taint corev1.Taint
	cordon := false
	switch via {
	case ViaKarpenter:
		claim, err := nodeClaimOf(ctx, c, node)
		if err != nil {
			return "", err
		}
		if claim != "" {
			err := c.Delete(ctx, &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": nodeClaimGVK.GroupVersion().String(), "kind": nodeClaimGVK.Kind,
				"metadata": map[string]any{"name": claim},
			}})
			if err != nil && !apierrors.IsNotFound(err) {
				return "", fmt.Errorf("deleting NodeClaim %s of node %s: %w", claim, node, err)
			}
			return fmt.Sprintf("deleted NodeClaim %s (Karpenter taints %s and drains)", claim, interruption.TaintKarpenterDisrupted), nil
		}
		taint = corev1.Taint{Key: interruption.TaintKarpenterDisrupted, Effect: corev1.TaintEffectNoSchedule}
	case ViaNTH:
		taint = corev1.Taint{Key: interruption.TaintNTHSpotITN, Value: "dev-interrupt-" + strconv.FormatInt(at.Unix(), 10), Effect: corev1.TaintEffectNoSchedule}
		cordon = true
	case ViaSpotITN:
		taint = corev1.Taint{Key: interruption.TaintNTHSpotITN, Value: "dev-interrupt-" + strconv.FormatInt(at.Unix(), 10), Effect: corev1.TaintEffectNoSchedule}
	case ViaAutoscaler:
		taint = corev1.Taint{Key: interruption.TaintClusterAutoscaler, Value: strconv.FormatInt(at.Unix(), 10), Effect: corev1.TaintEffectNoSchedule}
	default:
		return "", fmt.Errorf("--via %q is not known: use karpenter, nth, spot-itn or autoscaler", via)
	}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n := &corev1.Node{}
		if err := c.Get(ctx, client.ObjectKey{Name: node}, n); err != nil {
			return err
		}
		if !slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == taint.Key }) {
			n.Spec.Taints = append(n.Spec.Taints, taint)
		}
		if cordon {
			n.Spec.Unschedulable = true
		}
		return c.Update(ctx, n)
	})
	if apierrors.IsNotFound(err) {
		return "", fmt.Errorf("node %q not found: list nodes with `kubectl get nodes` or pick with --random N", node)
	}
	if err != nil {
		return "", fmt.Errorf("tainting node %s: %w", node, err)
	}
	how := "tainted " + taint.Key + ":" + string(taint.Effect)
	if cordon {
		how += " and cordoned"
	}
	return how, nil
}

// nodeClaimOf returns the name of the Karpenter NodeClaim behind node, or ""
// when Karpenter is not installed or does not own the node.
func nodeClaimOf(ctx context.Context, c client.Client, node string) (string, error) {
	var claims unstructured.UnstructuredList
	claims.SetGroupVersionKind(nodeClaimGVK.GroupVersion().WithKind("NodeClaimList"))
	if err := c.List(ctx, &claims); err != nil {
		if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
			return "", nil
		}
		return "", fmt.Errorf("listing Karpenter NodeClaims: %w", err)
	}
	for _, claim := range claims.Items {
		if name, _, _ := unstructured.NestedString(claim.Object, "status", "nodeName"); name == node {
			return claim.GetName(), nil
		}
	}
	return "", nil
}

// PickSpotNodes picks up to n spot nodes that run executors and have no
// interruption notice yet, reproducibly for a seed. It returns the names and
// how many candidates there were.
func PickSpotNodes(ctx context.Context, c client.Client, n int, seed int64) ([]string, int, error) {
	var nodes corev1.NodeList
	if err := c.List(ctx, &nodes, client.MatchingLabels{karpv1.CapacityTypeLabelKey: karpv1.CapacityTypeSpot}); err != nil {
		return nil, 0, fmt.Errorf("listing spot nodes: %w", err)
	}
	var executors corev1.PodList
	if err := c.List(ctx, &executors, client.MatchingLabels{spark.LabelRole: spark.RoleExecutor}); err != nil {
		return nil, 0, fmt.Errorf("listing executor pods: %w", err)
	}
	running := map[string]bool{}
	for _, pod := range executors.Items {
		if pod.DeletionTimestamp == nil && pod.Spec.NodeName != "" && pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed {
			running[pod.Spec.NodeName] = true
		}
	}
	signals := interruption.DefaultSignals()
	var candidates []string
	for i := range nodes.Items {
		node := &nodes.Items[i]
		if _, noticed := interruption.DetectNotice(node, signals, time.Now()); running[node.Name] && !noticed {
			candidates = append(candidates, node.Name)
		}
	}
	if len(candidates) == 0 {
		return nil, 0, fmt.Errorf("--random %d: no spot node (label %s=%s) runs executors without a notice already; submit an application first", n, karpv1.CapacityTypeLabelKey, karpv1.CapacityTypeSpot)
	}
	slices.Sort(candidates)
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	rng.Shuffle(len(candidates), func(i, j int) { candidates[i], candidates[j] = candidates[j], candidates[i] })
	return candidates[:min(n, len(candidates))], len(candidates), nil
}

// RemoveWhenDue waits until at and deletes the nodes still there, saying
// what it did on out.
func RemoveWhenDue(ctx context.Context, c client.Client, nodes []string, at time.Time, out io.Writer) error {
	select {
	case <-ctx.Done():
		return fmt.Errorf("stopped before the notice ran out; nodes %v keep their notice and stay", nodes)
	case <-time.After(time.Until(at)):
	}
	var errs []error
	for _, node := range nodes {
		err := c.Delete(context.WithoutCancel(ctx), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node}})
		switch {
		case apierrors.IsNotFound(err):
			fmt.Fprintf(out, "node %s: already gone\n", node)
		case err != nil:
			errs = append(errs, fmt.Errorf("removing node %s: %w", node, err))
		default:
			fmt.Fprintf(out, "node %s: removed at %s\n", node, time.Now().UTC().Format(time.RFC3339))
		}
	}
	return errors.Join(errs...)
}

// Interrupter delivers notices through one component (Via) on the cluster
// c reaches; it is the demo's Interrupter. Out gets what RemoveWhenDue did.
type Interrupter struct {
	Client client.Client
	Via    string
	Out    io.Writer
}

// PickSpotNodes picks up to n spot nodes that run executors and have no
// notice yet, reproducibly for seed.
func (i Interrupter) PickSpotNodes(ctx context.Context, n int, seed int64) ([]string, error) {
	nodes, _, err := PickSpotNodes(ctx, i.Client, n, seed)
	return nodes, err
}

// Notify gives node its notice now and says what it did.
func (i Interrupter) Notify(ctx context.Context, node string) (string, error) {
	return Deliver(ctx, i.Client, node, i.Via, time.Now())
}

// RemoveWhenDue deletes the nodes still there at at.
func (i Interrupter) RemoveWhenDue(ctx context.Context, nodes []string, at time.Time) error {
	out := i.Out
	if out == nil {
		out = io.Discard
	}
	return RemoveWhenDue(ctx, i.Client, nodes, at, out)
}
