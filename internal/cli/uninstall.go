package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/sparkplane/sparkplane/internal/install"
)

type uninstallOptions struct {
	kube    kubeFlags
	crds    bool
	yes     bool
	timeout time.Duration
	out     io.Writer
}

func newUninstallCommand(kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &uninstallOptions{kube: kubeFlags{flags: kube}}
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove what sparkplane install created, keeping CRDs and applications unless --crds",
		Long: `Uninstall deletes what ` + "`sparkplane install`" + ` applied, the operator Deployment
first. It keeps the CustomResourceDefinitions, and so every SparkApplication
and SparkProfile, unless --crds is given; deleting the CRDs deletes all of
those objects, so --crds says how many go and needs --yes. An object someone
else also applied (the platform bundle's PriorityClasses or namespace) is
kept and named. With --crds it waits (up to --timeout) until the API server
has removed the CRDs, so that an install started next does not find them
still terminating, and names any that are not gone with why.`,
		Example: `  # Remove the operator, RBAC and built-in profiles; keep CRDs and applications
  sparkplane uninstall

  # Remove everything, applications included
  sparkplane uninstall --crds --yes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.out = cmd.OutOrStdout()
			if err := o.kube.complete(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&o.crds, "crds", false, "Also delete the CRDs, and with them every SparkApplication and SparkProfile (needs --yes)")
	cmd.Flags().BoolVar(&o.yes, "yes", false, "Confirm --crds")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 5*time.Minute, "With --crds, how long to wait for the API server to remove the CRDs (0: do not wait)")
	return cmd
}

func (o *uninstallOptions) run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := newClient(o.kube.config)
	if err != nil {
		return err
	}
	if o.timeout < 0 {
		return fmt.Errorf("--timeout %s is negative: give how long to wait for the CRDs to be removed, or 0 not to wait", o.timeout)
	}
	if o.crds {
		apps, profiles, err := install.CustomResourceCounts(ctx, c)
		if err != nil {
			return err
		}
		if !o.yes {
			return fmt.Errorf("--crds deletes the CRDs and with them %d SparkApplications and %d SparkProfiles in the cluster; add --yes to go ahead, or leave out --crds to keep them", apps, profiles)
		}
		fmt.Fprintf(o.out, "deleting the CRDs and with them %d SparkApplications and %d SparkProfiles\n", apps, profiles)
	}
	// With everything install may have added (what is absent counts as
	// deleted).
	objs, err := install.Objects(install.Options{ReadImagePullSecrets: true})
	if err != nil {
		return err
	}
	if err := install.Uninstall(ctx, c, objs, install.UninstallOptions{CRDs: o.crds, CRDWait: o.timeout}, o.out); err != nil {
		return err
	}
	fmt.Fprintln(o.out, "sparkplane uninstalled")
	return nil
}
