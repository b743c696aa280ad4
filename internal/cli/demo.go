package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/sparkplane/sparkplane/internal/controller"
	"github.com/sparkplane/sparkplane/internal/controller/hub"
	"github.com/sparkplane/sparkplane/internal/controller/sparkprofile"
	"github.com/sparkplane/sparkplane/internal/demo"
	"github.com/sparkplane/sparkplane/internal/imageplatforms"
	"github.com/sparkplane/sparkplane/internal/install"
	"github.com/sparkplane/sparkplane/internal/operator"
)

type demoOptions struct {
	noticeVia string
	ablate    []string
	apps      int
	seed      int64
	reportDir string
	keep      bool
	name      string
	clusters  int
	out       io.Writer
}

func newDemoCommand() *cobra.Command {
	o := &demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a Spark fleet on a local cluster with Spot interruptions, then report what it cost against an on-demand baseline",
		Long: `demo shows the whole system on one machine, without a cloud account:

  1. brings up a local cluster (sparkplane dev up --karpenter) and applies the
     kwok platform bundle: Karpenter NodePools in the tier order arm64 spot >
     amd64 spot > arm64 on-demand > amd64 on-demand, and the driver pool;
  2. installs sparkplane and runs the operator and the Spark driver emulator
     in this process;
  3. submits a seeded mix of applications (small and large, Scala and Python)
     on the cost-optimized SparkProfile and, while they run, gives spot nodes
     that carry executors an interruption notice the way
     "sparkplane dev interrupt" does (--notice-via: karpenter by default, or
     nth / spot-itn, where only sparkplane acts), one per four applications,
     showing progress and who deleted each node's executors (sparkplane,
     karpenter, other, lost);
  4. runs the same applications on an all-amd64-on-demand baseline profile,
     or, with --ablate interruption, the same chaos run again with the
     operator's interruption controller off, printed side by side;
  5. writes report.json and a self-contained report.html (charts of nodes and
     executors by tier, the interruption timeline, the cost of both runs, and
     the applications with their Spark event logs) into --report-dir, and
     tears the cluster down unless --keep.

Cost is every node's lifetime times its price in the instance-type file the
local Karpenter uses (AWS-like prices). The operator's and emulator's logs go
to sparkplane.log in the report folder.`,
		Example: `  # The defaults: 12 applications, seed 7, report in ./demo-report
  sparkplane demo

  # A quick one, keeping the cluster to look around with kubectl
  sparkplane demo --apps 4 --keep --report-dir /tmp/demo

  # A hub and two members: the fleet placed over both, one member's API
  # server stopped mid-run and started again (detection, re-placement, duplicates)
  sparkplane demo --clusters 2

  # What sparkplane adds over Karpenter's own drain, and over NTH's taint alone
  sparkplane demo --ablate interruption
  sparkplane demo --ablate interruption --notice-via nth`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.out = cmd.OutOrStdout()
			if err := o.validate(); err != nil {
				return err
			}
			ctx, stop := untilInterrupted(cmd.Context())
			defer stop()
			return o.run(ctx)
		},
	}
	cmd.Flags().IntVar(&o.apps, "apps", demo.DefaultApps, "Applications per run")
	cmd.Flags().Int64Var(&o.seed, "seed", demo.DefaultSeed, "Seed of the application mix and of the choice of nodes to interrupt")
	cmd.Flags().StringVar(&o.reportDir, "report-dir", "demo-report", "Folder for report.json, report.html, the event logs and sparkplane.log")
	cmd.Flags().BoolVar(&o.keep, "keep", false, "Leave the local cluster running at the end (and print how to reach it)")
	cmd.Flags().StringVar(&o.noticeVia, "notice-via", demo.NoticeViaKarpenter, "How Spot notices are delivered: karpenter (delete the NodeClaim: Karpenter taints and drains the node itself, as on EKS), nth (taint aws-node-termination-handler/spot-itn and cordon, as NTH in IMDS mode) or spot-itn (the bare spot-itn taint); with nth and spot-itn only sparkplane acts before the node ends")
	cmd.Flags().StringSliceVar(&o.ablate, "ablate", nil, "Run the optimized run again with this component switched off (interruption: the operator's interruption controller) instead of the baseline, and print both side by side")
	cmd.Flags().IntVar(&o.clusters, "clusters", 0, "Run the multi-cluster demo instead: 2 starts a hub and two member clusters, places the fleet over both through the hub operator, stops one member's API server mid-run and starts it again, and reports detection, re-placement, resubmissions and duplicates (report.json \"clusters\", a timeline in report.html)")
	cmd.Flags().StringVar(&o.name, "name", demo.DefaultClusterName, "Name of the local cluster the demo starts")
	_ = cmd.Flags().MarkHidden("name")
	return cmd
}

func (o *demoOptions) validate() error {
	if o.clusters != 0 {
		if o.clusters != 2 {
			return fmt.Errorf("--clusters %d is not supported: use 2 (a hub and two members), or leave it out for the single-cluster demo", o.clusters)
		}
		if o.apps < 2 {
			return fmt.Errorf("--apps %d is too few for --clusters 2: use at least 2 (some arrive before the outage, some during it)", o.apps)
		}
		if len(o.ablate) > 0 || o.noticeVia != demo.NoticeViaKarpenter {
			return fmt.Errorf("--clusters 2 runs the multi-cluster demo, which delivers no Spot notices: drop --ablate and --notice-via")
		}
	}
	if o.apps < 1 || o.apps > 200 {
		return fmt.Errorf("--apps %d is out of range: use 1 to 200 (12 takes about 6 minutes on 2 cores)", o.apps)
	}
	if o.reportDir == "" {
		return fmt.Errorf("--report-dir is empty: name a folder for the report")
	}
	if !slices.Contains(demo.NoticeVias, o.noticeVia) {
		return fmt.Errorf("--notice-via %q is not known: use one of %s", o.noticeVia, strings.Join(demo.NoticeVias, ", "))
	}
	for _, a := range o.ablate {
		if a != demo.AblateInterruption {
			return fmt.Errorf("--ablate %q is not known: the component that can be switched off is %q", a, demo.AblateInterruption)
		}
	}
	return nil
}

