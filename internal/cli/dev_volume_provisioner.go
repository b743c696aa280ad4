package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

	"github.com/sparkplane/sparkplane/internal/devcluster"
)

type devVolumeProvisionerOptions struct {
	kube kubeFlags
	out  io.Writer
}

// newDevVolumeProvisionerCommand is the component `dev up` starts: the
// local cluster's provisioner of the shuffle StorageClass. It is hidden, as
// kube-scheduler is not a command users run.
func newDevVolumeProvisionerCommand(kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &devVolumeProvisionerOptions{kube: kubeFlags{flags: kube}}
	cmd := &cobra.Command{
		Use:   "volume-provisioner",
		Short: "Provision the local cluster's shuffle volumes (started by dev up)",
		Long: fmt.Sprintf(`volume-provisioner is the component of a local cluster that binds claims of
StorageClasses whose provisioner is %s (the kwok platform bundle's
shuffle class): once the scheduler has chosen a claim's node, it creates a
PersistentVolume in that node's zone, as a CSI driver would; it deletes the
released ones. sparkplane dev up starts it; it runs until interrupted.`, devcluster.VolumeProvisioner),
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.out = cmd.OutOrStdout()
			if err := o.kube.complete(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	return cmd
}

func (o *devVolumeProvisionerOptions) run(parent context.Context) error {
	ctx, stop := untilInterrupted(parent)
	defer stop()
	cs, err := kubernetes.NewForConfig(o.kube.config)
	if err != nil {
		return err
	}
	if err := devcluster.ProvisionVolumes(ctx, cs); err != nil {
		return err
	}
	fmt.Fprintf(o.out, "provisioning claims of StorageClasses with provisioner %s (pid %d)\n", devcluster.VolumeProvisioner, os.Getpid())
	<-ctx.Done()
	return nil
}
