package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sparkplane/sparkplane/internal/platform"
)

func newPlatformCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "platform",
		Short: "Render the cluster side of sparkplane's practices (node pools, storage, SLO rules, dashboards, logs)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newPlatformRenderCommand(), newPlatformPlanNetworkCommand())
	return cmd
}

type platformRenderOptions struct {
	provider   string
	configPath string
	outDir     string

	config platform.Config
	out    io.Writer
}

func newPlatformRenderCommand() *cobra.Command {
	o := &platformRenderOptions{}
	cmd := &cobra.Command{
		Use:   "render --provider aws|kwok [--config platform.yaml] --out DIR",
		Short: "Write the platform bundle: one file per concern, a kustomization and a README",
		Long: `Render writes the platform bundle into DIR: Karpenter NodePools for the four
executor tiers (arm64 spot > amd64 spot > arm64 on-demand > amd64 on-demand),
the on-demand driver pool and the system pool; node classes (Bottlerocket
EC2NodeClasses for aws, a KWOKNodeClass for the local cluster); StorageClasses,
PriorityClasses, CoreDNS and EBS CSI tuning; Prometheus rules with the
Kubernetes API SLOs as burn-rate alerts, PodMonitors, Grafana dashboards;
Fluent Bit and the Spark History Server. DIR/README.md says which practice each
file encodes.

Every setting has a default; --config names a platform.yaml that overrides
them (docs/platform.md lists the keys).`,
		Example: `  # The bundle for EKS with all defaults
  sparkplane platform render --provider aws --out ./platform

  # The bundle for the local cluster
  sparkplane platform render --provider kwok --out ./platform-local

  # Apply it
  kubectl apply --server-side -k ./platform`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.out = cmd.OutOrStdout()
			if err := o.complete(); err != nil {
				return err
			}
			if err := o.validate(); err != nil {
				return err
			}
			return o.run()
		},
	}
	cmd.Flags().StringVar(&o.provider, "provider", "", "Where nodes come from: aws or kwok (required)")
	cmd.Flags().StringVar(&o.configPath, "config", "", "platform.yaml with settings that override the defaults")
	cmd.Flags().StringVar(&o.outDir, "out", "", "Directory to write the bundle into (created if missing; files of the bundle are overwritten)")
	return cmd
}

func (o *platformRenderOptions) complete() error {
	if o.provider == "" {
		return errors.New("--provider is required: aws or kwok")
	}
	var data []byte
	if o.configPath != "" {
		var err error
		if data, err = os.ReadFile(o.configPath); err != nil {
			return fmt.Errorf("--config: %w", err)
		}
	}
	cfg, err := platform.LoadConfig(data, platform.Provider(o.provider))
	if err != nil {
		if o.configPath != "" {
			return fmt.Errorf("%s: %w", o.configPath, err)
		}
		return err
	}
	o.config = cfg
	return nil
}

func (o *platformRenderOptions) validate() error {
	if o.outDir == "" {
		return errors.New("--out is required: the directory to write the bundle into")
	}
	if info, err := os.Stat(o.outDir); err == nil && !info.IsDir() {
		return fmt.Errorf("--out: %s is a file, not a directory", o.outDir)
	}
	return nil
}

func (o *platformRenderOptions) run() error {
	bundle, err := platform.Render(o.config)
	if err != nil {
		return err
	}
	outputs, err := bundle.Outputs()
	if err != nil {
		return err
	}
	for _, output := range outputs {
		path := filepath.Join(o.outDir, filepath.FromSlash(output.Name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, output.Data, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(o.out, "wrote the %s platform bundle (%d files, %d objects) to %s; see %s\n",
		o.config.Provider, len(outputs), len(bundle.Resources()), o.outDir, filepath.Join(o.outDir, "README.md"))
	return nil
}

type planNetworkOptions struct {
	configPath string
	input      platform.NetworkInput
	cidrSet    bool
	subnetsSet bool
	out        io.Writer
}

func newPlatformPlanNetworkCommand() *cobra.Command {
	o := &planNetworkOptions{input: platform.DefaultNetworkInput()}
	cmd := &cobra.Command{
		Use:   "plan-network --nodes N --executors M",
		Short: "Count the VPC addresses a cluster needs and check them against a VPC plan",
		Long: `plan-network counts the addresses a cluster takes with the AWS VPC CNI (one per
pod not on the host network, one per node, and the CNI's warm pool per node) and
checks them against a VPC (default 10.0.0.0/16, 65,536 addresses) split into one
subnet per zone, with drivers all in the driver zone. It prints the count, the
busiest subnet's load and the headroom, and fails when the plan does not hold.`,
		Example: `  # Does the default VPC hold 800 nodes and 12,000 executors?
  sparkplane platform plan-network --nodes 800 --executors 12000

  # A /16 for 3,000 nodes does not: exit 1, with what to change
  sparkplane platform plan-network --nodes 3000 --executors 60000 --cidr 10.0.0.0/16 --subnets 3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.out = cmd.OutOrStdout()
			o.cidrSet = cmd.Flags().Changed("cidr")
			o.subnetsSet = cmd.Flags().Changed("subnets")
			if err := o.complete(); err != nil {
				return err
			}
			return o.run()
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.input.Nodes, "nodes", 0, "Peak number of nodes")
	f.IntVar(&o.input.Executors, "executors", 0, "Peak number of concurrent executor pods")
	f.IntVar(&o.input.Drivers, "drivers", -1, "Peak number of concurrent drivers (default: one per ten executors)")
	f.IntVar(&o.input.DaemonSetPodsPerNode, "daemonset-pods-per-node", o.input.DaemonSetPodsPerNode, "DaemonSet pods per node that take a VPC address")
	f.IntVar(&o.input.SystemPods, "system-pods", o.input.SystemPods, "Cluster add-on pods (CoreDNS, operator, Prometheus, ...)")
	f.IntVar(&o.input.WarmIPsPerNode, "warm-ips-per-node", o.input.WarmIPsPerNode, "Addresses the VPC CNI keeps warm per node")
	f.StringVar(&o.input.VPCCIDR, "cidr", o.input.VPCCIDR, "VPC CIDR to check (default: network.vpcCIDR from --config, else 10.0.0.0/16)")
	f.IntVar(&o.input.Subnets, "subnets", o.input.Subnets, "Subnets (one per zone) the VPC is split into (default: the zones in --config, else 3)")
	f.StringVar(&o.configPath, "config", "", "platform.yaml whose network.vpcCIDR and zones are the plan")
	_ = cmd.MarkFlagRequired("nodes")
	_ = cmd.MarkFlagRequired("executors")
	return cmd
}

func (o *planNetworkOptions) complete() error {
	if o.configPath == "" {
		return nil
	}
	data, err := os.ReadFile(o.configPath)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	cfg, err := platform.LoadConfig(data, platform.ProviderAWS)
	if err != nil {
		return fmt.Errorf("%s: %w", o.configPath, err)
	}
	if !o.cidrSet {
		o.input.VPCCIDR = cfg.Network.VPCCIDR
	}
	if !o.subnetsSet {
		o.input.Subnets = len(cfg.Zones)
	}
	return nil
}

func (o *planNetworkOptions) run() error {
	plan, err := platform.PlanNetwork(o.input)
	if err != nil {
		return err
	}
	if err := plan.Write(o.out); err != nil {
		return err
	}
	if !plan.Fits {
		return fmt.Errorf("the VPC plan %s does not hold %d nodes and %d executors", o.input.VPCCIDR, o.input.Nodes, o.input.Executors)
	}
	return nil
}