func (o *demoOptions) run(ctx context.Context) error {
	if err := os.MkdirAll(o.reportDir, 0o755); err != nil {
		return fmt.Errorf("--report-dir: %w", err)
	}
	logPath := filepath.Join(o.reportDir, "sparkplane.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("--report-dir: %w", err)
	}
	defer logFile.Close()
	// The operator's, Karpenter-facing and emulator's logs go to the file, so
	// the terminal shows only the demo's progress.
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	for k, v := range map[string]string{"logtostderr": "false", "alsologtostderr": "false", "stderrthreshold": "FATAL", "one_output": "true"} {
		_ = klogFlags.Set(k, v)
	}
	klog.SetOutput(logFile)
	ctrl.SetLogger(klog.NewKlogr())
	defer klog.Flush()

	if o.clusters == 2 {
		return o.runClusters(ctx, logPath)
	}
	fmt.Fprintf(o.out, "sparkplane demo: %d applications per run, seed %d, report in %s (logs: %s)\n", o.apps, o.seed, o.reportDir, logPath)
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the sparkplane binary for the volume provisioner: %w", err)
	}
	res, err := demo.Run(ctx, demo.Options{
		Apps: o.apps, Seed: o.seed, ReportDir: o.reportDir, Keep: o.keep, ClusterName: o.name, Out: o.out, SparkplaneBinary: self,
		NoticeVia: o.noticeVia, Ablate: o.ablate,
		StartOperator: startDemoOperator,
		Log:           logFile,
	})
	if o.keep && res != nil && res.Kubeconfig != "" {
		fmt.Fprintf(o.out, `
The local cluster %[1]q is still running (--keep); the operator and the driver
emulator stopped with this command. Reach it with kubectl:

  export KUBECONFIG=%[2]s
  kubectl get nodes -L karpenter.sh/nodepool,node.kubernetes.io/instance-type
  kubectl get sparkapplications -A

Run the operator again with: sparkplane operator --kubeconfig %[2]s
Stop the cluster with:       sparkplane dev down --name %[1]s
`, o.name, res.Kubeconfig)
	}
	return err
}

// startDemoOperator runs the operator against cfg until ctx ends, as
// `sparkplane operator --nodes-on-demand --zones ...` would, without the
// controllers opts.Without names. The demo starts one per run, so controller
// names may repeat within the process.
func startDemoOperator(ctx context.Context, cfg *rest.Config, opts demo.OperatorOptions) error {
	op, err := operator.New(cfg, operator.Options{
		Scheme: Scheme(), QPS: 500, Burst: 1000, SkipControllerNameValidation: true,
		Controllers: controller.Options{Profiles: sparkprofile.ResolverOptions{NodesOnDemand: true, Zones: opts.Zones, Images: demoImages(opts)}},
		Without:     opts.Without,
	})
	if err != nil {
		return err
	}
	return op.Start(ctx)
}

// demoImages looks the demo's images up in its local registry.
func demoImages(opts demo.OperatorOptions) sparkprofile.ImageOptions {
	if !opts.ImagePlatforms {
		return sparkprofile.ImageOptions{}
	}
	return sparkprofile.ImageOptions{Lookup: imageplatforms.New(imageplatforms.Options{})}
}

// runClusters is demo --clusters 2: a hub and two members.
func (o *demoOptions) runClusters(ctx context.Context, logPath string) error {
	fmt.Fprintf(o.out, "sparkplane demo --clusters 2: %d applications through a hub onto two members, seed %d, report in %s (logs: %s)\n", o.apps, o.seed, o.reportDir, logPath)
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the sparkplane binary for the volume provisioners: %w", err)
	}
	res, err := demo.RunClusters(ctx, demo.ClustersOptions{
		Apps: o.apps, Seed: o.seed, ReportDir: o.reportDir, Keep: o.keep, Name: o.name, Out: o.out, SparkplaneBinary: self,
		StartOperator: startDemoOperator,
		StartHub:      startDemoHub,
	})
	if o.keep && res != nil && len(res.Kubeconfigs) > 0 {
		fmt.Fprintf(o.out, "\nThe clusters are still running (--keep); the operators and emulators stopped with this command.\n")
		for _, name := range slices.Sorted(maps.Keys(res.Kubeconfigs)) {
			fmt.Fprintf(o.out, "  %-24s KUBECONFIG=%s   (stop: sparkplane dev down --name %s)\n", name, res.Kubeconfigs[name], name)
		}
	}
	return err
}

// startDemoHub runs the hub operator against the hub at cfg until ctx
// ends, as `sparkplane operator --hub --lease ... --lost-after ...` would.
func startDemoHub(ctx context.Context, cfg *rest.Config, opts demo.HubOptions) error {
	op, err := operator.New(cfg, operator.Options{
		Scheme: Scheme(), QPS: 500, Burst: 1000, SkipControllerNameValidation: true,
		Hub: &hub.Options{Lease: opts.Lease, LostAfter: opts.LostAfter, OperatorNamespace: install.Namespace, OperatorLease: install.LeaderElectionID},
	})
	if err != nil {
		return err
	}
	return op.Start(ctx)
}
