package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/internal/devcluster"
	"github.com/sparkplane/sparkplane/internal/devcluster/notice"
)

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
  sparkplane dev interrupt arm64-spot-us-east-1a-0 amd64-spot-us-east-1b-0

  # Three random spot nodes that run executors, as the termination handler would
  sparkplane dev interrupt --random 3 --seed 7 --via nth --detach

  # A short notice, to watch a deadline being missed
  sparkplane dev interrupt --notice 10s arm64-spot-us-east-1b-0`,
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
	cmd.Flags().StringVar(&o.via, "via", notice.ViaKarpenter, "How the notice is delivered: karpenter, nth, spot-itn or autoscaler")
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
	case notice.ViaKarpenter, notice.ViaNTH, notice.ViaAutoscaler, notice.ViaSpotITN:
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
		return notice.RemoveWhenDue(ctx, o.c, o.nodes, at, o.out)
	}
	nodes := o.nodes
	if o.random > 0 {
		seed := o.seed
		if seed == 0 {
			seed = time.Now().UnixNano()%1_000_000 + 1
		}
		picked, candidates, err := notice.PickSpotNodes(ctx, o.c, o.random, seed)
		if err != nil {
			return err
		}
		fmt.Fprintf(o.out, "picked %d of %d spot nodes running executors (--random %d --seed %d)\n", len(picked), candidates, o.random, seed)
		nodes = picked
	}
	noticeAt := time.Now()
	for _, node := range nodes {
		how, err := notice.Deliver(ctx, o.c, node, o.via, noticeAt)
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
	return notice.RemoveWhenDue(ctx, o.c, nodes, removeAt, o.out)
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
