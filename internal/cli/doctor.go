package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/internal/doctor"
	"github.com/sparkplane/sparkplane/internal/version"
)

type doctorOptions struct {
	kube   kubeFlags
	output string
	out    io.Writer
}

func newDoctorCommand(kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &doctorOptions{kube: kubeFlags{flags: kube}}
	cmd := &cobra.Command{
		Use:   "doctor [-n NAMESPACE] [-o text|json]",
		Short: "Check a cluster for everything sparkplane relies on, and say how to fix what is missing",
		Long: `Doctor is the first thing to run on a new cluster. One line per check:
✓ fine, ! works but not as designed, ✗ broken (followed by the fix):

  api-server              API reachable and its version supported
  crds                    CRDs present and the same as this binary's
  operator                operator available, and its version
  karpenter               Karpenter installed
  nodepools               executor NodePools present, in tier order
  driver-pool             driver NodePool tainted and on-demand only
  priority-classes        PriorityClasses the SparkProfiles name exist
  storage-classes         StorageClasses the SparkProfiles name exist
  csi-driver              a CSI driver registered for those StorageClasses
  driver-service-account  the driver ServiceAccount in -n and its permissions
  pod-security            driver, executor and operator pods admitted (dry run)
  metrics-stack           Prometheus operator CRDs present

It exits non-zero when any check fails. docs/install.md explains each ✗.`,
		Example: `  sparkplane doctor
  sparkplane doctor -n analytics
  sparkplane doctor -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.out = cmd.OutOrStdout()
			if o.output != "text" && o.output != "json" {
				return fmt.Errorf("--output %q is not supported: use -o text or -o json", o.output)
			}
			if err := o.kube.complete(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	return cmd
}

func (o *doctorOptions) run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := client.New(o.kube.config, client.Options{Scheme: doctor.Scheme()})
	if err != nil {
		return fmt.Errorf("connecting to the API server at %s: %w", o.kube.config.Host, err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(o.kube.config)
	if err != nil {
		return err
	}
	results := doctor.Run(ctx, doctor.Cluster{Client: c, Discovery: dc}, doctor.Options{
		Namespace: o.kube.namespaceInUse, Version: version.Get().Version,
	})
	if o.output == "json" {
		enc := json.NewEncoder(o.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return err
		}
	} else {
		counts := map[doctor.Status]int{}
		for _, r := range results {
			counts[r.Status]++
			fmt.Fprintf(o.out, "%s %s: %s\n", r.Status.Symbol(), r.Check, r.Message)
			if r.Fix != "" && r.Status != doctor.OK {
				fmt.Fprintf(o.out, "    fix: %s\n", r.Fix)
			}
		}
		fmt.Fprintf(o.out, "%d checks: %d ✓, %d !, %d ✗\n", len(results), counts[doctor.OK], counts[doctor.Warn], counts[doctor.Fail])
	}
	if doctor.Failed(results) {
		return fmt.Errorf("doctor: some checks failed (✗); each says how to fix it")
	}
	return nil
}
