package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	karpv1 "sigs.k8s.io/karpenter/pkg/apis/v1"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/internal/controller/interruption"
	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/spark"
)

// The ways `dev interrupt` delivers a notice, each as the real component does.
const (
	viaKarpenter  = "karpenter"
	viaNTH        = "nth"
	viaAutoscaler = "autoscaler"
	// viaSpotITN is the bare spot-itn taint, with no cordon: what an agent
	// that only reports the EC2 Spot interruption warning leaves on a node.
	viaSpotITN = "spot-itn"
)

// nodeClaimGVK is Karpenter's NodeClaim; deleting one makes Karpenter taint
// (karpenter.sh/disrupted), drain and remove its node.
var nodeClaimGVK = schema.GroupVersionKind{Group: "karpenter.sh", Version: "v1", Kind: "NodeClaim"}

type devInterruptOptions struct {
	name       string
	kubeconfig string
	via        string
	notice     time.Duration
	random     int
	seed       int64
	detach     bool
	// removeAt is set for the background waiter `--detach` starts: it
	// delivers no notice and only removes the nodes at that time.
	removeAt string

	nodes []string
	out   io.Writer
	c     client.Client
	dir   string // the local cluster's state folder, for --detach logs
}

func newDevInterruptCommand() *cobra.Command {
	o := &devInterruptOptions{}
	cmd := &cobra.Command{
		Use:   "interrupt [NODE...]",
		Short: "Simulate Spot interruptions: give nodes a notice, then remove them when it runs out",
		Long: `interrupt simulates a Spot interruption on the local cluster the way the real
component delivers it, then removes each node when the notice runs out:

  --via karpenter   with Karpenter running, deletes the node's NodeClaim so
                    Karpenter itself taints (karpenter.sh/disrupted:NoSchedule)
                    and drains the node; without Karpenter, adds that taint
  --via nth         adds aws-node-termination-handler/spot-itn:NoSchedule and
                    cordons the node, as the termination handler does
  --via spot-itn    adds only aws-node-termination-handler/spot-itn:NoSchedule
                    (no cordon), as an agent that just reports the warning
  --via autoscaler  adds ToBeDeletedByClusterAutoscaler:NoSchedule with the
                    Unix time as its value, as cluster-autoscaler does

--random N picks N spot nodes (karpenter.sh/capacity-type=spot) that run
executors, reproducibly for a given --seed (0 picks and prints a seed).

The command stays running for the notice and then deletes the nodes
(Ctrl-C stops waiting and leaves them tainted). With --detach it starts a
background waiter that deletes them, prints its PID and log, and returns at
once; that is how a demo or a chaos loop calls it.`,
		Example: `  # A Karpenter-style notice on two nodes; they go away after 120 s
  sparkplane dev interrupt kwok-arm64-spot-a-0 kwok-amd64-spot-b-0

  # Three random spot nodes that run executors, as the termination handler would
  sparkplane dev interrupt --random 3 --seed 7 --via nth --detach

  # A short notice, to watch a deadline being missed
  sparkplane dev interrupt --notice 10s kwok-arm64-spot-a-0`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.out = cmd.OutOrStdout()
			o.nodes = args
			if err := o.validate(); err != nil {
				return err
			}
			if err := o.complete(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	addNameFlag(cmd, &o.name)
	cmd.Flags().StringVar(&o.kubeconfig, "kubeconfig", "", "Kubeconfig of the cluster (default: the local cluster named by --name)")
	cmd.Flags().StringVar(&o.via, "via", viaKarpenter, "How the notice is delivered: karpenter, nth, spot-itn or autoscaler")
	cmd.Flags().DurationVar(&o.notice, "notice", 120*time.Second, "Time from the notice to the node's removal (a Spot notice is 120s)")
	cmd.Flags().IntVar(&o.random, "random", 0, "Pick this many spot nodes that run executors instead of naming nodes")
	cmd.Flags().Int64Var(&o.seed, "seed", 0, "Seed of --random's choice (0: pick one and print it)")
	cmd.Flags().BoolVar(&o.detach, "detach", false, "Return at once; a background process removes the nodes when the notice runs out")
	cmd.Flags().StringVar(&o.removeAt, "remove-at", "", "Internal: only remove the nodes at this RFC 3339 time (the --detach waiter)")
	_ = cmd.Flags().MarkHidden("remove-at")
	return cmd
}

func (o *devInterruptOptions) validate() error {
	switch o.via {
	case viaKarpenter, viaNTH, viaAutoscaler, viaSpotITN:
	default:
		return fmt.Errorf("--via %q is not known: use karpenter, nth, spot-itn or autoscaler", o.via)
	}
	if o.notice < 0 {
		return fmt.Errorf("--notice %s is negative: use a duration such as 120s (0 removes the nodes at once)", o.notice)
	}
	switch {
	case o.random < 0:
		return fmt.Errorf("--random %d is negative: give how many spot nodes to interrupt", o.random)
	case o.random > 0 && len(o.nodes) > 0:
		return fmt.Errorf("--random %d and node names %v both given: use one or the other", o.random, o.nodes)
	case o.random == 0 && len(o.nodes) == 0:
		return errors.New("no nodes: name the nodes to interrupt, or pick some with --random N")
	case o.random == 0 && o.seed != 0:
		return errors.New("--seed only applies to --random: add --random N")
	}
	if o.removeAt != "" {
		if _, err := time.Parse(time.RFC3339Nano, o.removeAt); err != nil {
			return fmt.Errorf("--remove-at %q is not an RFC 3339 time: %w", o.removeAt, err)
		}
		if len(o.nodes) == 0 {
			return errors.New("--remove-at needs the node names")
		}
	}
	return nil
}

func (o *devInterruptOptions) complete() error {
	var kubeconfig string
	switch {
	case o.kubeconfig != "":
		kubeconfig = o.kubeconfig
	default:
		c, err := devcluster.Load(o.name)
		if err != nil {
			return err
		}
		kubeconfig, o.dir = c.Kubeconfig(), c.Dir
	}
	flags := kubeFlagsFor(kubeconfig)
	if err := flags.complete(); err != nil {
		return err
	}
	cl, err := client.New(flags.config, client.Options{Scheme: clientgoscheme.Scheme})
	if err != nil {
		return fmt.Errorf("connecting to the cluster: %w", err)
	}
	o.c = cl
	return nil
}

func (o *devInterruptOptions) run(ctx context.Context) error {
	if o.removeAt != "" {
		at, _ := time.Parse(time.RFC3339Nano, o.removeAt)
		return o.removeWhenDue(ctx, o.nodes, at)
	}
	nodes := o.nodes
	if o.random > 0 {
		seed := o.seed
		if seed == 0 {
			seed = time.Now().UnixNano()%1_000_000 + 1
		}
		picked, candidates, err := pickSpotNodes(ctx, o.c, o.random, seed)
		if err != nil {
			return err
		}
		fmt.Fprintf(o.out, "picked %d of %d spot nodes running executors (--random %d --seed %d)\n", len(picked), candidates, o.random, seed)
		nodes = picked
	}
	noticeAt := time.Now()
	for _, node := range nodes {
		how, err := deliverNotice(ctx, o.c, node, o.via, noticeAt)
		if err != nil {
			return err
		}
		fmt.Fprintf(o.out, "node %s: %s at %s\n", node, how, noticeAt.UTC().Format(time.RFC3339))
	}
	removeAt := noticeAt.Add(o.notice)
	if o.detach {
		return o.startWaiter(nodes, removeAt)
	}
	fmt.Fprintf(o.out, "removing %d node(s) at %s, when the %s notice runs out (Ctrl-C leaves them tainted)\n", len(nodes), removeAt.UTC().Format(time.RFC3339), o.notice)
	ctx, stop := untilInterrupted(ctx)
	defer stop()
	return o.removeWhenDue(ctx, nodes, removeAt)
}

// removeWhenDue waits until at and deletes the nodes still there.
func (o *devInterruptOptions) removeWhenDue(ctx context.Context, nodes []string, at time.Time) error {
	select {
	case <-ctx.Done():
		return fmt.Errorf("stopped before the notice ran out; nodes %v keep their notice and stay", nodes)
	case <-time.After(time.Until(at)):
	}
	var errs []error
	for _, node := range nodes {
		err := o.c.Delete(context.WithoutCancel(ctx), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node}})
		switch {
		case apierrors.IsNotFound(err):
			fmt.Fprintf(o.out, "node %s: already gone\n", node)
		case err != nil:
			errs = append(errs, fmt.Errorf("removing node %s: %w", node, err))
		default:
			fmt.Fprintf(o.out, "node %s: removed at %s\n", node, time.Now().UTC().Format(time.RFC3339))
		}
	}
	return errors.Join(errs...)
}

