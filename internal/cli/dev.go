package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/sparkplane/sparkplane/internal/devcluster"
)

func newDevCommand(kube *genericclioptions.ConfigFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a real local Kubernetes cluster with simulated nodes",
		Long: `dev runs a real Kubernetes control plane on this machine (etcd, kube-apiserver,
kube-controller-manager, kube-scheduler) with kwok simulating the nodes: by
default a static fleet of arm64/amd64 spot/on-demand executor nodes in each
zone, driver nodes and a system node; with --karpenter, Karpenter's kwok
provider adds and removes nodes with demand. Each cluster's state lives in
` + "`" + `~/.cache/sparkplane/dev/<name>` + "`" + `; several clusters run side by side.`,
	}
	cmd.AddCommand(
		newDevUpCommand(),
		newDevStatusCommand(),
		newDevKubeconfigCommand(),
		newDevLogsCommand(),
		newDevDownCommand(),
		newDevInterruptCommand(),
		newDevDriverEmulatorCommand(kube),
		newDevStopCommand(),
		newDevStartCommand(),
		newDevVolumeProvisionerCommand(kube),
	)
	return cmd
}

func addNameFlag(cmd *cobra.Command, name *string) {
	cmd.Flags().StringVar(name, "name", devcluster.DefaultName, "Name of the local cluster")
}

type devUpOptions struct {
	opts devcluster.Options
	out  io.Writer
}

