package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/sparkplane/sparkplane/internal/install"
)

type installOptions struct {
	kube                   kubeFlags
	image                  string
	skipOperatorDeployment bool
	out                    io.Writer
}

func init() { register(newInstallCommand) }

func newInstallCommand() *cobra.Command {
	o := &installOptions{}
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install sparkplane's CRDs, namespace, RBAC and operator Deployment on a cluster",
		Long: `Install applies, with server-side apply, everything sparkplane needs on a cluster:
the CustomResourceDefinitions (waiting until the API server serves them), the
` + install.Namespace + ` namespace, the operator's least-privilege RBAC (no access to
secrets), roles that let namespace editors and viewers use SparkApplications,
the built-in SparkProfiles, and the operator Deployment.

Install is idempotent: run it again after an upgrade, or as often as you like.
` + "`kubectl apply -k config/default`" + ` installs the same objects.`,
		Example: `  # Install on the cluster of the current kubeconfig context
  sparkplane install

  # Install on the local cluster, where the operator runs on the host
  sparkplane install --kubeconfig "$(sparkplane dev kubeconfig)" --skip-operator-deployment
  sparkplane operator --kubeconfig "$(sparkplane dev kubeconfig)"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.out = cmd.OutOrStdout()
			if err := o.kube.complete(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	o.kube.addConnectionFlags(cmd.Flags())
	cmd.Flags().StringVar(&o.image, "image", install.DefaultImage(), "Operator image the Deployment runs (default: this binary's version tag)")
	cmd.Flags().BoolVar(&o.skipOperatorDeployment, "skip-operator-deployment", false, "Do not install the operator Deployment (run `sparkplane operator` elsewhere, e.g. on the host for the local cluster)")
	return cmd
}

func (o *installOptions) run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	objs, err := install.Objects(install.Options{Image: o.image, SkipOperatorDeployment: o.skipOperatorDeployment})
	if err != nil {
		return err
	}
	c, err := newClient(o.kube.config)
	if err != nil {
		return err
	}
	if err := install.Apply(ctx, c, objs, o.out); err != nil {
		return err
	}
	fmt.Fprintf(o.out, "sparkplane installed (%d objects)\n", len(objs))
	return nil
}