// startWaiter starts this program again in the background, in its own
// session, to remove the nodes at removeAt.
func (o *devInterruptOptions) startWaiter(nodes []string, removeAt time.Time) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("--detach: finding this program: %w", err)
	}
	logDir := o.dir
	if logDir == "" {
		logDir = os.TempDir()
	} else {
		logDir = filepath.Join(logDir, "logs")
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}
	logPath := filepath.Join(logDir, fmt.Sprintf("interrupt-%d.log", time.Now().UnixNano()))
	logFile, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("--detach: creating the waiter's log: %w", err)
	}
	defer logFile.Close()
	args := []string{"dev", "interrupt", "--name", o.name, "--remove-at", removeAt.Format(time.RFC3339Nano)}
	if o.kubeconfig != "" {
		args = append(args, "--kubeconfig", o.kubeconfig)
	}
	cmd := exec.Command(self, append(args, nodes...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("--detach: starting the waiter: %w", err)
	}
	fmt.Fprintf(o.out, "removing %d node(s) at %s from background process %d (log: %s)\n", len(nodes), removeAt.UTC().Format(time.RFC3339), cmd.Process.Pid, logPath)
	return cmd.Process.Release()
}

// deliverNotice gives node its notice the way via's component does and says
// what it did.
func deliverNotice(ctx context.Context, c client.Client, node, via string, at time.Time) (string, error) {
	var taint corev1.Taint
	cordon := false
	switch via {
	case viaKarpenter:
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
	case viaNTH:
		taint = corev1.Taint{Key: interruption.TaintNTHSpotITN, Value: "dev-interrupt-" + strconv.FormatInt(at.Unix(), 10), Effect: corev1.TaintEffectNoSchedule}
		cordon = true
	case viaSpotITN:
		taint = corev1.Taint{Key: interruption.TaintNTHSpotITN, Value: "dev-interrupt-" + strconv.FormatInt(at.Unix(), 10), Effect: corev1.TaintEffectNoSchedule}
	case viaAutoscaler:
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

// pickSpotNodes picks up to n spot nodes that run executors and have no
// interruption notice yet, reproducibly for a seed. It returns the names and
// how many candidates there were.
func pickSpotNodes(ctx context.Context, c client.Client, n int, seed int64) ([]string, int, error) {
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