func newDevUpCommand() *cobra.Command {
	o := &devUpOptions{}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start a local cluster and wait until it is usable",
		Example: `  # A cluster with static nodes of all four tiers in two zones
  sparkplane dev up

  # Nodes that come and go with demand, through Karpenter's kwok provider
  sparkplane dev up --name scale --karpenter --zones 3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.out = cmd.OutOrStdout()
			o.opts.Progress = o.out
			if o.opts.Hub && !cmd.Flags().Changed("name") {
				o.opts.Name = "hub"
			}
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd)
		},
	}
	addNameFlag(cmd, &o.opts.Name)
	cmd.Flags().IntVar(&o.opts.Zones, "zones", 2, fmt.Sprintf("Number of zones (1 to %d): %s, ...", devcluster.MaxZones, strings.Join(devcluster.Zones(2), ", ")))
	cmd.Flags().BoolVar(&o.opts.Karpenter, "karpenter", false, "Start Karpenter's kwok provider with NodePools for the four tiers instead of static executor and driver nodes")
	cmd.Flags().IntVar(&o.opts.NodesPerTier, "nodes-per-tier", 1, "Static nodes per executor tier and zone (without --karpenter)")
	cmd.Flags().IntVar(&o.opts.ArmSpotCPULimit, "arm-spot-cpu-limit", devcluster.ArmSpotCPULimit, "limits.cpu of the arm64-spot NodePool (with --karpenter)")
	cmd.Flags().IntVar(&o.opts.APIServerPort, "apiserver-port", 0, "Port of the API server on 127.0.0.1 (0 picks a free one)")
	cmd.Flags().DurationVar(&o.opts.Timeout, "timeout", 3*time.Minute, "Give up when the cluster is not usable after this long")
	cmd.Flags().BoolVar(&o.opts.Hub, "hub", false, "Start a light hub for sparkplane operator --hub: etcd and the API server with sparkplane's CRDs only (named \"hub\" unless --name is given)")
	return cmd
}

func (o *devUpOptions) validate() error {
	if err := devcluster.ValidateName(o.opts.Name); err != nil {
		return fmt.Errorf("--name: %w", err)
	}
	if o.opts.Zones < 1 || o.opts.Zones > devcluster.MaxZones {
		return fmt.Errorf("--zones: %d is out of range; use 1 to %d", o.opts.Zones, devcluster.MaxZones)
	}
	if o.opts.NodesPerTier < 1 {
		return fmt.Errorf("--nodes-per-tier: %d is out of range; use at least 1", o.opts.NodesPerTier)
	}
	if o.opts.ArmSpotCPULimit < 1 {
		return fmt.Errorf("--arm-spot-cpu-limit: %d is out of range; use at least 1", o.opts.ArmSpotCPULimit)
	}
	if o.opts.APIServerPort < 0 || o.opts.APIServerPort > 65535 {
		return fmt.Errorf("--apiserver-port: %d is out of range; use 1 to 65535, or 0 for a free port", o.opts.APIServerPort)
	}
	if o.opts.Timeout <= 0 {
		return fmt.Errorf("--timeout: %s is not positive", o.opts.Timeout)
	}
	return nil
}

func (o *devUpOptions) run(cmd *cobra.Command) error {
	// The components run in their own sessions and do not see Ctrl-C; an
	// interrupted dev up stops what it started before it exits.
	ctx, stop := untilInterrupted(cmd.Context())
	defer stop()
	// This very binary runs the shuffle volume provisioner component.
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the sparkplane binary for the volume provisioner: %w", err)
	}
	o.opts.SparkplaneBinary = self
	c, err := devcluster.Up(ctx, o.opts)
	if err != nil {
		return err
	}
	fleet := fmt.Sprintf("all %d nodes Ready", c.Nodes)
	if c.Hub {
		fleet = "a hub: no nodes; run sparkplane operator --hub against it and add members with sparkplane clusters add"
	} else if c.Karpenter {
		fleet = fmt.Sprintf("%d static node Ready, Karpenter ready", c.Nodes)
	}
	fmt.Fprintf(o.out, "\ncluster %q is up in %.1fs (%s)\n", c.Name, c.ReadyAfter.Seconds(), fleet)
	w := tabwriter.NewWriter(o.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "  api server:\t%s\n", c.APIServerURL)
	fmt.Fprintf(w, "  kubeconfig:\t%s\n", c.Kubeconfig())
	fmt.Fprintf(w, "  state:\t%s\n", c.Dir)
	fmt.Fprintf(w, "  use it:\texport KUBECONFIG=$(sparkplane dev kubeconfig --name %s)\n", c.Name)
	fmt.Fprintf(w, "  nodes:\tsparkplane dev status --name %s\n", c.Name)
	fmt.Fprintf(w, "  stop it:\tsparkplane dev down --name %s\n", c.Name)
	return w.Flush()
}

type devStatusOptions struct {
	name string
	out  io.Writer
}

func newDevStatusCommand() *cobra.Command {
	o := &devStatusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show a local cluster's processes and its nodes by tier and zone",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.out = cmd.OutOrStdout()
			c, err := devcluster.Load(o.name)
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			return printDevStatus(o.out, st)
		},
	}
	addNameFlag(cmd, &o.name)
	return cmd
}

func printDevStatus(out io.Writer, st *devcluster.Status) error {
	c := st.Cluster
	running := 0
	for _, comp := range st.Components {
		if comp.Running {
			running++
		}
	}
	state := "running"
	switch {
	case running == 0:
		state = "stopped"
	case running < len(st.Components):
		state = "degraded"
	}
	fmt.Fprintf(out, "cluster %q: %s (%d of %d components), api server %s\n", c.Name, state, running, len(st.Components), c.APIServerURL)
	fmt.Fprintf(out, "kubeconfig: %s\n\n", c.Kubeconfig())
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "COMPONENT\tPID\tSTATE\tLOG")
	for _, comp := range st.Components {
		s := "running"
		if !comp.Running {
			s = "not running"
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", comp.Name, comp.PID, s, comp.Log)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out)
	if st.APIError != nil {
		fmt.Fprintf(out, "nodes: the API server did not answer: %v\n", st.APIError)
		return nil
	}
	w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NODEPOOL\tARCH\tCAPACITY\tZONE\tNODES\tREADY\tCPU\tMEMORY")
	total, ready := 0, 0
	for _, g := range st.Groups {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", g.NodePool, g.Arch, g.CapacityType, g.Zone, g.Nodes, g.Ready, g.AllocatableCPU.String(), devcluster.FormatGiB(g.AllocatableMemory))
		total += g.Nodes
		ready += g.Ready
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n%d nodes, %d Ready\n", total, ready)
	return nil
}

func newDevKubeconfigCommand() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:     "kubeconfig",
		Short:   "Print the path of a local cluster's admin kubeconfig (its last line)",
		Example: `  export KUBECONFIG=$(sparkplane dev kubeconfig)`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := devcluster.Load(name)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), c.Kubeconfig())
			return nil
		},
	}
	addNameFlag(cmd, &name)
	return cmd
}

func newDevLogsCommand() *cobra.Command {
	var name string
	var tail int
	cmd := &cobra.Command{
		Use:   "logs COMPONENT",
		Short: "Print a component's log: " + strings.Join(devcluster.Components, ", "),
		Example: `  sparkplane dev logs kube-apiserver --tail 50
  sparkplane dev logs karpenter --name scale`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("give one COMPONENT: %s", strings.Join(devcluster.Components, ", "))
			}
			if !slices.Contains(devcluster.Components, args[0]) {
				return fmt.Errorf("unknown component %q; use one of %s", args[0], strings.Join(devcluster.Components, ", "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if tail < 0 {
				return fmt.Errorf("--tail: %d is negative; use 0 for the whole log", tail)
			}
			c, err := devcluster.Load(name)
			if err != nil {
				return err
			}
			return c.Tail(cmd.OutOrStdout(), args[0], tail)
		},
	}
	addNameFlag(cmd, &name)
	cmd.Flags().IntVar(&tail, "tail", 0, "Print only the last N lines (0: all)")
	return cmd
}

func newDevDownCommand() *cobra.Command {
	var name string
	var keep bool
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop every process of a local cluster and remove its state",
		Long: `down stops every process the cluster started, also ones whose recorded process
id is stale (it finds them by the state folder on their command line), waits
until none is left and none of its ports listens, and removes the state folder
unless --keep.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			start := time.Now()
			if err := devcluster.Down(name, keep); err != nil {
				if errors.Is(err, devcluster.ErrNotFound) {
					return fmt.Errorf("%w; nothing to stop", err)
				}
				return err
			}
			what := "state removed"
			if keep {
				what = "state kept in " + devcluster.StateDir(name)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "cluster %q stopped in %.1fs, %s\n", name, time.Since(start).Seconds(), what)
			return nil
		},
	}
	addNameFlag(cmd, &name)
	cmd.Flags().BoolVar(&keep, "keep", false, "Keep the state folder (logs, etcd data, certificates)")
	return cmd
}
