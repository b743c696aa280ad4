package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sparkplane/sparkplane/api/v1alpha1"
)

type deleteOptions struct {
	kube           kubeFlags
	filenames      []string
	ignoreNotFound bool
	names          []string

	targets []client.ObjectKey
	client  client.Client
	in      io.Reader
	out     io.Writer
	errs    io.Writer
}

func init() { register(newDeleteCommand) }

func newDeleteCommand() *cobra.Command {
	o := &deleteOptions{}
	cmd := &cobra.Command{
		Use:   "delete (NAME... | -f FILE)",
		Short: "Delete SparkApplications by name or by the files that created them",
		Long: `Delete removes SparkApplications. Everything the application owns goes with it:
the driver pod, and through the driver its executors, service and config maps
(Kubernetes' garbage collector removes them in the background).`,
		Example: `  # Delete one application
  sparkplane delete spark-pi

  # Delete every application a file submitted
  sparkplane delete -f examples/dynamic-allocation.yaml

  # Delete, and succeed also when it is already gone
  sparkplane delete spark-pi --ignore-not-found`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.in, o.out, o.errs, o.names = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args
			if err := o.validate(); err != nil {
				return err
			}
			if err := o.complete(); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	o.kube.addConnectionFlags(cmd.Flags())
	o.kube.addNamespaceFlag(cmd.Flags())
	cmd.Flags().StringSliceVarP(&o.filenames, "filename", "f", nil, "Files that contain the SparkApplications to delete (\"-\" for standard input)")
	cmd.Flags().BoolVar(&o.ignoreNotFound, "ignore-not-found", false, "Treat \"application not found\" as a successful delete")
	return cmd
}

func (o *deleteOptions) validate() error {
	switch {
	case len(o.names) == 0 && len(o.filenames) == 0:
		return errors.New("you must specify the SparkApplications to delete: by NAME, or with -f FILE")
	case len(o.names) > 0 && len(o.filenames) > 0:
		return errors.New("give either NAMEs or -f FILE, not both")
	}
	return nil
}

func (o *deleteOptions) complete() error {
	var manifests []manifest
	if len(o.filenames) > 0 {
		var err error
		if manifests, err = readManifests(o.filenames, o.in); err != nil {
			return err
		}
	}
	if err := o.kube.complete(); err != nil {
		return err
	}
	for _, name := range o.names {
		o.targets = append(o.targets, client.ObjectKey{Namespace: o.kube.namespaceInUse, Name: name})
	}
	for _, m := range manifests {
		if m.object.GetName() == "" {
			return fmt.Errorf("%s: has only metadata.generateName; delete the generated application by its name", m.source)
		}
		ns, err := namespaceFor(m, &o.kube)
		if err != nil {
			return err
		}
		o.targets = append(o.targets, client.ObjectKey{Namespace: ns, Name: m.object.GetName()})
	}
	var err error
	o.client, err = newClient(o.kube.config)
	return err
}

func (o *deleteOptions) run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	var failures []error
	for _, key := range o.targets {
		app := &v1alpha1.SparkApplication{}
		app.Namespace, app.Name = key.Namespace, key.Name
		err := o.client.Delete(ctx, app, client.PropagationPolicy(metav1.DeletePropagationBackground))
		if err != nil && !(o.ignoreNotFound && isNotFound(err)) {
			failures = append(failures, err)
			continue
		}
		if err == nil {
			fmt.Fprintf(o.out, "%s %q deleted\n", resourceName, key.Name)
		}
	}
	return reportFailures(o.errs, failures)
}
